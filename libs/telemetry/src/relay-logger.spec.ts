import { withLogContext } from './log-context.js';
import { levelsFrom, relayLogger, relayLogRecord } from './relay-logger.js';

describe('relay logger', () => {
  const nestObject = () => ({ level: 'log', pid: 7, timestamp: Date.UTC(2026, 10, 29, 10, 0, 0, 123), message: { event: 'x' }, context: 'Test' });

  it('prints the timestamp as ISO 8601 UTC, not epoch milliseconds', () => {
    expect(relayLogRecord(nestObject()).timestamp).toBe('2026-11-29T10:00:00.123Z');
  });

  it("adds the current context's fields to a line, and none outside a context", () => {
    expect(relayLogRecord(nestObject())).not.toHaveProperty('request_id');
    const record = withLogContext({ request_id: 'r-1' }, () => withLogContext({ job_id: 'j-1' }, () => relayLogRecord(nestObject())));
    expect(record).toEqual({ level: 'log', timestamp: '2026-11-29T10:00:00.123Z', pid: 7, request_id: 'r-1', job_id: 'j-1', message: { event: 'x' }, context: 'Test' });
  });

  it("never lets a context field replace the line's own message, level or context", () => {
    const record = withLogContext({ message: 'hijack', level: 'fatal', context: 'Other', job_id: 'j-2' }, () => relayLogRecord(nestObject()));
    expect(record).toMatchObject({ level: 'log', message: { event: 'x' }, context: 'Test', job_id: 'j-2' });
  });

  it('a context ends with its work, also across awaits', async () => {
    const inside = await withLogContext({ request_id: 'r-2' }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      return relayLogRecord(nestObject()).request_id;
    });
    expect(inside).toBe('r-2');
    expect(relayLogRecord(nestObject())).not.toHaveProperty('request_id');
  });

  it('LOG_LEVEL enables that level and the more severe ones', () => {
    expect(levelsFrom('warn')).toEqual(['fatal', 'error', 'warn']);
    expect(levelsFrom('debug')).toEqual(['fatal', 'error', 'warn', 'log', 'debug']);
    const warnOnly = relayLogger('warn', 'api');
    expect([warnOnly.isLevelEnabled('warn'), warnOnly.isLevelEnabled('log'), warnOnly.isLevelEnabled('debug')]).toEqual([true, false, false]);
    const standard = relayLogger('log', 'api');
    expect([standard.isLevelEnabled('log'), standard.isLevelEnabled('debug')]).toEqual([true, false]);
  });
});
