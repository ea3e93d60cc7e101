import fc from 'fast-check';
import { REDACTED, redactSecrets } from './redact.js';

describe('redactSecrets', () => {
  it('redacts secret keys at any depth and inside arrays', () => {
    const input = {
      to: 'a@example.com',
      password: 'p1',
      nested: { deeper: [{ api_key: 'k1', Authorization: 'Bearer x', ok: 1 }], refresh_token: 't' },
      'X-Api-Key': 'k2',
      clientSecret: 's',
    };
    expect(redactSecrets(input)).toEqual({
      to: 'a@example.com',
      password: REDACTED,
      nested: { deeper: [{ api_key: REDACTED, Authorization: REDACTED, ok: 1 }], refresh_token: REDACTED },
      'X-Api-Key': REDACTED,
      clientSecret: REDACTED,
    });
  });

  it('does not change its input', () => {
    const input = { token: 'x' };
    redactSecrets(input);
    expect(input.token).toBe('x');
  });

  it('never lets a secret value through, whatever the shape', () => {
    const secret = 'S3CR3T-VALUE';
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.constant(0),
        fc.string().filter((s) => !s.includes(secret)),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'password', 'token', 'api_key', 'SECRET'), tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(tree, fc.constantFrom('password', 'token', 'api_key', 'authorization', 'secret'), (t, key) => {
        const withSecret = { wrap: [t, { [key]: secret }], [key]: { inner: secret } };
        expect(JSON.stringify(redactSecrets(withSecret))).not.toContain(secret);
      }),
    );
  });
});
