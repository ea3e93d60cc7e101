import { ConfigError } from '@relay/config';
import { parseWorkspaceLimits } from './workspace-limits.js';

const DEFAULTS = { maxStoredJobs: 100, resultMaxBytes: 1000 };

describe('parseWorkspaceLimits (WORKSPACE_LIMITS)', () => {
  it('overrides the defaults per workspace, key by key', () => {
    expect(parseWorkspaceLimits('', DEFAULTS)).toEqual({});
    expect(parseWorkspaceLimits('{"acme": {"max_stored_jobs": 5}, "vip": {"result_max_bytes": 2, "max_stored_jobs": 0}}', DEFAULTS)).toEqual({
      acme: { maxStoredJobs: 5, resultMaxBytes: 1000 },
      vip: { maxStoredJobs: 0, resultMaxBytes: 2 },
    });
  });

  it.each([
    ['not JSON', '{acme:', /not valid JSON/],
    ['an array', '[]', /expected/],
    ['an invalid workspace id', '{"Acme!": {}}', /invalid workspace id/],
    ['a workspace that is not an object', '{"acme": 5}', /acme must be an object/],
    ['an unknown key (a typo)', '{"acme": {"max_stored_job": 5}}', /acme.max_stored_job is not a limit/],
    ['a negative number', '{"acme": {"max_stored_jobs": -1}}', /whole number ≥ 0/],
    ['a result cap below 2 bytes (not even {})', '{"acme": {"result_max_bytes": 1}}', /whole number ≥ 2/],
    ['a fraction', '{"acme": {"result_max_bytes": 1.5}}', /whole number/],
    ['a string', '{"acme": {"result_max_bytes": "10"}}', /whole number/],
  ])('refuses %s, naming WORKSPACE_LIMITS', (_, json, why) => {
    let error: unknown;
    try {
      parseWorkspaceLimits(json, DEFAULTS);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/WORKSPACE_LIMITS/);
    expect((error as Error).message).toMatch(why);
  });
});
