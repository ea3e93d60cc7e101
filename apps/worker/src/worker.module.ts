import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard, AuthModule } from '@relay/auth';
import { RelayConfigModule } from '@relay/config';
import { PermissionsModule } from '@relay/permissions';
import { WorkspaceModule } from '@relay/workspace';
import { ActionRateLimits, QueueModule } from '@relay/queue';
import { RedisModule } from '@relay/redis';
import { HealthModule, TelemetryModule } from '@relay/telemetry';
import { ActionsModule } from './actions/actions.module.js';
import { JobConsumer } from './consumer/job-consumer.service.js';
import { SchedulingSettings } from './consumer/scheduling-settings.js';
import { JobRunner } from './consumer/job-runner.js';
import { ProgressReports } from './consumer/progress-reports.js';

/**
 * The worker process: the consumer loop, and over HTTP only health and
 * metrics on WORKER_PORT (no other route exists; the deny-by-default guard
 * stands in case one is added). ActionRateLimits is the worker's alone: only
 * it starts jobs, and building it checks ACTION_RATE_LIMITS at start-up.
 */
@Module({})
export class WorkerModule {
  static forRoot(env?: Record<string, string>): DynamicModule {
    return {
      module: WorkerModule,
      imports: [RelayConfigModule.forRoot(env), RedisModule, TelemetryModule, HealthModule, AuthModule, QueueModule, PermissionsModule, WorkspaceModule, ActionsModule],
      providers: [{ provide: APP_GUARD, useExisting: ApiKeyGuard }, ActionRateLimits, ProgressReports, JobRunner, SchedulingSettings, JobConsumer],
    };
  }
}
