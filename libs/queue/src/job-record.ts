export const JOB_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === 'string' && (JOB_STATUSES as readonly string[]).includes(value);
}

/**
 * The fields of a job hash, identical in both schemas (SPEC section 2).
 * `request_hash` is Relay's own: the payload fingerprint that tells an
 * idempotent replay from a conflicting reuse of the same client_request_id.
 * `run_at` is the due time of a job submitted with run_at or delay_ms (ISO
 * 8601 UTC), and absent on every other job (a field more on every record
 * would cost ~300 B a job: see createJobs.lua).
 */
export const JOB_FIELDS = [
  'job_id',
  'workspace_id',
  'actor_id',
  'action_provider',
  'action_name',
  'params',
  'status',
  'attempts',
  'result',
  'error',
  'client_request_id',
  'created_at',
  'updated_at',
  'started_at',
  'finished_at',
  'request_hash',
  'run_at',
] as const;
export type JobField = (typeof JOB_FIELDS)[number];

/**
 * Fields the worker adds while a job runs, on every copy, and only to a job
 * whose action reported progress (reportProgress.lua; README "Progress"):
 * `progress` (an integer 0-100) and `progress_message`. Not in JOB_FIELDS,
 * which lists what a record holds as Relay creates it.
 */
export const PROGRESS_FIELDS = ['progress', 'progress_message'] as const;

/** A job as stored: every field a string ('' when unset), JSON fields as JSON text. */
export type JobHash = Record<JobField, string>;

/** A job as Relay's code sees it. */
export interface Job {
  jobId: string;
  workspaceId: string;
  actorId: string;
  action: string;
  params: unknown;
  status: JobStatus;
  attempts: number;
  result: unknown;
  error: string | null;
  clientRequestId: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** When a delayed job is due (it stays pending until then); null when it was not delayed. */
  runAt: string | null;
  /** What the running (or last) attempt's action reported, 0-100; null when it reported none. */
  progress: number | null;
  progressMessage: string | null;
}

/** Job ids: Relay mints UUIDs (and `<uuid>_<step>` for plans); legacy ids may be any of these characters. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    // A predecessor record may hold text that is not JSON; show it as is.
    return text;
  }
}

/** A stored progress figure, or null when absent or not one Relay writes (an integer 0-100). */
function progressOf(text: string | undefined): number | null {
  const n = text === undefined || text === '' ? NaN : Number(text);
  return Number.isInteger(n) && n >= 0 && n <= 100 ? n : null;
}

export function jobFromHash(hash: Partial<Record<string, string>>): Job {
  const orNull = (v: string | undefined) => (v === undefined || v === '' ? null : v);
  return {
    jobId: hash.job_id ?? '',
    workspaceId: hash.workspace_id ?? '',
    actorId: hash.actor_id ?? '',
    action: `${hash.action_provider ?? ''}.${hash.action_name ?? ''}`,
    params: parseJson(hash.params),
    status: isJobStatus(hash.status) ? hash.status : 'pending',
    attempts: Number(hash.attempts ?? 0) || 0,
    result: parseJson(hash.result),
    error: orNull(hash.error),
    clientRequestId: orNull(hash.client_request_id),
    createdAt: hash.created_at ?? '',
    updatedAt: hash.updated_at ?? hash.created_at ?? '',
    startedAt: orNull(hash.started_at),
    finishedAt: orNull(hash.finished_at),
    runAt: orNull(hash.run_at),
    progress: progressOf(hash.progress),
    progressMessage: orNull(hash.progress_message),
  };
}

/** Pairs [k1, v1, k2, v2, ...] as returned by HGETALL-like Lua replies, to a record. */
export function pairsToRecord(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) out[pairs[i]] = pairs[i + 1];
  return out;
}
