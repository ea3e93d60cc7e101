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
