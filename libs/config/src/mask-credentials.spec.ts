import fc from 'fast-check';
import { maskCredentials } from './mask-credentials.js';

describe('maskCredentials', () => {
  it.each([
    ['a well-formed URL', 'redis://user:hunter2@redis.internal:6379/0', 'redis://***@redis.internal:6379/0'],
    ['a password only', 'redis://:hunter2@127.0.0.1:6379', 'redis://***@127.0.0.1:6379'],
    ['a user name only', 'rediss://admin@redis.internal', 'rediss://***@redis.internal'],
    ['a password holding /', 'redis://user:hun/ter2@127.0.0.1:6379/0', 'redis://***@127.0.0.1:6379/0'],
    ['a password holding several /', 'redis://:a/b//c@host', 'redis://***@host'],
    ['a password holding a space', 'redis://user:hun ter2@127.0.0.1:6379', 'redis://***@127.0.0.1:6379'],
    ['a password holding @', 'redis://user:hun@ter2@127.0.0.1:6379', 'redis://***@127.0.0.1:6379'],
    ['a password holding @, / and a space', 'redis://us er:p@ss/w rd@host:6379/2', 'redis://***@host:6379/2'],
    ['a password holding ://', 'redis://user:x://y@host', 'redis://***@host'],
    ['a password holding a quote, in JSON', '"redis://user:hun\\"ter@host"', '"redis://***@host"'],
    ['a URL in a sentence', 'no Redis answers at redis://u:p w@10.0.0.1:6379, and it is not local', 'no Redis answers at redis://***@10.0.0.1:6379, and it is not local'],
    ['no @: a non-numeric port is a password', 'redis://:hunter2', 'redis://:***'],
    ['no @: a non-numeric port before a path', 'redis://user:hunter2/0', 'redis://user:***/0'],
    ['no credentials', 'redis://127.0.0.1:6379/0', 'redis://127.0.0.1:6379/0'],
    ['an IPv6 host without credentials', 'redis://[::1]:6379', 'redis://[::1]:6379'],
    ['an IPv6 host with credentials', 'redis://u:p@[::1]:6379', 'redis://***@[::1]:6379'],
    ['no URL at all', 'PORT="abc": must be an integer', 'PORT="abc": must be an integer'],
  ])('%s', (_shape, text, masked) => {
    expect(maskCredentials(text)).toBe(masked);
  });

  it('masks from the first URL to the last @: a second URL\'s credentials too, never less than the credentials', () => {
    expect(maskCredentials('from redis://a:one@h1 to redis://b:two@h2')).toBe('from redis://***@h2');
  });

  /** Text that cannot start a URL or end credentials: no `@`, no `://`. */
  const plain = (options: fc.StringSharedConstraints = {}) => fc.string({ unit: 'grapheme', ...options }).filter((s) => !s.includes('@') && !s.includes('://'));
  const host = fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6().map((ip) => `[${ip}]`));
  /** Credentials made mostly of the characters that broke the old mask, and any others. */
  const secret = (minLength: number) =>
    fc.string({
      unit: fc.oneof(fc.constantFrom('/', '@', ' ', ':', '#', '?', '%', '"', '\\', '\n', '[', ']'), fc.constantFrom(...'abcXYZ019'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })),
      minLength,
      maxLength: 24,
    });

  it('property: the user name and password never appear, whatever characters they hold, and the rest is kept as is', () => {
    fc.assert(
      fc.property(
        plain(),
        fc.constantFrom('redis', 'rediss', 'http'),
        secret(0),
        secret(1),
        host,
        fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
        plain(),
        (before, scheme, user, password, hostname, port, after) => {
          const tail = `${hostname}${port === undefined ? '' : `:${port}`}${after}`;
          const expected = `${before}${scheme}://***@${tail}`;
          // A password that also occurs in the text around it would be found there, not leaked.
          fc.pre(!expected.includes(password));
          const masked = maskCredentials(`${before}${scheme}://${user}:${password}@${tail}`);
          expect(masked).toBe(expected);
          expect(masked.includes(password)).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
