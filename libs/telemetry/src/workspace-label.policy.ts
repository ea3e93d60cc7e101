import { Injectable } from '@nestjs/common';
import { RelayConfig } from '@relay/config';

export const UNSCOPED = 'unscoped';

/**
 * Decides the value of every `workspace_id` metric label: the workspace only
 * when METRICS_WORKSPACE_LABEL=on and the id is on METRICS_WORKSPACE_ALLOWLIST
 * (when that list is set); `unscoped` otherwise. Bounds label cardinality and
 * keeps tenant names out of shared dashboards unless an operator opts in.
 */
@Injectable()
export class WorkspaceLabelPolicy {
  private readonly enabled: boolean;
  private readonly allowlist: ReadonlySet<string>;

  constructor(config: RelayConfig) {
    this.enabled = config.METRICS_WORKSPACE_LABEL === 'on';
    this.allowlist = new Set(
      config.METRICS_WORKSPACE_ALLOWLIST.split(',').map((s) => s.trim()).filter(Boolean),
    );
  }

  label(workspaceId: string): string {
    if (!this.enabled) return UNSCOPED;
    if (this.allowlist.size > 0 && !this.allowlist.has(workspaceId)) return UNSCOPED;
    return workspaceId;
  }
}
