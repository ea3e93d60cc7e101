import { Injectable } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { ActionRateLimits, type SchedulingArgs } from '@relay/queue';
import { WorkspaceLimits } from '@relay/workspace';

/**
 * The scheduling settings a worker's claims carry (README "Scheduling"):
 * the default cap, whether per-workspace weights and caps are published to
 * Redis, and the outbound rate limits in the claim script's compact form.
 * Parsed once (ActionRateLimits refuses a malformed ACTION_RATE_LIMITS at start-up: exit 2).
 */
@Injectable()
export class SchedulingSettings {
  readonly overrides: Readonly<Record<string, { weight: number; maxRunning: number }>>;
  readonly claimArgs: SchedulingArgs;
  /**
   * WORKER_PREFETCH, or 0 while ACTION_RATE_LIMITS is set: a limit counts a job when it is claimed,
   * and a prefetched job starts later, so prefetched starts could bunch past a window's limit.
   */
  readonly prefetch: number;

  constructor(config: RelayConfig, limits: WorkspaceLimits, rateLimits: ActionRateLimits) {
    this.overrides = limits.scheduleOverrides();
    this.claimArgs = {
      defaultMaxRunning: config.WORKSPACE_MAX_RUNNING,
      overridesPublished: Object.keys(this.overrides).length > 0,
      rateRules: rateLimits.encoded,
    };
    this.prefetch = rateLimits.encoded ? 0 : config.WORKER_PREFETCH;
  }
}
