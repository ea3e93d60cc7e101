import { ConfigError, loadConfig } from '@relay/config';
import { WorkspaceLimits, parseWorkspaceLimits } from './workspace-limits.js';

const DEFAULTS = { maxStoredJobs: 100, resultMaxBytes: 1000, weight: 1, maxRunning: 0 };

describe('parseWorkspaceLimits (WORKSPACE_LIMITS)', () => {
  it('overrides the defaults per workspace, key by key', () => {
    expect(parseWorkspaceLimits('', DEFAULTS)).toEqual({});
    expect(parseWorkspaceLimits('{"acme": {"max_stored_jobs": 5}, "vip": {"result_max_bytes": 2, "max_stored_jobs": 0}}', DEFAULTS)).toEqual({
      acme: { maxStoredJobs: 5, resultMaxBytes: 1000, weight: 1, maxRunning: 0 },
      vip: { maxStoredJobs: 0, resultMaxBytes: 2, weight: 1, maxRunning: 0 },
    });
  });

  it('reads weight (1 to 1000) and max_running (0 = no cap) beside the quotas', () => {
    expect(parseWorkspaceLimits('{"big": {"weight": 1000, "max_running": 0}, "small": {"weight": 1, "max_running": 3, "max_stored_jobs": 7}}', DEFAULTS)).toEqual({
      big: { maxStoredJobs: 100, resultMaxBytes: 1000, weight: 1000, maxRunning: 0 },
      small: { maxStoredJobs: 7, resultMaxBytes: 1000, weight: 1, maxRunning: 3 },
    });
  });

  it.each([
    ['not JSON', '{acme:', /not valid JSON/],
    ['an array', '[]', /expected/],
    ['an invalid workspace id', '{"Acme!": {}}', /invalid workspace id/],
    ['a workspace that is not an object', '{"acme": 5}', /acme must be an object/],
    ['an unknown key (a typo)', '{"acme": {"max_stored_job": 5}}', /acme.max_stored_job is not a limit \(known: max_stored_jobs, result_max_bytes, weight, max_running\)/],
    ['a misspelt scheduling key', '{"acme": {"maxRunning": 5}}', /acme.maxRunning is not a limit \(known: .*max_running\)/],
    ['a negative number', '{"acme": {"max_stored_jobs": -1}}', /whole number ≥ 0/],
    ['a result cap below 2 bytes (not even {})', '{"acme": {"result_max_bytes": 1}}', /whole number ≥ 2/],
    ['a fraction', '{"acme": {"result_max_bytes": 1.5}}', /whole number/],
    ['a string', '{"acme": {"result_max_bytes": "10"}}', /whole number/],
    ['a weight of 0 (never served)', '{"acme": {"weight": 0}}', /acme.weight must be a whole number from 1 to 1000/],
    ['a weight above 1000', '{"acme": {"weight": 1001}}', /acme.weight must be a whole number from 1 to 1000/],
    ['a fractional weight', '{"acme": {"weight": 1.5}}', /acme.weight must be a whole number/],
    ['a negative max_running', '{"acme": {"max_running": -1}}', /acme.max_running must be a whole number ≥ 0/],
    ['a max_running given as a string', '{"acme": {"max_running": "2"}}', /acme.max_running must be a whole number/],
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

describe('WorkspaceLimits', () => {
  const limits = (env: Record<string, string>) => new WorkspaceLimits(loadConfig(env));

  it('gives an unlisted workspace weight 1 and WORKSPACE_MAX_RUNNING; a listed one its own, defaults filled in', () => {
    const all = limits({ WORKSPACE_MAX_RUNNING: '4', WORKSPACE_LIMITS: '{"vip": {"weight": 5}, "batch": {"max_running": 1}}' });
    expect(all.defaultMaxRunning).toBe(4);
    expect(all.for('other')).toMatchObject({ weight: 1, maxRunning: 4 });
    expect(all.for('vip')).toMatchObject({ weight: 5, maxRunning: 4 });
    expect(all.for('batch')).toMatchObject({ weight: 1, maxRunning: 1 });
  });

  it('lists for publishing exactly the workspaces WORKSPACE_LIMITS names, with their weight and cap', () => {
    const all = limits({ WORKSPACE_LIMITS: '{"vip": {"weight": 5, "max_running": 0}, "batch": {"max_running": 2}, "quota": {"max_stored_jobs": 9}}' });
    expect(all.defaultMaxRunning).toBe(0);
    expect(all.scheduleOverrides()).toEqual({
      vip: { weight: 5, maxRunning: 0 },
      batch: { weight: 1, maxRunning: 2 },
      quota: { weight: 1, maxRunning: 0 },
    });
    expect(limits({}).scheduleOverrides()).toEqual({});
  });

  it('hands out a copy: changing what scheduleOverrides returned changes no limit', () => {
    const all = limits({ WORKSPACE_LIMITS: '{"vip": {"weight": 5}}' });
    all.scheduleOverrides().vip.weight = 1000;
    expect(all.scheduleOverrides().vip.weight).toBe(5);
    expect(all.for('vip').weight).toBe(5);
  });

  it('refuses a bad WORKSPACE_LIMITS when built (start-up), naming the variable', () => {
    expect(() => limits({ WORKSPACE_LIMITS: '{"acme": {"weight": 0}}' })).toThrow(ConfigError);
    expect(() => limits({ WORKSPACE_LIMITS: '{"acme": {"weight": 0}}' })).toThrow(/WORKSPACE_LIMITS: acme.weight/);
  });
});
