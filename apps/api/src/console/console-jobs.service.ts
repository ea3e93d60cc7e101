import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Principal } from '@relay/auth';
import { ErrorCode, RelayError, invalidInput, notFound } from '@relay/errors';
import { JOB_ID_PATTERN, JobStore, WorkQueue, type Job, type JobStatus, type ListPage } from '@relay/queue';
import { Redis, RedisKeys } from '@relay/redis';
import { assertWorkspaceId, isValidWorkspaceId } from '@relay/workspace';

/** Dead letters shown at most on one console page. */
export const DEAD_LETTERS_SHOWN = 100;

export interface DeadLetter {
  workspaceId: string;
  jobId: string;
  /** The job, or undefined when its record has expired (a requeue then drops the entry). */
  job?: Job;
}

/**
 * What the console reads and does per workspace: a workspace's jobs
 * (the same store and cursors as GET /ai/jobs), one job, the dead letters
 * and their requeue (the same script as `relay dead requeue`). Every
 * workspace id and job id is checked before it reaches Redis.
 */
@Injectable()
export class ConsoleJobsService {
  private readonly logger = new Logger('OperatorConsole');

  constructor(
    private readonly store: JobStore,
    private readonly queue: WorkQueue,
    @Inject(Redis) private readonly redis: Redis,
  ) {}

  list(workspaceId: string, limit: number, cursor?: string, status?: JobStatus): Promise<ListPage> {
    return this.store.list({ workspaceId: assertWorkspaceId(workspaceId), limit, cursor, status });
  }

  async get(workspaceId: string, jobId: string): Promise<Job> {
    const job = await this.store.get(assertWorkspaceId(workspaceId), assertJobId(jobId));
    if (!job) throw notFound('job');
    return job;
  }

  /** The newest dead letters with their jobs, and how many there are in all. */
  async deadLetters(limit: number): Promise<{ entries: DeadLetter[]; total: number }> {
    const [entries, total] = await Promise.all([this.queue.listDead(limit), this.redis.llen(RedisKeys.deadLetters)]);
    // An entry whose ids are malformed or whose record cannot be read is still listed (and can be requeued or dropped).
    const jobs = await Promise.all(entries.map((e) => (isValidWorkspaceId(e.workspaceId) && JOB_ID_PATTERN.test(e.jobId) ? this.store.get(e.workspaceId, e.jobId).catch(() => undefined) : undefined)));
    return { entries: entries.map((e, i) => ({ ...e, job: jobs[i] })), total };
  }

  /** Gives a dead letter a fresh set of attempts; logged with the operator key that asked. */
  async requeue(principal: Principal, workspaceId: string, jobId: string): Promise<void> {
    const outcome = await this.queue.requeueDead(assertWorkspaceId(workspaceId), assertJobId(jobId));
    this.logger.log({ event: 'dead_letter_requeue', key_id: principal.keyId, actor_id: principal.actorId, workspace_id: workspaceId, job_id: jobId, outcome });
    if (outcome === 'missing') throw notFound('dead letter');
    if (outcome === 'gone') throw new RelayError(ErrorCode.Gone, 'the job has expired; its dead-letter entry was dropped');
  }
}

function assertJobId(jobId: string): string {
  if (!JOB_ID_PATTERN.test(jobId)) throw invalidInput('id must be 1-128 characters of letters, digits, . _ -');
  return jobId;
}
