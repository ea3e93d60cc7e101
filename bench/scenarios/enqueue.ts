import { Queue } from 'bullmq';
import type { BenchContext } from '../support/context.js';
import { PARAMS_200, PARAMS_200_BYTES } from '../support/payload.js';
import { relayStore, waitConnected } from '../support/relay-store.js';
import { result, TARGETS, type ScenarioResult } from '../support/result.js';
import { round, runPool, timeMs } from '../support/stats.js';
import { startProbe, type ProbeReport } from '../support/probe.js';
import { beeQueueProducer } from '../support/bee-queue-settings.js';

const IN_FLIGHT = 50;
const WORKSPACE = 'bench-enqueue';

/**
 * Enqueue without HTTP: N single-job RedisJobStore.create calls (default
 * flags: legacy writes), 50 in flight, against N BullMQ Queue.add calls and
 * N Bee-Queue Job#save calls, 50 in flight, all in this process on their
 * own connection. Interleaved Relay, BullMQ, Bee-Queue, Relay, … (3 each;
 * quick 2) with FLUSHALL before each; the best run of each side counts.
 */
export async function enqueue(ctx: BenchContext): Promise<ScenarioResult[]> {
  const jobs = ctx.pick(20_000, 5_000);
  const runs = ctx.pick(3, 2);
  const { store, redis } = relayStore(ctx.redis.url(), 'legacy');
  const queue = new Queue('bench-enqueue', { connection: { host: '127.0.0.1', port: ctx.redis.port } });
  const bee = beeQueueProducer('bench-enqueue', ctx.redis.port, 0);
  try {
    await waitConnected(redis);
    await queue.waitUntilReady();
    await bee.ready();
    const probes: { relay: ProbeReport[]; comparison: ProbeReport[]; beequeue: ProbeReport[] } = { relay: [], comparison: [], beequeue: [] };
    const relayRun = async (n: number) => {
      await ctx.flushAll();
      const probe = await startProbe(ctx.admin);
      const ms = await timeMs(() =>
        runPool(n, IN_FLIGHT, async () => {
          const outcome = await store.create({ workspaceId: WORKSPACE, jobs: [{ actorId: 'bench-actor', action: 'debug.echo', params: PARAMS_200 }], kind: 'job' });
          if (outcome.outcome !== 'created') throw new Error(`create answered ${outcome.outcome}`);
        }),
      );
      probes.relay.push(await probe.stop(n));
      return (n / ms) * 1000;
    };
    const bullRun = async (n: number) => {
      await ctx.flushAll();
      const probe = await startProbe(ctx.admin);
      const ms = await timeMs(() => runPool(n, IN_FLIGHT, () => queue.add('debug.echo', PARAMS_200)));
      probes.comparison.push(await probe.stop(n));
      return (n / ms) * 1000;
    };
    const beeRun = async (n: number) => {
      await ctx.flushAll();
      const probe = await startProbe(ctx.admin);
      const ms = await timeMs(() => runPool(n, IN_FLIGHT, () => bee.createJob(PARAMS_200).save()));
      probes.beequeue.push(await probe.stop(n));
      return (n / ms) * 1000;
    };
    await relayRun(1000);
    await bullRun(1000);
    await beeRun(1000);
    probes.relay.length = 0;
    probes.comparison.length = 0;
    probes.beequeue.length = 0;
    const relayRuns: number[] = [];
    const bullRuns: number[] = [];
    const beeRuns: number[] = [];
    for (let i = 0; i < runs; i++) {
      relayRuns.push(await relayRun(jobs));
      ctx.log(`  relay    run ${i + 1}: ${Math.round(relayRuns[i])} jobs/s`);
      bullRuns.push(await bullRun(jobs));
      ctx.log(`  bullmq   run ${i + 1}: ${Math.round(bullRuns[i])} jobs/s`);
      beeRuns.push(await beeRun(jobs));
      ctx.log(`  beequeue run ${i + 1}: ${Math.round(beeRuns[i])} jobs/s`);
    }
    await ctx.flushAll();
    const r = Math.max(...relayRuns);
    const b = Math.max(...bullRuns);
    const q = Math.max(...beeRuns);
    const perJob = { relay: probes.relay[relayRuns.indexOf(r)], comparison: probes.comparison[bullRuns.indexOf(b)] };
    const pick = `best of ${runs} runs per side, interleaved Relay, BullMQ, Bee-Queue, Relay, … with FLUSHALL before each; 1000-job warm-up each first`;
    return [
      result({
        name: 'enqueue without HTTP, 50 in flight',
        relay: round(r),
        comparison: round(b),
        ratio: round(r / b, 3),
        ratioDefinition: 'Relay jobs/s ÷ BullMQ jobs/s',
        units: 'jobs/s',
        jobs,
        target: TARGETS.enqueue,
        threshold: 1.0,
        comparator: '>=',
        relayLabel: 'RedisJobStore.create, one job per call, default flags (legacy writes), 50 in flight',
        comparisonLabel: 'BullMQ Queue.add, 50 in flight',
        details: {
          perJob,
          perJobNote: 'processCpuUs.bench is the bench process, where both clients run',
          runs: { relay: relayRuns.map((v) => round(v)), comparison: bullRuns.map((v) => round(v)) },
          pick,
          paramsBytes: PARAMS_200_BYTES,
        },
      }),
      result({
        name: 'enqueue without HTTP, 50 in flight, vs Bee-Queue',
        relay: round(r),
        comparison: round(q),
        ratio: round(r / q, 3),
        ratioDefinition: 'Relay jobs/s ÷ Bee-Queue jobs/s',
        units: 'jobs/s',
        jobs,
        target: TARGETS.beeQueueEnqueue,
        threshold: 1.0,
        comparator: '>=',
        relayLabel: 'RedisJobStore.create, one job per call, default flags (legacy writes), 50 in flight',
        comparisonLabel: 'Bee-Queue Job#save (producer queue: isWorker, getEvents, storeJobs off), 50 in flight',
        details: {
          perJob: { relay: perJob.relay, comparison: probes.beequeue[beeRuns.indexOf(q)] },
          perJobNote: 'processCpuUs.bench is the bench process, where both clients run',
          runs: { relay: relayRuns.map((v) => round(v)), comparison: beeRuns.map((v) => round(v)) },
          pick,
          paramsBytes: PARAMS_200_BYTES,
        },
      }),
    ];
  } finally {
    await queue.close().catch(() => undefined);
    await bee.close().catch(() => undefined);
    redis.disconnect();
  }
}
