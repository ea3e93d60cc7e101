import fc from 'fast-check';
import { ConfigError, loadConfig } from './load-config.js';

describe('loadConfig', () => {
  it('applies the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.PHASE_1_CANARY_PCT).toBe(100);
    expect(config.AI_JOBS_NEW_SCHEMA).toBe('off');
  });

  it('never repeats a password from a URL in its message', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://user:hunter2@ho st:6379' })).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ REDIS_URL: 'redis://user:hunter2@ho st:6379' })).not.toThrow(/hunter2/);
  });

  /** The message loadConfig throws for these settings, or 'loaded'. */
  const outcome = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return 'loaded';
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
  };

  it.each([
    ['a /', 'redis://user:hun/ter2@127.0.0.1:6379', 'hun/ter2'],
    ['a space', 'redis://user:hun ter2@127.0.0.1:6379', 'hun ter2'],
    ['an @ and a bad port', 'redis://user:hun@ter2@127.0.0.1:99999', 'hun@ter2'],
    ['an @, a / and a space', 'redis://us er:p@ss/w rd@127.0.0.1:6379/0', 'p@ss/w rd'],
  ])('refuses a REDIS_URL the URL parser cannot read, its password holding %s, naming REDIS_URL and masking the credentials', (_shape, url, password) => {
    const message = outcome({ REDIS_URL: url });
    expect(message).toMatch(/^Invalid configuration: REDIS_URL="redis:\/\/\*\*\*@127\.0\.0\.1:\d+(\/0)?": REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(message).not.toContain(password);
  });

  it('accepts REDIS_URLs the URL parser reads, an unencoded @ in the password included (the last @ ends it)', () => {
    for (const url of ['redis://127.0.0.1:6379', 'rediss://user:p%2Fw@redis.internal:6380/2', 'redis://user:p@ss@127.0.0.1:6379', 'redis://[::1]:6379']) {
      expect([url, loadConfig({ REDIS_URL: url }).REDIS_URL]).toEqual([url, url]);
    }
    expect(outcome({ REDIS_URL: 'http://127.0.0.1:6379' })).toMatch(/REDIS_URL must be a redis:\/\//);
  });

  it('property: whatever REDIS_URL holds, a refusal never repeats its password', () => {
    const secret = fc.string({
      unit: fc.oneof(fc.constantFrom('/', '@', ' ', ':', '%', '#', '?'), fc.constantFrom(...'abcXYZ019'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })),
      minLength: 6,
      maxLength: 24,
    });
    fc.assert(
      fc.property(fc.constantFrom('redis', 'rediss'), secret, fc.oneof(fc.domain(), fc.ipV4()), fc.integer({ min: 0, max: 99999 }), (scheme, password, host, port) => {
        const url = `${scheme}://user:${password}@${host}:${port}`;
        fc.pre(!`${scheme}://user:***@${host}:${port}`.includes(password));
        const message = outcome({ REDIS_URL: url });
        if (message !== 'loaded') {
          expect(message).toContain('REDIS_URL');
          expect(message).not.toContain(password);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an out-of-range canary with a message naming the variable', () => {
    expect(() => loadConfig({ PHASE_1_CANARY_PCT: '150' })).toThrow(ConfigError);
    expect(() => loadConfig({ PHASE_1_CANARY_PCT: '150' })).toThrow(/PHASE_1_CANARY_PCT/);
  });

  it('refuses a headers timeout above the request timeout, naming both variables', () => {
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' })).toThrow(
      /HTTP_HEADERS_TIMEOUT_MS.*must not be greater than HTTP_REQUEST_TIMEOUT_MS/,
    );
    expect(loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '10000', HTTP_REQUEST_TIMEOUT_MS: '10000' }).HTTP_HEADERS_TIMEOUT_MS).toBe(10000);
  });

  it('refuses a TRUST_PROXY that Express would not understand, naming the variable', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    expect(loadConfig({ TRUST_PROXY: ' Loopback ' }).TRUST_PROXY).toBe('loopback');
  });
});
