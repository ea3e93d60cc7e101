import type { Redis } from 'ioredis';
import { commandStats, cpuSample, perUnit } from './info.js';
import { processCpuSeconds } from './processes.js';

export interface ProbeReport {
  /** redis-server CPU (used_cpu_sys + used_cpu_user) per unit, µs. */
  redisCpuUs: number;
  /** The same from the _main_thread counters, when Redis reports them. */
  redisMainThreadCpuUs?: number;
  /** Redis commands per unit (commandstats; commands run inside Lua scripts count too) and their µs. */
  redis: ReturnType<typeof perUnit>;
  /** CPU per unit of the processes watched (the bench process itself as "bench"), µs. */
  processCpuUs: Record<string, number | undefined>;
}

/**
 * Where the time goes: samples Redis CPU, Redis commandstats and the CPU of
 * the given processes at start, and reports the differences per unit (job
 * or request) at stop.
 */
export async function startProbe(admin: Redis, processes: Record<string, number | undefined> = {}): Promise<{ stop(units: number): Promise<ProbeReport> }> {
  const stats0 = await commandStats(admin);
  const cpu0 = await cpuSample(admin);
  const self0 = process.cpuUsage();
  const procs0 = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, processCpuSeconds(pid)]));
  return {
    async stop(units: number): Promise<ProbeReport> {
      const self = process.cpuUsage(self0);
      const procs1 = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, processCpuSeconds(pid)]));
      const cpu1 = await cpuSample(admin);
      const stats1 = await commandStats(admin);
      const processCpuUs: Record<string, number | undefined> = { bench: round(((self.user + self.system) / units)) };
      for (const name of Object.keys(processes)) {
        const a = procs0[name];
        const b = procs1[name];
        processCpuUs[name] = a !== undefined && b !== undefined ? round(((b - a) * 1e6) / units) : undefined;
      }
      return {
        redisCpuUs: round(((cpu1.total - cpu0.total) * 1e6) / units),
        redisMainThreadCpuUs: cpu0.mainThread !== undefined && cpu1.mainThread !== undefined ? round(((cpu1.mainThread - cpu0.mainThread) * 1e6) / units) : undefined,
        redis: perUnit(stats0, stats1, units),
        processCpuUs,
      };
    },
  };
}

const round = (v: number) => Number(v.toFixed(2));
