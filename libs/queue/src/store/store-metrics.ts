import { MetricChildren, type RelayMetrics, type WorkspaceLabelPolicy } from '@relay/telemetry';
import type { ActiveWorkspaces } from '../work/active-workspaces.js';
import type { ReadPath } from '../scripts/script-types.js';

export type ListReadPath = 'new' | 'old' | 'mixed';

/**
 * What the store counts: where reads and list pages were served and how
 * dual-writes went (each with the workspace label the policy allows), and
 * the jobs created with and without a scoped copy. Labelled children are
 * cached, so a request costs a map lookup, not a label-set hash.
 */
export class StoreMetrics {
  private readonly reads: MetricChildren<{ inc(): void }>;
  private readonly lists: MetricChildren<{ inc(): void }>;
  private readonly dualWrites: MetricChildren<{ inc(): void }>;
  private created = 0;
  private createdWithScopedCopy = 0;

  constructor(
    private readonly metrics: RelayMetrics,
    private readonly labels: WorkspaceLabelPolicy,
    /** Told of every workspace that creates jobs while every workspace is labelled (the worker's depth report reads it). */
    private readonly activeWorkspaces?: ActiveWorkspaces,
  ) {
    this.reads = new MetricChildren(metrics.readPath);
    this.lists = new MetricChildren(metrics.listReadPath);
    this.dualWrites = new MetricChildren(metrics.dualWriteAttempts);
    // Undefined until this process creates a job: 0 would read as "no scoped copies".
    metrics.dualWriteRatio.set(Number.NaN);
  }

  read(workspaceId: string, path: ReadPath): void {
    this.reads.of(path, this.labels.label(workspaceId)).inc();
  }

  listed(workspaceId: string, path: ListReadPath): void {
    this.lists.of(path, this.labels.label(workspaceId)).inc();
  }

  /** A read found the legacy and scoped copies of a job different. */
  divergedOnRead(): void {
    this.metrics.copyDivergences.inc({ where: 'read' });
  }

  dualWrite(workspaceId: string, result: 'succeeded' | 'failed'): void {
    this.dualWrites.of(result, this.labels.label(workspaceId)).inc();
  }

  jobsCreated(workspaceId: string, jobs: number, withScopedCopy: number): void {
    this.created += jobs;
    this.createdWithScopedCopy += withScopedCopy;
    this.metrics.jobsCreated.inc(jobs);
    if (withScopedCopy > 0) this.metrics.jobsCreatedWithScopedCopy.inc(withScopedCopy);
    this.metrics.dualWriteRatio.set(this.createdWithScopedCopy / this.created);
    if (this.labels.scope.kind === 'all') this.activeWorkspaces?.note(workspaceId);
  }
}
