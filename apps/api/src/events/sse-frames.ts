import { eventPayload, type EventPayload, type RelayEvent, type StreamReset } from '@relay/queue';

/**
 * The text of Server-Sent Events frames. An event's frame is the same for
 * every client following the workspace, so it is built once per event and
 * kept with it (a WeakMap: it goes when the event does).
 */
const frames = new WeakMap<RelayEvent, string>();

/** Event types are lowercase words by contract; anything else could break the framing, so it is never written as is. */
const safeType = (type: string) => (/^[a-z_]{1,40}$/.test(type) ? type : 'unknown');

function frame(id: string | undefined, type: string, data: unknown): string {
  // JSON.stringify never writes a raw line break, so the data is one line.
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${safeType(type)}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** `id:` the stream id, `event:` the type, `data:` the event's JSON (README "Events"). */
export function eventFrame(event: RelayEvent): string {
  let text = frames.get(event);
  if (text === undefined) {
    text = frame(event.id, event.type, eventPayload(event));
    frames.set(event, text);
  }
  return text;
}

/** A job's final event made up from its record; its `id:` is the stream position read before the record was. */
export function synthesizedFrame(position: string, payload: EventPayload): string {
  return frame(position, payload.type, payload);
}

/**
 * `event: reset`: events after the client's position are gone; what follows
 * starts at the oldest kept. Its `id:` is where the stream resumes, so a
 * client reconnecting right after it is not told again.
 */
export function resetFrame(reset: StreamReset): string {
  return frame(reset.resumesAfter, 'reset', { reason: reset.reason, last_event_id: reset.lastEventId, resumes_after: reset.resumesAfter });
}

/** A comment line: ignored by clients, keeps proxies and idle timeouts from closing the stream. */
export const HEARTBEAT_FRAME = ': heartbeat\n\n';
