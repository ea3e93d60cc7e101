import type { Redis } from 'ioredis';
import { RedisKeys } from '@relay/redis';

/**
 * The bare cost of one worker round trip at concurrency 1, with no Redis
 * work in it: sequential EVALSHA calls of a script that returns at once a
 * reply shaped like a finishJobs reply (one result, one claimed job of 8
 * strings), sent with the KEYS and ARGV count of a one-job finish-and-claim
 * call. Each call is an ioredis command, a loopback write and read on both
 * ends and a Lua call, as every job of a concurrency-1 drain is on either
 * side; what a side spends per job above this is its own work.
 */
const FLOOR_SCRIPT = `return {{'done'}, {{ARGV[7], ARGV[8], '1', 'debug', 'echo', '{}', 'bench-actor', ARGV[13]}}, 0}`;
const KEYS = [RedisKeys.pendingQueue, RedisKeys.activeQueue, RedisKeys.leases, RedisKeys.retryQueue, RedisKeys.deadLetters, RedisKeys.expiringWorkspaces];

/** µs per round trip: the fastest of `runs` runs of `calls` sequential calls (external load only slows a run). */
export async function measureRoundTripFloor(redis: Redis, calls: number, runs = 3): Promise<number> {
  const sha = (await redis.script('LOAD', FLOOR_SCRIPT)) as string;
  const createdAt = new Date().toISOString();
  const args = (i: number) => [
    createdAt, '86400', '1', 'bench-floor-worker', '30000', '3',
    `bench-worker:job-${i}`, 'bench-floor-worker:1', 'succeeded', 'null', '', '0', createdAt,
  ];
  for (let i = 0; i < 200; i++) await redis.evalsha(sha, KEYS.length, ...KEYS, ...args(i));
  let best = Infinity;
  for (let run = 0; run < runs; run++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await redis.evalsha(sha, KEYS.length, ...KEYS, ...args(i));
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1000 / calls);
  }
  return best;
}
