import type { Job, JobStatus } from '../job-record.js';
import type { StorageStrategy } from './storage-strategy.js';

/**
 * When a job may start, if not at once: `afterMs` after Redis stores it (by
 * Redis's clock, so API clocks do not matter), or at the instant `atMs` (ms
 * since the epoch; one in the past means now).
 */
export type JobDelay = { afterMs: number } | { atMs: number };

/** One job to create; the store mints the id and timestamps. */
export interface NewJob {
  actorId: string;
  action: string; // provider.name, already validated and permitted
  params: Record<string, unknown>;
  /** params as JSON text, when the caller already has it (the API, from its size check); else the store serializes params. */
  paramsJson?: string;
  /** Absent: the job is queued at once. */
  delay?: JobDelay;
}

export interface CreateRequest {
  workspaceId: string;
  jobs: NewJob[];
  clientRequestId?: string;
  /** Distinguishes a single submit from a plan with the same idempotency key. */
  kind: 'job' | 'plan';
  /** Jobs the workspace may keep stored, these included (absent or 0: no limit). */
  maxStoredJobs?: number;
}

export type CreateOutcome =
  | { outcome: 'created'; jobIds: string[]; status: JobStatus; createdAt: string }
  | { outcome: 'replayed'; jobIds: string[]; status: JobStatus; createdAt: string }
  /** The client_request_id was first used with a different payload. */
  | { outcome: 'mismatch' }
  /** The client_request_id's job has expired (within the key's 24 h): the first job's id; nothing created. */
  | { outcome: 'gone'; firstJobId: string }
  /** Creating these jobs would take the workspace past its stored-jobs quota; nothing created. */
  | { outcome: 'quota_exceeded'; stored: number; quota: number };

export type CancelOutcome =
  | { outcome: 'cancelled'; job: Job }
  | { outcome: 'requested'; job: Job }
  | { outcome: 'missing' }
  | { outcome: 'conflict'; status: string };

export interface ListQuery {
  workspaceId: string;
  limit: number;
  cursor?: string; // opaque, from a previous page
  status?: JobStatus;
}

/** A list item: a job without its params; a result too large for a list page is left out (resultOmitted). */
export type JobSummary = Omit<Job, 'params'> & { resultOmitted?: true };

export interface ListPage {
  items: JobSummary[];
  nextCursor: string | null;
}

/**
 * The storage contract every strategy meets (legacy, dual-write, scoped).
 * The abstract class is the DI token; the factory provider picks the
 * implementation from the migration flags. Every method takes the
 * workspace and never returns another workspace's job.
 */
export abstract class JobStore {
  /** What the migration flags chose: which copies new jobs get and where reads look. */
  abstract readonly strategy: StorageStrategy;
  /** Creates all jobs atomically, or replays the original for a known client_request_id. */
  abstract create(request: CreateRequest): Promise<CreateOutcome>;
  /** One job, or undefined when absent or in another workspace. */
  abstract get(workspaceId: string, jobId: string): Promise<Job | undefined>;
  abstract list(query: ListQuery): Promise<ListPage>;
  /**
   * Cancels a job that has not started (pending, delayed, waiting for a retry) and returns it;
   * 'requested' when it runs (its worker stops it: README "Cancelling a running job"), with the job
   * as it is now; 'missing' when absent (or not readable in this phase); 'conflict' when it is final.
   */
  abstract cancel(workspaceId: string, jobId: string): Promise<CancelOutcome>;
}
