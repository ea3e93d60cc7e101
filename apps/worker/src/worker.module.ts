import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard, AuthModule } from '@relay/auth';
import { RelayConfigModule } from '@relay/config';
import { PermissionsModule } from '@relay/permissions';
import { WorkspaceModule } from '@relay/workspace';
import { ActionRateLimits, QueueModule, WebhooksModule } from '@relay/queue';
import { RedisModule } from '@relay/redis';
import { HealthModule, TelemetryModule } from '@relay/telemetry';
import { ActionsModule } from './actions/actions.module.js';
import { JobConsumer } from './consumer/job-consumer.service.js';
import { SchedulingSettings } from './consumer/scheduling-settings.js';
import { JobRunner } from './consumer/job-runner.js';
import { ProgressReports } from './consumer/progress-reports.js';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.service.js';
import { WebhookSender } from './webhooks/webhook-sender.js';

/**
 * The worker process: the consumer loop, and over HTTP only health and
 * metrics on WORKER_PORT (no other route exists; the deny-by-default guard
 * stands in case one is added). ActionRateLimits is the worker's alone: only
 * it starts jobs, and building it checks ACTION_RATE_LIMITS at start-up.
 * The webhook delivery loop (WebhookDispatcher) runs beside the job consumer.
 */
@Module({})
export class WorkerModule {
  static forRoot(env?: Record<string, string>): DynamicModule {
    return {
      module: WorkerModule,
      imports: [RelayConfigModule.forRoot(env), RedisModule, TelemetryModule, HealthModule, AuthModule, QueueModule, WebhooksModule, PermissionsModule, WorkspaceModule, ActionsModule],
      providers: [{ provide: APP_GUARD, useExisting: ApiKeyGuard }, ActionRateLimits, ProgressReports, JobRunner, SchedulingSettings, JobConsumer, WebhookSender, WebhookDispatcher],
    };
  }
}
