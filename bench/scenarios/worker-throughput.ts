import type { BenchContext } from '../support/context.js';
import { openSession, type DrainRun, type DrainSide, type WorkerSession } from '../support/drain.js';
import { result, TARGETS, type ScenarioResult } from '../support/result.js';
import { measureRoundTripFloor } from '../support/round-trip-floor.js';
import { round } from '../support/stats.js';

export const CONCURRENCIES = [1, 10, 100] as const;

export interface DrainRuns {
  jobs: number;
  relay: DrainRun[];
  bullmq: DrainRun[];
  beequeue: DrainRun[];
  relayOptions: unknown;
  bullmqOptions: unknown;
  beequeueOptions: unknown;
}

const SIDES: readonly DrainSide[] = ['relay', 'bullmq', 'beequeue'];

/**
 * Runs `runs` drains of `jobs` jobs per side at one concurrency, interleaved
 * Relay, BullMQ, Bee-Queue, Relay, BullMQ, Bee-Queue, …, each side's worker
 * a child process of its own (started once per concurrency, all idle
 * between their turns).
 */
export async function drainAll(ctx: BenchContext, concurrency: number, jobs: number, runs: number): Promise<DrainRuns> {
  const sessions: WorkerSession[] = [];
  try {
    sessions.push(...(await Promise.all(SIDES.map((side) => openSession(ctx, side, concurrency)))));
    const [relay, bullmq, beequeue] = sessions;
    const out: DrainRuns = {
      jobs,
      relay: [],
      bullmq: [],
      beequeue: [],
      relayOptions: relay.options,
      bullmqOptions: bullmq.options,
      beequeueOptions: beequeue.options,
    };
    // A short warm-up drain each (JIT, script cache), not counted.
    for (const session of sessions) await session.drain(Math.min(1000, jobs));
    for (let i = 0; i < runs; i++) {
      for (const session of sessions) {
        const d = await session.drain(jobs);
        out[session.side].push(d);
        ctx.log(`  c=${concurrency} ${session.side.padEnd(8)} run ${i + 1}: ${Math.round(d.jobsPerSec)} jobs/s, Redis CPU ${d.redisCpuUsPerJob.toFixed(1)} µs/job`);
      }
    }
    return out;
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
}

const bestRate = (runs: DrainRun[]) => runs.reduce((a, b) => (b.jobsPerSec > a.jobsPerSec ? b : a));

/** The Relay worker with prefetch on (README Worker, "Prefetch"; off by default). */
export const PREFETCH_ENV = { WORKER_PREFETCH: '10' };

/**
 * Drains by the Relay worker with PREFETCH_ENV, after the interleaved runs of
 * the same concurrency (two Relay workers cannot wait on one database at once).
 */
async function drainWithPrefetch(ctx: BenchContext, concurrency: number, jobs: number, runs: number): Promise<DrainRun[]> {
  const session = await openSession(ctx, 'relay', concurrency, PREFETCH_ENV);
  try {
    await session.drain(Math.min(1000, jobs));
    const out: DrainRun[] = [];
    for (let i = 0; i < runs; i++) {
      const d = await session.drain(jobs);
      out.push(d);
      ctx.log(`  c=${concurrency} relay, WORKER_PREFETCH=${PREFETCH_ENV.WORKER_PREFETCH} run ${i + 1}: ${Math.round(d.jobsPerSec)} jobs/s, Redis CPU ${d.redisCpuUsPerJob.toFixed(1)} µs/job`);
    }
    return out;
  } finally {
    await session.close();
  }
}

/**
 * At concurrency 1 each job is one round trip on both sides, so a job's time
 * is a bare round trip (see support/round-trip-floor.ts) plus that side's own
 * work. Says how much of each side's time per job is the floor, and how
 * small Relay's own part would have to be for the 1.2× target.
 */
async function roundTripShare(ctx: BenchContext, relay: DrainRun, bullmq: DrainRun) {
  const floorUs = await measureRoundTripFloor(ctx.admin, ctx.pick(5000, 2000));
  const relayUs = 1e6 / relay.jobsPerSec;
  const bullmqUs = 1e6 / bullmq.jobsPerSec;
  const out = {
    floorUsPerRoundTrip: round(floorUs),
    relayUsPerJob: round(relayUs),
    bullmqUsPerJob: round(bullmqUs),
    relayOwnUsPerJob: round(relayUs - floorUs),
    bullmqOwnUsPerJob: round(bullmqUs - floorUs),
    relayOwnUsPerJobFor1_2x: round(bullmqUs / 1.2 - floorUs),
    floor: 'sequential EVALSHA of a script that returns a finishJobs-shaped reply at once, same KEYS and ARGV count, from the benchmark process (best of 3 runs)',
  };
  ctx.log(
    `  c=1 round trip floor ${floorUs.toFixed(1)} µs; own work per job: Relay ${out.relayOwnUsPerJob} µs, BullMQ ${out.bullmqOwnUsPerJob} µs (1.2× needs Relay ≤ ${out.relayOwnUsPerJobFor1_2x} µs)`,
  );
  return out;
}

const TIMING =
  'jobs written to db 1 beforehand, SWAPDB 0 1 starts the clock, stops when the count of the finished set reaches the job count (Relay: ZCARD ai:index:<ws>:status:succeeded; BullMQ: ZCARD bull:<queue>:completed; Bee-Queue: SCARD bq:<queue>:succeeded), polled every 5 ms';

/** Bee-Queue's target names concurrency 10 and 100; its concurrency-1 row is informational. */
const BEE_QUEUE_TARGET_CONCURRENCIES: readonly number[] = [10, 100];

/**
 * Worker throughput with a no-op action: pre-filled jobs drained by the
 * Relay worker (apps/worker/src/main.ts, WORKER_CONCURRENCY=c, debug.echo
 * with params {}), by a BullMQ Worker (concurrency c, async no-op
 * processor) and by a Bee-Queue worker (concurrency c, async no-op
 * handler), same job count, at c = 1, 10, 100: one row against each. See
 * support/drain.ts for how a drain is timed.
 */
export async function workerThroughput(ctx: BenchContext): Promise<ScenarioResult[]> {
  const jobs = ctx.pick(20_000, 3_000);
  // Five in a full run: drains are the noisiest figures here (best of each side counts).
  const runs = ctx.pick(5, 1);
  const rows: ScenarioResult[] = [];
  for (const c of CONCURRENCIES) {
    const drains = await drainAll(ctx, c, jobs, runs);
    if (c === 100) ctx.memo.set('drains:100', drains);
    const r = bestRate(drains.relay);
    const b = bestRate(drains.bullmq);
    const q = bestRate(drains.beequeue);
    const atConcurrency1 = c === 1 ? await roundTripShare(ctx, r, b) : undefined;
    const prefetched = await drainWithPrefetch(ctx, c, jobs, runs);
    const p = bestRate(prefetched);
    const prefetchRows: ScenarioResult[] = [];
    for (const [against, best, label] of [
      ['BullMQ', b, `BullMQ Worker child, concurrency ${c}, async no-op processor (its best run above)`],
      ['Bee-Queue', q, `Bee-Queue worker child, concurrency ${c}, async no-op handler (its best run above)`],
    ] as const) {
      prefetchRows.push(
        result({
          name: `worker throughput, concurrency ${c}, WORKER_PREFETCH=${PREFETCH_ENV.WORKER_PREFETCH}, vs ${against}`,
          relay: round(p.jobsPerSec),
          comparison: round(best.jobsPerSec),
          ratio: round(p.jobsPerSec / best.jobsPerSec, 3),
          ratioDefinition: `Relay (prefetch on) jobs/s ÷ ${against} jobs/s`,
          units: 'jobs/s',
          jobs,
          target: TARGETS.prefetchWorker,
          threshold: c === 1 ? 1.2 : null,
          comparator: '>=',
          relayLabel: `Relay worker child, WORKER_CONCURRENCY=${c}, WORKER_PREFETCH=${PREFETCH_ENV.WORKER_PREFETCH}, debug.echo {}`,
          comparisonLabel: label,
          details: {
            runs: { relay: prefetched },
            pick: `best of ${runs} run(s), run after the interleaved runs of this concurrency (two Relay workers cannot share the database); compared with the other side's best run there`,
            timing: TIMING,
            ...(c !== 1 && { note: 'informational: the prefetch target names concurrency 1' }),
          },
        }),
      );
    }
    rows.push(
      result({
        name: `worker throughput, concurrency ${c}`,
        relay: round(r.jobsPerSec),
        comparison: round(b.jobsPerSec),
        ratio: round(r.jobsPerSec / b.jobsPerSec, 3),
        ratioDefinition: 'Relay jobs/s ÷ BullMQ jobs/s',
        units: 'jobs/s',
        jobs,
        target: TARGETS.worker,
        threshold: 1.2,
        comparator: '>=',
        relayLabel: `Relay worker child, WORKER_CONCURRENCY=${c}, debug.echo {}`,
        comparisonLabel: `BullMQ Worker child, concurrency ${c}, async no-op processor`,
        details: {
          runs: { relay: drains.relay, comparison: drains.bullmq },
          pick: `best of ${runs} run(s) per side, interleaved Relay, BullMQ, Bee-Queue; a 1000-job warm-up drain each first`,
          relayOptions: drains.relayOptions,
          bullmqOptions: drains.bullmqOptions,
          ...(atConcurrency1 && { roundTrip: atConcurrency1 }),
          timing: TIMING,
        },
      }),
      result({
        name: `worker throughput, concurrency ${c}, vs Bee-Queue`,
        relay: round(r.jobsPerSec),
        comparison: round(q.jobsPerSec),
        ratio: round(r.jobsPerSec / q.jobsPerSec, 3),
        ratioDefinition: 'Relay jobs/s ÷ Bee-Queue jobs/s',
        units: 'jobs/s',
        jobs,
        target: TARGETS.beeQueueWorker,
        threshold: BEE_QUEUE_TARGET_CONCURRENCIES.includes(c) ? 1.3 : null,
        comparator: '>=',
        relayLabel: `Relay worker child, WORKER_CONCURRENCY=${c}, debug.echo {}`,
        comparisonLabel: `Bee-Queue worker child, concurrency ${c}, async no-op handler`,
        details: {
          runs: { relay: drains.relay, comparison: drains.beequeue },
          pick: `best of ${runs} run(s) per side, interleaved Relay, BullMQ, Bee-Queue; a 1000-job warm-up drain each first`,
          relayOptions: drains.relayOptions,
          beequeueOptions: drains.beequeueOptions,
          timing: TIMING,
          ...(!BEE_QUEUE_TARGET_CONCURRENCIES.includes(c) && { note: 'informational: the Bee-Queue target names concurrency 10 and 100 only' }),
        },
      }),
    );
    rows.push(...prefetchRows);
  }
  return rows;
}
