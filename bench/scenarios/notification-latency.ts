import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { BenchContext } from '../support/context.js';
import type { Side } from '../support/drain.js';
import { NOOP_ACTION } from '../support/payload.js';
import { ROOT, sleep, spawnChild, waitMessage, type Child } from '../support/processes.js';
import { relayStore, waitConnected } from '../support/relay-store.js';
import { result, TARGETS, type ScenarioResult } from '../support/result.js';
import { BULLMQ_QUEUE, createApiKey, startBullmqWorker, startRelayApi, startRelayWorker, type HttpServer } from '../support/servers.js';
import { round } from '../support/stats.js';

const LISTENERS = 100;
const JOBS_PER_SECOND = 1000;
/** Submissions go in every TICK_MS, as many as keep the rate (10 a tick at 1,000/s). */
const TICK_MS = 10;
const CONCURRENCY = 20;
const WORKSPACE = 'bench-events';
/** After the last submit, listeners get this long at most to receive every notification... */
const SETTLE_DEADLINE_MS = 60_000;
/** ...and the run ends sooner when no notification has come for this long (some were lost: BullMQ trims its events stream under a listener that is behind). */
const SETTLE_IDLE_MS = 5_000;

interface Report {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** Notifications some listener never received (counted in the percentiles as the run's length). */
  lost: number;
  perListener: { min: number; max: number };
}
interface LatencyRun {
  side: Side;
  jobs: number;
  submitSeconds: number;
  /** Jobs per second actually submitted. */
  submittedPerSecond: number;
  latencyMs: Report;
}

/** Asks the listener child something over IPC and waits for the answer holding `key`. */
async function ask<K extends string>(child: Child, cmd: string, key: K, extra: Record<string, unknown> = {}): Promise<unknown> {
  const answer = waitMessage(child, (m): m is Record<K, unknown> => typeof m === 'object' && m !== null && key in m, 30_000);
  child.process.send({ cmd, ...extra });
  return ((await answer) as Record<K, unknown>)[key];
}

/** `submit(n)` called every TICK_MS with as many jobs as keep JOBS_PER_SECOND, for `seconds`; returns the count and the time taken. */
async function paced(seconds: number, submit: (n: number) => Promise<unknown>): Promise<{ jobs: number; seconds: number }> {
  const started = Date.now();
  const total = seconds * JOBS_PER_SECOND;
  let sent = 0;
  const calls: Promise<unknown>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - started) * JOBS_PER_SECOND) / 1000));
    if (due > sent) {
      calls.push(submit(due - sent));
      sent = due;
    }
    await sleep(TICK_MS);
  }
  await Promise.all(calls);
  return { jobs: total, seconds: (Date.now() - started) / 1000 };
}

/**
 * Completion-notification latency (issue 15, point 8): jobs submitted at
 * ~1,000/s while 100 clients listen for completions, Relay's SSE (`GET
 * /ai/events?status=succeeded` on the API child) against BullMQ's
 * `QueueEvents` 'completed' (100 of them), interleaved Relay, BullMQ, … after
 * a warm-up each; the run with each side's lowest p99 counts. Latency = the
 * listener's receive time − the Redis time of the finish script's append
 * (the event id), over every (listener, job) pair.
 */
export async function notificationLatency(ctx: BenchContext): Promise<ScenarioResult[]> {
  const seconds = ctx.pick(10, 3);
  const runs = ctx.pick(3, 1);
  const url = ctx.redis.url(0);
  const db0 = ctx.connect(0, 'bench-notify');
  const { store, redis: storeRedis } = relayStore(url, 'legacy');
  await waitConnected(storeRedis);
  const queue = new Queue(BULLMQ_QUEUE, { connection: { host: '127.0.0.1', port: ctx.redis.port, db: 0 } });
  let relayWorker: { child: Child; env: Record<string, string> } | undefined;
  let bullmqWorker: { child: Child; options: unknown } | undefined;
  let api: HttpServer | undefined;
  const all: Record<Side, LatencyRun[]> = { relay: [], bullmq: [] };
  try {
    [relayWorker, bullmqWorker, api] = await Promise.all([
      startRelayWorker(url, CONCURRENCY),
      startBullmqWorker(ctx.redis.port, 0, CONCURRENCY),
      startRelayApi(url, { SSE_MAX_STREAMS_PER_KEY: String(LISTENERS * 2) }),
      queue.waitUntilReady(),
    ]).then(([r, b, a]) => [r, b, a] as const);

    const runOnce = async (side: Side, runSeconds: number): Promise<LatencyRun> => {
      await db0.flushdb();
      await sleep(100);
      const env: Record<string, string> =
        side === 'relay'
          ? { BENCH_SIDE: 'relay', BENCH_API_PORT: String(api!.port), BENCH_API_KEY: await createApiKey(db0, WORKSPACE) }
          : { BENCH_SIDE: 'bullmq', BENCH_REDIS_PORT: String(ctx.redis.port), BENCH_QUEUE: BULLMQ_QUEUE };
      const listeners = spawnChild(`${side}-listeners`, join(ROOT, 'bench/workers/event-listeners.ts'), { env: { ...env, BENCH_LISTENERS: String(LISTENERS) } });
      try {
        await waitMessage(listeners, (m): m is { ready: true } => typeof m === 'object' && m !== null && (m as { ready?: unknown }).ready === true);
        const submit =
          side === 'relay'
            ? async (n: number) => {
                const outcome = await store.create({ workspaceId: WORKSPACE, jobs: Array.from({ length: n }, () => ({ actorId: 'bench-actor', action: NOOP_ACTION, params: {} })), kind: 'plan' });
                if (outcome.outcome !== 'created') throw new Error(`relay create answered ${outcome.outcome}`);
              }
            : (n: number) => queue.addBulk(Array.from({ length: n }, () => ({ name: NOOP_ACTION, data: {} })));
        const started = Date.now();
        const sent = await paced(runSeconds, submit);
        // Until every listener has every notification, or none comes for SETTLE_IDLE_MS (a listener lost some), or the deadline.
        const deadline = Date.now() + SETTLE_DEADLINE_MS;
        let last = -1;
        let lastChange = Date.now();
        for (;;) {
          const count = Number(await ask(listeners, 'count', 'count'));
          if (count >= sent.jobs || Date.now() > deadline || Date.now() - lastChange > SETTLE_IDLE_MS) break;
          if (count !== last) [last, lastChange] = [count, Date.now()];
          await sleep(50);
        }
        const report = (await ask(listeners, 'report', 'report', { expected: sent.jobs, lostMs: Date.now() - started })) as Report;
        if (report.lost > 0) ctx.log(`  ${side}: ${report.lost} notification(s) never received, counted as ${Date.now() - started} ms`);
        return { side, jobs: sent.jobs, submitSeconds: round(sent.seconds), submittedPerSecond: round(sent.jobs / sent.seconds), latencyMs: report };
      } finally {
        await listeners.stop(5000);
      }
    };

    // Warm-up (JIT, script cache, connections), not counted.
    await runOnce('relay', 1);
    await runOnce('bullmq', 1);
    for (let i = 0; i < runs; i++) {
      for (const side of ['relay', 'bullmq'] as const) {
        const run = await runOnce(side, seconds);
        all[side].push(run);
        const l = run.latencyMs;
        ctx.log(`  ${side.padEnd(6)} run ${i + 1}: p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms over ${l.samples} notifications (${run.jobs} jobs at ${Math.round(run.submittedPerSecond)}/s)`);
      }
    }
  } finally {
    storeRedis.disconnect();
    await queue.close().catch(() => undefined);
    await Promise.all([relayWorker?.child.stop(5000), bullmqWorker?.child.stop(5000), api?.child.stop(5000)]);
    await db0.flushdb().catch(() => undefined);
  }
  const lowestP99 = (list: LatencyRun[]) => list.reduce((a, b) => (b.latencyMs.p99 < a.latencyMs.p99 ? b : a));
  const r = lowestP99(all.relay);
  const b = lowestP99(all.bullmq);
  // Both clocks have ms resolution: a p99 under 1 ms counts as 1 ms in the ratio.
  const atLeast1 = (ms: number) => Math.max(ms, 1);
  const shared = {
    jobs: r.jobs,
    relayLabel: `Relay GET /ai/events?status=succeeded, ${LISTENERS} streams (API child), worker child WORKER_CONCURRENCY=${CONCURRENCY}, ${NOOP_ACTION} {}`,
    comparisonLabel: `BullMQ QueueEvents 'completed', ${LISTENERS} listeners, Worker child concurrency ${CONCURRENCY}, async no-op`,
  };
  const details = {
    listeners: LISTENERS,
    rate: `${JOBS_PER_SECOND} jobs/s submitted for ${seconds} s (Relay RedisJobStore.create kind plan, BullMQ addBulk), every ${TICK_MS} ms as many as keep the rate`,
    measure:
      "listener receive time (Date.now() in one listener child process for either side) − the ms of the event's stream id: the Redis time at which the finish script (Relay finishJobs, BullMQ moveToFinished) appended the event; every (listener, job) pair is a sample; nearest-rank percentiles",
    lost: `a notification a listener never received (none came for ${SETTLE_IDLE_MS / 1000} s, or ${SETTLE_DEADLINE_MS / 1000} s passed) counts as the run's length so far (first submit → giving up): 'lost' in each run`,
    listenersProcess: 'bench/workers/event-listeners.ts, one child per run: Relay one HTTP connection per stream; BullMQ one QueueEvents (its own blocking connection) per listener',
    pick: `lowest p99 of ${runs} run(s) per side, interleaved Relay, BullMQ; a 1 s warm-up run each first, not counted`,
    chosen: { relay: r, comparison: b },
    runs: { relay: all.relay, comparison: all.bullmq },
    options: { relayWorker: relayWorker?.env, bullmqWorker: bullmqWorker?.options },
  };
  return [
    result({
      name: `completion notification latency p99, ${LISTENERS} listeners, ~${JOBS_PER_SECOND} jobs/s`,
      relay: r.latencyMs.p99,
      comparison: b.latencyMs.p99,
      ratio: round(atLeast1(r.latencyMs.p99) / atLeast1(b.latencyMs.p99), 3),
      ratioDefinition: 'Relay p99 ÷ BullMQ p99 (finish → listener receives; each at least 1 ms, the clocks\' resolution)',
      units: 'ms',
      target: TARGETS.notificationLatency,
      threshold: 1,
      comparator: '<=',
      ...shared,
      details,
    }),
    result({
      name: `completion notification latency p50, ${LISTENERS} listeners, ~${JOBS_PER_SECOND} jobs/s`,
      relay: r.latencyMs.p50,
      comparison: b.latencyMs.p50,
      ratio: round(atLeast1(r.latencyMs.p50) / atLeast1(b.latencyMs.p50), 3),
      ratioDefinition: 'Relay p50 ÷ BullMQ p50 (same runs as the p99 row)',
      units: 'ms',
      target: 'informational (the target is on p99)',
      threshold: null,
      comparator: '<=',
      ...shared,
      details: { sameRunsAs: 'the p99 row' },
    }),
  ];
}
