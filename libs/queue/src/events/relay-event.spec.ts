import { eventPayload, isFinalEventType, parseEventEntry } from './relay-event.js';

const fixed = ['type', 'succeeded', 'job_id', 'j-1', 'action', 'debug.echo', 'status', 'succeeded', 'attempt', '1', 'at', '2026-11-29T10:00:00.000Z'];

describe('event entries', () => {
  it('reads the fixed fields and the optional ones, and shows the result as JSON and progress as a number', () => {
    const event = parseEventEntry('5-0', [...fixed, 'result', '{"token":"[REDACTED]","n":1}']);
    expect(event).toEqual({ id: '5-0', type: 'succeeded', jobId: 'j-1', action: 'debug.echo', status: 'succeeded', attempt: 1, at: '2026-11-29T10:00:00.000Z', extra: { result: '{"token":"[REDACTED]","n":1}' } });
    expect(eventPayload(event!)).toEqual({ type: 'succeeded', job_id: 'j-1', action: 'debug.echo', status: 'succeeded', attempt: 1, at: '2026-11-29T10:00:00.000Z', result: { token: '[REDACTED]', n: 1 } });
    const progress = parseEventEntry('6-0', ['type', 'progress', 'job_id', 'j-1', 'action', 'debug.sleep', 'status', 'running', 'attempt', '2', 'at', 'x', 'progress', '40', 'message', 'half way']);
    expect(eventPayload(progress!)).toMatchObject({ type: 'progress', attempt: 2, progress: 40, message: 'half way' });
  });

  it('refuses an entry without a fixed field or with an attempt that is not a whole number', () => {
    for (let i = 0; i < fixed.length; i += 2) {
      const without = [...fixed.slice(0, i), ...fixed.slice(i + 2)];
      expect({ missing: fixed[i], event: parseEventEntry('1-0', without) }).toEqual({ missing: fixed[i], event: undefined });
    }
    expect(parseEventEntry('1-0', fixed.map((v, i) => (i === 9 ? '-1' : v)))).toBeUndefined();
  });

  it('never shows a field outside the contract (params above all), and passes an unknown type on', () => {
    const event = parseEventEntry('1-0', [...fixed, 'params', '{"password":"x"}', 'error', 'boom']);
    expect(eventPayload(event!)).not.toHaveProperty('params');
    expect(eventPayload(event!).error).toBe('boom');
    expect(parseEventEntry('2-0', fixed.map((v, i) => (i === 1 ? 'paused' : v)))?.type).toBe('paused');
  });

  it('treats exactly succeeded, failed, cancelled and dead_lettered as final', () => {
    expect(['created', 'started', 'progress', 'retrying', 'succeeded', 'failed', 'cancelled', 'dead_lettered'].filter(isFinalEventType)).toEqual(['succeeded', 'failed', 'cancelled', 'dead_lettered']);
  });
});
