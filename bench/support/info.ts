import type { Redis } from 'ioredis';

/** `INFO [section]` text → field → value. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const sep = line.indexOf(':');
    if (sep > 0) out[line.slice(0, sep)] = line.slice(sep + 1);
  }
  return out;
}

export async function info(redis: Redis, section: string): Promise<Record<string, string>> {
  return parseInfo(await redis.info(section));
}

export interface CpuSample {
  /** used_cpu_sys + used_cpu_user, seconds (the whole redis-server process). */
  total: number;
  /** used_cpu_sys_main_thread + used_cpu_user_main_thread, seconds, when Redis reports them. */
  mainThread?: number;
}

export async function cpuSample(redis: Redis): Promise<CpuSample> {
  const cpu = await info(redis, 'cpu');
  const total = Number(cpu.used_cpu_sys) + Number(cpu.used_cpu_user);
  const main = cpu.used_cpu_sys_main_thread !== undefined ? Number(cpu.used_cpu_sys_main_thread) + Number(cpu.used_cpu_user_main_thread) : undefined;
  return { total, mainThread: main };
}

export async function usedMemory(redis: Redis): Promise<number> {
  return Number((await info(redis, 'memory')).used_memory);
}

export async function redisVersion(redis: Redis): Promise<string> {
  return (await info(redis, 'server')).redis_version ?? 'unknown';
}

export type CommandStats = Record<string, { calls: number; usec: number }>;

/** INFO commandstats: per command, calls and total µs (commands run inside scripts are counted too). */
export async function commandStats(redis: Redis): Promise<CommandStats> {
  const out: CommandStats = {};
  for (const [key, value] of Object.entries(await info(redis, 'commandstats'))) {
    if (!key.startsWith('cmdstat_')) continue;
    const fields = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]));
    out[key.slice('cmdstat_'.length)] = { calls: Number(fields.calls ?? 0), usec: Number(fields.usec ?? 0) };
  }
  return out;
}

/**
 * Redis work per unit (job or request) between two commandstats samples,
 * leaving out the benchmark's own INFO calls. Commands run inside a script
 * are listed by name and also inside the µs of evalsha, so µs do not add
 * up; `totalCallsPerUnit` counts every command Redis executed, top-level
 * (round trips) and in scripts.
 */
export function perUnit(before: CommandStats, after: CommandStats, units: number): { callsPerUnit: Record<string, number>; usecPerUnit: Record<string, number>; totalCallsPerUnit: number } {
  const callsPerUnit: Record<string, number> = {};
  const usecPerUnit: Record<string, number> = {};
  let calls = 0;
  for (const [name, a] of Object.entries(after)) {
    if (name === 'info') continue;
    const b = before[name] ?? { calls: 0, usec: 0 };
    const dc = a.calls - b.calls;
    const du = a.usec - b.usec;
    if (dc <= 0) continue;
    callsPerUnit[name] = Number((dc / units).toFixed(3));
    usecPerUnit[name] = Number((du / units).toFixed(2));
    calls += dc;
  }
  return { callsPerUnit, usecPerUnit, totalCallsPerUnit: Number((calls / units).toFixed(3)) };
}
