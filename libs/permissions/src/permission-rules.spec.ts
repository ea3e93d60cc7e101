import { decide, parsePermissionRules } from './permission-rules.js';

const rules = (allow: string, deny = '', ws = '') => parsePermissionRules(allow, deny, ws);

describe('can_execute rules', () => {
  it('denies everything when the allowlist is empty', () => {
    expect(decide(rules(''), 'debug.echo', 'acme')).toEqual({ allowed: false, reason: 'not_allowlisted' });
  });

  it('allows exact ids and provider wildcards', () => {
    const r = rules('debug.*, http.post');
    expect(decide(r, 'debug.echo', 'acme').allowed).toBe(true);
    expect(decide(r, 'debug.sleep', 'acme').allowed).toBe(true);
    expect(decide(r, 'http.post', 'acme').allowed).toBe(true);
    expect(decide(r, 'http.get', 'acme').allowed).toBe(false);
    expect(decide(r, 'debugx.echo', 'acme').allowed).toBe(false);
  });

  it('applies the global denylist before the allowlist', () => {
    expect(decide(rules('debug.*', 'debug.fail'), 'debug.fail', 'acme')).toEqual({ allowed: false, reason: 'denylisted' });
    expect(decide(rules('debug.echo', 'debug.*'), 'debug.echo', 'acme')).toEqual({ allowed: false, reason: 'denylisted' });
  });

  it('lets a workspace rule narrow but never widen the global lists', () => {
    const r = rules('debug.*', '', JSON.stringify({ acme: { deny: ['debug.sleep'] }, beta: { allow: ['debug.echo', 'gmail.send'] } }));
    expect(decide(r, 'debug.sleep', 'acme')).toEqual({ allowed: false, reason: 'workspace_rule' });
    expect(decide(r, 'debug.echo', 'acme').allowed).toBe(true);
    expect(decide(r, 'debug.sleep', 'beta')).toEqual({ allowed: false, reason: 'workspace_rule' });
    expect(decide(r, 'gmail.send', 'beta')).toEqual({ allowed: false, reason: 'not_allowlisted' });
    expect(decide(r, 'debug.sleep', 'gamma').allowed).toBe(true);
  });

  it('refuses malformed settings with the variable named', () => {
    expect(() => rules('debug')).toThrow(/ACTION_ALLOWLIST/);
    expect(() => rules('debug.*', '*')).toThrow(/ACTION_DENYLIST/);
    expect(() => rules('debug.*', '', '{not json')).toThrow(/WORKSPACE_ACTION_RULES/);
    expect(() => rules('debug.*', '', '{"Bad Id": {}}')).toThrow(/WORKSPACE_ACTION_RULES/);
    expect(() => rules('debug.*', '', '{"acme": {"deny": "debug.echo"}}')).toThrow(/WORKSPACE_ACTION_RULES/);
  });
});
