import { ConfigError, loadConfig } from '@relay/config';
import { ActionRateLimits, encodeRateRules, parseActionRateLimits } from './action-rate-limits.js';

describe('parseActionRateLimits (ACTION_RATE_LIMITS)', () => {
  it('reads rules for an action id or provider.*, in the order given; empty means none', () => {
    expect(parseActionRateLimits('')).toEqual([]);
    expect(parseActionRateLimits('  ')).toEqual([]);
    expect(parseActionRateLimits('{}')).toEqual([]);
    expect(parseActionRateLimits('{"http.post": {"limit": 5, "window_ms": 1000}, "gmail.*": {"window_ms": 60000, "limit": 100}}')).toEqual([
      { rule: 'http.post', limit: 5, windowMs: 1000 },
      { rule: 'gmail.*', limit: 100, windowMs: 60000 },
    ]);
  });

  it('accepts the bounds themselves: limit 1 and 1,000,000, window_ms 1 and 86,400,000', () => {
    expect(parseActionRateLimits('{"a.b": {"limit": 1, "window_ms": 1}, "a_2.*": {"limit": 1000000, "window_ms": 86400000}}')).toEqual([
      { rule: 'a.b', limit: 1, windowMs: 1 },
      { rule: 'a_2.*', limit: 1000000, windowMs: 86400000 },
    ]);
  });

  it.each([
    ['not JSON', '{"http.post":', /not valid JSON/],
    ['an array', '[{"limit": 1}]', /expected \{"<action or provider\.\*>"/],
    ['null', 'null', /expected/],
    ['a bare provider', '{"http": {"limit": 1, "window_ms": 1}}', /"http" is not an action id or provider\.\*/],
    ['a wildcard action', '{"*.post": {"limit": 1, "window_ms": 1}}', /"\*\.post" is not an action id/],
    ['an upper-case id', '{"HTTP.post": {"limit": 1, "window_ms": 1}}', /"HTTP\.post" is not an action id/],
    ['a rule that is not an object', '{"http.post": 5}', /http\.post must be an object/],
    ['an unknown field (a typo)', '{"http.post": {"limit": 5, "windowMs": 1000}}', /http\.post\.windowMs is not a field \(known: limit, window_ms\)/],
    ['a missing limit', '{"http.post": {"window_ms": 1000}}', /http\.post\.limit is missing/],
    ['a missing window', '{"http.post": {"limit": 5}}', /http\.post\.window_ms is missing/],
    ['a limit of 0', '{"http.post": {"limit": 0, "window_ms": 1000}}', /http\.post\.limit must be a whole number from 1 to 1000000/],
    ['a limit above a million', '{"http.post": {"limit": 1000001, "window_ms": 1000}}', /http\.post\.limit must be a whole number from 1 to 1000000/],
    ['a fractional limit', '{"http.post": {"limit": 2.5, "window_ms": 1000}}', /http\.post\.limit must be a whole number/],
    ['a limit given as a string', '{"http.post": {"limit": "5", "window_ms": 1000}}', /http\.post\.limit must be a whole number/],
    ['a window of 0', '{"http.post": {"limit": 5, "window_ms": 0}}', /http\.post\.window_ms must be a whole number from 1 to 86400000/],
    ['a window longer than a day', '{"http.post": {"limit": 5, "window_ms": 86400001}}', /http\.post\.window_ms must be a whole number from 1 to 86400000/],
  ])('refuses %s, naming ACTION_RATE_LIMITS', (_, json, why) => {
    let error: unknown;
    try {
      parseActionRateLimits(json);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^Invalid configuration: ACTION_RATE_LIMITS: /);
    expect((error as Error).message).toMatch(why);
  });
});

describe('encodeRateRules (the claim script argument)', () => {
  it("joins '<rule> <limit> <window_ms>' entries with ';', '' for none", () => {
    expect(encodeRateRules([])).toBe('');
    expect(encodeRateRules([{ rule: 'http.post', limit: 5, windowMs: 1000 }])).toBe('http.post 5 1000');
    expect(
      encodeRateRules([
        { rule: 'http.post', limit: 5, windowMs: 1000 },
        { rule: 'gmail.*', limit: 100, windowMs: 60000 },
      ]),
    ).toBe('http.post 5 1000;gmail.* 100 60000');
  });
});

describe('ActionRateLimits', () => {
  it('parses ACTION_RATE_LIMITS once and holds the encoded form', () => {
    const limits = new ActionRateLimits(loadConfig({ ACTION_RATE_LIMITS: '{"http.post": {"limit": 5, "window_ms": 1000}, "gmail.*": {"limit": 100, "window_ms": 60000}}' }));
    expect(limits.rules).toEqual([
      { rule: 'http.post', limit: 5, windowMs: 1000 },
      { rule: 'gmail.*', limit: 100, windowMs: 60000 },
    ]);
    expect(limits.encoded).toBe('http.post 5 1000;gmail.* 100 60000');
    expect(new ActionRateLimits(loadConfig({})).encoded).toBe('');
  });

  it('refuses a bad value when built (start-up), naming the variable', () => {
    expect(() => new ActionRateLimits(loadConfig({ ACTION_RATE_LIMITS: '{"http.post": {"limit": 0, "window_ms": 1000}}' }))).toThrow(/ACTION_RATE_LIMITS: http\.post\.limit/);
  });
});
