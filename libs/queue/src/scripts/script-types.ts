/**
 * What each script takes and answers, decoded (see queue-scripts.ts). The
 * work queue's job types live here because the claim and finish scripts
 * produce and consume them.
 */
import type { ReadRouting } from '../store/storage-strategy.js';
import type { JobDelay } from '../store/job-store.js';

/** Which records a new job gets: legacy, scoped, or both (dual-write). */
export type JobCopies = 'L' | 'S' | 'LS';

export interface CreateScriptJob {
  copies: JobCopies;
  jobId: string;
  actorId: string;
  provider: string;
  name: string;
  paramsJson: string;
  /** Absent: queued at once. A job not yet due by Redis's clock waits in the delayed set instead. */
  delay?: JobDelay;
}

/** One submit request of a createJobs call (every request of a call is atomic on its own). */
export interface CreateScriptRequest {
  workspaceId: string;
  clientRequestId?: string;
  /** Payload fingerprint; '' without a client_request_id. */
  requestHash: string;
  /** Jobs the workspace may keep stored, these included (0 or absent: no limit). */
  maxStoredJobs?: number;
  jobs: CreateScriptJob[];
}

export type CreateScriptReply =
  | { outcome: 'created'; createdAt: string }
  | { outcome: 'replayed'; firstJobId: string; status: string; createdAt: string }
  | { outcome: 'mismatch' }
  /** The key's job has expired: its id, never a second job. */
  | { outcome: 'gone'; firstJobId: string }
  | { outcome: 'quota'; stored: number; quota: number }
  | { outcome: 'refused'; reason: string };

export type ReadPath = 'new' | 'old' | 'miss';
export interface ReadJobReply {
  path: ReadPath;
  /** Both copies exist and differ in status, attempts or updated_at. */
  diverged: boolean;
  record: Record<string, string>;
}

export interface ListJobsCall {
  workspaceId: string;
  status?: string;
  /** Exclusive upper bound: the index member after which the page starts, or undefined for the first page. */
  after?: string;
  limit: number;
  routing: ReadRouting;
  /** Fields to return (not `result`: each row carries it apart, when at most resultMaxBytes). */
  fields: readonly string[];
  resultMaxBytes: number;
}
export interface ListJobsReply {
  /** Index member of the last row, when another job follows it. */
  next: string | null;
  fromNew: number;
  fromOld: number;
  rows: ListRow[];
}
export interface ListRow {
  /** Values in the order of the call's fields ('' when unset). */
  values: string[];
  /** The result's JSON text ('' when unset or left out). */
  result: string;
  /** The result was larger than the call's resultMaxBytes and was not read. */
  resultOmitted: boolean;
}

export type CancelJobReply =
  | { outcome: 'cancelled'; record: Record<string, string> }
  /** The job runs: its cancel is requested (the worker holding it stops it); the record as it is now. */
  | { outcome: 'requested'; record: Record<string, string> }
  | { outcome: 'missing' }
  /** The job is final. */
  | { outcome: 'conflict'; status: string };

/** A job a worker has claimed: run it, then finish it with the same token. */
export interface ClaimedJob {
  entry: string;
  token: string;
  workspaceId: string;
  jobId: string;
  attempts: number;
  action: string;
  params: unknown;
  actorId: string;
  createdAt: string;
  /**
   * started_at the claim wrote (Redis time): identifies this claim of the job, with its attempt. '' for a
   * prefetched job (leased, still pending) until a finish call writes its start.
   */
  startedAt: string;
  /** The due time of a delayed job (run_at / delay_ms), '' when it had none. */
  runAt: string;
  /** Times its action deferred it ("retry after N ms") without using an attempt. */
  deferrals: number;
}

/** eventResultJson when the result is too large for its event (EVENT_RESULT_MAX_BYTES): never valid JSON, so never a result. */
export const EVENT_RESULT_OMITTED = '-';

export type AttemptOutcome =
  /**
   * resultJson: the result as JSON text, when the caller already serialized it (to check its size).
   * eventResultJson: the result redacted for the `succeeded` event, only when redaction changed it
   * (absent: the event carries resultJson as it is), or EVENT_RESULT_OMITTED when too large for it.
   */
  | { outcome: 'succeeded'; result: unknown; resultJson?: string; eventResultJson?: string }
  /** attemptsSpent: it failed with an error that would have been retried, on its last attempt (event dead_lettered, else failed). */
  | { outcome: 'failed'; error: string; attemptsSpent?: boolean }
  | { outcome: 'retry'; error: string; delayMs: number }
  /** The action said "rate limited, retry after delayMs": pending again, the attempt given back. */
  | { outcome: 'defer'; error: string; delayMs: number }
  /** The worker stopped the attempt because its cancel was requested: the job ends `cancelled`. */
  | { outcome: 'cancelled' };

/** What a finish call records for a job: an attempt's outcome, or the start of a prefetched job the worker has started. */
export type FinishOutcome = AttemptOutcome | { outcome: 'start' };

/**
 * 'cancelled': the job ended `cancelled`, its outcome not recorded: a retry or
 * deferral recorded as `cancelled` instead, because the job's cancel was
 * requested while it ran; or a prefetched job cancelled before its start was
 * written (the worker must not run it on) (finishJobs.lua).
 */
export type FinishResult = 'done' | 'lost' | 'gone' | 'cancelled';

/** One job of a finish call. */
export interface FinishItem {
  job: ClaimedJob;
  outcome: FinishOutcome;
  /** A repeat of a finish whose answer never came (Redis may have run it): see finishJobs.lua. */
  repeat?: boolean;
  /** A prefetched job whose start no reply has confirmed yet: the call writes the start if it is still pending. */
  unconfirmedStart?: boolean;
}

/** What a lease renewal found. */
export interface RenewReply {
  /** Entries whose lease is no longer the worker's: it stops them. */
  lost: string[];
  /** Entries it holds whose cancel was requested: it stops them, and their finish records `cancelled`. */
  cancelRequested: string[];
}

/** Jobs a stopping worker gave back: requeued, or cancelled when their cancel had been requested. */
export interface ReleaseReply {
  released: number;
  cancelled: number;
}

/** What reportProgress did: 'lost' when the lease is no longer the caller's, 'gone' when the job's record is. */
export type ProgressResult = 'done' | 'lost' | 'gone';

/** The event streams' limits (README "Event stream"). */
export interface EventStreamSettings {
  /** EVENTS_MAX_LEN: approximate MAXLEN of every append. */
  maxLen: number;
  /** JOB_RETENTION_SECONDS: events older than it are trimmed as the workspace's jobs expire. */
  retentionSeconds: number;
}

export const DEFAULT_EVENT_STREAM: EventStreamSettings = { maxLen: 10000, retentionSeconds: 86400 };

/** What a claim needs to know of the scheduling settings (README "Scheduling"). */
export interface SchedulingArgs {
  /** WORKSPACE_MAX_RUNNING: jobs a workspace may run at once across workers (0: no cap). */
  defaultMaxRunning: number;
  /** The workers published WORKSPACE_LIMITS weights and caps to Redis (read per workspace by the claim). */
  overridesPublished: boolean;
  /** ACTION_RATE_LIMITS in the claim's compact form ('<rule> <limit> <window ms>' joined by ';'), '' for none. */
  rateRules: string;
}

export const NO_SCHEDULING_LIMITS: SchedulingArgs = { defaultMaxRunning: 0, overridesPublished: false, rateRules: '' };

export interface ClaimOptions {
  /** How many jobs to claim (0: none). */
  max: number;
  workerId: string;
  leaseMs: number;
  maxAttempts: number;
  retentionSeconds: number;
  /** An entry a blocking wait moved to the active list, to lease first. */
  blockedEntry?: string;
  /** How many of `max` start now (default all); the rest are prefetched: leased, still pending, startedAt ''. */
  startNow?: number;
  /** Caps, weights and rate limits; none when absent. */
  scheduling?: SchedulingArgs;
}

/** Claims made in the same call as a finish: everything of ClaimOptions but what the finish already says. */
export type NextClaim = Omit<ClaimOptions, 'retentionSeconds' | 'blockedEntry'>;

/** A job a claim failed instead of starting: its workers kept dying and its attempts are spent (a dead letter). */
export interface GivenUpJob {
  workspaceId: string;
  jobId: string;
  action: string;
  attempts: number;
}

/** Work a call held back: a workspace at its cap, a job over a rate limit, a job its action deferred. */
export interface HeldBack {
  reason: 'max_running' | 'rate_limit' | 'retry_after';
  workspaceId: string;
  times: number;
}

export interface ClaimReply {
  claimed: ClaimedJob[];
  gaveUp: GivenUpJob[];
  heldBack: HeldBack[];
  /** The call's budget ran out with slots left (a run of cancelled or rate-limited entries): claim again at once. */
  moreWaiting: boolean;
  /** Index, retention or dead-letter writes skipped because a key of another type was in the way. */
  skippedWrites: number;
}

export interface FinishReply extends ClaimReply {
  results: FinishResult[];
  /** The call's Redis time: started_at of the starts it wrote. */
  at: string;
}

/** What lease scripts need of a claimed job. */
export type LeaseHolder = Pick<ClaimedJob, 'entry' | 'token'>;

export interface RecoveryReply {
  expired: number;
  stalled: number;
  /** Jobs of expired leases whose cancel had been requested: cancelled instead of requeued. */
  cancelled: number;
  /** Index entries of expired jobs dropped in this pass (retention set and expiry sweep together). */
  dropped: number;
}

/** One step of the expiry sweep (sweepFinishedIndexes.lua). */
export interface SweepReply {
  /** Index entries read (each one's record looked up). */
  read: number;
  /** Of those, dropped: the record is gone. */
  dropped: number;
  /** The step reached the end of the last registered workspace: the next one starts a new cycle. */
  cycleDone: boolean;
}

export type RequeueReply = 'requeued' | 'missing' | 'gone';

/** Where a batch of the legacy index sweep stands; token '' for an on-demand pass (no lock, no checkpoint). */
export interface LegacyIndexBatch {
  token: string;
  /** Lock time while the pass goes on. */
  lockMs: number;
  /** The SCAN cursor after this batch; '0' ends the pass. */
  nextCursor: string;
  /** Lock time after the pass ends (the sweep interval); 0 releases the lock. */
  holdMs: number;
}

export type LegacyIndexReply =
  | 'lost'
  | {
      /** Records newly given index entries. */
      indexed: number;
      /** Records already indexed whose status entry was moved to their current status. */
      moved: number;
      /** Records skipped: invalid workspace id, job id or created_at. */
      invalid: number;
      /** Records holding Relay's request_hash, indexed when Relay wrote them: passed over. */
      relayOwn: number;
      /** Records skipped because an index key of another type was in the way. */
      failed: number;
    };

export interface BackfillReply {
  copied: number;
  skipped: number;
  invalid: number;
  invalidKeys: string[];
}

export interface CompareReply {
  matching: number;
  /** Job ids of legacy records with no scoped copy. */
  missing: string[];
  /** 'job_id:field,field' of pairs that differ. */
  diverged: string[];
  invalid: string[];
}

/** One stream's part of a readEvents reply: its state and the entries read (raw: events/ parses them). */
export interface EventStreamRead {
  /** '0-0' when the stream does not exist. */
  lastGeneratedId: string;
  /** Entries ever added; more than `length` once the stream has been trimmed. */
  entriesAdded: number;
  length: number;
  /** Id of the oldest entry kept; '' when the stream holds none. */
  firstId: string;
  entries: [id: string, fields: string[]][];
}
