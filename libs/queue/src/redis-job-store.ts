import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@relay/redis';
import { assertWorkspaceId } from '@relay/workspace';
import type { RelayMetrics } from '@relay/telemetry';
import { JOB_FIELDS, jobFromHash, isJobStatus, pairsToRecord, type Job } from './job-record.js';
import { decodeCursor, encodeCursor } from './list-cursor.js';
import { jobScripts, type JobScripts } from './job-scripts.js';
import { JobStore, type CreateOutcome, type CreateRequest, type ListPage, type ListQuery, type JobSummary } from './job-store.js';
import { requestFingerprint } from './request-fingerprint.js';
import { copiesFor, type StorageStrategy } from './storage-strategy.js';
import { CreateBatcher } from './create-batcher.js';

export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/** How long a submit may wait for a call slot when the client has no command timeout (it always has one in Relay). */
const DEFAULT_SUBMIT_WAIT_MS = 1000;
const LIST_FIELDS = JOB_FIELDS.filter((f) => f !== 'params' && f !== 'request_hash');

/** Raised when a script refused to write (a key of the wrong type in the way): a server-side fault. */
export class StorageRefusedError extends Error {
  constructor(reason: string) {
    super(`job storage refused the write: ${reason}`);
    this.name = 'StorageRefusedError';
  }
}

/**
 * JobStore on Redis. The strategy (from the migration flags, chosen by the
 * factory provider) decides which copies a new job gets and where reads
 * look; every multi-key change is one Lua script.
 */
export class RedisJobStore extends JobStore {
  private readonly logger = new Logger(RedisJobStore.name);
  private readonly scripts: JobScripts;
  private readonly creates: CreateBatcher;
  private created = 0;
  private createdWithScopedCopy = 0;

  constructor(
    redis: Redis,
    readonly strategy: StorageStrategy,
    private readonly metrics: RelayMetrics,
    private readonly retentionSeconds: number,
  ) {
    super();
    this.scripts = jobScripts(redis);
    this.creates = new CreateBatcher(
      (keys, args) => this.scripts.createJobs([RedisKeys.pendingQueue, ...keys], args) as Promise<string[][]>,
      redis.options.commandTimeout ?? DEFAULT_SUBMIT_WAIT_MS,
    );
  }

  async create(request: CreateRequest): Promise<CreateOutcome> {
    const workspaceId = assertWorkspaceId(request.workspaceId);
    // The API never sends an empty plan; a caller of the library that did would confuse createJobs' layout.
    if (request.jobs.length === 0) throw new RangeError('a submit needs at least one job');
    const now = new Date().toISOString();
    const base = randomUUID();
    const jobIds = request.kind === 'plan' ? request.jobs.map((_, i) => `${base}_${i}`) : [base];
    // The fingerprint only matters for a replay check, so only requests that can be replayed pay for it.
    const requestHash = request.clientRequestId ? requestFingerprint(request.kind, request.jobs) : '';
    const keys = [
      RedisKeys.workspaceIndex(workspaceId),
      RedisKeys.workspaceStatusIndex(workspaceId, 'pending'),
      RedisKeys.idempotency(workspaceId, request.clientRequestId ?? ''),
    ];
    const args: (string | number)[] = [
      workspaceId,
      request.clientRequestId ? '1' : '0',
      IDEMPOTENCY_TTL_SECONDS,
      requestHash,
      request.clientRequestId ?? '',
      now,
      request.jobs.length,
    ];
    let scopedCopies = 0;
    request.jobs.forEach((job, i) => {
      const jobId = jobIds[i];
      const copies = copiesFor(this.strategy, jobId);
      if (copies.scoped) scopedCopies++;
      const dot = job.action.indexOf('.');
      if (copies.legacy) keys.push(RedisKeys.legacyJob(jobId));
      if (copies.scoped) keys.push(RedisKeys.scopedJob(workspaceId, jobId));
      // The script writes the fields every new job starts with (see createJobs.lua).
      args.push(
        copies.legacy ? (copies.scoped ? 'LS' : 'L') : 'S',
        jobId,
        job.actorId,
        job.action.slice(0, dot),
        job.action.slice(dot + 1),
        job.paramsJson ?? JSON.stringify(job.params),
      );
    });
    const reply = await this.countDualWrite(this.creates.submit({ keys, args, jobs: request.jobs.length }));

    switch (reply[0]) {
      case 'created':
        this.countCreated(request.jobs.length, scopedCopies);
        return { outcome: 'created', jobIds, status: 'pending', createdAt: now };
      case 'replayed': {
        const first = reply[1];
        const ids = request.kind === 'plan' ? request.jobs.map((_, i) => first.replace(/_0$/, `_${i}`)) : [first];
        return { outcome: 'replayed', jobIds: ids, status: isJobStatus(reply[2]) ? reply[2] : 'pending', createdAt: reply[3] };
      }
      case 'mismatch':
        return { outcome: 'mismatch' };
      default:
        throw new StorageRefusedError(String(reply[1]));
    }
  }

  async get(workspaceId: string, jobId: string): Promise<Job | undefined> {
    const ws = assertWorkspaceId(workspaceId);
    const reply = (await this.scripts.readJob([RedisKeys.scopedJob(ws, jobId), RedisKeys.legacyJob(jobId)], [ws, this.strategy.reads])) as string[];
    const path = reply[0] as 'new' | 'old' | 'miss';
    this.metrics.readPath.inc({ path });
    if (path === 'miss') return undefined;
    if (reply[1] === '1') {
      // Status changes reach every copy atomically, so this means a copy was changed outside Relay.
      this.metrics.copyDivergences.inc({ where: 'read' });
      this.logger.warn(`job ${jobId}: legacy and scoped copies differ (status, attempts or updated_at); run relay migrate verify`);
    }
    return jobFromHash(pairsToRecord(reply.slice(2)));
  }

  async list(query: ListQuery): Promise<ListPage> {
    const ws = assertWorkspaceId(query.workspaceId);
    const bound = query.cursor !== undefined ? `(${decodeCursor(query.cursor)}` : '+';
    const index = query.status ? RedisKeys.workspaceStatusIndex(ws, query.status) : RedisKeys.workspaceIndex(ws);
    const reply = (await this.scripts.listJobs([index], [ws, bound, query.limit, this.strategy.reads, query.status ?? '', ...LIST_FIELDS])) as [
      string,
      number,
      number,
      ...(string | null)[][],
    ];
    const [next, fromNew, fromOld, ...rows] = reply;
    if (rows.length > 0) this.metrics.listReadPath.inc({ path: fromOld === 0 ? 'new' : fromNew === 0 ? 'old' : 'mixed' });
    const items: JobSummary[] = rows.map((values) => {
      const record: Record<string, string> = {};
      LIST_FIELDS.forEach((f, i) => (record[f] = values[i] ?? ''));
      const { params: _omitted, ...summary } = jobFromHash(record);
      return summary;
    });
    return { items, nextCursor: next ? encodeCursor(next) : null };
  }

  async cancel(workspaceId: string, jobId: string) {
    const ws = assertWorkspaceId(workspaceId);
    const now = new Date();
    const reply = (await this.scripts.cancelJob([RedisKeys.retention], [ws, jobId, now.toISOString(), now.getTime(), this.retentionSeconds, this.strategy.reads])) as string[];
    if (reply[0] === 'cancelled') return { outcome: 'cancelled' as const, job: jobFromHash(pairsToRecord(reply.slice(1))) };
    if (reply[0] === 'missing') return { outcome: 'missing' as const };
    return { outcome: 'conflict' as const, status: reply[1] };
  }

  private countCreated(jobs: number, withScopedCopy: number): void {
    this.created += jobs;
    this.createdWithScopedCopy += withScopedCopy;
    this.metrics.dualWriteRatio.set(this.createdWithScopedCopy / this.created);
  }

  /** Counts every dual-write outcome; a failed one is also logged (without params). */
  private async countDualWrite<T>(write: Promise<T>): Promise<T> {
    if (this.strategy.writes !== 'dual-write') return write;
    try {
      const reply = await write;
      const outcome = (reply as string[])[0];
      if (outcome === 'created') this.metrics.dualWriteAttempts.inc({ result: 'succeeded' });
      else if (outcome === 'refused') this.metrics.dualWriteAttempts.inc({ result: 'failed' });
      return reply;
    } catch (error) {
      this.metrics.dualWriteAttempts.inc({ result: 'failed' });
      this.logger.warn(`dual-write failed: ${(error as Error).name}`);
      throw error;
    }
  }
}
