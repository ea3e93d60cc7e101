import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RelayConfig } from '@relay/config';
import { createRedisClient, redisClientOptions } from './create-redis-client.js';
import { EvictionPolicyError, mayEvict, readRedisMemory } from './redis-memory.js';
import { ReplicaAcknowledgement } from './replica-acknowledgement.js';
import { waitUntilReady } from './wait-until-ready.js';

/**
 * Start-up waits briefly for the connection (commands are not queued while
 * disconnected, so the first ones would fail otherwise) but starts anyway when
 * Redis is away: readiness reports it and the client keeps reconnecting.
 * A Redis whose maxmemory-policy may evict stops start-up (exit 2) unless
 * REDIS_ALLOW_EVICTION=on, which logs a warning instead (readiness and a
 * metric keep saying so). Shutdown closes the connection.
 */
@Injectable()
class RedisLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    private readonly config: RelayConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!(await waitUntilReady(this.redis, 3000))) {
      this.logger.warn('Redis is not answering yet; reconnecting in the background');
      return;
    }
    const memory = await readRedisMemory(this.redis);
    // A server that does not report it (a Redis-compatible one) is not refused, only warned about.
    if (memory.policy === '') return this.logger.warn('Redis did not report its maxmemory-policy; make sure it is noeviction');
    if (!mayEvict(memory)) return;
    if (this.config.REDIS_ALLOW_EVICTION !== 'on') throw new EvictionPolicyError(memory.policy);
    this.logger.warn(`Redis maxmemory-policy is ${memory.policy}: a full Redis may evict accepted jobs and API keys (allowed by REDIS_ALLOW_EVICTION=on)`);
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
