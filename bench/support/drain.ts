import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@relay/redis';
import type { BenchContext } from './context.js';
import { startProbe, type ProbeReport } from './probe.js';
import { NOOP_ACTION } from './payload.js';
import { relayStore, waitConnected } from './relay-store.js';
import { BEE_QUEUE_NAME, BULLMQ_QUEUE, WORKER_WORKSPACE, startBeeQueueWorker, startBullmqWorker, startRelayWorker } from './servers.js';
import { BEE_QUEUE_PREFIX, beeQueueProducer, beeQueueSaveAll } from './bee-queue-settings.js';
import { runPool } from './stats.js';
import { sleep } from './processes.js';
import type { Child } from './processes.js';

/**
 * Worker drains, the same way for both sides: the worker child process is
 * started on logical database 0 (empty, so it idles), N jobs are written to
 * database 1 through the side's own enqueue API, and SWAPDB 0 1 hands them
 * all to the waiting worker at once (blocked BLMOVE / BZPOPMIN /
 * BRPOPLPUSH calls are woken by it). The clock starts at SWAPDB and stops when the finished
 * count reaches N (polled every 5 ms). Redis CPU (INFO cpu) is sampled at
 * the same two points. Worker start-up and filling are outside the
 * measurement.
 */

/** The sides of the live (noisy-neighbour) runs. */
export type Side = 'relay' | 'bullmq';
/** The sides of the drains: Bee-Queue is compared on worker throughput and Redis CPU only. */
export type DrainSide = Side | 'beequeue';

export interface DrainRun {
  jobs: number;
  seconds: number;
  jobsPerSec: number;
  /** Redis CPU (used_cpu_sys + used_cpu_user) during the drain, µs per job. */
  redisCpuUsPerJob: number;
  /** The same from the _main_thread counters, when Redis reports them. */
  redisMainThreadCpuUsPerJob?: number;
  /** Per job: Redis commands and their µs, worker process CPU. */
  perJob: ProbeReport;
}

export interface WorkerSession {
  side: DrainSide;
  concurrency: number;
  /** What the worker ran with (env for Relay, options for BullMQ, settings for Bee-Queue). */
  options: unknown;
  drain(jobs: number): Promise<DrainRun>;
  close(): Promise<void>;
}

const FILL_BATCH = 100;
const FILL_IN_FLIGHT = 10;

/** relayEnv: settings for the Relay worker besides its concurrency (e.g. WORKER_PREFETCH), for the Relay side only. */
export async function openSession(ctx: BenchContext, side: DrainSide, concurrency: number, relayEnv: Record<string, string> = {}): Promise<WorkerSession> {
  const db0 = ctx.connect(0, 'bench-drain-db0');
  const db1 = ctx.connect(1, 'bench-drain-db1');
  await db0.flushdb();
  await db1.flushdb();
  let child: Child;
  let options: unknown;
  let fill: (n: number) => Promise<void>;
  let finished: () => Promise<{ done: number; failed: number }>;
  let closeFill: () => Promise<void>;
  if (side === 'relay') {
    // BENCH_RELAY_ENV (JSON): extra settings for the Relay worker, for experiments (e.g. {"WORKER_PREFETCH":"10"}).
    const env = { ...(JSON.parse(process.env.BENCH_RELAY_ENV ?? '{}') as Record<string, string>), ...relayEnv };
    const started = await startRelayWorker(ctx.redis.url(0), concurrency, env);
    child = started.child;
    options = { ...started.env, migrationFlags: 'defaults (phase 0)', action: `${NOOP_ACTION} with params {}` };
    const { store, redis } = relayStore(ctx.redis.url(1), 'legacy');
    await waitConnected(redis);
    fill = (n) =>
      runPool(Math.ceil(n / FILL_BATCH), FILL_IN_FLIGHT, async (i) => {
        const size = Math.min(FILL_BATCH, n - i * FILL_BATCH);
        const jobs = Array.from({ length: size }, () => ({ actorId: 'bench-actor', action: NOOP_ACTION, params: {} }));
        const outcome = await store.create({ workspaceId: WORKER_WORKSPACE, jobs, kind: 'plan' });
        if (outcome.outcome !== 'created') throw new Error(`fill: create answered ${outcome.outcome}`);
      });
    finished = () => counts(db0, RedisKeys.workspaceStatusIndex(WORKER_WORKSPACE, 'succeeded'), RedisKeys.workspaceStatusIndex(WORKER_WORKSPACE, 'failed'));
    closeFill = async () => redis.disconnect();
  } else if (side === 'bullmq') {
    const started = await startBullmqWorker(ctx.redis.port, 0, concurrency);
    child = started.child;
    options = started.options;
    const queue = new Queue(BULLMQ_QUEUE, { connection: { host: '127.0.0.1', port: ctx.redis.port, db: 1 } });
    await queue.waitUntilReady();
    fill = (n) =>
      runPool(Math.ceil(n / FILL_BATCH), FILL_IN_FLIGHT, async (i) => {
        const size = Math.min(FILL_BATCH, n - i * FILL_BATCH);
        await queue.addBulk(Array.from({ length: size }, () => ({ name: NOOP_ACTION, data: {} })));
      });
    finished = () => counts(db0, `bull:${BULLMQ_QUEUE}:completed`, `bull:${BULLMQ_QUEUE}:failed`);
    closeFill = () => queue.close();
  } else {
    const started = await startBeeQueueWorker(ctx.redis.port, 0, concurrency);
    child = started.child;
    options = started.options;
    const queue = beeQueueProducer(BEE_QUEUE_NAME, ctx.redis.port, 1);
    await queue.ready();
    fill = (n) =>
      runPool(Math.ceil(n / FILL_BATCH), FILL_IN_FLIGHT, async (i) => {
        await beeQueueSaveAll(queue, Math.min(FILL_BATCH, n - i * FILL_BATCH), {});
      });
    // Bee-Queue keeps finished job ids in sets, not sorted sets.
    finished = () => counts(db0, `${BEE_QUEUE_PREFIX}:${BEE_QUEUE_NAME}:succeeded`, `${BEE_QUEUE_PREFIX}:${BEE_QUEUE_NAME}:failed`, 'set');
    closeFill = () => queue.close();
  }

  return {
    side,
    concurrency,
    options,
    async drain(jobs: number): Promise<DrainRun> {
      await db0.flushdb();
      await db1.flushdb();
      await fill(jobs);
      await sleep(100);
      const probe = await startProbe(ctx.admin, { worker: child.process.pid });
      const t0 = process.hrtime.bigint();
      await ctx.admin.swapdb(0, 1);
      const deadline = Date.now() + 300_000;
      for (;;) {
        const { done, failed } = await finished();
        if (failed > 0) throw new Error(`${side} worker: ${failed} job(s) failed during the drain:\n${child.output().slice(-2000)}`);
        if (done >= jobs) break;
        if (!child.alive()) throw new Error(`${side} worker exited during the drain:\n${child.output().slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`${side} worker: only ${done} of ${jobs} jobs done after 300 s`);
        await sleep(5);
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const perJob = await probe.stop(jobs);
      await db0.flushdb();
      await db1.flushdb();
      return {
        jobs,
        seconds,
        jobsPerSec: jobs / seconds,
        redisCpuUsPerJob: perJob.redisCpuUs,
        redisMainThreadCpuUsPerJob: perJob.redisMainThreadCpuUs,
        perJob,
      };
    },
    async close() {
      await closeFill().catch(() => undefined);
      await child.stop(5000);
      db0.disconnect();
      db1.disconnect();
    },
  };
}

async function counts(redis: Redis, doneKey: string, failedKey: string, type: 'zset' | 'set' = 'zset'): Promise<{ done: number; failed: number }> {
  const pipe = redis.pipeline();
  const replies = await (type === 'zset' ? pipe.zcard(doneKey).zcard(failedKey) : pipe.scard(doneKey).scard(failedKey)).exec();
  return { done: Number(replies?.[0]?.[1] ?? 0), failed: Number(replies?.[1]?.[1] ?? 0) };
}
