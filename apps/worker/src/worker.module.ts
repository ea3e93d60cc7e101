import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard, AuthModule } from '@relay/auth';
import { RelayConfigModule } from '@relay/config';
import { RedisModule } from '@relay/redis';
import { HealthModule, TelemetryModule } from '@relay/telemetry';

/**
 * The worker process. Over HTTP it serves only health and metrics, on
 * WORKER_PORT; every other route is refused by the deny-by-default guard.
 */
@Module({})
export class WorkerModule {
  static forRoot(env?: Record<string, string>): DynamicModule {
    return {
      module: WorkerModule,
      imports: [RelayConfigModule.forRoot(env), RedisModule, TelemetryModule, HealthModule, AuthModule],
      providers: [{ provide: APP_GUARD, useExisting: ApiKeyGuard }],
    };
  }
}
