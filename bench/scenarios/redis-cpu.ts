import type { BenchContext } from '../support/context.js';
import type { DrainRun } from '../support/drain.js';
import { result, TARGETS, type ScenarioResult } from '../support/result.js';
import { round } from '../support/stats.js';
import { drainAll, type DrainRuns } from './worker-throughput.js';

const CONCURRENCY = 100;

const least = (runs: DrainRun[]) => runs.reduce((a, b) => (b.redisCpuUsPerJob < a.redisCpuUsPerJob ? b : a));
const cpuRuns = (runs: DrainRun[]) => runs.map((d) => ({ redisCpuUsPerJob: d.redisCpuUsPerJob, redisMainThreadCpuUsPerJob: d.redisMainThreadCpuUsPerJob }));

const MEASURE =
  'INFO cpu used_cpu_sys + used_cpu_user of redis-server, sampled right before SWAPDB and right after the last job finished; includes the 5 ms completion polls (same for every side)';

/**
 * Redis CPU per processed job: used_cpu_sys + used_cpu_user (INFO cpu)
 * consumed by redis-server during a concurrency-100 drain, divided by the
 * job count, Relay worker against the BullMQ Worker and against the
 * Bee-Queue worker (one row each). Uses the concurrency-100 drains of the
 * worker throughput scenario when it ran before in the same run; otherwise
 * runs its own.
 */
export async function redisCpu(ctx: BenchContext): Promise<ScenarioResult[]> {
  let drains = ctx.memo.get('drains:100') as DrainRuns | undefined;
  const reused = drains !== undefined;
  drains ??= await drainAll(ctx, CONCURRENCY, ctx.pick(20_000, 3_000), ctx.pick(3, 1));
  const r = least(drains.relay);
  const b = least(drains.bullmq);
  const q = least(drains.beequeue);
  const source = reused ? 'the concurrency-100 drains of the worker throughput scenario' : 'its own concurrency-100 drains';
  return [
    result({
      name: 'Redis CPU per processed job, concurrency 100',
      relay: round(r.redisCpuUsPerJob, 3),
      comparison: round(b.redisCpuUsPerJob, 3),
      ratio: round(r.redisCpuUsPerJob / b.redisCpuUsPerJob, 3),
      ratioDefinition: 'Relay µs/job ÷ BullMQ µs/job',
      units: 'µs Redis CPU/job',
      jobs: drains.jobs,
      target: TARGETS.redisCpu,
      threshold: 0.7,
      comparator: '<=',
      relayLabel: 'Relay worker child, WORKER_CONCURRENCY=100',
      comparisonLabel: 'BullMQ Worker child, concurrency 100 (removeOnComplete: default, kept)',
      details: {
        mainThread: { relay: r.redisMainThreadCpuUsPerJob, comparison: b.redisMainThreadCpuUsPerJob },
        runs: { relay: cpuRuns(drains.relay), comparison: cpuRuns(drains.bullmq) },
        pick: 'lowest of the runs per side',
        source,
        measure: MEASURE,
      },
    }),
    result({
      name: 'Redis CPU per processed job, concurrency 100, vs Bee-Queue',
      relay: round(r.redisCpuUsPerJob, 3),
      comparison: round(q.redisCpuUsPerJob, 3),
      ratio: round(r.redisCpuUsPerJob / q.redisCpuUsPerJob, 3),
      ratioDefinition: 'Relay µs/job ÷ Bee-Queue µs/job',
      units: 'µs Redis CPU/job',
      jobs: drains.jobs,
      target: TARGETS.beeQueueRedisCpu,
      threshold: 1.0,
      comparator: '<=',
      relayLabel: 'Relay worker child, WORKER_CONCURRENCY=100',
      comparisonLabel: 'Bee-Queue worker child, concurrency 100 (removeOnSuccess: false, kept)',
      details: {
        mainThread: { relay: r.redisMainThreadCpuUsPerJob, comparison: q.redisMainThreadCpuUsPerJob },
        runs: { relay: cpuRuns(drains.relay), comparison: cpuRuns(drains.beequeue) },
        pick: 'lowest of the runs per side',
        source,
        measure: MEASURE,
      },
    }),
  ];
}
