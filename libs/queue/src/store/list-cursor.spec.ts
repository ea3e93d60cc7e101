import fc from 'fast-check';
import { RelayError } from '@relay/errors';
import { decodeCursor, encodeCursor } from './list-cursor.js';
import { indexMember } from '../index-member.js';

describe('list cursor', () => {
  it('round-trips an index member', () => {
    const member = indexMember('2025-10-17T10:15:00.000Z', 'f3c1b2a4-1111-4222-8333-944445555666');
    expect(decodeCursor(encodeCursor(member))).toBe(member);
  });

  it('rejects anything that is not a cursor it issued with an InvalidInput error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (garbage) => {
        try {
          decodeCursor(garbage);
          return false;
        } catch (e) {
          return e instanceof RelayError && e.code === 'INVALID_INPUT';
        }
      }),
    );
    expect(() => decodeCursor(Buffer.from('c1.not-a-member').toString('base64url'))).toThrow(RelayError);
  });
});
