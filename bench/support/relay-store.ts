import type { Redis } from 'ioredis';
import { createRedisClient } from '@relay/redis';
import { QueueScripts, RedisJobStore, type StorageStrategy } from '@relay/queue';
import { RelayMetrics } from '@relay/telemetry';
import { strategy } from './context.js';

/** Relay's default JOB_RETENTION_SECONDS. */
const RETENTION_SECONDS = 86_400;

/**
 * A RedisJobStore as the API builds it (the product's Redis client options:
 * no offline queue, command timeout), for the in-process scenarios.
 */
export function relayStore(url: string, mode: StorageStrategy | 'legacy' | 'dualWrite' | 'scoped' = 'legacy'): { store: RedisJobStore; redis: Redis } {
  const redis = createRedisClient({ url, commandTimeoutMs: 10_000, connectionName: 'relay-bench-store' });
  const chosen = typeof mode === 'string' ? strategy(mode) : mode;
  return { store: new RedisJobStore(new QueueScripts(redis), chosen, new RelayMetrics(), RETENTION_SECONDS), redis };
}

export async function waitConnected(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    redis.once('ready', () => resolve());
    setTimeout(() => reject(new Error('Redis connection not ready within 5 s')), 5000).unref();
  });
}
