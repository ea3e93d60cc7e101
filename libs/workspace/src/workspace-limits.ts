import { Injectable } from '@nestjs/common';
import { ConfigError, RelayConfig } from '@relay/config';
import { isValidWorkspaceId } from './workspace-id.js';

/** What one workspace may hold in Redis (issue 12: one tenant must not fill Redis for everyone). */
export interface Limits {
  /** Jobs the workspace may keep stored (pending, running, and finished within retention); 0: no limit. */
  maxStoredJobs: number;
  /** Bytes of JSON a job's result may take; a larger result fails the job. */
  resultMaxBytes: number;
}

/** WORKSPACE_LIMITS keys, the Limits field each overrides, and its least value (as RESULT_MAX_BYTES: 2, the JSON `{}`). */
const KEYS: Record<string, { field: keyof Limits; min: number }> = {
  max_stored_jobs: { field: 'maxStoredJobs', min: 0 },
  result_max_bytes: { field: 'resultMaxBytes', min: 2 },
};

/**
 * Parses WORKSPACE_LIMITS (JSON: {"<workspace>": {"max_stored_jobs": N,
 * "result_max_bytes": N}}) over the defaults; throws a ConfigError naming the
 * variable on anything malformed, an unknown key included (a typo would
 * otherwise silently leave the default).
 */
export function parseWorkspaceLimits(json: string, defaults: Limits): Record<string, Limits> {
  if (json.trim() === '') return {};
  const invalid = (why: string) => new ConfigError([`WORKSPACE_LIMITS: ${why}`]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw invalid('not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid('expected {"<workspace>": {"max_stored_jobs": N, "result_max_bytes": N}}');
  const out: Record<string, Limits> = {};
  for (const [workspace, given] of Object.entries(parsed)) {
    if (!isValidWorkspaceId(workspace)) throw invalid(`invalid workspace id ${JSON.stringify(workspace)}`);
    if (given === null || typeof given !== 'object' || Array.isArray(given)) throw invalid(`${workspace} must be an object`);
    const limits = { ...defaults };
    for (const [key, value] of Object.entries(given)) {
      const known = KEYS[key];
      if (!known) throw invalid(`${workspace}.${key} is not a limit (known: ${Object.keys(KEYS).join(', ')})`);
      if (!Number.isSafeInteger(value) || (value as number) < known.min) throw invalid(`${workspace}.${key} must be a whole number ≥ ${known.min}`);
      limits[known.field] = value as number;
    }
    out[workspace] = limits;
  }
  return out;
}

/** Each workspace's limits: its WORKSPACE_LIMITS entry, else the defaults (WORKSPACE_MAX_STORED_JOBS, RESULT_MAX_BYTES). */
@Injectable()
export class WorkspaceLimits {
  private readonly defaults: Limits;
  private readonly overrides: Record<string, Limits>;

  constructor(config: RelayConfig) {
    this.defaults = { maxStoredJobs: config.WORKSPACE_MAX_STORED_JOBS, resultMaxBytes: config.RESULT_MAX_BYTES };
    this.overrides = parseWorkspaceLimits(config.WORKSPACE_LIMITS, this.defaults);
  }

  for(workspaceId: string): Limits {
    return this.overrides[workspaceId] ?? this.defaults;
  }
}
