import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RelayConfig } from '@relay/config';
import { createRedisClient } from './create-redis-client.js';

/** Closes the shared connection when the application shuts down. */
@Injectable()
class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.redis.status === 'end') return;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** One shared ioredis connection, injected by its class (`Redis`). */
@Global()
@Module({
  providers: [
    {
      provide: Redis,
      inject: [RelayConfig],
      useFactory: (config: RelayConfig) =>
        createRedisClient({
          url: config.REDIS_URL,
          commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
          connectionName: 'relay',
        }),
    },
    RedisLifecycle,
  ],
  exports: [Redis],
})
export class RedisModule {}
