import { Injectable } from '@nestjs/common';
import { RelayConfig } from '@relay/config';

export const UNSCOPED = 'unscoped';

/** Which workspaces get a `workspace_id` label of their own. */
export type WorkspaceLabelScope = { kind: 'none' } | { kind: 'allowlist'; workspaces: readonly string[] } | { kind: 'all' };

/**
 * Decides the value of every `workspace_id` metric label: the workspace only
 * when METRICS_WORKSPACE_LABEL=on and the id is on METRICS_WORKSPACE_ALLOWLIST
 * (when that list is set); `unscoped` otherwise. Bounds label cardinality and
 * keeps tenant names out of shared dashboards unless an operator opts in.
 */
@Injectable()
export class WorkspaceLabelPolicy {
  readonly scope: WorkspaceLabelScope;
  private readonly allowlist: ReadonlySet<string>;

  constructor(config: RelayConfig) {
    this.allowlist = new Set(
      config.METRICS_WORKSPACE_ALLOWLIST.split(',').map((s) => s.trim()).filter(Boolean),
    );
    if (config.METRICS_WORKSPACE_LABEL !== 'on') this.scope = { kind: 'none' };
    else this.scope = this.allowlist.size > 0 ? { kind: 'allowlist', workspaces: [...this.allowlist] } : { kind: 'all' };
  }

  /** The policy of the default settings: every workspace is `unscoped` (for stores built outside Nest). */
  static unscoped(): WorkspaceLabelPolicy {
    return new WorkspaceLabelPolicy(new RelayConfig());
  }

  label(workspaceId: string): string {
    switch (this.scope.kind) {
      case 'none':
        return UNSCOPED;
      case 'all':
        return workspaceId;
      default:
        return this.allowlist.has(workspaceId) ? workspaceId : UNSCOPED;
    }
  }
}
