import fc from 'fast-check';
import type { Redis } from 'ioredis';
import {
  BackfillService,
  QueueScripts,
  RedisJobStore,
  WorkQueue,
  canaryBucket,
  copiesFor,
  selectStorageStrategy,
  type Job,
  type JobStatus,
  type JobSummary,
  type MigrationFlags,
  type StorageStrategy,
} from '@relay/queue';
import { RedisKeys } from '@relay/redis';
import { RelayMetrics } from '@relay/telemetry';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Model-based test of the online storage migration (SPEC sections 2 and 3).
 *
 * The system under test is a real Redis (this file's own redis-server,
 * flushed before every run) with the store of the current phase, a
 * WorkQueue and a BackfillService built directly. Random command sequences
 * submit jobs and plans in three workspaces, cancel (also across
 * workspaces), claim and finish jobs (claims are global, FIFO), read, list
 * (with a phase change between two pages), advance the phase and run the
 * backfill. After every command every workspace's full list and every job's
 * get() must equal the model, whatever the phase, and the physical copies
 * (legacy / scoped) must be the ones the phase history calls for, with equal
 * status wherever both exist.
 *
 * Go/no-go (runbook): fallback goes off (phase 3) only after a backfill has
 * run since the last job created in a phase that wrote legacy-only copies
 * (0 or the canary). The "advance" step runs that backfill first, as an
 * operator would.
 */

const WORKSPACES = ['w1', 'w2', 'w3'] as const;
type Ws = (typeof WORKSPACES)[number];
const STATUSES: JobStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];
const RETENTION = 86_400;
const CLAIM = { max: 1, workerId: 'w', leaseMs: 60_000, maxAttempts: 3, retentionSeconds: RETENTION };

const PHASES = ['0', '1a', '1b', '2', '3', '4'] as const;
type Phase = (typeof PHASES)[number];

function flagsForPhase(p: Phase): MigrationFlags {
  const base: MigrationFlags = { newSchema: false, canaryPct: 100, readPrefersNew: false, readFallbackOld: true, legacyWrites: true };
  switch (p) {
    case '0':
      return base;
    case '1a':
      return { ...base, newSchema: true, canaryPct: 30 };
    case '1b':
      return { ...base, newSchema: true };
    case '2':
      return { ...base, newSchema: true, readPrefersNew: true };
    case '3':
      return { ...base, newSchema: true, readPrefersNew: true, readFallbackOld: false };
    case '4':
      return { ...base, newSchema: true, readPrefersNew: true, readFallbackOld: false, legacyWrites: false };
  }
}
const EXPECTED_STRATEGY: Record<Phase, Pick<StorageStrategy, 'phase' | 'writes' | 'reads'>> = {
  '0': { phase: 0, writes: 'legacy', reads: 'legacy' },
  '1a': { phase: 1, writes: 'dual-write', reads: 'legacy' },
  '1b': { phase: 1, writes: 'dual-write', reads: 'legacy' },
  '2': { phase: 2, writes: 'dual-write', reads: 'scoped-then-legacy' },
  '3': { phase: 3, writes: 'dual-write', reads: 'scoped' },
  '4': { phase: 4, writes: 'scoped', reads: 'scoped' },
};

// ---------------------------------------------------------------- model

interface ModelJob {
  id: string;
  ws: Ws;
  status: JobStatus;
  attempts: number;
  /** Submission number: later submissions have a strictly later created_at. */
  seq: number;
  createdAt: string;
  legacy: boolean;
  scoped: boolean;
}

interface Model {
  phase: number; // index into PHASES
  jobs: ModelJob[]; // creation order
  byId: Map<string, ModelJob>;
  /** Queue entries (job ids), oldest first: the order claims take them (global, all workspaces). */
  queue: string[];
  /** A job was created in a phase that may write legacy-only copies since the last backfill. */
  backfillDue: boolean;
  seq: number;
  lastCreatedAt: string;
}

interface Real {
  redis: Redis;
  metrics: RelayMetrics;
  store: RedisJobStore;
  stores: Map<number, RedisJobStore>;
  queue: WorkQueue;
  backfill: BackfillService;
}

const bytewise = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
/** Newest first: later submission first; one plan's jobs share created_at and sort by job id descending. */
const newestFirst = (jobs: ModelJob[]) => [...jobs].sort((a, b) => b.seq - a.seq || bytewise(b.id, a.id));
const phaseName = (m: Readonly<Model>) => PHASES[m.phase];

function storeFor(r: Real, phase: number): RedisJobStore {
  let store = r.stores.get(phase);
  if (!store) {
    const strategy = selectStorageStrategy(flagsForPhase(PHASES[phase]));
    expect(strategy).toMatchObject(EXPECTED_STRATEGY[PHASES[phase]]);
    store = new RedisJobStore(new QueueScripts(r.redis), strategy, r.metrics, RETENTION);
    r.stores.set(phase, store);
  }
  return store;
}

/** Waits (no fixed sleep) until the clock reads later than `iso`, so the next submission is strictly newer. */
async function clockPasses(iso: string): Promise<void> {
  while (new Date().toISOString() <= iso) await new Promise((r) => setImmediate(r));
}

/** The backfill, with its totals checked against the model, then applied to the model. */
async function runBackfill(m: Model, r: Real): Promise<void> {
  const legacyJobs = m.jobs.filter((j) => j.legacy);
  const totals = await r.backfill.run();
  expect({ scanned: totals.scanned, copied: totals.copied, skipped: totals.skipped, invalid: totals.invalid }).toEqual({
    scanned: legacyJobs.length,
    copied: legacyJobs.filter((j) => !j.scoped).length,
    skipped: legacyJobs.filter((j) => j.scoped).length,
    invalid: 0,
  });
  for (const j of legacyJobs) j.scoped = true;
  m.backfillDue = false;
}

/** Moves to the next phase; into phase 3 only with the go/no-go met (the operator runs the backfill first). */
async function advance(m: Model, r: Real): Promise<boolean> {
  if (m.phase >= PHASES.length - 1) return false;
  if (PHASES[m.phase + 1] === '3' && m.backfillDue) await runBackfill(m, r);
  m.phase += 1;
  r.store = storeFor(r, m.phase);
  return true;
}

function expectJobMatches(actual: Job | JobSummary | undefined, j: ModelJob, where: string): void {
  expect({ where, job: actual && { ...actual } }).toMatchObject({
    where,
    job: {
      jobId: j.id,
      workspaceId: j.ws,
      status: j.status,
      attempts: j.attempts,
      createdAt: j.createdAt,
      action: 'debug.echo',
      result: j.status === 'succeeded' ? {} : null,
      error: j.status === 'failed' ? 'x' : null,
    },
  });
}

/**
 * Walks every page of a list. `between` runs after the first page when
 * another follows, and may change the store the rest of the walk uses.
 * Checks: no page longer than the limit, every page but the last is full,
 * the last page has no cursor.
 */
async function walk(
  store: () => RedisJobStore,
  ws: Ws,
  limit: number,
  status: JobStatus | undefined,
  expectedCount: number,
  between?: () => Promise<void>,
): Promise<JobSummary[]> {
  const items: JobSummary[] = [];
  let cursor: string | undefined;
  for (let page = 0; ; page++) {
    // A walk longer than the model allows is a failure, not a hang.
    expect(page).toBeLessThanOrEqual(Math.ceil(expectedCount / limit) + 1);
    const p = await store().list({ workspaceId: ws, limit, cursor, status });
    expect(p.items.length).toBeLessThanOrEqual(limit);
    items.push(...p.items);
    if (p.nextCursor === null) break;
    expect(p.items).toHaveLength(limit);
    cursor = p.nextCursor;
    if (page === 0 && between) await between();
  }
  return items;
}

function expectWalk(items: JobSummary[], expected: ModelJob[], ws: Ws, context: string): void {
  expect(items.every((i) => i.workspaceId === ws)).toBe(true);
  expect(new Set(items.map((i) => i.jobId)).size).toBe(items.length);
  expect({ context, ids: items.map((i) => i.jobId) }).toEqual({ context, ids: expected.map((j) => j.id) });
  items.forEach((item, i) => expectJobMatches(item, expected[i], `${context} item ${i}`));
}

/** Every workspace's lists (all, and per status) and every job's get() equal the model; copies are as the history says. */
async function checkInvariant(m: Model, r: Real): Promise<void> {
  const store = r.store;
  const checks: Promise<void>[] = [];
  for (const ws of WORKSPACES) {
    const mine = newestFirst(m.jobs.filter((j) => j.ws === ws));
    checks.push(walk(() => store, ws, 7, undefined, mine.length).then((items) => expectWalk(items, mine, ws, `invariant list ${ws} phase ${phaseName(m)}`)));
    for (const status of STATUSES) {
      const expected = mine.filter((j) => j.status === status);
      checks.push(
        walk(() => store, ws, 50, status, expected.length).then((items) => expectWalk(items, expected, ws, `invariant list ${ws}/${status} phase ${phaseName(m)}`)),
      );
    }
  }
  for (const j of m.jobs) {
    checks.push(store.get(j.ws, j.id).then((got) => expectJobMatches(got, j, `invariant get ${j.ws}/${j.id} phase ${phaseName(m)}`)));
    const other = WORKSPACES[(WORKSPACES.indexOf(j.ws) + 1) % WORKSPACES.length];
    checks.push(store.get(other, j.id).then((got) => expect({ other, got }).toEqual({ other, got: undefined })));
  }
  await Promise.all(checks);

  // The status indexes hold exactly the model's jobs, each in the one of its
  // status (no all-jobs index is written: an unfiltered list merges them), and
  // the pending queue exactly the entries the model has not yet seen claimed.
  const member = (j: ModelJob) => `${j.createdAt}/${j.id}`;
  const sorted = (xs: string[]) => [...xs].sort();
  const indexes = r.redis.pipeline();
  for (const ws of WORKSPACES) {
    indexes.exists(RedisKeys.allJobsIndex(ws));
    for (const status of STATUSES) indexes.zrange(RedisKeys.workspaceStatusIndex(ws, status), '0', '-1');
  }
  indexes.lrange(RedisKeys.pendingQueue, '0', '-1');
  for (const ws of WORKSPACES) indexes.lrange(RedisKeys.workspaceQueue(ws), '0', '-1');
  const indexReplies = (await indexes.exec())!.map(([error, value]) => {
    if (error) throw error;
    return value as string[] & number;
  });
  let at = 0;
  for (const ws of WORKSPACES) {
    const mine = m.jobs.filter((j) => j.ws === ws);
    expect({ allJobsIndex: ws, exists: indexReplies[at++] }).toEqual({ allJobsIndex: ws, exists: 0 });
    for (const status of STATUSES) {
      const expected = mine.filter((j) => j.status === status).map(member);
      expect({ index: `${ws}/${status}`, members: sorted(indexReplies[at++]) }).toEqual({ index: `${ws}/${status}`, members: sorted(expected) });
    }
  }
  // Per workspace, its queue (drained from the pending list earlier) then its entries still on
  // the pending list; both LPUSH in, RPOP out: oldest last. Entries of jobs no longer pending are
  // dropped by claims whenever they reach them, so only pending jobs' entries are compared.
  const pendingList = [...indexReplies[at++]].reverse();
  for (const ws of WORKSPACES) {
    const isPending = (entry: string) => m.byId.get(entry.slice(entry.indexOf(':') + 1))?.status === 'pending';
    const queued = [...[...indexReplies[at++]].reverse(), ...pendingList.filter((e) => e.startsWith(`${ws}:`))].filter(isPending);
    const expected = m.queue.filter((id) => m.byId.get(id)!.ws === ws).map((id) => `${ws}:${id}`).filter(isPending);
    expect({ queue: ws, entries: queued }).toEqual({ queue: ws, entries: expected });
  }

  // Physical copies: which exist, that a status change reached every one, and
  // that finished jobs (only they) expire, in every copy.
  if (m.jobs.length === 0) return;
  const pipe = r.redis.pipeline();
  for (const j of m.jobs) {
    pipe.hmget(RedisKeys.legacyJob(j.id), 'status', 'attempts', 'updated_at', 'workspace_id');
    pipe.hmget(RedisKeys.scopedJob(j.ws, j.id), 'status', 'attempts', 'updated_at', 'workspace_id');
    pipe.pttl(RedisKeys.legacyJob(j.id));
    pipe.pttl(RedisKeys.scopedJob(j.ws, j.id));
  }
  const replies = (await pipe.exec())!.map(([error, value]) => {
    if (error) throw error;
    return value as unknown;
  });
  m.jobs.forEach((j, i) => {
    const [legacy, scoped] = [replies[4 * i] as (string | null)[], replies[4 * i + 1] as (string | null)[]];
    const [legacyTtl, scopedTtl] = [replies[4 * i + 2] as number, replies[4 * i + 3] as number];
    const view = (v: (string | null)[]) => (v[0] === null ? null : { status: v[0], attempts: v[1], workspace_id: v[3] });
    const expectedCopy = { status: j.status, attempts: String(j.attempts), workspace_id: j.ws };
    expect({ job: j.id, legacy: view(legacy), scoped: view(scoped) }).toEqual({
      job: j.id,
      legacy: j.legacy ? expectedCopy : null,
      scoped: j.scoped ? expectedCopy : null,
    });
    if (j.legacy && j.scoped) expect({ job: j.id, updated: legacy[2] }).toEqual({ job: j.id, updated: scoped[2] });
    const finished = j.status === 'succeeded' || j.status === 'failed' || j.status === 'cancelled';
    const ttlOk = (ttl: number, exists: boolean) => (!exists ? ttl === -2 : finished ? ttl > 0 && ttl <= RETENTION * 1000 : ttl === -1);
    expect({ job: j.id, status: j.status, legacyTtl, scopedTtl, ok: ttlOk(legacyTtl, j.legacy) && ttlOk(scopedTtl, j.scoped) }).toMatchObject({ ok: true });
  });
}

// ---------------------------------------------------------------- commands

type Cmd = fc.AsyncCommand<Model, Real>;

/** A model job by a random pick (any workspace), or undefined when there is none. */
const picked = (m: Readonly<Model>, pick: number) => (m.jobs.length === 0 ? undefined : m.jobs[pick % m.jobs.length]);
const ABSENT_ID = '00000000-0000-4000-8000-000000000000';

class SubmitCmd implements Cmd {
  constructor(readonly ws: Ws, readonly n: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    await clockPasses(m.lastCreatedAt);
    const jobs = Array.from({ length: this.n }, (_, i) => ({ actorId: 'actor', action: 'debug.echo', params: { i } }));
    const out = await r.store.create({ workspaceId: this.ws, jobs, kind: this.n === 1 ? 'job' : 'plan' });
    if (out.outcome !== 'created') throw new Error(`submit: expected created, got ${JSON.stringify(out)}`);
    expect(out.jobIds).toHaveLength(this.n);
    expect(out.createdAt > m.lastCreatedAt).toBe(true);
    m.seq += 1;
    m.lastCreatedAt = out.createdAt;
    const phase = phaseName(m);
    for (const id of out.jobIds) {
      const copies = copiesFor(r.store.strategy, id);
      expect(copies.legacy).toBe(phase !== '4');
      if (phase === '0') expect(copies.scoped).toBe(false);
      if (phase !== '0' && phase !== '1a') expect(copies.scoped).toBe(true);
      const job: ModelJob = { id, ws: this.ws, status: 'pending', attempts: 0, seq: m.seq, createdAt: out.createdAt, legacy: copies.legacy, scoped: copies.scoped };
      m.jobs.push(job);
      m.byId.set(id, job);
      m.queue.push(id);
    }
    if (phase === '0' || phase === '1a') m.backfillDue = true;
    await checkInvariant(m, r);
  }
  toString = () => `submit(${this.ws}, ${this.n})`;
}

class CancelCmd implements Cmd {
  constructor(readonly ws: Ws, readonly pick: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const job = picked(m, this.pick);
    const out = await r.store.cancel(this.ws, job?.id ?? ABSENT_ID);
    if (!job || job.ws !== this.ws) {
      expect(out).toEqual({ outcome: 'missing' });
    } else if (job.status === 'pending') {
      expect(out).toMatchObject({ outcome: 'cancelled', job: { jobId: job.id, workspaceId: this.ws, status: 'cancelled' } });
      job.status = 'cancelled';
    } else {
      expect(out).toEqual({ outcome: 'conflict', status: job.status });
    }
    await checkInvariant(m, r);
  }
  toString = () => `cancel(${this.ws}, #${this.pick})`;
}

/** What happens while the claimed job runs: nothing, a phase change, or a backfill (which may copy the running job). */
type WhileRunning = 'nothing' | 'advance' | 'backfill';

class RunCmd implements Cmd {
  constructor(readonly outcome: 'succeeded' | 'failed', readonly whileRunning: WhileRunning) {}
  check = () => true;
  async run(m: Model, r: Real) {
    // A claim serves the workspaces in rotation (README "Scheduling"): whichever workspace it
    // serves, it takes that workspace's oldest pending job (entries of other jobs are dropped).
    const claimed = await r.queue.claim(CLAIM);
    const waiting = m.queue.map((id) => m.byId.get(id)!).filter((j) => j.status === 'pending');
    const next = claimed.length > 0 ? waiting.find((j) => j.ws === claimed[0].workspaceId) : undefined;
    expect(claimed.map((c) => `${c.workspaceId}/${c.jobId}`)).toEqual(waiting.length > 0 && next ? [`${next.ws}/${next.id}`] : []);
    expect(claimed.length).toBe(waiting.length > 0 ? 1 : 0);
    if (next) m.queue.splice(m.queue.indexOf(next.id), 1);
    if (next) {
      const [c] = claimed;
      expect({ attempts: c.attempts, action: c.action, createdAt: c.createdAt }).toEqual({
        attempts: next.attempts + 1,
        action: 'debug.echo',
        createdAt: next.createdAt,
      });
      next.status = 'running';
      next.attempts += 1;
      if (this.whileRunning === 'advance') await advance(m, r);
      if (this.whileRunning === 'backfill') await runBackfill(m, r);
      await checkInvariant(m, r);
      const result = await r.queue.finish(c, this.outcome === 'succeeded' ? { outcome: 'succeeded', result: {} } : { outcome: 'failed', error: 'x' }, RETENTION);
      expect(result.result).toBe('done');
      expect(result.claimed).toEqual([]);
      next.status = this.outcome;
    }
    await checkInvariant(m, r);
  }
  toString = () => `run(${this.outcome}${this.whileRunning === 'nothing' ? '' : `, ${this.whileRunning} while running`})`;
}

class GetCmd implements Cmd {
  constructor(readonly ws: Ws, readonly pick: number, readonly absent: boolean) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const job = this.absent ? undefined : picked(m, this.pick);
    const got = await r.store.get(this.ws, job?.id ?? ABSENT_ID);
    if (job && job.ws === this.ws) expectJobMatches(got, job, `get ${this.ws}/${job.id}`);
    else expect(got).toBeUndefined();
  }
  toString = () => `get(${this.ws}, ${this.absent ? 'absent' : `#${this.pick}`})`;
}

class ListCmd implements Cmd {
  constructor(readonly ws: Ws, readonly limit: number, readonly status: JobStatus | undefined, readonly advanceBetweenPages: boolean) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const expected = newestFirst(m.jobs.filter((j) => j.ws === this.ws && (!this.status || j.status === this.status)));
    const from = phaseName(m);
    const items = await walk(() => r.store, this.ws, this.limit, this.status, expected.length, this.advanceBetweenPages ? async () => void (await advance(m, r)) : undefined);
    expectWalk(items, expected, this.ws, `list ${this.ws} limit ${this.limit} status ${this.status ?? '*'} phase ${from}→${phaseName(m)}`);
    if (phaseName(m) !== from) await checkInvariant(m, r);
  }
  toString = () => `list(${this.ws}, ${this.limit}, ${this.status ?? '*'}${this.advanceBetweenPages ? ', advance between pages' : ''})`;
}

class AdvanceCmd implements Cmd {
  check = (m: Readonly<Model>) => m.phase < PHASES.length - 1;
  async run(m: Model, r: Real) {
    expect(await advance(m, r)).toBe(true);
    await checkInvariant(m, r);
  }
  toString = () => 'advancePhase()';
}

class BackfillCmd implements Cmd {
  check = () => true;
  async run(m: Model, r: Real) {
    await runBackfill(m, r);
    await checkInvariant(m, r);
  }
  toString = () => 'backfill()';
}

const wsArb = fc.constantFrom<Ws>(...WORKSPACES);
const submitArb = fc
  .tuple(wsArb, fc.oneof({ arbitrary: fc.constant(1), weight: 3 }, { arbitrary: fc.integer({ min: 2, max: 4 }), weight: 2 }, { arbitrary: fc.integer({ min: 10, max: 12 }), weight: 1 }))
  .map(([ws, n]) => new SubmitCmd(ws, n));
const runArb = fc
  .tuple(
    fc.constantFrom<'succeeded' | 'failed'>('succeeded', 'failed'),
    fc.oneof({ arbitrary: fc.constant<WhileRunning>('nothing'), weight: 4 }, { arbitrary: fc.constantFrom<WhileRunning>('advance', 'backfill'), weight: 1 }),
  )
  .map(([outcome, whileRunning]) => new RunCmd(outcome, whileRunning));
const commandArbs: fc.Arbitrary<Cmd>[] = [
  submitArb,
  submitArb,
  submitArb,
  fc.tuple(wsArb, fc.nat()).map(([ws, pick]) => new CancelCmd(ws, pick)),
  runArb,
  runArb,
  fc.tuple(wsArb, fc.nat(), fc.boolean()).map(([ws, pick, absent]) => new GetCmd(ws, pick, absent)),
  fc
    .tuple(wsArb, fc.integer({ min: 1, max: 10 }), fc.option(fc.constantFrom(...STATUSES), { nil: undefined }), fc.boolean())
    .map(([ws, limit, status, adv]) => new ListCmd(ws, limit, status, adv)),
  fc
    .tuple(wsArb, fc.integer({ min: 1, max: 10 }), fc.option(fc.constantFrom(...STATUSES), { nil: undefined }), fc.boolean())
    .map(([ws, limit, status, adv]) => new ListCmd(ws, limit, status, adv)),
  fc.constant(new AdvanceCmd()),
  fc.constant(new AdvanceCmd()),
  fc.constant(new BackfillCmd()),
];

// ---------------------------------------------------------------- tests

describe('online storage migration: model-based property on a real Redis', () => {
  let redis: Redis;
  let server: FileRedis;
  const metrics = new RelayMetrics();

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('reads, lists (also across a phase change between pages), cancels and status updates match the model in every phase', async () => {
    const setup = async () => {
      await redis.flushdb();
      const real: Real = { redis, metrics, stores: new Map(), store: undefined as unknown as RedisJobStore, queue: new WorkQueue(new QueueScripts(redis), redis), backfill: new BackfillService(new QueueScripts(redis), redis) };
      real.store = storeFor(real, 0);
      const model: Model = { phase: 0, jobs: [], byId: new Map(), queue: [], backfillDue: false, seq: 0, lastCreatedAt: '' };
      return { model, real };
    };
    await fc.assert(
      fc.asyncProperty(fc.commands(commandArbs, { maxCommands: 40, size: 'max' }), async (cmds) => {
        await fc.asyncModelRun(setup, cmds);
      }),
      { numRuns: 30 },
    );
  }, 180_000);

  it('in phase 1 with a 30 % canary, about 30 % of new jobs get a scoped copy (the same ones every time), every job a legacy copy', async () => {
    await redis.flushdb();
    const store = new RedisJobStore(new QueueScripts(redis), selectStorageStrategy(flagsForPhase('1a')), metrics, RETENTION);
    const ids: string[] = [];
    for (let i = 0; i < 400; i++) {
      const out = await store.create({ workspaceId: 'canary', jobs: [{ actorId: 'a', action: 'debug.echo', params: { i } }], kind: 'job' });
      if (out.outcome !== 'created') throw new Error(JSON.stringify(out));
      ids.push(...out.jobIds);
    }
    const pipe = redis.pipeline();
    for (const id of ids) pipe.exists(RedisKeys.scopedJob('canary', id)).exists(RedisKeys.legacyJob(id));
    const exists = (await pipe.exec())!.map(([, n]) => n as number);
    const scoped = ids.filter((_, i) => exists[2 * i] === 1);
    expect(ids.every((_, i) => exists[2 * i + 1] === 1)).toBe(true);
    // 400 draws at p = 0.3: the standard deviation of the share is 0.023, so 0.2..0.4 is over 4 of them.
    expect(scoped.length / ids.length).toBeGreaterThan(0.2);
    expect(scoped.length / ids.length).toBeLessThan(0.4);
    // Decided deterministically per job id.
    expect(new Set(scoped)).toEqual(new Set(ids.filter((id) => canaryBucket(id) < 30)));
    expect((await metrics.dualWriteRatio.get()).values[0].value).toBeCloseTo(scoped.length / ids.length, 6);
    // Every job, with or without the scoped copy, reads and lists the same in phase 2.
    const phase2 = new RedisJobStore(new QueueScripts(redis), selectStorageStrategy(flagsForPhase('2')), metrics, RETENTION);
    const listed = await phase2.list({ workspaceId: 'canary', limit: 100 });
    expect(listed.items).toHaveLength(100);
    expect((await phase2.get('canary', ids[0]))?.jobId).toBe(ids[0]);
  });

  it('a status update (claim, finish, cancel) reaches both copies when both exist, also a copy made by backfill', async () => {
    await redis.flushdb();
    const queue = new WorkQueue(new QueueScripts(redis), redis);
    const both = new RedisJobStore(new QueueScripts(redis), selectStorageStrategy(flagsForPhase('1b')), metrics, RETENTION);
    const legacyOnly = new RedisJobStore(new QueueScripts(redis), selectStorageStrategy(flagsForPhase('0')), metrics, RETENTION);
    const create = async (store: RedisJobStore, n: number) => {
      const out = await store.create({ workspaceId: 'dual', jobs: Array.from({ length: n }, (_, i) => ({ actorId: 'a', action: 'debug.echo', params: { i } })), kind: n === 1 ? 'job' : 'plan' });
      if (out.outcome !== 'created') throw new Error(JSON.stringify(out));
      return out.jobIds;
    };
    const copies = async (id: string) => {
      const [legacy, scoped] = await Promise.all([
        redis.hmget(RedisKeys.legacyJob(id), 'status', 'attempts', 'updated_at', 'finished_at'),
        redis.hmget(RedisKeys.scopedJob('dual', id), 'status', 'attempts', 'updated_at', 'finished_at'),
      ]);
      const [legacyTtl, scopedTtl] = await Promise.all([redis.ttl(RedisKeys.legacyJob(id)), redis.ttl(RedisKeys.scopedJob('dual', id))]);
      return { legacy, scoped, legacyTtl, scopedTtl };
    };

    // Phase 0 job, copied by backfill; then two dual-written jobs (phase 1 at 100 %).
    const [old] = await create(legacyOnly, 1);
    expect(await redis.exists(RedisKeys.scopedJob('dual', old))).toBe(0);
    expect((await new BackfillService(new QueueScripts(redis), redis).run()).copied).toBe(1);
    const [a, b] = await create(both, 2);
    const [c] = await create(both, 1);
    for (const id of [old, a, b, c]) {
      expect(await redis.hget(RedisKeys.legacyJob(id), 'status')).toBe('pending');
      expect(await redis.hget(RedisKeys.scopedJob('dual', id), 'status')).toBe('pending');
    }

    const expectBoth = async (id: string, status: string, attempts: string) => {
      const got = await copies(id);
      expect({ id, legacy: got.legacy.slice(0, 2), scoped: got.scoped.slice(0, 2) }).toEqual({ id, legacy: [status, attempts], scoped: [status, attempts] });
      expect(got.legacy[2]).toBe(got.scoped[2]);
      expect(got.legacy[3]).toBe(got.scoped[3]);
      if (status === 'pending' || status === 'running') expect([got.legacyTtl, got.scopedTtl]).toEqual([-1, -1]);
      else {
        expect(got.legacyTtl).toBeGreaterThan(RETENTION - 60);
        expect(got.scopedTtl).toBeGreaterThan(RETENTION - 60);
      }
    };

    // Claims are FIFO: old, then a, then b.
    const outcomes = [
      { id: old, outcome: { outcome: 'succeeded' as const, result: { ok: 1 } } },
      { id: a, outcome: { outcome: 'failed' as const, error: 'x' } },
    ];
    for (const { id, outcome } of outcomes) {
      const [claimed] = await queue.claim(CLAIM);
      expect(claimed.jobId).toBe(id);
      await expectBoth(id, 'running', '1');
      expect((await queue.finish(claimed, outcome, RETENTION)).result).toBe('done');
      await expectBoth(id, outcome.outcome, '1');
    }
    expect(await redis.hget(RedisKeys.scopedJob('dual', old), 'result')).toBe('{"ok":1}');
    expect(await redis.hget(RedisKeys.legacyJob(old), 'result')).toBe('{"ok":1}');
    expect(await redis.hget(RedisKeys.scopedJob('dual', a), 'error')).toBe('x');
    expect(await redis.hget(RedisKeys.legacyJob(a), 'error')).toBe('x');

    expect(await both.cancel('dual', b)).toMatchObject({ outcome: 'cancelled', job: { jobId: b, workspaceId: 'dual', status: 'cancelled' } });
    await expectBoth(b, 'cancelled', '0');
    // The cancelled entry is dropped by the next claim, which takes c.
    const [next] = await queue.claim(CLAIM);
    expect(next.jobId).toBe(c);
    await expectBoth(c, 'running', '1');
  });
});
