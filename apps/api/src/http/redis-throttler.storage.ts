import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { isRedisOomError, RedisKeys } from '@relay/redis';

/**
 * Fixed-window rate-limit counters in Redis, so every API replica enforces
 * one shared limit per API key. One round trip: INCR, and PEXPIRE on the
 * window's first hit. While Redis refuses writes for memory (OOM) the
 * counter cannot be kept, and the limit fails open: reads, which need no
 * write, keep working; writes are refused by Redis itself (503).
 */
const INCREMENT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {hits, redis.call('PTTL', KEYS[1])}
`;

export class RedisThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly redis: Redis) {
    if (!('relay_rateLimitIncrement' in redis)) redis.defineCommand('relay_rateLimitIncrement', { numberOfKeys: 1, lua: INCREMENT });
  }

  async increment(key: string, ttlMs: number, limit: number) {
    const call = (this.redis as unknown as Record<string, (k: string, ttl: number) => Promise<[number, number]>>).relay_rateLimitIncrement;
    let hits: number;
    let pttl: number;
    try {
      [hits, pttl] = await call.call(this.redis, RedisKeys.rateLimit(key), ttlMs);
    } catch (error) {
      if (!isRedisOomError(error)) throw error;
      return { totalHits: 0, timeToExpire: Math.ceil(ttlMs / 1000), isBlocked: false, timeToBlockExpire: 0 };
    }
    const secondsLeft = Math.max(1, Math.ceil(pttl / 1000));
    return { totalHits: hits, timeToExpire: secondsLeft, isBlocked: hits > limit, timeToBlockExpire: hits > limit ? secondsLeft : 0 };
  }
}
