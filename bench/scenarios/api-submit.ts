import type { BenchContext } from '../support/context.js';
import { postLoad, type LoadResult } from '../support/load.js';
import { PARAMS_200, PARAMS_200_BYTES } from '../support/payload.js';
import { result, TARGETS, type ScenarioResult } from '../support/result.js';
import { createApiKey, startBaselineApi, startRelayApi, type HttpServer } from '../support/servers.js';
import { round } from '../support/stats.js';
import { startProbe, type ProbeReport } from '../support/probe.js';

const CONNECTIONS = 50;
const WORKSPACE = 'bench-api';

/**
 * API submit, 50 connections: POST /ai/jobs on the Relay API (child
 * process, RATE_LIMIT_MAX=0, default flags) against the minimal Nest +
 * Express app of bench/baseline-api (child process: same DTO and
 * ValidationPipe, one MULTI per request). autocannon drives both from this
 * process; runs alternate Relay, baseline, Relay, baseline, … (3 each; quick
 * 2), with FLUSHALL before each; the best run of each side counts.
 */
export async function apiSubmit(ctx: BenchContext): Promise<ScenarioResult[]> {
  const duration = ctx.pick(5, 2);
  const runs = ctx.pick(3, 2);
  const body = JSON.stringify({ action: 'debug.echo', params: PARAMS_200 });
  const [relay, baseline] = await Promise.all([startRelayApi(ctx.redis.url()), startBaselineApi(ctx.redis.url())]);
  try {
    type Run = LoadResult & { perRequest: ProbeReport };
    const load = async (server: HttpServer, isRelay: boolean, seconds: number): Promise<Run> => {
      await ctx.flushAll();
      const headers: Record<string, string> = isRelay ? { authorization: `Bearer ${await createApiKey(ctx.admin, WORKSPACE)}` } : {};
      const probe = await startProbe(ctx.admin, { server: server.child.process.pid });
      const run = await postLoad({ url: server.url, path: '/ai/jobs', connections: CONNECTIONS, durationSeconds: seconds, body, headers });
      const perRequest = await probe.stop(Math.max(1, run.ok));
      if (run.ok === 0 || run.non2xx > 0 || run.errors > 0) {
        throw new Error(`${isRelay ? 'Relay API' : 'baseline API'}: ${run.ok} 2xx, ${run.non2xx} non-2xx, ${run.errors} errors`);
      }
      return { ...run, perRequest };
    };
    // Warm-up (JIT, connection pools, script cache), not counted.
    await load(relay, true, 1);
    await load(baseline, false, 1);
    const relayRuns: Run[] = [];
    const baselineRuns: Run[] = [];
    for (let i = 0; i < runs; i++) {
      relayRuns.push(await load(relay, true, duration));
      ctx.log(`  relay    run ${i + 1}: ${Math.round(relayRuns[i].reqPerSec)} req/s, p50 ${relayRuns[i].p50Ms} ms, p99 ${relayRuns[i].p99Ms} ms`);
      baselineRuns.push(await load(baseline, false, duration));
      ctx.log(`  baseline run ${i + 1}: ${Math.round(baselineRuns[i].reqPerSec)} req/s, p50 ${baselineRuns[i].p50Ms} ms, p99 ${baselineRuns[i].p99Ms} ms`);
    }
    await ctx.flushAll();
    const best = (list: Run[]) => list.reduce((a, b) => (b.reqPerSec > a.reqPerSec ? b : a));
    const r = best(relayRuns);
    const b = best(baselineRuns);
    return [
      result({
        name: 'API submit, 50 connections',
        relay: round(r.reqPerSec),
        comparison: round(b.reqPerSec),
        ratio: round(r.reqPerSec / b.reqPerSec, 3),
        ratioDefinition: 'Relay req/s ÷ baseline req/s',
        units: 'req/s',
        jobs: r.ok,
        target: TARGETS.apiSubmit,
        threshold: 0.8,
        comparator: '>=',
        relayLabel: 'POST /ai/jobs on the Relay API (apps/api/src/main.ts, child process)',
        comparisonLabel: 'minimal Nest + Express app (bench/baseline-api, child process): same SubmitJobDto and ValidationPipe, one MULTI (HSET + LPUSH) per request',
        details: {
          relay: { p50Ms: r.p50Ms, p99Ms: r.p99Ms, perRequest: r.perRequest },
          comparison: { p50Ms: b.p50Ms, p99Ms: b.p99Ms, perRequest: b.perRequest },
          runs: { relay: relayRuns, comparison: baselineRuns },
          pick: `best of ${runs} runs per side (by req/s), interleaved Relay, baseline, Relay, baseline, … with FLUSHALL before each; 1 s warm-up each first`,
          load: { tool: 'autocannon', connections: CONNECTIONS, pipelining: 1, durationSeconds: duration, bodyBytes: Buffer.byteLength(body), paramsBytes: PARAMS_200_BYTES },
          relayEnv: { RATE_LIMIT_MAX: '0', LOG_LEVEL: 'warn', migrationFlags: 'defaults (phase 0: legacy writes only)' },
        },
      }),
    ];
  } finally {
    await Promise.all([relay.child.stop(), baseline.child.stop()]);
  }
}
