export { RelayMetrics } from './relay-metrics.js';
export { WorkspaceLabelPolicy, UNSCOPED, type WorkspaceLabelScope } from './workspace-label.policy.js';
export { MetricChildren } from './metric-children.js';
export { HttpMetricsMiddleware } from './http-metrics.middleware.js';
export { TelemetryModule } from './telemetry.module.js';
export { HealthModule } from './health.module.js';
export { RedisHealthIndicator } from './redis.health.js';
export { relayLogger } from './relay-logger.js';
export { AggregatedWarnings } from './aggregated-warnings.js';
