// The frame parser is eventsource-parser (rexxars/eventsource-parser): small,
// without dependencies, well kept, and it follows the HTML standard's event
// stream rules (CR, LF and CRLF line ends, a line or a CRLF split across
// chunks, a leading BOM, multi-line `data:`, comments, `id:` with NUL) that
// a hand-written parser would have to get right again. Its 3.x line, because
// 4.x asks for Node 22.12 and this client runs on Node 20.
import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';
import { RelayApiError, isErrorBody } from './relay-api-error.js';
import { reconnectDelayMs, retryDelayMs, type RetryOptions } from './retry-policy.js';
import type { components } from './schema.js';

/** The `data:` of an event frame: a job's lifecycle change (schema EventView). */
export type JobEvent = components['schemas']['EventView'];
/** The `data:` of `event: reset`: events after the position were trimmed away (schema ResetView). */
export type ResetNotice = components['schemas']['ResetView'];

/** A job's event as a stream delivers it: `id` is its id in the workspace's stream, `type` the frame's `event:`. */
export interface JobStreamEvent {
  id: string;
  type: JobEvent['type'];
  data: JobEvent;
}

/**
 * Events after the position were trimmed away before they could be read:
 * what follows starts at the oldest kept. Read the jobs you care about
 * again (GET /ai/jobs): changes may have been missed.
 */
export interface ResetStreamEvent {
  id: string;
  type: 'reset';
  data: ResetNotice;
}

export type StreamEvent = JobStreamEvent | ResetStreamEvent;

/** A job emits nothing after one of these; a job stream ends with it. */
export const FINAL_EVENT_TYPES: readonly JobEvent['type'][] = ['succeeded', 'failed', 'cancelled', 'dead_lettered'];

/** What the caller is told before each reconnection (for logs). */
export interface Reconnect {
  /** The coming try's number since the stream was last open (1 after an open stream ended or dropped). */
  attempt: number;
  delayMs: number;
  /** What will be sent as Last-Event-ID (undefined: nothing was received yet and the stream starts at `since` again). */
  lastEventId: string | undefined;
  /**
   * `ended`: the server ended an open stream without its final event (an API
   * replica shutting down); `dropped`: the open stream's connection broke;
   * `no_answer`: a try got no answer (refused, reset, or no headers within
   * timeoutMs); `status`: a try was answered 503, or 429 with Retry-After.
   */
  reason: 'ended' | 'dropped' | 'no_answer' | 'status';
  /** The answer's status, with reason `status`. */
  status?: number;
  /** The error, with reasons `dropped` and `no_answer`. */
  error?: unknown;
}

export interface EventStreamOptions {
  /** Start after this event (the `id` of the last one the caller has): the stream resumes with the next. Default: from now. */
  lastEventId?: string;
  /** Aborting it ends the iteration (the loop just finishes, nothing is thrown) and closes the connection. */
  signal?: AbortSignal;
  /** Told before each reconnection. */
  onReconnect?: (reconnect: Reconnect) => void;
}

/** Makes one try: its answer (headers in, body streaming); aborting `signal` closes its connection. */
export type Connect = (lastEventId: string | undefined, signal: AbortSignal) => Promise<Response>;

/** The parts of the client a stream needs. */
export interface FollowSettings {
  retry: RetryOptions;
  /** A try without its answer's headers after this long is abandoned (and retried). */
  timeoutMs: number;
  /**
   * An open stream that sends nothing for this long, not even a heartbeat, is taken for dropped and
   * resumed (a connection a proxy or NAT silently forgot sends nothing and never breaks by itself).
   */
  idleTimeoutMs: number;
  /** A job stream: it ends after the job's final event, and a 204 means the caller has it already. */
  endsAfterFinal: boolean;
  /** The stream was asked to start at `since`: until an event arrives, a reconnect asks for `since` again rather than the stream's position. */
  startsAtSince: boolean;
}

/** A frame larger than this (in characters) is refused: Relay's are at most a result's size (RESULT_MAX_BYTES) and some. */
const MAX_FRAME_CHARS = 16 * 1024 * 1024;

/** A stream open at least this long before it ended counts as healthy, events or not (reconnectDelayMs's streak). */
const HEALTHY_OPEN_MS = 5000;

/** The answer header that tells a stream's start (README "Events"). */
const STREAM_POSITION = 'relay-stream-position';

/** The stream sent something that is no Relay event (a frame without an id, data that is not JSON, a frame beyond MAX_FRAME_CHARS): not retried. */
export class EventStreamProtocolError extends Error {
  override readonly name = 'EventStreamProtocolError';
}

/**
 * Bytes in, complete frames out, one connection's worth: UTF-8 decoded
 * across chunk boundaries, the frame fields parsed by eventsource-parser;
 * comments (heartbeats) and unknown fields are dropped. A frame still
 * incomplete when the connection ends is never delivered (a new
 * connection gets a new decoder).
 */
export class SseFrameDecoder {
  private readonly text = new TextDecoder('utf-8');
  private readonly parser: EventSourceParser;
  private readonly complete: EventSourceMessage[] = [];
  private tooLarge = false;

  constructor(maxFrameChars = MAX_FRAME_CHARS) {
    this.parser = createParser({
      onEvent: (message) => this.complete.push(message),
      onError: (error) => {
        // Unknown fields and a bad `retry:` are ignored, as the standard says; only the size bound stops the stream.
        if (error.type === 'max-buffer-size-exceeded') this.tooLarge = true;
      },
      maxBufferSize: maxFrameChars,
    });
  }

  /** The frames this chunk completes, in order. */
  push(chunk: Uint8Array): EventSourceMessage[] {
    this.parser.feed(this.text.decode(chunk, { stream: true }));
    if (this.tooLarge) throw new EventStreamProtocolError('a frame of the event stream is larger than the client accepts');
    return this.complete.splice(0);
  }
}

/** A frame as a typed event: `id:` required, `data:` JSON; `event: reset` is a ResetStreamEvent. */
export function toStreamEvent(message: EventSourceMessage): StreamEvent {
  if (message.id === undefined || message.id === '') throw new EventStreamProtocolError(`an event frame without an id (event: ${message.event ?? 'message'})`);
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    throw new EventStreamProtocolError(`the data of event ${message.id} is not JSON`);
  }
  // Relay writes `event:` as the data's type (or `unknown` for a type it would not write as is): a type this client does not know is passed on.
  const type = message.event ?? (data as { type?: string }).type ?? 'message';
  return { id: message.id, type, data } as StreamEvent;
}

/**
 * An event stream that reconnects by itself: after an open stream ends
 * (an API replica shutting down; a job stream's end comes only after its
 * final event) or drops, it waits reconnectDelayMs and asks again with
 * Last-Event-ID the id of the last event delivered, so the caller sees
 * every event once and in order; before any event arrived, the stream's
 * own start (Relay-Stream-Position), or `since` again. Tries that fail are
 * retried under the client's retry policy (a try with no answer as a 503
 * without Retry-After), up to maxAttempts in a row; then the last error is
 * thrown (RelayApiError for an answer). Other answers (400, 401, 403, 404,
 * 429 of the open-stream cap) are thrown at once. A job stream's 204 (its
 * final event is already the caller's) ends it.
 */
export async function* followEvents(connect: Connect, settings: FollowSettings, options: EventStreamOptions = {}): AsyncGenerator<StreamEvent, void, undefined> {
  const { signal } = options;
  let lastEventId = options.lastEventId;
  let eventSeen = lastEventId !== undefined;
  let attempt = 0;
  // Opened streams in a row that ended soon without an event (reconnectDelayMs).
  let emptyStreak = 0;
  let current: AbortController | undefined;
  const stop = () => current?.abort(signal?.reason);
  signal?.addEventListener('abort', stop);
  try {
    for (;;) {
      if (signal?.aborted) return;
      attempt++;
      current = new AbortController();
      const connection = current;
      const headersTimer = setTimeout(() => connection.abort(new Error(`no answer within ${settings.timeoutMs} ms`)), settings.timeoutMs);
      let res: Response;
      try {
        res = await connect(lastEventId, connection.signal);
      } catch (error) {
        if (signal?.aborted) return;
        const delayMs = retryDelayMs({ status: 0, retryAfter: null, attempt }, settings.retry);
        if (delayMs === undefined) throw error;
        await pause({ attempt: attempt + 1, delayMs, lastEventId, reason: 'no_answer', error }, options);
        continue;
      } finally {
        clearTimeout(headersTimer);
      }
      if (res.status === 204 && settings.endsAfterFinal) {
        connection.abort();
        return;
      }
      if (res.status !== 200 || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream') || !res.body) {
        const body = await res.json().catch(() => undefined);
        const delayMs = retryDelayMs({ status: res.status, retryAfter: res.headers.get('retry-after'), attempt }, settings.retry);
        if (delayMs === undefined) throw new RelayApiError(res.status, isErrorBody(body) ? body : undefined, res.headers.get('x-request-id') ?? undefined, attempt);
        await pause({ attempt: attempt + 1, delayMs, lastEventId, reason: 'status', status: res.status }, options);
        continue;
      }
      attempt = 0;
      // A stream started from now: until an event arrives, its position is what a reconnect resumes after.
      const position = res.headers.get(STREAM_POSITION);
      if (!eventSeen && !settings.startsAtSince && position !== null) lastEventId = position;
      const reader = res.body.getReader();
      const decoder = new SseFrameDecoder();
      const openedAt = Date.now();
      let delivered = false;
      let reason: Reconnect['reason'] = 'ended';
      let dropped: unknown;
      // Runs only while a read waits (not while the caller holds an event): when it fires, the read fails: 'dropped'.
      const idle = () => connection.abort(new Error(`the stream sent nothing for ${settings.idleTimeoutMs} ms`));
      let idleTimer: ReturnType<typeof setTimeout> | undefined;
      try {
        for (;;) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          idleTimer = setTimeout(idle, settings.idleTimeoutMs);
          try {
            chunk = await reader.read();
          } catch (error) {
            if (signal?.aborted) return;
            reason = 'dropped';
            dropped = error;
            break;
          } finally {
            clearTimeout(idleTimer);
          }
          if (chunk.done) break;
          // A frame that is no Relay event throws (EventStreamProtocolError): asking again would bring it again.
          for (const message of decoder.push(chunk.value)) {
            // Aborted while the caller held the previous event: nothing more comes, even from this chunk.
            if (signal?.aborted) return;
            const event = toStreamEvent(message);
            lastEventId = event.id;
            eventSeen = true;
            delivered = true;
            yield event;
            if (settings.endsAfterFinal && FINAL_EVENT_TYPES.includes(event.type as JobEvent['type'])) return;
          }
        }
      } finally {
        clearTimeout(idleTimer);
        // Whatever ends the reading (the caller's break included) closes the connection.
        connection.abort();
      }
      emptyStreak = delivered || Date.now() - openedAt >= HEALTHY_OPEN_MS ? 1 : emptyStreak + 1;
      const delayMs = reconnectDelayMs(settings.retry, Math.random, emptyStreak);
      await pause({ attempt: 1, delayMs, lastEventId, reason, ...(dropped !== undefined ? { error: dropped } : {}) }, options);
    }
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

/** Tells the caller, then waits; an abort ends the wait at once (the loop then sees it). */
async function pause(reconnect: Reconnect, options: EventStreamOptions): Promise<void> {
  options.onReconnect?.(reconnect);
  const { signal } = options;
  if (signal?.aborted) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, reconnect.delayMs);
    signal?.addEventListener('abort', done);
  });
}
