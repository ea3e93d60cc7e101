import { Inject, Injectable, Logger } from '@nestjs/common';
import { Redis, RedisKeys } from '@relay/redis';
import { QueueScripts } from '../scripts/queue-scripts.js';
import type { EventStreamRead } from '../scripts/script-types.js';
import { isFinalEventType, parseEventEntry, type RelayEvent } from './relay-event.js';
import { compareStreamIds, nextStreamId, positionBeforeMs, previousStreamId, streamIdMs } from './stream-id.js';

/**
 * Events after a reader's position were trimmed away (the stream's length
 * or age cap) before it read them, or the position is not one this stream
 * reached: the reader goes on after `resumesAfter`, the position just
 * before the oldest event kept (or the stream's end when it keeps none).
 */
export interface StreamReset {
  reason: 'trimmed' | 'unknown_id';
  /** The position the reader had. */
  lastEventId: string;
  resumesAfter: string;
}

/** One read of one workspace's stream. */
export interface EventBatch {
  events: RelayEvent[];
  /** Read up to here: the next read goes after it. */
  position: string;
  /** The read stopped at its count: more may follow at once. */
  full: boolean;
  /** Set when entries after the position asked for were gone: `events` then start at the oldest kept. */
  reset?: StreamReset;
}

/** How far around a job's finished_at its final event is looked for, and how many entries at most. */
const FINAL_LOOKUP_BEFORE_MS = 1000;
const FINAL_LOOKUP_PAGE = 200;
const FINAL_LOOKUP_MAX_ENTRIES = 2000;

/** Whether entries after `after` were removed before this read could see them. */
function trimmedPast(state: EventStreamRead, after: string): boolean {
  if (state.entriesAdded <= state.length) return false;
  if (state.firstId === '') return compareStreamIds(after, state.lastGeneratedId) < 0;
  // No id fits between `after` and the first entry kept: nothing can have been lost.
  return compareStreamIds(nextStreamId(after), state.firstId) < 0;
}

/** The position just before the oldest entry kept, or the end of a stream that keeps none. */
const keptFrom = (state: EventStreamRead) => (state.firstId === '' ? state.lastGeneratedId : previousStreamId(state.firstId));

/**
 * Reads of the workspaces' event streams (`ai:events:{ws}`): where "now" is,
 * where a client's Last-Event-ID resumes, batches of events after a
 * position with trimming detected exactly (readEvents.lua reads a stream's
 * state and entries atomically), and a finished job's final event.
 */
@Injectable()
export class EventLog {
  private readonly logger = new Logger('EventLog');

  constructor(
    private readonly scripts: QueueScripts,
    @Inject(Redis) private readonly redis: Redis,
  ) {}

  /** The id of the last event ever added ('0-0' for none): reading after it yields events from now on. */
  async now(workspaceId: string): Promise<string> {
    const [state] = await this.scripts.readEvents([{ workspaceId, after: '0-0' }], 0);
    return state.lastGeneratedId;
  }

  /**
   * Where a reader that has seen every event up to `lastEventId` (canonical,
   * see parseStreamId) goes on: after it, or, when events after it were
   * trimmed or the id is beyond anything the stream has held, after the
   * position before the oldest event kept, with the reset to tell the client.
   */
  async resume(workspaceId: string, lastEventId: string): Promise<{ after: string; reset?: StreamReset }> {
    const [state] = await this.scripts.readEvents([{ workspaceId, after: '0-0' }], 0);
    let reason: StreamReset['reason'] | undefined;
    if (compareStreamIds(lastEventId, state.lastGeneratedId) > 0) reason = 'unknown_id';
    else if (trimmedPast(state, lastEventId)) reason = 'trimmed';
    if (!reason) return { after: lastEventId };
    const resumesAfter = keptFrom(state);
    return { after: resumesAfter, reset: { reason, lastEventId, resumesAfter } };
  }

  /** Up to `count` events after `after` (to `upTo` inclusive, else to the end). */
  async read(workspaceId: string, after: string, count: number, upTo?: string): Promise<EventBatch> {
    const [state] = await this.scripts.readEvents([{ workspaceId, after, upTo }], count);
    return this.batch(workspaceId, state, after, count, upTo);
  }

  /** One read of several workspaces' streams in one call, each after its own position. */
  async readMany(reads: readonly { workspaceId: string; after: string }[], count: number): Promise<EventBatch[]> {
    if (reads.length === 0) return [];
    const states = await this.scripts.readEvents(reads, count);
    return states.map((state, i) => this.batch(reads[i].workspaceId, state, reads[i].after, count));
  }

  /**
   * The final event of a job that finished at `finishedAtMs` (its record's
   * finished_at), when the stream still holds it: the scripts stamp both
   * with Redis time in the same call, so it is looked for from a second
   * before, among at most FINAL_LOOKUP_MAX_ENTRIES entries.
   */
  async findFinal(workspaceId: string, jobId: string, finishedAtMs: number): Promise<RelayEvent | undefined> {
    const key = RedisKeys.workspaceEvents(workspaceId);
    let after = positionBeforeMs(finishedAtMs - FINAL_LOOKUP_BEFORE_MS);
    for (let seen = 0; seen < FINAL_LOOKUP_MAX_ENTRIES; seen += FINAL_LOOKUP_PAGE) {
      const entries = (await this.redis.xrange(key, `(${after}`, '+', 'COUNT', FINAL_LOOKUP_PAGE)) as [string, string[]][];
      for (const [id, fields] of entries) {
        const event = parseEventEntry(id, fields);
        if (event && event.jobId === jobId && isFinalEventType(event.type)) return event;
      }
      if (entries.length < FINAL_LOOKUP_PAGE) return undefined;
      after = entries[entries.length - 1][0];
      // Far past the finish: the event is not there.
      if (streamIdMs(after) > finishedAtMs + FINAL_LOOKUP_BEFORE_MS) return undefined;
    }
    return undefined;
  }

  private batch(workspaceId: string, state: EventStreamRead, after: string, count: number, upTo?: string): EventBatch {
    const reset: StreamReset | undefined = trimmedPast(state, after) ? { reason: 'trimmed', lastEventId: after, resumesAfter: keptFrom(state) } : undefined;
    const events: RelayEvent[] = [];
    let malformed = 0;
    for (const [id, fields] of state.entries) {
      const event = parseEventEntry(id, fields);
      if (event) events.push(event);
      else malformed++;
    }
    if (malformed > 0) this.logger.warn(`skipped ${malformed} malformed event entr${malformed === 1 ? 'y' : 'ies'} of workspace ${workspaceId}'s stream`);
    const full = count > 0 && state.entries.length >= count;
    let position = state.entries.length > 0 ? state.entries[state.entries.length - 1][0] : (reset?.resumesAfter ?? after);
    // A bounded read that stopped short has read everything up to its bound.
    if (upTo !== undefined && upTo !== '+' && !full && compareStreamIds(upTo, position) > 0) position = upTo;
    if (compareStreamIds(position, after) < 0) position = after;
    return { events, position, full, ...(reset ? { reset } : {}) };
  }
}
