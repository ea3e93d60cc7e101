import { followEvents, type EventStreamOptions, type JobEvent, type StreamEvent } from './event-stream.js';
import { RelayApiError, isErrorBody } from './relay-api-error.js';
import { DEFAULT_RETRY, retryDelayMs, type RetryOptions } from './retry-policy.js';
import type { components, operations } from './schema.js';

type Schemas = components['schemas'];
export type Job = Schemas['JobView'];
/** A cancel's answer: the job, and `cancel` (cancelled, finished_first, or requested: still running after the API's wait, status 202). */
export type CancelledJob = Schemas['CancelledJobView'];
export type JobSummary = Schemas['JobSummaryView'];
export type JobPage = Schemas['JobPageView'];
export type JobStatus = JobSummary['status'];
/** The `data:` of an event frame of GET /ai/events and GET /ai/jobs/{id}/events. */
export type { JobEvent };
export type SubmitJobRequest = Omit<Schemas['SubmitJobDto'], 'workspace_id'>;
export type SubmitPlanRequest = Omit<Schemas['SubmitPlanDto'], 'workspace_id'>;
export type ListQuery = Omit<NonNullable<operations['listJobs']['parameters']['query']>, 'cursor' | 'workspace_id'>;
/** GET /ai/events: where to start, and filters (each optional; all given must hold). */
export interface EventsOptions extends EventStreamOptions {
  /** Only this job's events. */
  jobId?: string;
  /** Only events that leave the job in one of these statuses. */
  status?: JobStatus | readonly JobStatus[];
  /** Only events of these actions: action ids, or `provider.*`. */
  action?: string | readonly string[];
  /** Without lastEventId: start with the events added at or after this time instead of now. */
  since?: Date | string;
}

/** A submit's answer, and whether it was a replay of an earlier submit with the same idempotency key. */
export type Submitted<T> = T & { replayed: boolean };

export interface RelayClientOptions {
  /** Where the API listens, e.g. `https://relay.example.com` (a path prefix is kept). */
  baseUrl: string;
  apiKey: string;
  retry?: Partial<RetryOptions>;
  /** Each try is abandoned after this long (default 30 s). */
  timeoutMs?: number;
  /**
   * An event stream that sends nothing for this long, not even a heartbeat, is resumed on a new
   * connection (default 45 s: three of the API's default SSE_HEARTBEAT_MS of 15 s; keep it above
   * the server's heartbeat period).
   */
  streamIdleTimeoutMs?: number;
  /** Told before each retry (for logs). */
  onRetry?: (retry: { attempt: number; status: number; delayMs: number; requestId: string | undefined }) => void;
}

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

/**
 * A small client of the Relay API, typed by the types generated from its
 * OpenAPI document (schema.d.ts). Answers that ask to come back later (429
 * with Retry-After, 503) are retried within a bound (retry-policy.ts).
 * Submits and plans always carry an idempotency key, the caller's or a new
 * one per call, so a retry after a 503 (whose jobs may have been written)
 * never creates a second job.
 */
export class RelayClient {
  private readonly retry: RetryOptions;

  constructor(private readonly options: RelayClientOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  /** POST /ai/jobs. */
  async submit(request: SubmitJobRequest, idempotencyKey?: string): Promise<Submitted<Schemas['SubmittedJobView']>> {
    const answer = await this.send('POST', '/ai/jobs', { body: request, headers: this.idempotency(request, idempotencyKey) });
    return { ...(answer.body as Schemas['SubmittedJobView']), replayed: answer.status === 200 };
  }

  /** POST /ai/plans: every step a job, all created or none. */
  async plan(request: SubmitPlanRequest, idempotencyKey?: string): Promise<Submitted<Schemas['SubmittedPlanView']>> {
    const answer = await this.send('POST', '/ai/plans', { body: request, headers: this.idempotency(request, idempotencyKey) });
    return { ...(answer.body as Schemas['SubmittedPlanView']), replayed: answer.status === 200 };
  }

  /** Every job of the workspace, newest first, fetching pages as the loop goes (GET /ai/jobs, following next_cursor). */
  async *list(query: ListQuery = {}): AsyncGenerator<JobSummary, void, undefined> {
    let cursor: string | null = null;
    do {
      const page = await this.listPage(query, cursor ?? undefined);
      yield* page.items;
      cursor = page.next_cursor;
    } while (cursor !== null);
  }

  /** One page of GET /ai/jobs. */
  async listPage(query: ListQuery = {}, cursor?: string): Promise<JobPage> {
    const search = new URLSearchParams();
    if (query.limit !== undefined) search.set('limit', String(query.limit));
    if (query.status !== undefined) search.set('status', query.status);
    if (cursor !== undefined) search.set('cursor', cursor);
    const text = search.toString();
    return (await this.send('GET', text === '' ? '/ai/jobs' : `/ai/jobs?${text}`)).body as JobPage;
  }

  /**
   * GET /ai/jobs/{id}. With `waitSeconds` (0-30) the answer comes as soon as
   * the job is final, or after that long with the job as it is then (check
   * its status); each try may take that much longer than `timeoutMs`.
   */
  async get(jobId: string, options: { waitSeconds?: number } = {}): Promise<Job> {
    const wait = options.waitSeconds ?? 0;
    const path = `/ai/jobs/${encodeURIComponent(jobId)}${wait > 0 ? `?wait=${wait}` : ''}`;
    return (await this.send('GET', path, { extraTimeoutMs: wait * 1000 })).body as Job;
  }

  /**
   * POST /ai/jobs/{id}/cancel. `cancel` in the answer says what came of it
   * (`requested`: the job still ran when the API stopped waiting; read it
   * later). A retried cancel whose first try went through is answered 409
   * (the job is final); the job is then read, and returned when it is cancelled.
   */
  async cancel(jobId: string): Promise<CancelledJob> {
    try {
      return (await this.send('POST', `/ai/jobs/${encodeURIComponent(jobId)}/cancel`)).body as CancelledJob;
    } catch (error) {
      if (!(error instanceof RelayApiError && error.status === 409 && error.attempts > 1)) throw error;
      const job = await this.get(jobId);
      if (job.status !== 'cancelled') throw error;
      return { ...job, cancel: 'cancelled' };
    }
  }

  /**
   * GET /ai/events: the workspace's events as they come, for as long as the
   * loop runs (end it with `break` or `options.signal`). Resets arrive as
   * events of type `reset`: events after the position were trimmed away
   * before they could be read, so read again the jobs you care about. A
   * dropped or ended connection is reconnected with Last-Event-ID, so each
   * event comes once, in order (see followEvents).
   *
   * ```ts
   * for await (const event of relay.events({ status: ['succeeded', 'failed'] })) {
   *   if (event.type === 'reset') resync(event.data.resumes_after);
   *   else console.log(event.id, event.data.job_id, event.data.status);
   * }
   * ```
   */
  events(options: EventsOptions = {}): AsyncGenerator<StreamEvent, void, undefined> {
    const search = new URLSearchParams();
    if (options.jobId !== undefined) search.set('job_id', options.jobId);
    if (options.status !== undefined) search.set('status', typeof options.status === 'string' ? options.status : options.status.join(','));
    if (options.action !== undefined) search.set('action', typeof options.action === 'string' ? options.action : options.action.join(','));
    if (options.since !== undefined) search.set('since', options.since instanceof Date ? options.since.toISOString() : options.since);
    const text = search.toString();
    const path = text === '' ? '/ai/events' : `/ai/events?${text}`;
    return followEvents((lastEventId, signal) => this.openStream(path, lastEventId, signal), this.streamSettings(false, options.since !== undefined && options.lastEventId === undefined), options);
  }

  /**
   * GET /ai/jobs/{id}/events: one job's events, from now (or after
   * `lastEventId`); the loop ends after the job's final event (`succeeded`,
   * `failed`, `cancelled`, `dead_lettered`). For a job already final: its
   * final event, then the end (nothing when `lastEventId` shows the caller
   * has it). A missing job is a RelayApiError 404. Reconnects as events() does.
   */
  jobEvents(jobId: string, options: EventStreamOptions = {}): AsyncGenerator<StreamEvent, void, undefined> {
    const path = `/ai/jobs/${encodeURIComponent(jobId)}/events`;
    return followEvents((lastEventId, signal) => this.openStream(path, lastEventId, signal), this.streamSettings(true, false), options);
  }

  private streamSettings(endsAfterFinal: boolean, startsAtSince: boolean) {
    return { retry: this.retry, timeoutMs: this.options.timeoutMs ?? 30_000, idleTimeoutMs: this.options.streamIdleTimeoutMs ?? 45_000, endsAfterFinal, startsAtSince };
  }

  private openStream(path: string, lastEventId: string | undefined, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.options.apiKey}`, Accept: 'text/event-stream' };
    if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
    return fetch(this.url(path), { headers, signal });
  }

  private url(path: string): string {
    return `${this.options.baseUrl.replace(/\/+$/, '')}${path}`;
  }

  /** The caller's key, the body's client_request_id (sent as is), or a new key for this call. */
  private idempotency(request: { client_request_id?: string }, key: string | undefined): Record<string, string> {
    if (request.client_request_id !== undefined && key === undefined) return {};
    return { 'Idempotency-Key': key ?? globalThis.crypto.randomUUID() };
  }

  private async send(method: 'GET' | 'POST', path: string, extra: { body?: unknown; headers?: Record<string, string>; extraTimeoutMs?: number } = {}): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      const answer = await this.once(method, path, extra);
      if (answer.status < 400) return answer;
      const requestId = answer.headers.get('x-request-id') ?? undefined;
      const delayMs = retryDelayMs({ status: answer.status, retryAfter: answer.headers.get('retry-after'), attempt }, this.retry);
      if (delayMs === undefined) throw new RelayApiError(answer.status, isErrorBody(answer.body) ? answer.body : undefined, requestId, attempt);
      this.options.onRetry?.({ attempt, status: answer.status, delayMs, requestId });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }

  private async once(method: string, path: string, extra: { body?: unknown; headers?: Record<string, string>; extraTimeoutMs?: number }): Promise<Answer> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.options.apiKey}`, Accept: 'application/json', ...extra.headers };
    if (extra.body !== undefined) headers['Content-Type'] = 'application/json';
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), (this.options.timeoutMs ?? 30_000) + (extra.extraTimeoutMs ?? 0));
    try {
      const res = await fetch(this.url(path), {
        method,
        headers,
        body: extra.body === undefined ? undefined : JSON.stringify(extra.body),
        signal: abort.signal,
      });
      const text = await res.text();
      return { status: res.status, body: parseJson(text), headers: res.headers };
    } finally {
      clearTimeout(timer);
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
