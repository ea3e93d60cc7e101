export { RelayMetrics } from './relay-metrics.js';
export { WorkspaceLabelPolicy, UNSCOPED } from './workspace-label.policy.js';
export { HttpMetricsMiddleware } from './http-metrics.middleware.js';
export { TelemetryModule } from './telemetry.module.js';
