import { Queue } from 'bullmq';
import type { BenchContext } from '../support/context.js';
import { postLoad, type LoadResult } from '../support/load.js';
import { PARAMS_200, PARAMS_200_BYTES } from '../support/payload.js';
import { result, TARGETS, type ScenarioResult } from '../support/result.js';
import { createApiKey, startRelayApi } from '../support/servers.js';
import { round, runFor } from '../support/stats.js';
import { startProbe, type ProbeReport } from '../support/probe.js';

const STEPS = 100;
const IN_FLIGHT = 10;
const WORKSPACE = 'bench-plans';

interface Run {
  jobsPerSec: number;
  calls: number;
  seconds: number;
  p50Ms?: number;
  p99Ms?: number;
  perJob: ProbeReport;
}

/**
 * API batch submit: jobs/s through POST /ai/plans with 100 steps per plan
 * (Relay API child process, autocannon with 10 connections) against BullMQ
 * Queue.addBulk with 100 jobs per call, 10 calls in flight (in this
 * process), for the same duration. Same payload per job. Interleaved
 * Relay, BullMQ, Relay, BullMQ, … (3 each; quick 2) with FLUSHALL before
 * each; the best run of each side counts.
 */
export async function apiBatch(ctx: BenchContext): Promise<ScenarioResult[]> {
  const duration = ctx.pick(5, 2);
  const runs = ctx.pick(3, 2);
  const body = JSON.stringify({ steps: Array.from({ length: STEPS }, () => ({ action: 'debug.echo', params: PARAMS_200 })) });
  const bulk = Array.from({ length: STEPS }, () => ({ name: 'debug.echo', data: PARAMS_200 }));
  const relay = await startRelayApi(ctx.redis.url());
  const queue = new Queue('bench-plans', { connection: { host: '127.0.0.1', port: ctx.redis.port } });
  try {
    await queue.waitUntilReady();
    const relayRun = async (seconds: number): Promise<Run> => {
      await ctx.flushAll();
      const key = await createApiKey(ctx.admin, WORKSPACE);
      const probe = await startProbe(ctx.admin, { server: relay.child.process.pid });
      const run: LoadResult = await postLoad({ url: relay.url, path: '/ai/plans', connections: IN_FLIGHT, durationSeconds: seconds, body, headers: { authorization: `Bearer ${key}` } });
      const perJob = await probe.stop(Math.max(1, run.ok * STEPS));
      if (run.ok === 0 || run.non2xx > 0 || run.errors > 0) throw new Error(`Relay API plans: ${run.ok} 2xx, ${run.non2xx} non-2xx, ${run.errors} errors`);
      return { jobsPerSec: run.reqPerSec * STEPS, calls: run.ok, seconds: run.durationSeconds, p50Ms: run.p50Ms, p99Ms: run.p99Ms, perJob };
    };
    const bullRun = async (seconds: number): Promise<Run> => {
      await ctx.flushAll();
      const probe = await startProbe(ctx.admin);
      const { calls, elapsedMs } = await runFor(seconds * 1000, IN_FLIGHT, () => queue.addBulk(bulk));
      const perJob = await probe.stop(Math.max(1, calls * STEPS));
      return { jobsPerSec: (calls * STEPS) / (elapsedMs / 1000), calls, seconds: elapsedMs / 1000, perJob };
    };
    await relayRun(1);
    await bullRun(1);
    const relayRuns: Run[] = [];
    const bullRuns: Run[] = [];
    for (let i = 0; i < runs; i++) {
      relayRuns.push(await relayRun(duration));
      ctx.log(`  relay  run ${i + 1}: ${Math.round(relayRuns[i].jobsPerSec)} jobs/s (p50 ${relayRuns[i].p50Ms} ms per plan)`);
      bullRuns.push(await bullRun(duration));
      ctx.log(`  bullmq run ${i + 1}: ${Math.round(bullRuns[i].jobsPerSec)} jobs/s`);
    }
    await ctx.flushAll();
    const best = (list: Run[]) => list.reduce((a, b) => (b.jobsPerSec > a.jobsPerSec ? b : a));
    const r = best(relayRuns);
    const b = best(bullRuns);
    return [
      result({
        name: 'API batch submit (plans of 100)',
        relay: round(r.jobsPerSec),
        comparison: round(b.jobsPerSec),
        ratio: round(r.jobsPerSec / b.jobsPerSec, 3),
        ratioDefinition: 'Relay jobs/s ÷ BullMQ jobs/s',
        units: 'jobs/s',
        jobs: r.calls * STEPS,
        target: TARGETS.apiBatch,
        threshold: 1.5,
        comparator: '>=',
        relayLabel: `POST /ai/plans with ${STEPS} steps, ${IN_FLIGHT} connections (autocannon → Relay API child process)`,
        comparisonLabel: `BullMQ Queue.addBulk of ${STEPS} jobs, ${IN_FLIGHT} calls in flight (in the bench process)`,
        details: {
          relay: { planP50Ms: r.p50Ms, planP99Ms: r.p99Ms, perJob: r.perJob },
          comparison: { perJob: b.perJob },
          runs: { relay: relayRuns, comparison: bullRuns },
          pick: `best of ${runs} runs per side, interleaved Relay, BullMQ, Relay, BullMQ, … with FLUSHALL before each; 1 s warm-up each first`,
          durationSeconds: duration,
          paramsBytes: PARAMS_200_BYTES,
          bodyBytes: Buffer.byteLength(body),
        },
      }),
    ];
  } finally {
    await queue.close().catch(() => undefined);
    await relay.child.stop();
  }
}
