import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_FIELDS } from '@relay/queue';
import { RedisKeys } from '@relay/redis';
import type { BenchContext } from '../support/context.js';
import { keyBytes, measure, type Measured } from '../support/memory-measure.js';
import { PARAMS_200, PARAMS_200_BYTES } from '../support/payload.js';
import { relayStore, waitConnected } from '../support/relay-store.js';
import { result, TARGETS, type ScenarioResult } from '../support/result.js';
import { round, runPool } from '../support/stats.js';
import { randomUUID } from 'node:crypto';
import { finishedMemory } from './memory-finished.js';
import { BEE_QUEUE_PREFIX, beeQueueProducer, beeQueueSaveAll } from '../support/bee-queue-settings.js';

const WORKSPACE = 'bench-mem';
const IN_FLIGHT = 50;
const QUEUE = 'bench-mem';

type Mode = 'legacy' | 'dualWrite' | 'scoped';
const MODE_NAMES: Record<Mode, string> = { legacy: 'legacy', dualWrite: 'dual-write', scoped: 'scoped' };

/** The fields SPEC section 2 requires of a job hash (JOB_FIELDS without Relay's own request_hash and run_at). */
const SPEC_FIELDS = JOB_FIELDS.filter((field) => field !== 'request_hash' && field !== 'run_at');
const SCRATCH_KEY = 'ai:bench:spec-fields-only';
/** Issue 17 point 3: a scoped pending job held ~656 B beyond the lower-bound row before it (target: half, ≤ 330 B). */
const BEYOND_RECORD_BEFORE = 656;

/**
 * MEMORY USAGE of a hash holding only the spec's fields, with the values of
 * the sample job: what any schema-conforming record of this job costs at
 * least, before indexes, queue entries or Relay's own field.
 */
async function specFieldsOnlyBytes(redis: Redis, recordKey: string): Promise<number> {
  const values = await redis.hmget(recordKey, ...SPEC_FIELDS);
  await redis.del(SCRATCH_KEY);
  await redis.hset(SCRATCH_KEY, ...SPEC_FIELDS.flatMap((field, i) => [field, values[i] ?? '']));
  try {
    return (await keyBytes(redis, SCRATCH_KEY)) ?? 0;
  } finally {
    await redis.del(SCRATCH_KEY);
  }
}

/**
 * Memory: Redis bytes per pending job (INFO memory used_memory delta over N
 * jobs, full 20k, quick 5k) with a 200-byte params object, written through
 * RedisJobStore.create (one job per call, 50 in flight) in legacy,
 * dual-write and scoped write modes, against BullMQ waiting jobs with the
 * same data (addBulk of 100). Per-key MEMORY USAGE of sample keys is kept
 * in the details to show where the bytes go.
 */
/** Relay's bytes per pending job in one write mode (RedisJobStore.create, one job per call, 50 in flight). */
async function measureRelay(ctx: BenchContext, jobs: number, mode: Mode): Promise<Measured> {
  const { store, redis } = relayStore(ctx.redis.url(), mode);
  try {
    await waitConnected(redis);
    const create = () => store.create({ workspaceId: WORKSPACE, jobs: [{ actorId: 'bench-actor', action: 'debug.echo', params: PARAMS_200 }], kind: 'job' });
    let sampleId = '';
    return await measure(
      ctx,
      jobs,
      create,
      () =>
        runPool(jobs, IN_FLIGHT, async () => {
          const outcome = await create();
          if (outcome.outcome !== 'created') throw new Error(`create answered ${outcome.outcome}`);
          sampleId = outcome.jobIds[0];
        }),
      async () => {
        const legacyKey = RedisKeys.legacyJob(sampleId);
        const scopedKey = RedisKeys.scopedJob(WORKSPACE, sampleId);
        const hashKey = (await ctx.admin.exists(scopedKey)) ? scopedKey : legacyKey;
        return {
          legacyRecordBytes: await keyBytes(ctx.admin, legacyKey),
          scopedRecordBytes: await keyBytes(ctx.admin, scopedKey),
          recordEncoding: await ctx.admin.object('ENCODING', hashKey),
          recordFields: await ctx.admin.hlen(hashKey),
          recordFieldAndValueBytes: Object.entries(await ctx.admin.hgetall(hashKey)).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0),
          specFieldsOnlyRecordBytes: await specFieldsOnlyBytes(ctx.admin, hashKey),
          recordHasRequestHash: (await ctx.admin.hexists(hashKey, 'request_hash')) === 1,
          specFieldValues: await ctx.admin.hmget(hashKey, ...SPEC_FIELDS),
          statusIndexBytesPerJob: ((await keyBytes(ctx.admin, RedisKeys.workspaceStatusIndex(WORKSPACE, 'pending'))) ?? 0) / jobs,
          pendingQueueBytesPerJob: ((await keyBytes(ctx.admin, RedisKeys.pendingQueue)) ?? 0) / jobs,
        };
      },
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * The spec's fields alone, measured as the rows are (used_memory over N
 * hashes, not MEMORY USAGE of one): N hashes of the 15 fields with the
 * sample job's values (its own job_id each) under real job keys, written
 * with pipelined HSETs. MEMORY USAGE leaves out the allocator's rounding of
 * each hash-table entry (24 B asked, 32 B given: ~8 B a field) and the
 * keyspace's own table, so the lower-bound row is ~150–180 B under what any
 * record of these fields really costs; this row shows that part.
 */
async function measureSpecFloor(ctx: BenchContext, jobs: number, values: (string | null)[]): Promise<Measured> {
  const record = (jobId: string) => SPEC_FIELDS.flatMap((field, i) => [field, field === 'job_id' ? jobId : (values[i] ?? '')]);
  return measure(
    ctx,
    jobs,
    () => ctx.admin.hset(RedisKeys.scopedJob(WORKSPACE, randomUUID()), ...record('warm-up')),
    async () => {
      for (let first = 0; first < jobs; first += 1000) {
        const pipe = ctx.admin.pipeline();
        for (let i = first; i < Math.min(jobs, first + 1000); i++) {
          const jobId = randomUUID();
          pipe.hset(RedisKeys.scopedJob(WORKSPACE, jobId), ...record(jobId));
        }
        await pipe.exec();
      }
    },
    async () => ({ fields: SPEC_FIELDS, keys: 'ai:job:<ws>:<uuid>' }),
  );
}

/** BullMQ's bytes per waiting job with the same data (addBulk of 100, 10 in flight). */
async function measureBullmq(ctx: BenchContext, jobs: number): Promise<Measured> {
  const queue = new Queue(QUEUE, { connection: { host: '127.0.0.1', port: ctx.redis.port } });
  try {
    await queue.waitUntilReady();
    let sampleId = '';
    return await measure(
      ctx,
      jobs,
      () => queue.add('debug.echo', PARAMS_200),
      () =>
        runPool(Math.ceil(jobs / 100), 10, async (i) => {
          const added = await queue.addBulk(Array.from({ length: Math.min(100, jobs - i * 100) }, () => ({ name: 'debug.echo', data: PARAMS_200 })));
          sampleId = added[0].id ?? sampleId;
        }),
      async () => ({
        jobHashBytes: await keyBytes(ctx.admin, `bull:${QUEUE}:${sampleId}`),
        jobHashEncoding: await ctx.admin.object('ENCODING', `bull:${QUEUE}:${sampleId}`),
        jobHashFields: await ctx.admin.hlen(`bull:${QUEUE}:${sampleId}`),
        waitListBytesPerJob: ((await keyBytes(ctx.admin, `bull:${QUEUE}:wait`)) ?? 0) / jobs,
        eventsStreamBytes: await keyBytes(ctx.admin, `bull:${QUEUE}:events`),
        eventsStreamLength: await ctx.admin.xlen(`bull:${QUEUE}:events`),
      }),
    );
  } finally {
    await queue.close().catch(() => undefined);
  }
}

/**
 * Bee-Queue's bytes per waiting job with the same data (Queue#saveAll of
 * 100, 10 in flight, like BullMQ's addBulk). Bee-Queue keeps every job as
 * one JSON field of a single `jobs` hash and its id in the `waiting` list.
 */
async function measureBeeQueue(ctx: BenchContext, jobs: number): Promise<Measured> {
  const queue = beeQueueProducer(QUEUE, ctx.redis.port, 0);
  const key = (name: string) => `${BEE_QUEUE_PREFIX}:${QUEUE}:${name}`;
  try {
    await queue.ready();
    let sampleId = '';
    return await measure(
      ctx,
      jobs,
      () => queue.createJob(PARAMS_200).save(),
      () =>
        runPool(Math.ceil(jobs / 100), 10, async (i) => {
          const saved = await beeQueueSaveAll(queue, Math.min(100, jobs - i * 100), PARAMS_200);
          sampleId = saved[0].id ?? sampleId;
        }),
      async () => ({
        jobsHashBytesPerJob: ((await keyBytes(ctx.admin, key('jobs'))) ?? 0) / jobs,
        jobsHashEncoding: await ctx.admin.object('ENCODING', key('jobs')),
        jobsHashFields: await ctx.admin.hlen(key('jobs')),
        sampleJobValueBytes: await ctx.admin.hstrlen(key('jobs'), sampleId),
        waitingListBytesPerJob: ((await keyBytes(ctx.admin, key('waiting'))) ?? 0) / jobs,
      }),
    );
  } finally {
    await queue.close().catch(() => undefined);
  }
}

/** The listpack limit operators may raise (README "Performance"): measured on both sides, for the record. */
const RAISED_LISTPACK_VALUE = '256';

/**
 * Memory: Redis bytes per pending job (INFO memory used_memory delta over N
 * jobs, full 20k, quick 5k) with a 200-byte params object, written through
 * RedisJobStore.create (one job per call, 50 in flight) in legacy,
 * dual-write and scoped write modes, against BullMQ waiting jobs with the
 * same data (addBulk of 100). Per-key MEMORY USAGE of sample keys is kept
 * in the details to show where the bytes go. An informational row repeats
 * scoped and BullMQ with hash-max-listpack-value raised on the server.
 * Bee-Queue waiting jobs with the same data are measured too: informational
 * rows of each write mode against them (no target). Then the finished-job
 * rows (memory-finished.ts): jobs run to success and kept for retention.
 */
export async function memory(ctx: BenchContext): Promise<ScenarioResult[]> {
  const jobs = ctx.pick(20_000, 5_000);
  const measured: Partial<Record<Mode, Measured>> = {};
  for (const mode of ['legacy', 'dualWrite', 'scoped'] as Mode[]) {
    measured[mode] = await measureRelay(ctx, jobs, mode);
    ctx.log(`  relay ${MODE_NAMES[mode]}: ${Math.round(measured[mode]!.bytesPerJob)} bytes/job`);
  }
  const bull = await measureBullmq(ctx, jobs);
  ctx.log(`  bullmq: ${Math.round(bull.bytesPerJob)} bytes/job`);
  const bee = await measureBeeQueue(ctx, jobs);
  ctx.log(`  bee-queue: ${Math.round(bee.bytesPerJob)} bytes/job`);

  const [, defaultListpackValue] = (await ctx.admin.config('GET', 'hash-max-listpack-value')) as string[];
  let raised: { relay: Measured; bull: Measured };
  try {
    await ctx.admin.config('SET', 'hash-max-listpack-value', RAISED_LISTPACK_VALUE);
    raised = { relay: await measureRelay(ctx, jobs, 'scoped'), bull: await measureBullmq(ctx, jobs) };
  } finally {
    await ctx.admin.config('SET', 'hash-max-listpack-value', defaultListpackValue);
  }
  ctx.log(`  hash-max-listpack-value ${RAISED_LISTPACK_VALUE}: relay scoped ${Math.round(raised.relay.bytesPerJob)}, bullmq ${Math.round(raised.bull.bytesPerJob)} bytes/job`);

  const row = (name: string, m: Measured, b: Measured, threshold: number | null, note?: string, relayLabel = `RedisJobStore.create, ${name}, 200-byte params`) =>
    result({
      name: `memory per pending job, ${name}`,
      relay: round(m.bytesPerJob),
      comparison: round(b.bytesPerJob),
      ratio: round(m.bytesPerJob / b.bytesPerJob, 3),
      ratioDefinition: 'Relay bytes/job ÷ BullMQ bytes/job',
      units: 'bytes/job',
      jobs,
      target: TARGETS.memory,
      threshold,
      comparator: '<=',
      relayLabel,
      comparisonLabel: 'BullMQ waiting job (Queue.addBulk), same 200-byte data',
      details: {
        relay: { keysPerJob: round(m.keysPerJob, 3), ...m.breakdown },
        comparison: { keysPerJob: round(b.keysPerJob, 3), ...b.breakdown },
        paramsBytes: PARAMS_200_BYTES,
        measure: 'INFO memory used_memory after − before writing the jobs (FLUSHALL, scripts loaded, 300 ms settle), ÷ jobs',
        note,
      },
    });
  const informational = 'informational: the target names the scoped and dual-write modes only, on a default Redis';
  const beeRow = (mode: Mode) =>
    result({
      name: `memory per pending job, ${MODE_NAMES[mode]}, vs Bee-Queue`,
      relay: round(measured[mode]!.bytesPerJob),
      comparison: round(bee.bytesPerJob),
      ratio: round(measured[mode]!.bytesPerJob / bee.bytesPerJob, 3),
      ratioDefinition: 'Relay bytes/job ÷ Bee-Queue bytes/job',
      units: 'bytes/job',
      jobs,
      target: TARGETS.beeQueueMemory,
      threshold: null,
      comparator: '<=',
      relayLabel: `RedisJobStore.create, ${MODE_NAMES[mode]}, 200-byte params`,
      comparisonLabel: 'Bee-Queue waiting job (Queue#saveAll), same 200-byte data',
      details: {
        relay: { keysPerJob: round(measured[mode]!.keysPerJob, 3), ...measured[mode]!.breakdown },
        comparison: { keysPerJob: round(bee.keysPerJob, 3), ...bee.breakdown },
        paramsBytes: PARAMS_200_BYTES,
        measure: 'INFO memory used_memory after − before writing the jobs (FLUSHALL, scripts loaded, 300 ms settle), ÷ jobs',
        note: 'informational: issue 17 sets no memory target against Bee-Queue',
      },
    });
  const floorBytes = Number(measured.scoped!.breakdown.specFieldsOnlyRecordBytes);
  ctx.log(`  the spec's ${SPEC_FIELDS.length} fields alone, one hash: ${floorBytes} bytes`);
  const floor: Measured = { bytesPerJob: floorBytes, keysPerJob: 1, breakdown: { fields: SPEC_FIELDS, measure: 'MEMORY USAGE of a hash holding only these fields, with the scoped sample job\'s values' } };
  const measuredFloor = await measureSpecFloor(ctx, jobs, measured.scoped!.breakdown.specFieldValues as (string | null)[]);
  ctx.log(`  the spec's ${SPEC_FIELDS.length} fields alone, ${jobs} hashes (used_memory): ${Math.round(measuredFloor.bytesPerJob)} bytes/job`);
  // Issue 17 point 3: what a scoped pending job holds beyond the record, against the 656 B.
  const beyond = measured.scoped!.bytesPerJob - floorBytes;
  const beyondRow = result({
    name: 'memory per pending job beyond the lower bound, scoped',
    relay: round(beyond),
    comparison: BEYOND_RECORD_BEFORE,
    ratio: round(beyond / BEYOND_RECORD_BEFORE, 3),
    ratioDefinition: `(Relay scoped bytes/job − the lower-bound row) ÷ ${BEYOND_RECORD_BEFORE} B (issue 17's figure before)`,
    units: 'bytes/job',
    jobs,
    target: TARGETS.memoryBeyondRecord,
    threshold: 330 / BEYOND_RECORD_BEFORE,
    comparator: '<=',
    relayLabel: 'the scoped row less the lower-bound row: index entry, queue entry, Relay\'s own fields, and what MEMORY USAGE leaves out of the record',
    comparisonLabel: `${BEYOND_RECORD_BEFORE} B, the same difference before issue 17 (two index entries, request_hash on every record)`,
    details: {
      beyondMeasuredFloor: round(measured.scoped!.bytesPerJob - measuredFloor.bytesPerJob),
      measuredFloorBytesPerJob: round(measuredFloor.bytesPerJob),
      note: 'beyondMeasuredFloor: the same against the spec fields measured like the rows (used_memory over N hashes under real job keys): what Relay stores per job beyond any record of the spec\'s fields',
    },
  });
  return [
    row('legacy', measured.legacy!, bull, null, informational),
    row('dual-write', measured.dualWrite!, bull, 2.0),
    row('scoped', measured.scoped!, bull, 1.0),
    row(
      `lower bound: the spec's ${SPEC_FIELDS.length} fields alone in one hash`,
      floor,
      bull,
      null,
      'informational: every scoped job holds at least this hash (dual-write two), so scoped ≤ 1.0× and dual-write ≤ 2.0× both need this ratio ≤ 1.0 on a default Redis',
      `one hash of the spec's ${SPEC_FIELDS.length} fields with the sample job's values (MEMORY USAGE), no index, queue entry or request_hash`,
    ),
    row(
      `lower bound, measured: the spec's ${SPEC_FIELDS.length} fields alone in ${jobs} hashes`,
      measuredFloor,
      bull,
      null,
      'informational: the lower bound measured as every other row is (used_memory), under real job keys',
      `${jobs} hashes of the spec's ${SPEC_FIELDS.length} fields with the sample job's values under ai:job:<ws>:<uuid> keys (pipelined HSET), no index, queue entry or request_hash`,
    ),
    beyondRow,
    row(`scoped, hash-max-listpack-value ${RAISED_LISTPACK_VALUE} on both sides`, raised.relay, raised.bull, null, informational),
    beeRow('legacy'),
    beeRow('dualWrite'),
    beeRow('scoped'),
    ...(await finishedMemory(ctx)),
  ];
}
