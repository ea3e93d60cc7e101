export { Redis } from 'ioredis';
export { createRedisClient, redisClientOptions, type RedisClientOptions } from './create-redis-client.js';
export { ReplicaAcknowledgement, ReplicasBehindError, type WaitForReplicas } from './replica-acknowledgement.js';
export { isRedisUnavailableError, isRedisOomError, unavailabilityReason } from './redis-unavailable.js';
export { waitUntilReady } from './wait-until-ready.js';
export { readRedisMemory, mayEvict, refusesWrites, EvictionPolicyError, type RedisMemory } from './redis-memory.js';
export { RedisKeys } from './redis-keys.js';
export { RedisModule } from './redis.module.js';
