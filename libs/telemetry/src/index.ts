export { RelayMetrics } from './relay-metrics.js';
export { WorkspaceLabelPolicy, UNSCOPED } from './workspace-label.policy.js';
export { HttpMetricsMiddleware } from './http-metrics.middleware.js';
export { TelemetryModule } from './telemetry.module.js';
export { HealthModule } from './health.module.js';
export { RedisHealthIndicator } from './redis.health.js';
export { AggregatedWarnings } from './aggregated-warnings.js';
export { RelayLogger, relayLogger } from './relay-logger.js';
export { withLogContext, type LogFields } from './log-context.js';
