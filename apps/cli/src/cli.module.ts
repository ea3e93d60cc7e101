import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '@relay/auth';
import { RelayConfigModule } from '@relay/config';
import { MigrationModule, QueueModule, WebhooksModule } from '@relay/queue';
import { RedisModule } from '@relay/redis';
import { TelemetryModule } from '@relay/telemetry';

/** What operator commands need: settings, Redis and the stores. Never a server. */
@Module({})
export class CliModule {
  static forRoot(env?: Record<string, string>): DynamicModule {
    return { module: CliModule, imports: [RelayConfigModule.forRoot(env), RedisModule, TelemetryModule, AuthModule, QueueModule, MigrationModule, WebhooksModule] };
  }
}
