import fc from 'fast-check';
import { assertWorkspaceId, InvalidWorkspaceIdError, isValidWorkspaceId } from './workspace-id.js';

describe('workspace id check', () => {
  it.each(['a', 'acme', 'team-1', 'x_y', '0abc', 'a'.repeat(32)])('accepts %s', (id) => {
    expect(isValidWorkspaceId(id)).toBe(true);
  });

  it.each(['', 'Acme', '-acme', '_acme', 'acme\n', 'acme:1', 'ac me', 'a'.repeat(33), 'acme*', 'é'])(
    'rejects %j',
    (id) => {
      expect(isValidWorkspaceId(id)).toBe(false);
      expect(() => assertWorkspaceId(id)).toThrow(InvalidWorkspaceIdError);
    },
  );

  it('rejects non-strings', () => {
    for (const value of [undefined, null, 42, ['acme'], { id: 'acme' }]) expect(isValidWorkspaceId(value)).toBe(false);
  });

  it('never accepts an id containing a Redis key separator or glob character', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        if (isValidWorkspaceId(s)) expect(/[:*?\[\]{}\s]/.test(s)).toBe(false);
      }),
    );
  });
});
