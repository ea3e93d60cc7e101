import fc from 'fast-check';
import { RelayApiError } from './relay-api-error.js';
import { EventStreamProtocolError, SseFrameDecoder, followEvents, toStreamEvent, type Connect, type FollowSettings, type Reconnect, type StreamEvent } from './event-stream.js';

/**
 * The typed client's SSE reader without a server: the frame decoder (bytes
 * split anywhere, CRLF and CR, multi-line data, comments), frames as typed
 * events, and the reconnecting loop on made-up answers. Against the real
 * API: test/typed-client-events.e2e-spec.ts.
 */

const created = (n: number) => JSON.stringify({ type: 'created', job_id: `job-${n}`, action: 'debug.echo', status: 'pending', attempt: 0, at: '2026-11-29T10:15:00.000Z' });
const frame = (id: string, type: string, data: string) => `id: ${id}\nevent: ${type}\ndata: ${data}\n\n`;

/** What Relay writes, and more the standard allows: a comment, a heartbeat, data on three lines, a field without a colon, an unknown field, non-ASCII text. */
const STREAM =
  ': stream open\n\n' +
  frame('1795962699899-0', 'created', created(1)) +
  ': heartbeat\n\n' +
  'id: 1795962699899-1\nevent: progress\ndata: {"type":"progress",\ndata: "message":"half way ✓ — 日本",\ndata: "progress":40}\n\n' +
  'id: 1795962699899-2\nevent: reset\nunknown: ignored\ndata\ndata: {"reason":"trimmed"}\n\n' +
  frame('1795962699950-0', 'succeeded', JSON.stringify({ type: 'succeeded', result: { text: 'héllo 🎉' } }));

const EXPECTED = [
  { id: '1795962699899-0', event: 'created', data: created(1) },
  { id: '1795962699899-1', event: 'progress', data: '{"type":"progress",\n"message":"half way ✓ — 日本",\n"progress":40}' },
  { id: '1795962699899-2', event: 'reset', data: '\n{"reason":"trimmed"}' },
  { id: '1795962699950-0', event: 'succeeded', data: JSON.stringify({ type: 'succeeded', result: { text: 'héllo 🎉' } }) },
];

const bytes = (text: string) => new TextEncoder().encode(text);

/** Decodes `input` fed as the chunks between `cuts` (byte offsets). */
function decode(input: Uint8Array, cuts: number[]) {
  const decoder = new SseFrameDecoder();
  const out = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b).concat(input.length)) {
    out.push(...decoder.push(input.subarray(from, cut)));
    from = cut;
  }
  return out.map(({ id, event, data }) => ({ id, event, data }));
}

describe('SseFrameDecoder', () => {
  const input = bytes(STREAM);

  it('parses a stream in one chunk: id, event, data on several lines joined by \\n; comments and unknown fields dropped', () => {
    expect(decode(input, [])).toEqual(EXPECTED);
  });

  it('gives the same frames however the bytes are split: at every single byte offset (inside a line, a CRLF, a UTF-8 character)', () => {
    for (let cut = 0; cut <= input.length; cut++) expect(decode(input, [cut])).toEqual(EXPECTED);
    expect(decode(input, Array.from({ length: input.length }, (_, i) => i))).toEqual(EXPECTED);
  });

  it('gives the same frames for any split into any number of chunks', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: input.length }), { maxLength: 40 }), (cuts) => {
      expect(decode(input, cuts)).toEqual(EXPECTED);
    }));
  });

  it('reads CRLF and CR line ends as LF, split anywhere too', () => {
    for (const end of ['\r\n', '\r']) {
      // A CR that ends what has arrived may be half of a CRLF: the parser ends its line when the next line end
      // arrives (here a heartbeat's). Relay writes LF only; a server writing CR alone would see its last frame delayed so.
      const other = bytes(STREAM.replace(/\n/g, end) + `:${end}`);
      expect(decode(other, [])).toEqual(EXPECTED);
      for (let cut = 0; cut <= other.length; cut++) expect(decode(other, [cut])).toEqual(EXPECTED);
    }
  });

  it('delivers no frame until its blank line: one cut off by the end of the connection never arrives', () => {
    const decoder = new SseFrameDecoder();
    expect(decoder.push(bytes('id: 1-0\nevent: created\ndata: {}\n'))).toEqual([]);
    expect(decoder.push(bytes('\n')).map((m) => m.id)).toEqual(['1-0']);
    expect(decoder.push(bytes('id: 2-0\nevent: created\ndata: {}'))).toEqual([]);
  });

  it('refuses a frame larger than its bound', () => {
    const decoder = new SseFrameDecoder(100);
    expect(() => decoder.push(bytes(`id: 1-0\ndata: ${'x'.repeat(200)}`))).toThrow(EventStreamProtocolError);
  });
});

describe('toStreamEvent', () => {
  it('types a job event and a reset by their `event:`', () => {
    expect(toStreamEvent({ id: '5-0', event: 'created', data: created(1) })).toEqual({ id: '5-0', type: 'created', data: JSON.parse(created(1)) });
    const reset = { reason: 'trimmed', last_event_id: '1-0', resumes_after: '4-18446744073709551615' };
    expect(toStreamEvent({ id: '4-18446744073709551615', event: 'reset', data: JSON.stringify(reset) })).toEqual({ id: '4-18446744073709551615', type: 'reset', data: reset });
  });

  it('refuses a frame without an id, or whose data is not JSON', () => {
    expect(() => toStreamEvent({ event: 'created', data: created(1) })).toThrow(EventStreamProtocolError);
    expect(() => toStreamEvent({ id: '1-0', event: 'created', data: 'not json' })).toThrow(/not JSON/);
  });
});

describe('followEvents on made-up answers', () => {
  const settings: FollowSettings = { retry: { maxAttempts: 3, baseDelayMs: 1, maxJitterMs: 1, maxRetryAfterMs: 30_000 }, timeoutMs: 1000, idleTimeoutMs: 5000, endsAfterFinal: false, startsAtSince: false };

  /** An SSE answer that sends `text` then ends, or breaks (`drop`) once the text was read. */
  function stream(text: string, how: { drop?: boolean; position?: string } = {}): Response {
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(bytes(text));
        } else if (how.drop) controller.error(new TypeError('terminated'));
        else controller.close();
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', ...(how.position ? { 'relay-stream-position': how.position } : {}) } });
  }
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

  /** A connect that answers from `answers` in turn, noting each try's Last-Event-ID. */
  function scripted(answers: (Response | Error)[]) {
    const asked: (string | undefined)[] = [];
    const connect: Connect = async (lastEventId) => {
      asked.push(lastEventId);
      const next = answers.shift();
      if (!next) throw new Error('no more answers');
      if (next instanceof Error) throw next;
      return next;
    };
    return { asked, connect };
  }
  async function collect(iterable: AsyncIterable<StreamEvent>, upTo = Infinity) {
    const ids: string[] = [];
    for await (const event of iterable) {
      ids.push(event.id);
      if (ids.length >= upTo) break;
    }
    return ids;
  }

  it('reconnects after a drop and after an end, with Last-Event-ID the last id delivered; a frame cut off is not delivered', async () => {
    const { asked, connect } = scripted([
      stream(frame('1-0', 'created', created(1)) + frame('2-0', 'started', created(2)) + 'id: 3-0\nevent: created\ndata: {', { drop: true }),
      stream(frame('3-0', 'created', created(3))),
      stream(frame('4-0', 'created', created(4))),
    ]);
    const reconnects: Reconnect[] = [];
    const ids = await collect(followEvents(connect, settings, { onReconnect: (r) => reconnects.push(r) }), 4);
    expect(ids).toEqual(['1-0', '2-0', '3-0', '4-0']);
    expect(asked).toEqual([undefined, '2-0', '3-0']);
    expect(reconnects.map(({ attempt, reason, lastEventId }) => ({ attempt, reason, lastEventId }))).toEqual([
      { attempt: 1, reason: 'dropped', lastEventId: '2-0' },
      { attempt: 1, reason: 'ended', lastEventId: '3-0' },
    ]);
  });

  /** An SSE answer that sends `text`, then `heartbeats` comments `everyMs` apart, then goes silent without ever breaking (a connection a proxy forgot), until its try is aborted. */
  function silent(text: string, signal: AbortSignal, heartbeats = 0, everyMs = 0): Response {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes(text));
        let sent = 0;
        const beat = setInterval(() => (sent++ < heartbeats ? controller.enqueue(bytes(': heartbeat\n\n')) : clearInterval(beat)), everyMs);
        signal.addEventListener('abort', () => {
          clearInterval(beat);
          controller.error(signal.reason);
        });
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  }

  it('takes an open stream that sends nothing, not even a heartbeat, for idleTimeoutMs for dropped, and resumes after the last event', async () => {
    const asked: (string | undefined)[] = [];
    const connect: Connect = async (lastEventId, signal) => {
      asked.push(lastEventId);
      return asked.length === 1 ? silent(frame('1-0', 'created', created(1)), signal) : stream(frame('2-0', 'created', created(2)));
    };
    const reconnects: Reconnect[] = [];
    const ids = await collect(followEvents(connect, { ...settings, idleTimeoutMs: 50 }, { onReconnect: (r) => reconnects.push(r) }), 2);
    expect(ids).toEqual(['1-0', '2-0']);
    expect(asked).toEqual([undefined, '1-0']);
    expect(reconnects).toHaveLength(1);
    expect(reconnects[0]).toMatchObject({ reason: 'dropped', lastEventId: '1-0' });
    expect((reconnects[0].error as Error).message).toBe('the stream sent nothing for 50 ms');
  });

  it('keeps a stream whose heartbeats come within idleTimeoutMs, however long no event comes', async () => {
    let signalOfFirst: AbortSignal | undefined;
    const reconnects: Reconnect[] = [];
    const connect: Connect = async (_lastEventId, signal) => {
      signalOfFirst ??= signal;
      // Six heartbeats 30 ms apart (180 ms without an event, over three idle periods of 60 ms), then silence.
      return silent(frame('1-0', 'created', created(1)), signal, 6, 30);
    };
    const started = Date.now();
    const ids = await collect(followEvents(connect, { ...settings, idleTimeoutMs: 60 }, { onReconnect: (r) => reconnects.push(r) }), 2);
    // The second event is the first event again, on the connection made once the heartbeats stopped.
    expect(ids).toEqual(['1-0', '1-0']);
    expect(reconnects).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(signalOfFirst?.aborted).toBe(true);
  });

  it('counts only the time a read waits against idleTimeoutMs, not the time the caller spends on an event', async () => {
    // Events 20 ms apart; the caller takes 150 ms over each, longer than the idle timeout of 100 ms.
    const connect: Connect = async () => {
      let n = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          n++;
          controller.enqueue(bytes(frame(`${n}-0`, 'created', created(n))));
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    };
    const reconnects: Reconnect[] = [];
    const ids: string[] = [];
    for await (const event of followEvents(connect, { ...settings, idleTimeoutMs: 100 }, { onReconnect: (r) => reconnects.push(r) })) {
      ids.push(event.id);
      await new Promise((resolve) => setTimeout(resolve, 150));
      if (ids.length === 3) break;
    }
    expect(ids).toEqual(['1-0', '2-0', '3-0']);
    expect(reconnects).toEqual([]);
  });

  it('yields nothing more once the signal is aborted, not even the rest of the chunk that held the last event', async () => {
    const { connect } = scripted([stream(frame('1-0', 'created', created(1)) + frame('2-0', 'created', created(2)) + frame('3-0', 'created', created(3)))]);
    const stop = new AbortController();
    const ids: string[] = [];
    for await (const event of followEvents(connect, settings, { signal: stop.signal })) {
      ids.push(event.id);
      stop.abort();
    }
    expect(ids).toEqual(['1-0']);
  });

  it('waits longer and longer before reconnecting to streams that open and end at once without an event, and resets after one that delivers', async () => {
    const { connect } = scripted([stream(''), stream(''), stream(''), stream(frame('1-0', 'created', created(1))), stream(''), stream(frame('2-0', 'created', created(2)))]);
    const delays: number[] = [];
    const retry = { maxAttempts: 3, baseDelayMs: 40, maxJitterMs: 1000, maxRetryAfterMs: 30_000 };
    expect(await collect(followEvents(connect, { ...settings, retry }, { onReconnect: (r) => delays.push(r.delayMs) }), 2)).toEqual(['1-0', '2-0']);
    expect(delays).toHaveLength(5);
    // The first of a streak: jitter alone (< 40 ms); then at least half of 40 × 2^(streak − 1).
    expect(delays[0]).toBeLessThan(40);
    expect(delays[1]).toBeGreaterThanOrEqual(40);
    expect(delays[1]).toBeLessThan(80);
    expect(delays[2]).toBeGreaterThanOrEqual(80);
    expect(delays[2]).toBeLessThan(160);
    // After the stream that delivered 1-0, the streak starts again.
    expect(delays[3]).toBeLessThan(40);
    expect(delays[4]).toBeGreaterThanOrEqual(40);
  });

  it('before any event, resumes after the stream\'s own start (Relay-Stream-Position), or asks for `since` again', async () => {
    const fromNow = scripted([stream(': stream open\n\n', { drop: true, position: '7-0' }), stream(frame('8-0', 'created', created(8)))]);
    expect(await collect(followEvents(fromNow.connect, settings), 1)).toEqual(['8-0']);
    expect(fromNow.asked).toEqual([undefined, '7-0']);
    const fromSince = scripted([stream(': stream open\n\n', { drop: true, position: '6-18446744073709551615' }), stream(frame('8-0', 'created', created(8)))]);
    expect(await collect(followEvents(fromSince.connect, { ...settings, startsAtSince: true }), 1)).toEqual(['8-0']);
    expect(fromSince.asked).toEqual([undefined, undefined]);
  });

  it('retries tries without an answer and 503s under the retry policy, up to maxAttempts in a row, then throws the last error', async () => {
    const unavailable = () => json(503, { statusCode: 503, error: 'Service Unavailable', message: 'later', request_id: 'r' }, { 'retry-after': '0' });
    const recovering = scripted([stream(frame('1-0', 'created', created(1)), { drop: true }), new TypeError('fetch failed'), unavailable(), stream(frame('2-0', 'created', created(2)))]);
    const reasons: string[] = [];
    expect(await collect(followEvents(recovering.connect, settings, { onReconnect: (r) => reasons.push(`${r.attempt}:${r.reason}`) }), 2)).toEqual(['1-0', '2-0']);
    expect(reasons).toEqual(['1:dropped', '2:no_answer', '3:status']);
    expect(recovering.asked).toEqual([undefined, '1-0', '1-0', '1-0']);

    const down = scripted([new TypeError('fetch failed'), new TypeError('fetch failed'), new TypeError('fetch failed again')]);
    await expect(collect(followEvents(down.connect, settings))).rejects.toThrow('fetch failed again');
    expect(down.asked.length).toBe(3);
  });

  it('throws other answers at once as RelayApiError (a 404, the open-stream cap\'s 429 without Retry-After)', async () => {
    for (const status of [404, 429, 401]) {
      const { asked, connect } = scripted([json(status, { statusCode: status, error: 'E', message: 'no', request_id: 'req-1' }, { 'x-request-id': 'req-1' })]);
      const error = await collect(followEvents(connect, settings)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RelayApiError);
      expect(error).toMatchObject({ status, attempts: 1, requestId: 'req-1', body: { message: 'no' } });
      expect(asked.length).toBe(1);
    }
  });

  it('a job stream ends after the final event, reconnects when it ended without one, and ends on 204', async () => {
    const job = { ...settings, endsAfterFinal: true };
    const shutdown = scripted([
      stream(frame('1-0', 'created', created(1)) + ': server shutting down; reconnect with Last-Event-ID\n\n'),
      stream(frame('2-0', 'started', created(2)) + frame('3-0', 'succeeded', created(3)) + frame('4-0', 'created', created(4))),
    ]);
    expect(await collect(followEvents(shutdown.connect, job))).toEqual(['1-0', '2-0', '3-0']);
    expect(shutdown.asked).toEqual([undefined, '1-0']);
    const finalKnown = scripted([new Response(null, { status: 204 })]);
    expect(await collect(followEvents(finalKnown.connect, job, { lastEventId: '3-0' }))).toEqual([]);
    expect(finalKnown.asked).toEqual(['3-0']);
  });

  it('throws what is no Relay event, without reconnecting', async () => {
    const { asked, connect } = scripted([stream('event: created\ndata: {}\n\n')]);
    await expect(collect(followEvents(connect, settings))).rejects.toThrow(EventStreamProtocolError);
    expect(asked.length).toBe(1);
  });

  it('ends quietly when the signal aborts, while reading or while waiting to reconnect', async () => {
    const reading = new AbortController();
    let closed = false;
    const open: Connect = async (_id, signal) => {
      signal.addEventListener('abort', () => (closed = true));
      // A stream that never ends by itself: its connection is the signal's to close.
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes(frame('1-0', 'created', created(1))));
          signal.addEventListener('abort', () => controller.error(signal.reason));
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    };
    const got: string[] = [];
    for await (const event of followEvents(open, settings, { signal: reading.signal })) {
      got.push(event.id);
      setTimeout(() => reading.abort(), 10);
    }
    expect({ got, closed }).toEqual({ got: ['1-0'], closed: true });

    const waiting = new AbortController();
    const slow = { ...settings, retry: { ...settings.retry, baseDelayMs: 60_000, maxJitterMs: 60_000 } };
    const { connect } = scripted([stream(frame('1-0', 'created', created(1)))]);
    const started = Date.now();
    const ids = await collect(followEvents(connect, slow, { signal: waiting.signal, onReconnect: () => setTimeout(() => waiting.abort(), 10) }));
    expect(ids).toEqual(['1-0']);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
