import type { Redis } from '@relay/redis';
import { UNSCOPED, type RelayMetrics, type WorkspaceLabelPolicy } from '@relay/telemetry';
import type { ActiveWorkspaces } from './active-workspaces.js';
import { QUEUE_STATES, readQueueDepth, type QueueDepth } from './queue-depth.js';

/**
 * Sets ai_queue_depth{state, workspace_id} under the workspace-label
 * policy. Labelled workspaces are the allowlist, or, when every workspace
 * may be labelled, the most recently active ones (ActiveWorkspaces); each
 * gets its own counts, and `unscoped` is the whole queue minus theirs, so
 * summing over workspace_id gives the whole queue. With labels off (the
 * default) only `unscoped` is set, from the whole queue's counts alone.
 */
export class QueueDepthReport {
  /** `state\nworkspace` of the series set by the last report, to remove those of workspaces no longer labelled. */
  private reported = new Set<string>();

  constructor(
    private readonly redis: Redis,
    private readonly metrics: RelayMetrics,
    private readonly labels: WorkspaceLabelPolicy,
    private readonly activeWorkspaces: ActiveWorkspaces,
  ) {}

  async report(): Promise<void> {
    const { total, byWorkspace } = await readQueueDepth(this.redis, await this.labelledWorkspaces());
    const series = new Map<string, QueueDepth>([[UNSCOPED, unscopedPart(total, byWorkspace.values())]]);
    for (const [ws, depth] of byWorkspace) series.set(this.labels.label(ws), depth);

    const now = new Set<string>();
    for (const [workspace_id, depth] of series) {
      for (const state of QUEUE_STATES) {
        this.metrics.queueDepth.set({ state, workspace_id }, depth[state]);
        now.add(`${state}\n${workspace_id}`);
      }
    }
    for (const key of this.reported) {
      if (now.has(key)) continue;
      const [state, workspace_id] = key.split('\n');
      this.metrics.queueDepth.remove({ state, workspace_id });
    }
    this.reported = now;
  }

  private async labelledWorkspaces(): Promise<readonly string[]> {
    const scope = this.labels.scope;
    if (scope.kind === 'none') return [];
    if (scope.kind === 'allowlist') return scope.workspaces;
    return this.activeWorkspaces.mostRecent();
  }
}

/** The whole queue less the labelled workspaces' jobs (never below 0: the two are read from different keys). */
function unscopedPart(total: QueueDepth, labelled: Iterable<QueueDepth>): QueueDepth {
  const rest = { ...total };
  for (const depth of labelled) for (const state of QUEUE_STATES) rest[state] -= depth[state];
  for (const state of QUEUE_STATES) rest[state] = Math.max(0, rest[state]);
  return rest;
}
