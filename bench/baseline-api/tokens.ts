export const BASELINE_REDIS = Symbol('BASELINE_REDIS');
