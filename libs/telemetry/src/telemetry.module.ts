import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { HttpMetricsMiddleware } from './http-metrics.middleware.js';
import { MetricsController } from './metrics.controller.js';
import { RelayMetrics } from './relay-metrics.js';
import { WorkspaceLabelPolicy } from './workspace-label.policy.js';

// Default process metrics are collected once per process, even when tests
// build several applications in one process.
const defaultMetricsAlreadyOn = register.getSingleMetric('process_cpu_user_seconds_total') !== undefined;

@Global()
@Module({
  imports: [
    PrometheusModule.register({
      controller: MetricsController,
      defaultMetrics: { enabled: !defaultMetricsAlreadyOn },
    }),
  ],
  providers: [RelayMetrics, WorkspaceLabelPolicy, HttpMetricsMiddleware],
  exports: [RelayMetrics, WorkspaceLabelPolicy, HttpMetricsMiddleware],
})
export class TelemetryModule {}
