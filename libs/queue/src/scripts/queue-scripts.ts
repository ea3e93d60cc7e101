import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { Redis, RedisKeys, ReplicaAcknowledgement } from '@relay/redis';
import { RelayMetrics } from '@relay/telemetry';
import { scriptSource, SCRIPT_NAMES, type ScriptName } from './script-source.js';
import { JOB_STATUSES, pairsToRecord } from '../job-record.js';
import { claimedJob, givenUpJob, heldBack, type Reply } from './reply-decoding.js';
import type {
  FinishItem,
  FinishOutcome,
  BackfillReply,
  CancelJobReply,
  ClaimedJob,
  ClaimOptions,
  ClaimReply,
  CompareReply,
  EventStreamRead,
  CreateScriptReply,
  CreateScriptRequest,
  FinishReply,
  FinishResult,
  LeaseHolder,
  LegacyIndexBatch,
  LegacyIndexReply,
  ListJobsCall,
  ProgressResult,
  ListJobsReply,
  NextClaim,
  ReadJobReply,
  ReadPath,
  RecoveryReply,
  ReleaseReply,
  RenewReply,
  RequeueReply,
  SchedulingArgs,
  SweepReply,
} from './script-types.js';
import { DEFAULT_EVENT_STREAM, NO_SCHEDULING_LIMITS, type EventStreamSettings } from './script-types.js';
import type { ReadRouting } from '../store/storage-strategy.js';
import type { JobDelay } from '../store/job-store.js';

/** Submits keep their idempotency key this long (SPEC: 24 h). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

/** claimJobs' ARGV[7..9] and finishJobs' ARGV[6..8]. */
const schedulingArgs = (s: SchedulingArgs = NO_SCHEDULING_LIMITS): Arg[] => [s.defaultMaxRunning, s.overridesPublished ? '1' : '0', s.rateRules];

/** The keys of claimJobs and finishJobs, in their documented order. */
const WORK_KEYS = [RedisKeys.pendingQueue, RedisKeys.activeQueue, RedisKeys.leases, RedisKeys.retryQueue, RedisKeys.deadLetters, RedisKeys.expiringWorkspaces];

type Arg = string | number;
type Caller = (keys: readonly string[], args: readonly Arg[]) => Promise<Reply>;

/**
 * finishJobs' per-job event detail: a succeeded result redacted for the
 * event when redaction changed it ('' = the stored result serves: nothing
 * more to send), and for a failure whether its attempts are spent (event
 * dead_lettered rather than failed).
 */
function eventDetail(outcome: FinishOutcome): string {
  if (outcome.outcome === 'succeeded') return outcome.eventResultJson ?? '';
  if (outcome.outcome === 'failed') return outcome.attemptsSpent ? '1' : '';
  return '';
}

/** A job's delay as createJobs takes it: '' (none), 'in:<ms>' (after Redis's now) or 'at:<epoch ms>'. */
function delayArg(delay: JobDelay | undefined): string {
  if (delay === undefined) return '';
  return 'afterMs' in delay ? `in:${delay.afterMs}` : `at:${delay.atMs}`;
}

/**
 * The scripts: every Lua script of this folder, one typed method each. The
 * only place that packs KEYS and ARGV (in each script's documented order)
 * and decodes replies, so callers pass arguments and get values, never
 * arrays to cast. Scripts are registered on the connection once (ioredis
 * sends EVALSHA and falls back to EVAL once per connection).
 */
@Injectable()
export class QueueScripts {
  private readonly logger = new Logger(QueueScripts.name);
  private readonly call: Record<ScriptName, Caller>;
  /** The event streams' cap and age (README "Event stream"): EVENTS_MAX_LEN and JOB_RETENTION_SECONDS. */
  readonly events: EventStreamSettings;

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    /** Of the same connection (RedisModule builds both); without it, writes are not waited for. */
    @Optional() @Inject(ReplicaAcknowledgement) private readonly replicas?: ReplicaAcknowledgement,
    /** Without it (a test's own instance), the defaults of the settings. */
    @Optional() config?: RelayConfig,
    @Optional() private readonly metrics?: RelayMetrics,
  ) {
    this.events = config ? { maxLen: config.EVENTS_MAX_LEN, retentionSeconds: config.JOB_RETENTION_SECONDS } : DEFAULT_EVENT_STREAM;
    const callers = {} as Record<ScriptName, Caller>;
    for (const name of SCRIPT_NAMES) {
      const command = `relay_${name}`;
      if (!(command in redis)) redis.defineCommand(command, { lua: scriptSource(name) });
      const defined = (redis as unknown as Record<string, (...args: unknown[]) => Promise<Reply>>)[command].bind(redis);
      callers[name] = (keys, args) => defined(keys.length, ...keys, ...args);
    }
    this.call = callers;
  }

  /**
   * Every script that appends events skips (rather than aborts on) an append
   * whose stream key holds another type (corruption or an operator's
   * mistake), so that the job's own change stands; each reply says how many,
   * and they are logged and counted here.
   */
  private reportSkippedEvents(skipped: unknown): void {
    const n = Number(skipped);
    if (!(n > 0)) return;
    this.metrics?.statusUpdateFailures.inc({ reason: 'event_write' }, n);
    this.logger.error(`${n} job event(s) not appended: an ai:events:* key holds another type than stream; watchers of that workspace miss them until it is repaired`);
  }

  /** The connection's command timeout (ms), if it has one: bounds how long a submit waits for a call slot. */
  get commandTimeoutMs(): number | undefined {
    return this.redis.options.commandTimeout;
  }

  // --- the store

  /** Creates the jobs of one or more submit requests; one reply per request, in order. */
  async createJobs(requests: readonly CreateScriptRequest[]): Promise<CreateScriptReply[]> {
    const keys: string[] = [RedisKeys.pendingQueue, RedisKeys.delayedQueue];
    const args: Arg[] = [IDEMPOTENCY_TTL_SECONDS, this.events.maxLen];
    for (const request of requests) {
      const ws = request.workspaceId;
      keys.push(RedisKeys.workspaceStatusIndex(ws, 'pending'), RedisKeys.idempotency(ws, request.clientRequestId ?? ''));
      args.push(ws, request.clientRequestId ? '1' : '0', request.requestHash, request.clientRequestId ?? '', request.maxStoredJobs ?? 0, request.jobs.length);
      for (const job of request.jobs) {
        if (job.copies !== 'S') keys.push(RedisKeys.legacyJob(job.jobId));
        if (job.copies !== 'L') keys.push(RedisKeys.scopedJob(ws, job.jobId));
        args.push(job.copies, job.jobId, job.actorId, job.provider, job.name, job.paramsJson, delayArg(job.delay));
      }
    }
    const replies = (await this.call.createJobs(keys, args)) as string[][];
    if (replies.length !== requests.length) throw new Error(`createJobs answered ${replies.length} replies for ${requests.length} requests`);
    return replies.map((reply): CreateScriptReply => {
      switch (reply[0]) {
        case 'created':
          this.reportSkippedEvents(reply[2]);
          return { outcome: 'created', createdAt: reply[1] };
        case 'replayed':
          return { outcome: 'replayed', firstJobId: reply[1], status: reply[2], createdAt: reply[3] };
        case 'mismatch':
          return { outcome: 'mismatch' };
        case 'gone':
          return { outcome: 'gone', firstJobId: reply[1] };
        case 'quota':
          return { outcome: 'quota', stored: Number(reply[1]), quota: Number(reply[2]) };
        default:
          return { outcome: 'refused', reason: String(reply[1]) };
      }
    });
  }

  /**
   * Resolves once the writes of this connection so far (a createJobs call
   * whose reply has arrived) are on REDIS_MIN_REPLICAS_ACK replicas (Redis
   * WAIT); at once when that is 0. Rejects (code Unavailable) when they are
   * not within the timeout. Submits of one call share one WAIT.
   */
  awaitReplicas(): Promise<void> {
    return this.replicas?.confirm() ?? Promise.resolve();
  }

  async readJob(workspaceId: string, jobId: string, routing: ReadRouting): Promise<ReadJobReply> {
    const reply = (await this.call.readJob([RedisKeys.scopedJob(workspaceId, jobId), RedisKeys.legacyJob(jobId)], [workspaceId, routing])) as string[];
    return { path: reply[0] as ReadPath, diverged: reply[1] === '1', record: pairsToRecord(reply.slice(2)) };
  }

  async listJobs(query: ListJobsCall): Promise<ListJobsReply> {
    const ws = query.workspaceId;
    // One status index, or (no filter) all five, merged by the script.
    const indexes = (query.status ? [query.status] : JOB_STATUSES).map((status) => RedisKeys.workspaceStatusIndex(ws, status));
    const bound = query.after === undefined ? '+' : `(${query.after}`;
    const reply = (await this.call.listJobs(indexes, [ws, bound, query.limit, query.routing, query.status ?? '', query.resultMaxBytes, ...query.fields])) as [
      string,
      number,
      number,
      ...(string | null)[][],
    ];
    const [next, fromNew, fromOld, ...rows] = reply;
    const width = query.fields.length;
    return {
      next: next || null,
      fromNew,
      fromOld,
      rows: rows.map((row) => ({ values: row.slice(0, width).map((v) => v ?? ''), result: row[width] ?? '', resultOmitted: row[width + 1] === '1' })),
    };
  }

  async cancelJob(workspaceId: string, jobId: string, retentionSeconds: number, routing: ReadRouting): Promise<CancelJobReply> {
    const reply = (await this.call.cancelJob(
      [RedisKeys.expiringWorkspaces, RedisKeys.delayedQueue, RedisKeys.retryQueue],
      [workspaceId, jobId, retentionSeconds, routing, this.events.maxLen],
    )) as string[];
    if (reply[0] === 'cancelled' || reply[0] === 'requested') {
      this.reportSkippedEvents(reply[1]);
      return { outcome: reply[0], record: pairsToRecord(reply.slice(2)) };
    }
    if (reply[0] === 'missing') return { outcome: 'missing' };
    return { outcome: 'conflict', status: reply[1] };
  }

  // --- the worker's queue

  async claimJobs(options: ClaimOptions): Promise<ClaimReply> {
    const [rows, skippedWrites, gaveUp, held, spent, skippedEvents] = (await this.call.claimJobs(WORK_KEYS, [
      options.leaseMs,
      options.max,
      options.workerId,
      options.blockedEntry ?? '',
      options.maxAttempts,
      options.retentionSeconds,
      ...schedulingArgs(options.scheduling),
      this.events.maxLen,
      options.startNow ?? '',
    ])) as [string[][], number, string[][], string[][], number, number];
    this.reportSkippedEvents(skippedEvents);
    return { claimed: rows.map(claimedJob), skippedWrites, gaveUp: gaveUp.map(givenUpJob), heldBack: held.map(heldBack), moreWaiting: spent === 1 };
  }

  /** Records outcomes (each fenced by its lease) and claims up to `next.max` jobs in the same call. */
  async finishJobs(items: readonly FinishItem[], retentionSeconds: number, next?: NextClaim): Promise<FinishReply> {
    const args: Arg[] = [
      retentionSeconds,
      next?.max ?? 0,
      next?.workerId ?? '',
      next?.leaseMs ?? 0,
      next?.maxAttempts ?? 0,
      ...schedulingArgs(next?.scheduling),
      this.events.maxLen,
      next?.startNow ?? '',
    ];
    for (const { job, outcome, repeat, unconfirmedStart } of items) {
      args.push(
        job.entry,
        job.token,
        outcome.outcome,
        outcome.outcome === 'succeeded' ? (outcome.resultJson ?? JSON.stringify(outcome.result ?? null)) : '',
        outcome.outcome === 'succeeded' || outcome.outcome === 'start' || outcome.outcome === 'cancelled' ? '' : outcome.error,
        outcome.outcome === 'retry' || outcome.outcome === 'defer' ? outcome.delayMs : 0,
        job.createdAt,
        // A prefetched job's start was written by the call repeated here, at a time this worker never learnt.
        repeat ? job.startedAt || '*' : '',
        job.action,
        eventDetail(outcome),
        unconfirmedStart ? '1' : '',
      );
    }
    const [results, rows, skippedWrites, gaveUp, held, skippedEvents, at] = (await this.call.finishJobs(WORK_KEYS, args)) as [
      FinishResult[],
      string[][],
      number,
      string[][],
      string[][],
      number,
      string,
    ];
    this.reportSkippedEvents(skippedEvents);
    return { results, claimed: rows.map(claimedJob), skippedWrites, gaveUp: gaveUp.map(givenUpJob), heldBack: held.map(heldBack), moreWaiting: false, at };
  }

  /** Extends the leases still held; names those lost and those whose cancel was requested. */
  async renewLeases(jobs: readonly LeaseHolder[], leaseMs: number): Promise<RenewReply> {
    const [lost, cancelRequested] = (await this.call.renewLeases([RedisKeys.leases], [leaseMs, ...jobs.flatMap((j) => [j.entry, j.token])])) as [string[], string[]];
    return { lost, cancelRequested };
  }

  /** Stores an action's progress on its job while `job`'s lease is held, and appends a `progress` event. */
  async reportProgress(job: LeaseHolder, progress: number, message: string): Promise<ProgressResult> {
    const [result, skippedEvents] = (await this.call.reportProgress([RedisKeys.leases], [job.entry, job.token, progress, message, this.events.maxLen])) as [ProgressResult, number];
    this.reportSkippedEvents(skippedEvents);
    return result;
  }

  /** Gives jobs back (a job whose cancel was requested is cancelled instead); retentionSeconds: how long such a job is kept. */
  async releaseJobs(jobs: readonly LeaseHolder[], retentionSeconds: number): Promise<ReleaseReply> {
    const args = [this.events.maxLen, retentionSeconds, ...jobs.flatMap((j) => [j.entry, j.token])];
    const [released, skippedEvents, cancelled] = (await this.call.releaseJobs([RedisKeys.leases, RedisKeys.pendingQueue], args)) as number[];
    this.reportSkippedEvents(skippedEvents);
    return { released, cancelled };
  }

  /**
   * One recovery pass (expired leases, stalled entries); undefined when another worker's pass holds
   * the lock. retentionSeconds: how long a job it cancels (its cancel was requested) is kept.
   */
  async recoverStalled(lockMs: number, retentionSeconds: number): Promise<Omit<RecoveryReply, 'dropped'> | undefined> {
    const keys = [RedisKeys.leases, RedisKeys.pendingQueue, RedisKeys.activeQueue, RedisKeys.stalledCheck, RedisKeys.recoveryLock];
    const [expired, stalled, skippedEvents, cancelled] = (await this.call.recoverStalled(keys, [lockMs, this.events.maxLen, retentionSeconds])) as number[];
    if (expired === -1) return undefined;
    this.reportSkippedEvents(skippedEvents);
    return { expired, stalled, cancelled };
  }

  /** Handles up to `max` due entries of the retention set (predecessor records, earlier releases); returns how many. */
  async expireIndexEntries(max: number): Promise<number> {
    return (await this.call.expireIndexEntries([RedisKeys.retention, RedisKeys.deadLetters, RedisKeys.expiringWorkspaces], [max])) as number;
  }

  /**
   * One step of the expiry sweep: reads up to `max` finished-status index
   * entries of jobs created more than `retentionSeconds` ago (0: every
   * entry), from where the last step stopped, and drops those whose record
   * is gone; trims each workspace it finishes of events older than
   * JOB_RETENTION_SECONDS (sweepFinishedIndexes.lua).
   */
  async sweepFinishedIndexes(retentionSeconds: number, max: number): Promise<SweepReply> {
    const [read, dropped, cycleDone] = (await this.call.sweepFinishedIndexes([RedisKeys.expiringWorkspaces, RedisKeys.expirySweep, RedisKeys.deadLetters], [
      retentionSeconds,
      max,
      this.events.retentionSeconds,
    ])) as number[];
    return { read, dropped, cycleDone: cycleDone === 1 };
  }

  /** Milliseconds until the earliest retry or delayed job is due by Redis's clock, or undefined when none waits. */
  async retryDueIn(): Promise<number | undefined> {
    const ms = (await this.call.retryDueIn([RedisKeys.retryQueue, RedisKeys.delayedQueue], [])) as number;
    return ms < 0 ? undefined : ms;
  }

  /**
   * The queue's counts at one instant: five numbers (pending, running,
   * delayed, retrying, dead) for the whole queue, then five for each of
   * `workspaces` in order (queueDepth.lua; queue-depth.ts decodes them).
   */
  async queueDepth(workspaces: readonly string[], entriesReadMax: number): Promise<number[]> {
    const keys = [RedisKeys.pendingQueue, RedisKeys.readyWorkspaces, RedisKeys.cappedWorkspaces, RedisKeys.leases, RedisKeys.delayedQueue, RedisKeys.retryQueue, RedisKeys.deadLetters];
    return (await this.call.queueDepth(keys, [entriesReadMax, ...workspaces])) as number[];
  }

  async requeueDead(workspaceId: string, jobId: string): Promise<RequeueReply> {
    const entry = `${workspaceId}:${jobId}`;
    const [outcome, skippedEvents] = (await this.call.requeueDead([RedisKeys.deadLetters, RedisKeys.pendingQueue, RedisKeys.retention], [entry, this.events.maxLen])) as [
      RequeueReply,
      number?,
    ];
    this.reportSkippedEvents(skippedEvents);
    return outcome;
  }

  // --- migration (each takes a batch of keys found by SCAN)

  /** One batch of the legacy index sweep; 'lost' when `sweep.token` does not hold the sweep's lock (nothing written). */
  async indexLegacyJobs(legacyKeys: readonly string[], sweep: LegacyIndexBatch): Promise<LegacyIndexReply> {
    const keys = [RedisKeys.legacyIndexLock, RedisKeys.legacyIndexCheckpoint, RedisKeys.legacyIndexedMarker, ...legacyKeys];
    const reply = (await this.call.indexLegacyJobs(keys, [sweep.token, sweep.lockMs, sweep.nextCursor, sweep.holdMs])) as [string, ...number[]];
    if (reply[0] === 'lost') return 'lost';
    const [, indexed, moved, invalid, relayOwn, failed] = reply;
    return { indexed, moved, invalid, relayOwn, failed };
  }

  async backfillJobs(legacyKeys: readonly string[], dryRun: boolean): Promise<BackfillReply> {
    const [copied, skipped, invalid, invalidKeys] = (await this.call.backfillJobs(legacyKeys, [dryRun ? '1' : '0'])) as [number, number, number, string[]];
    return { copied, skipped, invalid, invalidKeys };
  }

  async compareJobs(legacyKeys: readonly string[]): Promise<CompareReply> {
    const [matching, missing, diverged, invalid] = (await this.call.compareJobs(legacyKeys, [])) as [number, string[], string[], string[]];
    return { matching, missing, diverged, invalid };
  }

  /** Of a batch of scoped keys: how many have a legacy copy, and the job ids of those that have none. */
  async countScopedOnly(scopedKeys: readonly string[]): Promise<{ withLegacy: number; scopedOnly: string[] }> {
    const [withLegacy, scopedOnly] = (await this.call.countScopedOnly(scopedKeys, [])) as [number, string[]];
    return { withLegacy, scopedOnly };
  }

  async deleteLegacy(legacyKeys: readonly string[]): Promise<{ deleted: number; kept: string[] }> {
    const [deleted, kept] = (await this.call.deleteLegacy(legacyKeys, [])) as [number, string[]];
    return { deleted, kept };
  }

  // --- events (README "Events")

  /**
   * Of each workspace's event stream, its state and up to `count` entries after `after` (to `upTo`,
   * inclusive, or the end), read atomically; `count` 0 reads the state only.
   */
  async readEvents(reads: readonly { workspaceId: string; after: string; upTo?: string }[], count: number): Promise<EventStreamRead[]> {
    const keys = reads.map((r) => RedisKeys.workspaceEvents(r.workspaceId));
    const args: Arg[] = [count, ...reads.flatMap((r) => [r.after, r.upTo ?? '+'])];
    const reply = (await this.call.readEvents(keys, args)) as [string, number, number, string, [string, string[]][]][];
    return reply.map(([lastGeneratedId, entriesAdded, length, firstId, entries]) => ({ lastGeneratedId, entriesAdded, length, firstId, entries }));
  }
}
