import fc from 'fast-check';
import { runAtEpochMs } from './delay-fields.js';

describe('run_at: ISO 8601 with a time zone, to the instant it names', () => {
  it('reads Z and ±hh:mm zones, with or without seconds and fractions, as the same instant', () => {
    const noon = Date.parse('2026-11-29T12:00:00.000Z');
    for (const text of ['2026-11-29T12:00:00.000Z', '2026-11-29T12:00:00Z', '2026-11-29T12:00Z', '2026-11-29T14:00:00+02:00', '2026-11-29T06:30:00.000-05:30', '2026-11-29T12:00:00.0004Z']) {
      expect([text, runAtEpochMs(text)]).toEqual([text, noon]);
    }
    expect(runAtEpochMs('2026-11-29T12:00:00.1239Z')).toBe(noon + 123);
  });

  it('agrees with Date for any instant written by toISOString, and for any zone offset', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }), (date, offsetMinutes) => {
        expect(runAtEpochMs(date.toISOString())).toBe(date.getTime());
        // The same instant written in another zone: its local wall time and the offset.
        const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().slice(0, -1);
        const abs = Math.abs(offsetMinutes);
        const zone = `${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        if (!local.startsWith('-') && !local.startsWith('+')) expect(runAtEpochMs(`${local}${zone}`)).toBe(date.getTime());
      }),
      { numRuns: 500 },
    );
  });

  it('refuses times without a zone, other shapes, and dates or times that do not exist', () => {
    for (const text of [
      '2026-11-29T12:00:00', // no zone: the API's local time, which a client cannot know
      '2026-11-29',
      '2026-11-29 12:00:00Z',
      '2026-11-29t12:00:00z',
      '20261129T120000Z',
      '2026-11-29T12:00:00+0200',
      '2026-02-29T12:00:00Z', // 2026 is not a leap year (Date.parse rolls it over to March 1)
      '2026-04-31T12:00:00Z',
      '2026-13-01T12:00:00Z',
      '2026-00-10T12:00:00Z',
      '2026-11-29T24:00:00Z',
      '2026-11-29T12:60:00Z',
      '2026-11-29T12:00:60Z',
      '2026-11-29T12:00:00+24:00',
      '+002026-11-29T12:00:00Z',
      'tomorrow',
      '',
    ]) {
      expect([text, runAtEpochMs(text)]).toEqual([text, undefined]);
    }
    expect(runAtEpochMs('2024-02-29T12:00:00Z')).toBe(Date.parse('2024-02-29T12:00:00Z'));
    expect(runAtEpochMs(1795953600000)).toBeUndefined();
    expect(runAtEpochMs(null)).toBeUndefined();
  });
});
