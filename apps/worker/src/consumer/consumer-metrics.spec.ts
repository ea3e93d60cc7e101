import { RelayConfig } from '@relay/config';
import type { ClaimedJob } from '@relay/queue';
import { RelayMetrics, WorkspaceLabelPolicy } from '@relay/telemetry';
import { ConsumerMetrics } from './consumer-metrics.js';

// prom-client's default registry is shared by the file: each test counts a workspace of its own.
const metrics = new RelayMetrics();
const labels = new WorkspaceLabelPolicy(Object.assign(new RelayConfig(), { METRICS_WORKSPACE_LABEL: 'on' }));

const job = (workspaceId: string, fields: Partial<ClaimedJob> = {}): ClaimedJob => ({
  entry: `${workspaceId}:j`, token: 't', workspaceId, jobId: 'j', attempts: 1, action: 'debug.echo', params: {}, actorId: 'a',
  createdAt: '2030-01-01T00:00:00.000Z', startedAt: '2030-01-01T00:00:02.500Z', runAt: '', deferrals: 0, ...fields,
});

async function total(status: string, workspaceId: string): Promise<number> {
  return (await metrics.jobsTotal.get()).values.find((v) => v.labels.status === status && v.labels.workspace_id === workspaceId)?.value ?? 0;
}
async function observed(metric: 'jobWait' | 'jobLatency', workspaceId: string, status?: string): Promise<{ count: number; sum: number }> {
  const all: { labels: Record<string, string | number | undefined>; metricName?: string; value: number }[] = (await metrics[metric].get()).values;
  const values = all.filter((v) => v.labels.workspace_id === workspaceId && (status === undefined || v.labels.status === status));
  const pick = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
  const base = metric === 'jobWait' ? 'relay_job_wait_seconds' : 'ai_job_latency_seconds';
  return { count: pick(`${base}_count`), sum: pick(`${base}_sum`) };
}

describe('ConsumerMetrics', () => {
  it('counts a start as running, per workspace, through cached children', async () => {
    const counts = new ConsumerMetrics(metrics, labels);
    counts.countStarted('ws-start');
    counts.countStarted('ws-start');
    counts.countStarted('ws-start-other');
    expect(await total('running', 'ws-start')).toBe(2);
    expect(await total('running', 'ws-start-other')).toBe(1);
  });

  it('observes the wait of a first start only, from the later of submission and due time', async () => {
    const counts = new ConsumerMetrics(metrics, labels);
    counts.observeWait(job('ws-wait'));
    counts.observeWait(job('ws-wait', { attempts: 2 }));
    counts.observeWait(job('ws-wait', { deferrals: 1 }));
    expect(await observed('jobWait', 'ws-wait')).toEqual({ count: 1, sum: 2.5 });
    // Delayed: due one second after submission.
    counts.observeWait(job('ws-wait-delayed', { runAt: '2030-01-01T00:00:01.000Z' }));
    // Started (by Redis's clock) before it was eligible: no negative wait.
    counts.observeWait(job('ws-wait-delayed', { runAt: '2030-01-01T00:00:03.000Z' }));
    expect(await observed('jobWait', 'ws-wait-delayed')).toEqual({ count: 2, sum: 1.5 });
  });

  it('counts outcomes by status: a retry as retrying without latency, a deferral not at all', async () => {
    const counts = new ConsumerMetrics(metrics, labels);
    const ws = 'ws-outcome';
    counts.countOutcome(job(ws, { createdAt: new Date(Date.now() - 60_000).toISOString() }), { outcome: 'succeeded', result: 1 });
    counts.countOutcome(job(ws), { outcome: 'retry', error: 'x', delayMs: 5 });
    counts.countOutcome(job(ws), { outcome: 'defer', error: 'x', delayMs: 5 });
    counts.countOutcome(job(ws), { outcome: 'failed', error: 'x' });
    expect([await total('succeeded', ws), await total('retrying', ws), await total('failed', ws), await total('defer', ws)]).toEqual([1, 1, 1, 0]);
    const latency = await observed('jobLatency', ws, 'succeeded');
    expect(latency.count).toBe(1);
    expect(latency.sum).toBeGreaterThanOrEqual(60);
    expect((await observed('jobLatency', ws, 'retrying')).count).toBe(0);
  });

  it('counts held-back work by reason, as many times as the claim says', async () => {
    const counts = new ConsumerMetrics(metrics, labels);
    counts.countHeldBack([
      { reason: 'max_running', workspaceId: 'ws-held', times: 3 },
      { reason: 'rate_limit', workspaceId: 'ws-held', times: 1 },
    ]);
    const values = (await metrics.jobsHeldBack.get()).values.filter((v) => v.labels.workspace_id === 'ws-held');
    expect(Object.fromEntries(values.map((v) => [v.labels.reason, v.value]))).toEqual({ max_running: 3, rate_limit: 1 });
  });
});
