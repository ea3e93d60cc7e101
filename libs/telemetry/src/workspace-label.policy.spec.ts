import { loadConfig } from '@relay/config';
import { UNSCOPED, WorkspaceLabelPolicy } from './workspace-label.policy.js';

const policy = (env: Record<string, string>) => new WorkspaceLabelPolicy(loadConfig(env));

describe('WorkspaceLabelPolicy', () => {
  it('is unscoped by default', () => {
    expect(policy({}).label('acme')).toBe(UNSCOPED);
  });

  it('labels every workspace when enabled with no allowlist', () => {
    expect(policy({ METRICS_WORKSPACE_LABEL: 'on' }).label('acme')).toBe('acme');
  });

  it('labels only allowlisted workspaces when an allowlist is set', () => {
    const p = policy({ METRICS_WORKSPACE_LABEL: 'on', METRICS_WORKSPACE_ALLOWLIST: 'acme, beta' });
    expect(p.label('acme')).toBe('acme');
    expect(p.label('beta')).toBe('beta');
    expect(p.label('gamma')).toBe(UNSCOPED);
  });

  it('ignores the allowlist while the label is off', () => {
    expect(policy({ METRICS_WORKSPACE_LABEL: 'off', METRICS_WORKSPACE_ALLOWLIST: 'acme' }).label('acme')).toBe(UNSCOPED);
  });

  it('says which workspaces get a label of their own: none, the allowlist, or all (what the queue depth report reads)', () => {
    expect(policy({ METRICS_WORKSPACE_ALLOWLIST: 'acme' }).scope).toEqual({ kind: 'none' });
    expect(policy({ METRICS_WORKSPACE_LABEL: 'on', METRICS_WORKSPACE_ALLOWLIST: ' acme, beta ,' }).scope).toEqual({ kind: 'allowlist', workspaces: ['acme', 'beta'] });
    expect(policy({ METRICS_WORKSPACE_LABEL: 'on' }).scope).toEqual({ kind: 'all' });
    expect(WorkspaceLabelPolicy.unscoped().label('acme')).toBe(UNSCOPED);
  });
});
