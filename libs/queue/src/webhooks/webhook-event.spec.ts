import { isEventType } from '../events/relay-event.js';
import { eventBody, eventField } from './webhook-event.js';

describe('eventBody (a webhook delivery body)', () => {
  it('is the stream entry as JSON: its id first, then its fields in stream order; attempt and progress numbers, result JSON', () => {
    const fields = ['type', 'succeeded', 'job_id', 'j1', 'action', 'debug.echo', 'status', 'succeeded', 'attempt', '2', 'at', '2026-11-29T10:00:00.000Z', 'result', '{"ok":true,"n":[1,2]}'];
    expect(eventBody('1764410400000-0', fields)).toBe(
      '{"id":"1764410400000-0","type":"succeeded","job_id":"j1","action":"debug.echo","status":"succeeded","attempt":2,"at":"2026-11-29T10:00:00.000Z","result":{"ok":true,"n":[1,2]}}',
    );
    expect(JSON.parse(eventBody('1-0', ['type', 'progress', 'progress', '40', 'message', 'half way', 'attempt', '1']))).toEqual({ id: '1-0', type: 'progress', progress: 40, message: 'half way', attempt: 1 });
  });

  it('keeps as text what does not read as its kind, and never lets a field replace the id', () => {
    expect(JSON.parse(eventBody('1-0', ['attempt', 'x', 'result', 'not json', 'id', 'forged', 'error', '42']))).toEqual({ id: '1-0', attempt: 'x', result: 'not json', error: '42' });
  });

  it('gives the same bytes for the same entry (every attempt of a delivery sends the same body)', () => {
    const fields = ['type', 'created', 'job_id', 'j', 'run_at', '2026-11-29T10:00:00.000Z'];
    expect(eventBody('5-1', fields)).toBe(eventBody('5-1', [...fields]));
  });
});

describe('eventField and isEventType', () => {
  it('looks a field up among names only', () => {
    expect(eventField(['message', 'type', 'type', 'started'], 'type')).toBe('started');
    expect(eventField(['type', 'started'], 'job_id')).toBeUndefined();
  });

  it('knows the contract types', () => {
    expect(['created', 'started', 'progress', 'retrying', 'succeeded', 'failed', 'cancelled', 'dead_lettered'].every(isEventType)).toBe(true);
    expect(isEventType('finished')).toBe(false);
  });
});
