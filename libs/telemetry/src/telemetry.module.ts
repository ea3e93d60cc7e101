import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { HttpMetricsMiddleware } from './http-metrics.middleware.js';
import { MetricsController } from './metrics.controller.js';
import { collectProcessMetrics } from './process-metrics.js';
import { RelayMetrics } from './relay-metrics.js';
import { WorkspaceLabelPolicy } from './workspace-label.policy.js';

@Global()
@Module({
  imports: [
    // Process metrics are ours to register (collectProcessMetrics), without the gauges promtool refuses.
    PrometheusModule.register({ controller: MetricsController, defaultMetrics: { enabled: false } }),
  ],
  providers: [RelayMetrics, WorkspaceLabelPolicy, HttpMetricsMiddleware],
  exports: [RelayMetrics, WorkspaceLabelPolicy, HttpMetricsMiddleware],
})
export class TelemetryModule {
  constructor() {
    collectProcessMetrics();
  }
}
