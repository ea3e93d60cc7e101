import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RelayConfig } from '@relay/config';
import { createRedisClient, redisClientOptions } from './create-redis-client.js';
import { ReplicaAcknowledgement } from './replica-acknowledgement.js';
import { waitUntilReady } from './wait-until-ready.js';

/**
 * Start-up waits briefly for the connection (commands are not queued while
 * disconnected, so the first ones would fail otherwise) but starts anyway when
 * Redis is away: readiness reports it and the client keeps reconnecting.
 * Shutdown closes the connection.
 */
@Injectable()
class RedisLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  async onModuleInit(): Promise<void> {
    if (!(await waitUntilReady(this.redis, 3000))) new Logger('Redis').warn('Redis is not answering yet; reconnecting in the background');
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.redis.status === 'end') return;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/**
 * One shared ioredis connection, injected by its class (`Redis`), directly
 * to REDIS_URL or to the primary the sentinels name; and the replica
 * acknowledgement (REDIS_MIN_REPLICAS_ACK) of that connection's writes.
 */
@Global()
@Module({
  providers: [
    {
      provide: Redis,
      inject: [RelayConfig],
      useFactory: (config: RelayConfig) => createRedisClient(redisClientOptions(config, 'relay')),
    },
    {
      provide: ReplicaAcknowledgement,
      inject: [Redis, RelayConfig],
      useFactory: (redis: Redis, config: RelayConfig) =>
        new ReplicaAcknowledgement((replicas, timeoutMs) => redis.wait(replicas, timeoutMs), config.REDIS_MIN_REPLICAS_ACK, config.REDIS_MIN_REPLICAS_ACK_TIMEOUT_MS),
    },
    RedisLifecycle,
  ],
  exports: [Redis, ReplicaAcknowledgement],
})
export class RedisModule {}
