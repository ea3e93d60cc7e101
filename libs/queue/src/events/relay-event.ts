/**
 * One job lifecycle event, as the scripts append it to the workspace's
 * stream (`ai:events:{ws}`, README "Events"): fixed fields `type, job_id,
 * action, status, attempt, at`, then optional ones. This file owns reading
 * an entry and what a client is shown of it (the SSE `data:`, webhook
 * bodies).
 */

export const EVENT_TYPES = ['created', 'started', 'progress', 'retrying', 'succeeded', 'failed', 'cancelled', 'dead_lettered'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

/** A job emits nothing after one of these. */
export const FINAL_EVENT_TYPES: readonly EventType[] = ['succeeded', 'failed', 'cancelled', 'dead_lettered'];
const FINAL = new Set<string>(FINAL_EVENT_TYPES);

export function isFinalEventType(type: string): boolean {
  return FINAL.has(type);
}

export interface RelayEvent {
  /** The stream entry id: the event id (SSE `id:`), strictly increasing per workspace. */
  id: string;
  /**
   * One of EVENT_TYPES. Typed as text: a reader older than the scripts
   * passes a type it does not know on rather than losing the event.
   */
  type: string;
  jobId: string;
  /** `provider.name`. */
  action: string;
  /** The job's status after the change. */
  status: string;
  /** The attempt the change belongs to (0 before the first start). */
  attempt: number;
  /** ISO 8601 UTC with ms, Redis time. */
  at: string;
  /** The optional fields, as stored: `result` (JSON text) or `result_omitted` ('1'), `error`, `retry_at`, `run_at`, `progress`, `message`, `reason`. */
  extra: Readonly<Record<string, string>>;
}

const FIXED = ['type', 'job_id', 'action', 'status', 'attempt', 'at'] as const;
const OPTIONAL = new Set(['result', 'result_omitted', 'error', 'retry_at', 'run_at', 'progress', 'message', 'reason']);

/**
 * An entry (`[field, value, ...]` as XRANGE/XREAD return it) as an event, or
 * undefined when a fixed field is missing or `attempt` is not a whole
 * number. Optional fields other than the contract's are dropped, so a field
 * added to the scripts later is shown only once a reader means to show it.
 */
export function parseEventEntry(id: string, fields: readonly string[]): RelayEvent | undefined {
  const fixed: Partial<Record<(typeof FIXED)[number], string>> = {};
  const extra: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i];
    if ((FIXED as readonly string[]).includes(name)) fixed[name as (typeof FIXED)[number]] = fields[i + 1];
    else if (OPTIONAL.has(name)) extra[name] = fields[i + 1];
  }
  const { type, job_id, action, status, attempt, at } = fixed;
  if (!type || !job_id || action === undefined || !status || attempt === undefined || !/^\d{1,9}$/.test(attempt) || !at) return undefined;
  return { id, type, jobId: job_id, action, status, attempt: Number(attempt), at, extra };
}

/** What a client is shown of an event: the fixed fields, then the optional ones (result as JSON, progress as a number). */
export type EventPayload = {
  type: string;
  job_id: string;
  action: string;
  status: string;
  attempt: number;
  at: string;
  result?: unknown;
  /** The result was over EVENT_RESULT_MAX_BYTES and is left out of the event (GET /ai/jobs/{id} has it). */
  result_omitted?: true;
  error?: string;
  retry_at?: string;
  run_at?: string;
  progress?: number;
  message?: string;
  reason?: string;
  /** Only on an event made up from the job record because the stream no longer holds the real one (README "Events"). */
  synthesized?: true;
};

export function eventPayload(event: RelayEvent): EventPayload {
  const payload: EventPayload = { type: event.type, job_id: event.jobId, action: event.action, status: event.status, attempt: event.attempt, at: event.at };
  for (const [name, value] of Object.entries(event.extra)) {
    if (name === 'result') payload.result = parseJsonText(value);
    else if (name === 'result_omitted') payload.result_omitted = true;
    else if (name === 'progress') payload.progress = /^\d{1,3}$/.test(value) ? Number(value) : undefined;
    else (payload as Record<string, unknown>)[name] = value;
  }
  if (payload.progress === undefined) delete payload.progress;
  return payload;
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
