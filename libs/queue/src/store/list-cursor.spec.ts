import fc from 'fast-check';
import { RelayError } from '@relay/errors';
import { decodeCursor, encodeCursor } from './list-cursor.js';
import { indexMember } from '../index-member.js';

/** The field messages of the InvalidInput error `decode` throws (fails when it throws something else or nothing). */
function refusal(cursor: string): string[] {
  try {
    decodeCursor(cursor);
  } catch (e) {
    if (e instanceof RelayError && e.code === 'INVALID_INPUT') return e.details;
    throw e;
  }
  throw new Error(`${JSON.stringify(cursor)} was accepted`);
}

describe('list cursor', () => {
  it('round-trips an index member', () => {
    const member = indexMember('2025-10-17T10:15:00.000Z', 'f3c1b2a4-1111-4222-8333-944445555666');
    expect(decodeCursor(encodeCursor(member))).toBe(member);
  });

  it('refuses anything that is not a cursor it issued with one field message that says to start again from the first page', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (garbage) => {
        const details = refusal(garbage);
        return details.length === 1 && details[0].startsWith('cursor ') && details[0].includes('start again from the first page');
      }),
    );
    expect(refusal(Buffer.from('c1.not-a-member').toString('base64url'))).toEqual([expect.stringContaining('start again from the first page')]);
  });

  it("names the predecessor's cursors (an offset, new:X:old:Y) as such, and still says to start again", () => {
    for (const cursor of ['10', '0', '250', 'new:40:old:10', 'new::old:', 'new:abc:old:7']) {
      expect([cursor, refusal(cursor)]).toEqual([cursor, [expect.stringMatching(/^cursor is from the previous job service.*start again from the first page/)]]);
    }
    // A base64url text that merely contains digits is not taken for one.
    expect(refusal('Zm9vYmFy')).toEqual([expect.stringMatching(/^cursor is not one this API issued/)]);
  });

  it('decodes every cursor it issues: none is taken for a predecessor cursor', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }), fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/), (at, id) => {
        const member = indexMember(at.toISOString(), id);
        return decodeCursor(encodeCursor(member)) === member;
      }),
    );
  });
});
