import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, register } from 'prom-client';

type MetricConfig<L extends string> = { name: string; help: string; labelNames?: readonly L[] };

/**
 * Metrics live in prom-client's default registry, the one the /metrics
 * controller of @willsoto/nestjs-prometheus serves. get-or-create keeps a
 * second application in the same process (tests, the CLI) from failing on a
 * duplicate registration.
 */
function counter<L extends string>(config: MetricConfig<L>): Counter<L> {
  return (register.getSingleMetric(config.name) as Counter<L>) ?? new Counter<L>(config);
}
function gauge<L extends string>(config: MetricConfig<L>): Gauge<L> {
  return (register.getSingleMetric(config.name) as Gauge<L>) ?? new Gauge<L>(config);
}
function histogram<L extends string>(config: MetricConfig<L> & { buckets?: number[] }): Histogram<L> {
  return (register.getSingleMetric(config.name) as Histogram<L>) ?? new Histogram<L>(config);
}

const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/**
 * Every metric Relay exports, defined in this one file. Labels never carry
 * job ids, user ids, credentials, params or results; `workspace_id` is set
 * only through WorkspaceLabelPolicy.
 */
@Injectable()
export class RelayMetrics {
  /** Gauges read from elsewhere (Redis) are refreshed when scraped: each refresher is a cached probe. */
  private readonly refreshers = new Set<() => Promise<unknown>>();

  onScrape(refresh: () => Promise<unknown>): void {
    this.refreshers.add(refresh);
  }

  async refreshBeforeScrape(): Promise<void> {
    await Promise.all([...this.refreshers].map((refresh) => refresh().catch(() => undefined)));
  }

  readonly jobsTotal = counter({ name: 'ai_jobs_total', help: 'Jobs that reached a status', labelNames: ['status', 'workspace_id'] });
  readonly jobLatency = histogram({
    name: 'ai_job_latency_seconds',
    help: 'Time from submission to a final status',
    labelNames: ['status', 'workspace_id'],
    buckets: JOB_BUCKETS,
  });
  /** Set by every worker from Redis (the same values on each): aggregate with max, not sum. */
  readonly queueDepth = gauge({
    name: 'ai_queue_depth',
    help: 'Jobs in the queue by state (pending, running, delayed, retrying, dead), as every worker reads them from Redis',
    labelNames: ['state', 'workspace_id'],
  });
  readonly securityDecisions = counter({
    name: 'security_decisions_total',
    help: 'Permission decisions on actions',
    labelNames: ['result', 'reason', 'workspace_id'],
  });
  readonly listQueries = counter({ name: 'ai_job_list_queries_total', help: 'Job list queries', labelNames: ['workspace_id'] });
  readonly listDuration = histogram({
    name: 'ai_job_list_duration_seconds',
    help: 'Time to serve one page of a job list',
    labelNames: ['workspace_id'],
    buckets: FAST_BUCKETS,
  });
  readonly listResults = counter({ name: 'ai_job_list_results_total', help: 'Jobs returned by list queries', labelNames: ['workspace_id'] });
  /**
   * One process's share since it started (NaN until it has created a job).
   * Per process, so replicas cannot be added up: the fleet's share is
   * sum(rate(ai_jobs_created_with_scoped_copy_total)) / sum(rate(ai_jobs_created_total)).
   */
  readonly dualWriteRatio = gauge({
    name: 'ai_jobs_dual_write_ratio',
    help: 'Share of the jobs this process created since it started that also got a workspace-scoped copy (NaN before the first)',
  });
  readonly jobsCreated = counter({ name: 'ai_jobs_created_total', help: 'Jobs created (replays not counted)' });
  readonly jobsCreatedWithScopedCopy = counter({
    name: 'ai_jobs_created_with_scoped_copy_total',
    help: 'Jobs created with a workspace-scoped copy (scoped only, or dual-written)',
  });
  // SPEC names these three relay_job_read_path, relay_dual_write_attempt and relay_job_list_read_path;
  // as counters their samples carry the `_total` suffix every Prometheus counter has (OpenMetrics adds
  // it to the name itself), which is what `promtool check metrics` asks for.
  readonly readPath = counter({
    name: 'relay_job_read_path_total',
    help: 'Where single-job reads were served (new, old, miss)',
    labelNames: ['path', 'workspace_id'],
  });
  readonly dualWriteAttempts = counter({
    name: 'relay_dual_write_attempt_total',
    help: 'Dual-write outcomes (succeeded, failed)',
    labelNames: ['result', 'workspace_id'],
  });
  readonly listReadPath = counter({
    name: 'relay_job_list_read_path_total',
    help: 'Where list pages were served (new, old, mixed)',
    labelNames: ['path', 'workspace_id'],
  });
  readonly statusUpdateFailures = counter({
    name: 'relay_status_update_failures_total',
    help: 'Status updates that could not be applied to every copy of a job',
    labelNames: ['reason'],
  });
  readonly unavailableResponses = counter({
    name: 'relay_unavailable_responses_total',
    help: 'API requests answered 503 because Redis could not serve them or the API was overloaded',
    labelNames: ['reason'],
  });
  readonly redisRefusingWrites = gauge({
    name: 'relay_redis_refusing_writes',
    help: '1 while Redis refuses writes because used memory has reached maxmemory (noeviction), as of the last readiness probe',
  });
  readonly redisMayEvict = gauge({
    name: 'relay_redis_may_evict',
    help: "1 while Redis's maxmemory-policy may evict keys (allowed only with REDIS_ALLOW_EVICTION=on), as of the last readiness probe",
  });
  readonly workerBackoffs = counter({
    name: 'relay_worker_backoffs_total',
    help: 'Times the worker backed off because Redis could not serve it (did not answer, or refused writes for memory)',
    labelNames: ['reason'],
  });
  readonly queueOldestPendingAge = gauge({
    name: 'relay_queue_oldest_pending_seconds',
    help: 'Seconds the job next in line in ai:queue:pending has waited since it last became pending (0 when none is pending)',
  });
  readonly jobWait = histogram({
    name: 'relay_job_wait_seconds',
    help: 'Seconds from submission (or, for a delayed job, its due time) to the first start, by Redis time',
    labelNames: ['workspace_id'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  });
  readonly jobsHeldBack = counter({
    name: 'relay_jobs_held_back_total',
    help: 'Times a claim held work back: a workspace at its max_running (reason max_running), a job over an ACTION_RATE_LIMITS rule (rate_limit), a job its action deferred with a Retry-After (retry_after)',
    labelNames: ['reason', 'workspace_id'],
  });
  readonly leaseLosses = counter({
    name: 'relay_worker_lease_losses_total',
    help: 'Jobs this worker stopped, or could not record, because it no longer held their lease',
    labelNames: ['reason'],
  });
  readonly jobCancels = counter({
    name: 'relay_job_cancels_total',
    help:
      'Cancel requests answered by the API, by outcome: cancelled (not yet started: cancelled at once), stopped (running: cancelled within the wait), ' +
      'finished_first (running: it succeeded or failed first), still_running (answered 202), conflict (already final: 409)',
    labelNames: ['outcome', 'workspace_id'],
  });
  readonly progressReports = counter({
    name: 'relay_job_progress_reports_total',
    help: 'Progress reports of actions, by what became of them: written to the job, superseded by a later one within the interval, lost (lease gone), failed (Redis)',
    labelNames: ['result'],
  });
  readonly copyDivergences = counter({
    name: 'relay_copy_divergence_total',
    help: 'Reads that found the legacy and scoped copies of a job different',
    labelNames: ['where'],
  });
  /**
   * Each delivery attempt counts once as delivered, failed_attempt (to be retried, or the last one
   * before a dead letter) or refused (by the outbound policy: never sent); a delivery given up
   * counts once more as dead_lettered (its retry period spent, a refusal, or its endpoint's backlog full).
   */
  readonly webhookDeliveries = counter({
    name: 'relay_webhook_deliveries_total',
    help: 'Webhook delivery attempts by result (delivered, failed_attempt, refused by the outbound policy), and deliveries dead-lettered (dead_lettered)',
    labelNames: ['result', 'workspace_id'],
  });
  /**
   * Per API process, no labels: what a stream costs (a connection, a place
   * among HTTP_MAX_CONNECTIONS, a subscriber of the EventHub) is the
   * process's, and SSE_MAX_STREAMS_PER_KEY already bounds a key's share.
   * Up when a stream's 200 is sent, down when its response closes, however
   * that happens (the client leaves, the job's final event, shutdown, a cut).
   */
  readonly sseStreamsOpen = gauge({
    name: 'relay_sse_streams_open',
    help: 'Server-Sent Events streams (GET /ai/events, GET /ai/jobs/{id}/events) this API process has open',
  });
  readonly httpRequests = counter({
    name: 'http_requests_total',
    help: 'HTTP requests served',
    labelNames: ['method', 'route', 'status_code'],
  });
  readonly httpDuration = histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route', 'status_code'],
    buckets: FAST_BUCKETS,
  });
}
