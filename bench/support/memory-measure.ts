import type { Redis } from 'ioredis';
import type { BenchContext } from './context.js';
import { usedMemory } from './info.js';
import { sleep } from './processes.js';

/** MEMORY USAGE of one key, every element counted (SAMPLES 0). */
export async function keyBytes(redis: Redis, key: string): Promise<number | null> {
  return (await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) as number | null;
}

export interface Measured {
  bytesPerJob: number;
  keysPerJob: number;
  breakdown: Record<string, unknown>;
}

/**
 * used_memory after − before, over N jobs; FLUSHALL and a short settle first
 * (scripts already loaded by a warm-up: FLUSHALL keeps the script cache).
 * Shared by the pending and the finished memory rows so both measure alike.
 */
export async function measure(ctx: BenchContext, jobs: number, warmUp: () => Promise<unknown>, write: () => Promise<void>, breakdown: () => Promise<Record<string, unknown>>): Promise<Measured> {
  await ctx.flushAll();
  await warmUp();
  await ctx.flushAll();
  await sleep(300);
  const before = await usedMemory(ctx.admin);
  await write();
  await sleep(300);
  const after = await usedMemory(ctx.admin);
  const keys = await ctx.admin.dbsize();
  const out = { bytesPerJob: (after - before) / jobs, keysPerJob: keys / jobs, breakdown: await breakdown() };
  await ctx.flushAll();
  return out;
}
