import { ConfigError } from '@relay/config';
import { isValidWorkspaceId } from '@relay/workspace';

const invalid = (message: string) => new ConfigError([message]);

export const ACTION_ID_PATTERN = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
/** What a setting may name: an action id, or `provider.*` for every action of a provider. */
export const ACTION_PATTERN_PATTERN = /^([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*|[a-z][a-z0-9_]*\.\*)$/;

export type Decision =
  | { allowed: true; reason: 'allowlisted' }
  | { allowed: false; reason: 'denylisted' | 'not_allowlisted' | 'workspace_rule' };

export interface WorkspaceRule {
  allow?: string[];
  deny?: string[];
}

/** Parsed, validated permission settings: a pure value, easy to test. */
export interface PermissionRules {
  allowlist: string[];
  denylist: string[];
  workspaces: Record<string, WorkspaceRule>;
}

/** An action matches an entry that is its exact id, or `provider.*` for its provider. */
export function matchesAny(action: string, patterns: readonly string[]): boolean {
  const provider = action.slice(0, action.indexOf('.'));
  return patterns.some((p) => p === action || p === `${provider}.*`);
}

/**
 * can_execute: the global denylist first, then ACTION_ALLOWLIST (an empty
 * list denies everything), then the workspace's own rules, which can only
 * narrow what the global lists allow.
 */
export function decide(rules: PermissionRules, action: string, workspaceId: string): Decision {
  if (matchesAny(action, rules.denylist)) return { allowed: false, reason: 'denylisted' };
  if (!matchesAny(action, rules.allowlist)) return { allowed: false, reason: 'not_allowlisted' };
  const own = rules.workspaces[workspaceId];
  if (own?.deny && matchesAny(action, own.deny)) return { allowed: false, reason: 'workspace_rule' };
  if (own?.allow && !matchesAny(action, own.allow)) return { allowed: false, reason: 'workspace_rule' };
  return { allowed: true, reason: 'allowlisted' };
}

/** Parses the settings; throws a ConfigError naming the variable on anything malformed. */
export function parsePermissionRules(allowlist: string, denylist: string, workspaceRules: string): PermissionRules {
  const list = (name: string, raw: string) => {
    const entries = raw.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = entries.filter((e) => !ACTION_PATTERN_PATTERN.test(e));
    if (bad.length > 0) throw invalid(`${name}: invalid entries ${bad.join(', ')} (use provider.name or provider.*)`);
    return entries;
  };
  const workspaces: Record<string, WorkspaceRule> = {};
  if (workspaceRules.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(workspaceRules);
    } catch {
      throw invalid('WORKSPACE_ACTION_RULES: not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw invalid('WORKSPACE_ACTION_RULES: expected {"<workspace>": {"allow": [...], "deny": [...]}}');
    }
    for (const [workspace, rule] of Object.entries(parsed as Record<string, unknown>)) {
      if (!isValidWorkspaceId(workspace)) throw invalid(`WORKSPACE_ACTION_RULES: invalid workspace id ${JSON.stringify(workspace)}`);
      const r = (rule ?? {}) as Record<string, unknown>;
      const entries = (key: 'allow' | 'deny') => {
        if (r[key] === undefined) return undefined;
        if (!Array.isArray(r[key]) || !r[key].every((e) => typeof e === 'string')) {
          throw invalid(`WORKSPACE_ACTION_RULES: ${workspace}.${key} must be a list of action patterns`);
        }
        return list(`WORKSPACE_ACTION_RULES ${workspace}.${key}`, (r[key] as string[]).join(','));
      };
      workspaces[workspace] = { allow: entries('allow'), deny: entries('deny') };
    }
  }
  return { allowlist: list('ACTION_ALLOWLIST', allowlist), denylist: list('ACTION_DENYLIST', denylist), workspaces };
}
