import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@relay/redis';
import type { BenchContext } from '../support/context.js';
import { keyBytes, measure, type Measured } from '../support/memory-measure.js';
import { PARAMS_200, PARAMS_200_BYTES } from '../support/payload.js';
import { sleep, type Child } from '../support/processes.js';
import { relayStore, waitConnected } from '../support/relay-store.js';
import { result, TARGETS, type ScenarioResult } from '../support/result.js';
import { startBeeQueueWorker, startBullmqWorker, startRelayWorker } from '../support/servers.js';
import { round, runPool } from '../support/stats.js';
import { BEE_QUEUE_PREFIX, BEE_QUEUE_WORKER_SETTINGS, beeQueueProducer, beeQueueSaveAll } from '../support/bee-queue-settings.js';

/**
 * Memory per finished job (issue 17 point 3): what a day of traffic costs
 * while it sits out the retention window. Each side enqueues N jobs with the
 * pending rows' 200-byte params and its real worker (a child process, as in
 * the drains) runs them to success, every side's job returning the same
 * small result; used_memory after − before, ÷ N, measured as the pending
 * rows are (FLUSHALL, warm-up, 300 ms settle). Relay: apps/worker through
 * debug.sleep (no `ms` in the params: 0 ms, result `{"slept_ms":0}`), so
 * Redis holds exactly what a running Relay keeps: the record with its
 * result and finished_at, its index entry, its workspace in the expiry
 * sweep's registry (one entry, whatever the number of jobs).
 */

const WORKSPACE = 'bench-mem';
const QUEUE = 'bench-mem';
/** The one action every side runs: Relay's debug.sleep answers `{"slept_ms":0}` when params carry no `ms`. */
const ACTION = 'debug.sleep';
const RESULT = { slept_ms: 0 };
const IN_FLIGHT = 50;
/** Worker slots: enough that enqueuing, not running, sets the pace; the same on every side. */
const CONCURRENCY = 20;
const FINISH_DEADLINE_MS = 120_000;

type Mode = 'legacy' | 'scoped';

/** Worker environment of each write mode (the flags of support/context.ts FLAGS, spelled as .env.example spells them). */
const MODE_ENV: Record<Mode, Record<string, string>> = {
  legacy: {},
  scoped: { AI_JOBS_NEW_SCHEMA: 'on', PHASE_1_CANARY_PCT: '100', READ_PREFERS_NEW: 'on', READ_FALLBACK_OLD: 'off', AI_JOBS_LEGACY_WRITES: 'off' },
};

/** Polls the side's finished count (every 20 ms) until it reaches `jobs`; fails on a failed job, a dead worker or the deadline. */
async function waitFinished(child: Child, jobs: number, finished: () => Promise<{ done: number; failed: number }>): Promise<void> {
  const deadline = Date.now() + FINISH_DEADLINE_MS;
  for (;;) {
    const { done, failed } = await finished();
    if (failed > 0) throw new Error(`${failed} job(s) failed:\n${child.output().slice(-2000)}`);
    if (done >= jobs) return;
    if (!child.alive()) throw new Error(`worker exited:\n${child.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`only ${done} of ${jobs} jobs finished after ${FINISH_DEADLINE_MS / 1000} s`);
    await sleep(20);
  }
}

async function counted(redis: Redis, doneKey: string, failedKey: string, type: 'zset' | 'set'): Promise<{ done: number; failed: number }> {
  const pipe = redis.pipeline();
  const replies = await (type === 'zset' ? pipe.zcard(doneKey).zcard(failedKey) : pipe.scard(doneKey).scard(failedKey)).exec();
  return { done: Number(replies?.[0]?.[1] ?? 0), failed: Number(replies?.[1]?.[1] ?? 0) };
}

const perJob = async (redis: Redis, key: string, jobs: number) => ((await keyBytes(redis, key)) ?? 0) / jobs;

/** Relay: RedisJobStore.create (one job per call, 50 in flight) in `mode`, apps/worker with the same flags runs them. */
async function measureRelay(ctx: BenchContext, jobs: number, mode: Mode): Promise<Measured> {
  const { child, env } = await startRelayWorker(ctx.redis.url(0), CONCURRENCY, MODE_ENV[mode]);
  const { store, redis } = relayStore(ctx.redis.url(0), mode);
  const finished = () => counted(ctx.admin, RedisKeys.workspaceStatusIndex(WORKSPACE, 'succeeded'), RedisKeys.workspaceStatusIndex(WORKSPACE, 'failed'), 'zset');
  let sampleId = '';
  const create = async () => {
    const outcome = await store.create({ workspaceId: WORKSPACE, jobs: [{ actorId: 'bench-actor', action: ACTION, params: PARAMS_200 }], kind: 'job' });
    if (outcome.outcome !== 'created') throw new Error(`create answered ${outcome.outcome}`);
    sampleId = outcome.jobIds[0];
  };
  try {
    await waitConnected(redis);
    const measured = await measure(
      ctx,
      jobs,
      async () => {
        await create();
        await waitFinished(child, 1, finished);
      },
      async () => {
        await runPool(jobs, IN_FLIGHT, create);
        await waitFinished(child, jobs, finished);
      },
      async () => {
        const scopedKey = RedisKeys.scopedJob(WORKSPACE, sampleId);
        const hashKey = (await ctx.admin.exists(scopedKey)) ? scopedKey : RedisKeys.legacyJob(sampleId);
        return {
          recordBytes: await keyBytes(ctx.admin, hashKey),
          recordEncoding: await ctx.admin.object('ENCODING', hashKey),
          recordFields: await ctx.admin.hlen(hashKey),
          recordTtlSeconds: await ctx.admin.ttl(hashKey),
          status: await ctx.admin.hget(hashKey, 'status'),
          result: await ctx.admin.hget(hashKey, 'result'),
          succeededIndexBytesPerJob: await perJob(ctx.admin, RedisKeys.workspaceStatusIndex(WORKSPACE, 'succeeded'), jobs),
          expiringWorkspacesBytes: await keyBytes(ctx.admin, RedisKeys.expiringWorkspaces),
          retentionEntries: await ctx.admin.zcard(RedisKeys.retention),
          worker: { ...env, action: `${ACTION}, params the 200-byte object (no ms: 0 ms)` },
        };
      },
    );
    return measured;
  } finally {
    redis.disconnect();
    await child.stop(5000);
  }
}

/** BullMQ: addBulk of 100 (10 in flight) as the pending row, a Worker child returning the same result, removeOnComplete at its default (kept). */
async function measureBullmq(ctx: BenchContext, jobs: number): Promise<Measured> {
  const { child, options } = await startBullmqWorker(ctx.redis.port, 0, CONCURRENCY, { queue: QUEUE, result: RESULT });
  const queue = new Queue(QUEUE, { connection: { host: '127.0.0.1', port: ctx.redis.port } });
  const key = (name: string) => `bull:${QUEUE}:${name}`;
  const finished = () => counted(ctx.admin, key('completed'), key('failed'), 'zset');
  let sampleId = '';
  try {
    await queue.waitUntilReady();
    return await measure(
      ctx,
      jobs,
      async () => {
        await queue.add(ACTION, PARAMS_200);
        await waitFinished(child, 1, finished);
      },
      async () => {
        await runPool(Math.ceil(jobs / 100), 10, async (i) => {
          const added = await queue.addBulk(Array.from({ length: Math.min(100, jobs - i * 100) }, () => ({ name: ACTION, data: PARAMS_200 })));
          sampleId = added[0].id ?? sampleId;
        });
        await waitFinished(child, jobs, finished);
      },
      async () => ({
        jobHashBytes: await keyBytes(ctx.admin, key(sampleId)),
        jobHashEncoding: await ctx.admin.object('ENCODING', key(sampleId)),
        jobHashFields: await ctx.admin.hlen(key(sampleId)),
        returnvalue: await ctx.admin.hget(key(sampleId), 'returnvalue'),
        completedSetBytesPerJob: await perJob(ctx.admin, key('completed'), jobs),
        eventsStreamBytes: await keyBytes(ctx.admin, key('events')),
        eventsStreamLength: await ctx.admin.xlen(key('events')),
        worker: options,
      }),
    );
  } finally {
    await queue.close().catch(() => undefined);
    await child.stop(5000);
  }
}

/** Bee-Queue: saveAll of 100 (10 in flight) as the pending row, its worker child (removeOnSuccess false) returning the same result. */
async function measureBeeQueue(ctx: BenchContext, jobs: number): Promise<Measured> {
  const { child, options } = await startBeeQueueWorker(ctx.redis.port, 0, CONCURRENCY, { queue: QUEUE, result: RESULT });
  const queue = beeQueueProducer(QUEUE, ctx.redis.port, 0);
  const key = (name: string) => `${BEE_QUEUE_PREFIX}:${QUEUE}:${name}`;
  const finished = () => counted(ctx.admin, key('succeeded'), key('failed'), 'set');
  let sampleId = '';
  try {
    await queue.ready();
    return await measure(
      ctx,
      jobs,
      async () => {
        await queue.createJob(PARAMS_200).save();
        await waitFinished(child, 1, finished);
      },
      async () => {
        await runPool(Math.ceil(jobs / 100), 10, async (i) => {
          const saved = await beeQueueSaveAll(queue, Math.min(100, jobs - i * 100), PARAMS_200);
          sampleId = saved[0].id ?? sampleId;
        });
        await waitFinished(child, jobs, finished);
      },
      async () => ({
        jobsHashBytesPerJob: await perJob(ctx.admin, key('jobs'), jobs),
        jobsHashEncoding: await ctx.admin.object('ENCODING', key('jobs')),
        sampleJobValue: await ctx.admin.hget(key('jobs'), sampleId),
        succeededSetBytesPerJob: await perJob(ctx.admin, key('succeeded'), jobs),
        succeededSetEncoding: await ctx.admin.object('ENCODING', key('succeeded')),
        worker: options,
      }),
    );
  } finally {
    await queue.close().catch(() => undefined);
    await child.stop(5000);
  }
}

const MEASURE = 'INFO memory used_memory after − before enqueuing the jobs and running them to success (FLUSHALL, scripts loaded by a one-job warm-up, 300 ms settle), ÷ jobs';

/** The finished-job rows of the memory scenario: Relay legacy and scoped against BullMQ (scoped: the target) and Bee-Queue (informational). */
export async function finishedMemory(ctx: BenchContext): Promise<ScenarioResult[]> {
  const jobs = ctx.pick(5_000, 2_000);
  const relay: Partial<Record<Mode, Measured>> = {};
  for (const mode of ['legacy', 'scoped'] as Mode[]) {
    relay[mode] = await measureRelay(ctx, jobs, mode);
    ctx.log(`  finished, relay ${mode}: ${Math.round(relay[mode]!.bytesPerJob)} bytes/job`);
  }
  const bull = await measureBullmq(ctx, jobs);
  ctx.log(`  finished, bullmq: ${Math.round(bull.bytesPerJob)} bytes/job`);
  const bee = await measureBeeQueue(ctx, jobs);
  ctx.log(`  finished, bee-queue: ${Math.round(bee.bytesPerJob)} bytes/job`);

  const relayLabel = (mode: Mode) => `RedisJobStore.create, ${mode}, 200-byte params, run to success by apps/worker (${ACTION}, result ${JSON.stringify(RESULT)}), kept for the retention period`;
  const bullRow = (mode: Mode, threshold: number | null, note?: string) =>
    result({
      name: `memory per finished job, ${mode}`,
      relay: round(relay[mode]!.bytesPerJob),
      comparison: round(bull.bytesPerJob),
      ratio: round(relay[mode]!.bytesPerJob / bull.bytesPerJob, 3),
      ratioDefinition: 'Relay bytes/job ÷ BullMQ bytes/job',
      units: 'bytes/job',
      jobs,
      target: TARGETS.finishedMemory,
      threshold,
      comparator: '<=',
      relayLabel: relayLabel(mode),
      comparisonLabel: `BullMQ completed job (Queue.addBulk, Worker returning ${JSON.stringify(RESULT)}, removeOnComplete default: kept), same 200-byte data`,
      details: {
        relay: { keysPerJob: round(relay[mode]!.keysPerJob, 3), ...relay[mode]!.breakdown },
        comparison: { keysPerJob: round(bull.keysPerJob, 3), ...bull.breakdown },
        paramsBytes: PARAMS_200_BYTES,
        measure: MEASURE,
        note,
      },
    });
  const beeRow = (mode: Mode) =>
    result({
      name: `memory per finished job, ${mode}, vs Bee-Queue`,
      relay: round(relay[mode]!.bytesPerJob),
      comparison: round(bee.bytesPerJob),
      ratio: round(relay[mode]!.bytesPerJob / bee.bytesPerJob, 3),
      ratioDefinition: 'Relay bytes/job ÷ Bee-Queue bytes/job',
      units: 'bytes/job',
      jobs,
      target: TARGETS.beeQueueMemory,
      threshold: null,
      comparator: '<=',
      relayLabel: relayLabel(mode),
      comparisonLabel: `Bee-Queue succeeded job (Queue#saveAll, removeOnSuccess ${BEE_QUEUE_WORKER_SETTINGS.removeOnSuccess}, handler returning ${JSON.stringify(RESULT)}: published, not stored), same 200-byte data`,
      details: {
        relay: { keysPerJob: round(relay[mode]!.keysPerJob, 3), ...relay[mode]!.breakdown },
        comparison: { keysPerJob: round(bee.keysPerJob, 3), ...bee.breakdown },
        paramsBytes: PARAMS_200_BYTES,
        measure: MEASURE,
        note: 'informational: issue 17 sets no memory target against Bee-Queue',
      },
    });
  // BullMQ trims its events stream to about 10,000 entries (maxLenEvents), so over a day of traffic the stream
  // is a constant, not a per-job cost; at a few thousand jobs it is still a share of every job's figure.
  const streamBytesPerJob = Number(bull.breakdown.eventsStreamBytes ?? 0) / jobs;
  const bullSteady: Measured = { ...bull, bytesPerJob: bull.bytesPerJob - streamBytesPerJob, breakdown: { ...bull.breakdown, eventsStreamBytesPerJobLeftOut: round(streamBytesPerJob) } };
  const steady = result({
    name: 'memory per finished job, scoped, BullMQ events stream left out',
    relay: round(relay.scoped!.bytesPerJob),
    comparison: round(bullSteady.bytesPerJob),
    ratio: round(relay.scoped!.bytesPerJob / bullSteady.bytesPerJob, 3),
    ratioDefinition: 'Relay bytes/job ÷ (BullMQ bytes/job − its events stream bytes ÷ jobs)',
    units: 'bytes/job',
    jobs,
    target: TARGETS.finishedMemory,
    threshold: null,
    comparator: '<=',
    relayLabel: relayLabel('scoped'),
    comparisonLabel: 'BullMQ completed job as above, without the events stream (trimmed to ~10,000 entries: a constant over a day of jobs)',
    details: {
      relay: { keysPerJob: round(relay.scoped!.keysPerJob, 3), ...relay.scoped!.breakdown },
      comparison: { keysPerJob: round(bull.keysPerJob, 3), ...bullSteady.breakdown },
      paramsBytes: PARAMS_200_BYTES,
      measure: `${MEASURE}; BullMQ's events stream (MEMORY USAGE) subtracted`,
      note: 'informational: what the ratio tends to when far more jobs than the stream holds are kept, as over a retention window',
    },
  });
  return [
    bullRow('legacy', null, 'informational: the target is checked on the scoped mode, as the pending rows check scoped and dual-write'),
    bullRow('scoped', 1.5),
    steady,
    beeRow('legacy'),
    beeRow('scoped'),
  ];
}
