import { Injectable } from '@nestjs/common';
import { ConfigError, RelayConfig } from '@relay/config';
import { isValidWorkspaceId } from './workspace-id.js';

/**
 * What one workspace may hold in Redis (issue 12: one tenant must not fill
 * Redis for everyone) and how it is scheduled against the others (issue 14).
 */
export interface Limits {
  /** Jobs the workspace may keep stored (pending, running, and finished within retention); 0: no limit. */
  maxStoredJobs: number;
  /** Bytes of JSON a job's result may take; a larger result fails the job. */
  resultMaxBytes: number;
  /** Its share of worker slots against other workspaces with work (stride scheduling: a start adds 1/weight to its pass). */
  weight: number;
  /** Jobs it may run at once across every worker; 0: no cap. */
  maxRunning: number;
}

/** A workspace's scheduling, as the workers publish it for the claim script. */
export interface ScheduleOverride {
  weight: number;
  maxRunning: number;
}

/**
 * WORKSPACE_LIMITS keys, the Limits field each overrides, and its bounds
 * (result_max_bytes at least 2, the JSON `{}`, as RESULT_MAX_BYTES; weight
 * at least 1, since a weight of 0 would never be served, and at most 1000,
 * so the largest share stays a readable ratio of the smallest).
 */
const KEYS: Record<string, { field: keyof Limits; min: number; max?: number }> = {
  max_stored_jobs: { field: 'maxStoredJobs', min: 0 },
  result_max_bytes: { field: 'resultMaxBytes', min: 2 },
  weight: { field: 'weight', min: 1, max: 1000 },
  max_running: { field: 'maxRunning', min: 0 },
};

/**
 * Parses WORKSPACE_LIMITS (JSON: {"<workspace>": {"max_stored_jobs": N,
 * "result_max_bytes": N, "weight": N, "max_running": N}}) over the defaults;
 * throws a ConfigError naming the variable on anything malformed, an unknown
 * key included (a typo would otherwise silently leave the default).
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
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('expected {"<workspace>": {"max_stored_jobs": N, "result_max_bytes": N, "weight": N, "max_running": N}}');
  }
  const out: Record<string, Limits> = {};
  for (const [workspace, given] of Object.entries(parsed)) {
    if (!isValidWorkspaceId(workspace)) throw invalid(`invalid workspace id ${JSON.stringify(workspace)}`);
    if (given === null || typeof given !== 'object' || Array.isArray(given)) throw invalid(`${workspace} must be an object`);
    const limits = { ...defaults };
    for (const [key, value] of Object.entries(given)) {
      const known = KEYS[key];
      if (!known) throw invalid(`${workspace}.${key} is not a limit (known: ${Object.keys(KEYS).join(', ')})`);
      const bounds = known.max === undefined ? `≥ ${known.min}` : `from ${known.min} to ${known.max}`;
      if (!Number.isSafeInteger(value) || (value as number) < known.min || (value as number) > (known.max ?? Infinity)) {
        throw invalid(`${workspace}.${key} must be a whole number ${bounds}`);
      }
      limits[known.field] = value as number;
    }
    out[workspace] = limits;
  }
  return out;
}

/**
 * Each workspace's limits: its WORKSPACE_LIMITS entry, else the defaults
 * (WORKSPACE_MAX_STORED_JOBS, RESULT_MAX_BYTES, weight 1, WORKSPACE_MAX_RUNNING).
 */
@Injectable()
export class WorkspaceLimits {
  private readonly defaults: Limits;
  private readonly overrides: Record<string, Limits>;

  constructor(config: RelayConfig) {
    this.defaults = {
      maxStoredJobs: config.WORKSPACE_MAX_STORED_JOBS,
      resultMaxBytes: config.RESULT_MAX_BYTES,
      weight: 1,
      maxRunning: config.WORKSPACE_MAX_RUNNING,
    };
    this.overrides = parseWorkspaceLimits(config.WORKSPACE_LIMITS, this.defaults);
  }

  for(workspaceId: string): Limits {
    return this.overrides[workspaceId] ?? this.defaults;
  }

  /** The cap of a workspace WORKSPACE_LIMITS does not list (WORKSPACE_MAX_RUNNING; 0: no cap). */
  get defaultMaxRunning(): number {
    return this.defaults.maxRunning;
  }

  /**
   * Weight and cap of every workspace WORKSPACE_LIMITS lists (with the
   * defaults filled in for keys it leaves out), for the workers to publish
   * to the claim script; any other workspace runs at weight 1 and
   * defaultMaxRunning. A fresh object each call: callers cannot change the
   * limits through it.
   */
  scheduleOverrides(): Record<string, ScheduleOverride> {
    const out: Record<string, ScheduleOverride> = {};
    for (const [workspace, limits] of Object.entries(this.overrides)) out[workspace] = { weight: limits.weight, maxRunning: limits.maxRunning };
    return out;
  }
}
