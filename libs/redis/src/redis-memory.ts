import { ErrorCode, RelayError } from '@relay/errors';
import type { Redis } from 'ioredis';

/** What `INFO memory` says about whether Redis may drop keys or refuse writes. */
export interface RedisMemory {
  /** maxmemory-policy: anything but `noeviction` may evict keys (jobs, API keys) when memory is full. */
  policy: string;
  usedBytes: number;
  /** 0 when no limit is set. */
  maxBytes: number;
}

/** One read (INFO is allowed where CONFIG may be renamed away, as on managed Redis). */
export async function readRedisMemory(redis: Redis): Promise<RedisMemory> {
  const info = await redis.info('memory');
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '';
  return { policy: field('maxmemory_policy'), usedBytes: Number(field('used_memory')) || 0, maxBytes: Number(field('maxmemory')) || 0 };
}

export const mayEvict = (memory: RedisMemory) => memory.policy !== 'noeviction';

/** Redis refuses writes that need memory once used memory reaches maxmemory (under noeviction). */
export const refusesWrites = (memory: RedisMemory) => memory.maxBytes > 0 && memory.usedBytes >= memory.maxBytes;

/** Relay refuses to run on a Redis that may evict, unless the operator accepted the risk (REDIS_ALLOW_EVICTION=on). */
export class EvictionPolicyError extends RelayError {
  constructor(policy: string) {
    super(
      ErrorCode.InvalidConfiguration,
      `Refusing to start: Redis maxmemory-policy is ${policy}, so a full Redis would silently evict accepted jobs and API keys. ` +
        'Set maxmemory-policy noeviction on the Redis server, or REDIS_ALLOW_EVICTION=on to accept the risk',
    );
    this.name = 'EvictionPolicyError';
  }
}
