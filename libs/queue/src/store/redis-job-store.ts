import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ErrorCode, RelayError } from '@relay/errors';
import { assertWorkspaceId } from '@relay/workspace';
import { WorkspaceLabelPolicy, type RelayMetrics } from '@relay/telemetry';
import { JOB_FIELDS, PROGRESS_FIELDS, jobFromHash, isJobStatus, type Job } from '../job-record.js';
import type { QueueScripts } from '../scripts/queue-scripts.js';
import type { CreateScriptJob, CreateScriptReply } from '../scripts/script-types.js';
import { decodeCursor, encodeCursor } from './list-cursor.js';
import { JobStore, type CancelOutcome, type CreateOutcome, type CreateRequest, type ListPage, type ListQuery, type JobSummary } from './job-store.js';
import { requestFingerprint } from './request-fingerprint.js';
import { copiesFor, type StorageStrategy } from './storage-strategy.js';
import { CreateBatcher } from './create-batcher.js';
import { StoreMetrics } from './store-metrics.js';
import type { ActiveWorkspaces } from '../work/active-workspaces.js';

export const DEFAULT_LIST_RESULT_MAX_BYTES = 4096;
/** How long a submit may wait for a call slot when the client has no command timeout (it always has one in Relay). */
const DEFAULT_SUBMIT_WAIT_MS = 1000;
/** What a list item is read from (the result comes apart: see listJobs.lua). */
const LIST_FIELDS = [...JOB_FIELDS.filter((f) => f !== 'params' && f !== 'request_hash' && f !== 'result'), ...PROGRESS_FIELDS];

/** A script refused to write (a key of the wrong type in the way): a server-side fault, answered as a bare 500. */
export class StorageRefusedError extends RelayError {
  constructor(reason: string) {
    super(ErrorCode.StorageRefused, `job storage refused the write: ${reason}`);
    this.name = 'StorageRefusedError';
  }
}

/**
 * A submit's jobs are written but not known to be on REDIS_MIN_REPLICAS_ACK
 * replicas, so a failover could still lose them: code Unavailable (503 with
 * Retry-After), naming the job ids. A retry with the same client_request_id
 * replays them once the replicas have them.
 */
export class NotReplicatedError extends RelayError {
  constructor(jobIds: readonly string[], cause: unknown) {
    const ids = jobIds.join(', ');
    super(ErrorCode.Unavailable, `jobs ${ids} not confirmed by replicas: ${(cause as Error)?.message}`, [
      `accepted as job${jobIds.length > 1 ? 's' : ''} ${ids}, but not yet confirmed by Redis replicas; retry with the same client_request_id`,
    ]);
    this.name = 'NotReplicatedError';
  }
}

/**
 * The store: JobStore on Redis. The strategy (from the migration flags,
 * chosen by the factory provider) decides which copies a new job gets and
 * where reads look; every multi-key change is one script of QueueScripts,
 * and submits made together share createJobs calls (CreateBatcher).
 */
export class RedisJobStore extends JobStore {
  private readonly logger = new Logger(RedisJobStore.name);
  private readonly creates: CreateBatcher;
  private readonly metrics: StoreMetrics;

  constructor(
    private readonly scripts: QueueScripts,
    readonly strategy: StorageStrategy,
    metrics: RelayMetrics,
    private readonly retentionSeconds: number,
    /** List items carry results of at most this many bytes; larger ones are left out (GET has them). */
    private readonly listResultMaxBytes = DEFAULT_LIST_RESULT_MAX_BYTES,
    /** The workspace-label policy (default: every workspace `unscoped`). */
    labels: WorkspaceLabelPolicy = WorkspaceLabelPolicy.unscoped(),
    activeWorkspaces?: ActiveWorkspaces,
  ) {
    super();
    this.metrics = new StoreMetrics(metrics, labels, activeWorkspaces);
    this.creates = new CreateBatcher((requests) => scripts.createJobs(requests), scripts.commandTimeoutMs ?? DEFAULT_SUBMIT_WAIT_MS);
  }

  async create(request: CreateRequest): Promise<CreateOutcome> {
    const workspaceId = assertWorkspaceId(request.workspaceId);
    // The API never sends an empty plan; a caller of the library that did would confuse createJobs' layout.
    if (request.jobs.length === 0) throw new RangeError('a submit needs at least one job');
    const base = randomUUID();
    const jobIds = request.kind === 'plan' ? request.jobs.map((_, i) => `${base}_${i}`) : [base];
    // The fingerprint only matters for a replay check, so only requests that can be replayed pay for it.
    const requestHash = request.clientRequestId ? requestFingerprint(request.kind, request.jobs) : '';
    let scopedCopies = 0;
    const jobs = request.jobs.map((job, i): CreateScriptJob => {
      const copies = copiesFor(this.strategy, jobIds[i]);
      if (copies.scoped) scopedCopies++;
      const dot = job.action.indexOf('.');
      return {
        copies: copies.legacy ? (copies.scoped ? 'LS' : 'L') : 'S',
        jobId: jobIds[i],
        actorId: job.actorId,
        provider: job.action.slice(0, dot),
        name: job.action.slice(dot + 1),
        paramsJson: job.paramsJson ?? JSON.stringify(job.params),
        delay: job.delay,
      };
    });
    const reply = await this.countDualWrite(
      workspaceId,
      this.creates.submit({ workspaceId, clientRequestId: request.clientRequestId, requestHash, maxStoredJobs: request.maxStoredJobs, jobs }),
    );

    switch (reply.outcome) {
      case 'created':
        this.metrics.jobsCreated(workspaceId, request.jobs.length, scopedCopies);
        await this.replicated(jobIds);
        return { outcome: 'created', jobIds, status: 'pending', createdAt: reply.createdAt };
      case 'replayed': {
        const first = reply.firstJobId;
        const ids = request.kind === 'plan' ? request.jobs.map((_, i) => first.replace(/_0$/, `_${i}`)) : [first];
        await this.replicated(ids);
        return { outcome: 'replayed', jobIds: ids, status: isJobStatus(reply.status) ? reply.status : 'pending', createdAt: reply.createdAt };
      }
      case 'mismatch':
        return { outcome: 'mismatch' };
      case 'gone':
        return { outcome: 'gone', firstJobId: reply.firstJobId };
      case 'quota':
        return { outcome: 'quota_exceeded', stored: reply.stored, quota: reply.quota };
      default:
        throw new StorageRefusedError(reply.reason);
    }
  }

  async get(workspaceId: string, jobId: string): Promise<Job | undefined> {
    const ws = assertWorkspaceId(workspaceId);
    const reply = await this.scripts.readJob(ws, jobId, this.strategy.reads);
    this.metrics.read(ws, reply.path);
    if (reply.path === 'miss') return undefined;
    if (reply.diverged) {
      // Status changes reach every copy atomically, so this means a copy was changed outside Relay.
      this.metrics.divergedOnRead();
      this.logger.warn(`job ${jobId}: legacy and scoped copies differ (status, attempts or updated_at); run relay migrate verify`);
    }
    return jobFromHash(reply.record);
  }

  async list(query: ListQuery): Promise<ListPage> {
    const ws = assertWorkspaceId(query.workspaceId);
    const after = query.cursor !== undefined ? decodeCursor(query.cursor) : undefined;
    const page = await this.scripts.listJobs({
      workspaceId: ws,
      status: query.status,
      after,
      limit: query.limit,
      routing: this.strategy.reads,
      fields: LIST_FIELDS,
      resultMaxBytes: this.listResultMaxBytes,
    });
    if (page.rows.length > 0) this.metrics.listed(ws, page.fromOld === 0 ? 'new' : page.fromNew === 0 ? 'old' : 'mixed');
    const items: JobSummary[] = page.rows.map(({ values, result, resultOmitted }) => {
      const record: Record<string, string> = { result };
      LIST_FIELDS.forEach((f, i) => (record[f] = values[i]));
      const { params: _params, ...summary } = jobFromHash(record);
      return resultOmitted ? { ...summary, resultOmitted } : summary;
    });
    return { items, nextCursor: page.next ? encodeCursor(page.next) : null };
  }

  async cancel(workspaceId: string, jobId: string): Promise<CancelOutcome> {
    const ws = assertWorkspaceId(workspaceId);
    const reply = await this.scripts.cancelJob(ws, jobId, this.retentionSeconds, this.strategy.reads);
    if (reply.outcome === 'cancelled' || reply.outcome === 'requested') return { outcome: reply.outcome, job: jobFromHash(reply.record) };
    return reply;
  }

  /** A submit is answered 2xx only once its jobs are on the required replicas (REDIS_MIN_REPLICAS_ACK; none by default). */
  private async replicated(jobIds: readonly string[]): Promise<void> {
    try {
      await this.scripts.awaitReplicas();
    } catch (error) {
      throw new NotReplicatedError(jobIds, error);
    }
  }

  /** Counts every dual-write outcome; a failed one is also logged (without params). */
  private async countDualWrite(workspaceId: string, write: Promise<CreateScriptReply>): Promise<CreateScriptReply> {
    if (this.strategy.writes !== 'dual-write') return write;
    try {
      const reply = await write;
      if (reply.outcome === 'created') this.metrics.dualWrite(workspaceId, 'succeeded');
      else if (reply.outcome === 'refused') this.metrics.dualWrite(workspaceId, 'failed');
      return reply;
    } catch (error) {
      this.metrics.dualWrite(workspaceId, 'failed');
      this.logger.warn(`dual-write failed: ${(error as Error).name}`);
      throw error;
    }
  }
}
