import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '@relay/auth';
import { RelayConfigModule } from '@relay/config';
import { RedisModule } from '@relay/redis';

/** What operator commands need: settings, Redis and the stores. Never a server. */
@Module({})
export class CliModule {
  static forRoot(env?: Record<string, string>): DynamicModule {
    return { module: CliModule, imports: [RelayConfigModule.forRoot(env), RedisModule, AuthModule] };
  }
}
