import type { AttemptOutcome, ClaimedJob, HeldBack } from '@relay/queue';
import type { RelayMetrics, WorkspaceLabelPolicy } from '@relay/telemetry';
import type { Counter, Histogram } from 'prom-client';

/**
 * The consumer's per-job metrics: ai_jobs_total and ai_job_latency_seconds
 * by status, relay_job_wait_seconds and relay_jobs_held_back_total, each
 * labelled with the workspace as WorkspaceLabelPolicy allows.
 */
export class ConsumerMetrics {
  /** Labelled metric children, cached: prom-client hashes the label set on every unlabelled call. */
  private readonly counted = new Map<string, { total: Counter.Internal; latency: Histogram.Internal<string> }>();

  constructor(
    private readonly metrics: RelayMetrics,
    private readonly labels: WorkspaceLabelPolicy,
  ) {}

  /** An attempt started here: ai_jobs_total{status="running"}. */
  countStarted(workspaceId: string): void {
    this.metricsFor('running', workspaceId).total.inc();
  }

  /**
   * relay_job_wait_seconds: from submission, or a delayed job's due time, to its first start, both
   * by Redis's clock. Once per job: a retry's or a deferral's later start is not a new wait.
   */
  observeWait(job: ClaimedJob): void {
    if (job.attempts !== 1 || job.deferrals !== 0) return;
    const eligible = Math.max(Date.parse(job.createdAt), job.runAt ? Date.parse(job.runAt) : 0);
    const seconds = (Date.parse(job.startedAt) - eligible) / 1000;
    if (Number.isFinite(seconds)) this.metrics.jobWait.observe({ workspace_id: this.labels.label(job.workspaceId) }, Math.max(0, seconds));
  }

  countHeldBack(held: HeldBack[]): void {
    for (const h of held) this.metrics.jobsHeldBack.inc({ reason: h.reason, workspace_id: this.labels.label(h.workspaceId) }, h.times);
  }

  countOutcome(job: ClaimedJob, outcome: AttemptOutcome): void {
    // A deferral is counted as held back (reason retry_after) by the finish that records it.
    if (outcome.outcome === 'defer') return;
    const metrics = this.metricsFor(outcome.outcome === 'retry' ? 'retrying' : outcome.outcome, job.workspaceId);
    metrics.total.inc();
    if (outcome.outcome !== 'retry') {
      const seconds = (Date.now() - Date.parse(job.createdAt)) / 1000;
      if (Number.isFinite(seconds)) metrics.latency.observe(Math.max(0, seconds));
    }
  }

  private metricsFor(status: string, workspaceId: string) {
    const labels = { status, workspace_id: this.labels.label(workspaceId) };
    const key = `${labels.status}|${labels.workspace_id}`;
    let children = this.counted.get(key);
    if (!children) {
      children = { total: this.metrics.jobsTotal.labels(labels), latency: this.metrics.jobLatency.labels(labels) };
      this.counted.set(key, children);
    }
    return children;
  }
}
