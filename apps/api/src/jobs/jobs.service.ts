import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { ErrorCode, RelayError, invalidInput, notFound } from '@relay/errors';
import { PermissionsService, type Decision } from '@relay/permissions';
import { JOB_ID_PATTERN, JobStore, LegacyIndexer, type CreateOutcome, type Job, type JobStatus, type ListPage, type NewJob } from '@relay/queue';
import { RelayMetrics, WorkspaceLabelPolicy } from '@relay/telemetry';
import type { Principal } from '@relay/auth';
import { WorkspaceLimits, auditPermissionDenied, type RequestFacts } from '@relay/workspace';
import { checkParamsLimits } from './params-limits.js';
import { jobDelay } from './job-delay.js';
import { awaitCancelled, cancelWaitMs, type CancelResult } from './cancel-wait.js';

/** A submit that created jobs or replayed the original ones. */
export type Submitted = Extract<CreateOutcome, { outcome: 'created' | 'replayed' }>;

export interface StepInput {
  action: string;
  params?: Record<string, unknown>;
  run_at?: string;
  delay_ms?: number;
}

/** The use-cases behind the job routes: validation that needs settings, permissions, then the store. */
@Injectable()
export class JobsService implements OnApplicationBootstrap {
  constructor(
    private readonly config: RelayConfig,
    private readonly store: JobStore,
    private readonly permissions: PermissionsService,
    private readonly metrics: RelayMetrics,
    private readonly labels: WorkspaceLabelPolicy,
    private readonly legacyIndexer: LegacyIndexer,
    private readonly limits: WorkspaceLimits,
  ) {}

  /** Starts the sweep that indexes predecessor records, now and every LEGACY_INDEX_INTERVAL_MS (lists wait for its first pass). */
  onApplicationBootstrap(): void {
    this.legacyIndexer.startSweeping();
  }

  /** `request` names the request in the audit line of a refused action. */
  async submit(principal: Principal, request: RequestFacts, steps: StepInput[], kind: 'job' | 'plan', clientRequestId?: string): Promise<Submitted> {
    if (kind === 'plan' && steps.length > this.config.PLAN_MAX_STEPS) {
      throw invalidInput(`steps must hold at most ${this.config.PLAN_MAX_STEPS} steps (got ${steps.length})`);
    }
    const nowMs = Date.now();
    const jobs: NewJob[] = steps.map((step, i) => {
      const field = kind === 'plan' ? `steps[${i}].` : '';
      const params = step.params ?? {};
      const paramsJson = checkParamsLimits(`${field}params`, params, this.config.PARAMS_MAX_BYTES, this.config.PARAMS_MAX_DEPTH);
      const delay = jobDelay(field, step, this.config.JOB_DELAY_MAX_MS, nowMs);
      return { actorId: principal.actorId, action: step.action, params, paramsJson, ...(delay ? { delay } : {}) };
    });
    // Every step is checked before anything is written: one forbidden step rejects the plan.
    const denied = new Map<string, Exclude<Decision, { allowed: true }>>();
    for (const job of jobs) {
      const decision = this.permissions.canExecute(job.action, principal.actorId, principal.workspaceId);
      if (!decision.allowed && !denied.has(job.action)) denied.set(job.action, decision);
    }
    if (denied.size > 0) {
      // One audit line per refused request, with the first refusal's reason and every refused action.
      auditPermissionDenied(request, principal, { reason: [...denied.values()][0].reason, actions: [...denied.keys()] });
      throw new RelayError(ErrorCode.Forbidden, `action not permitted for this workspace: ${[...denied.keys()].join(', ')}`);
    }
    const maxStoredJobs = this.limits.for(principal.workspaceId).maxStoredJobs;
    const outcome = await this.store.create({ workspaceId: principal.workspaceId, jobs, clientRequestId, kind, maxStoredJobs });
    if (outcome.outcome === 'mismatch') {
      throw new RelayError(ErrorCode.IdempotencyMismatch, 'client_request_id was already used with a different payload');
    }
    if (outcome.outcome === 'quota_exceeded') {
      throw new RelayError(
        ErrorCode.QuotaExceeded,
        `workspace quota: ${outcome.stored} jobs stored, at most ${outcome.quota} (WORKSPACE_MAX_STORED_JOBS or WORKSPACE_LIMITS); ` +
          `this submit of ${jobs.length} job(s) would exceed it. Finished jobs free their place when they expire (JOB_RETENTION_SECONDS)`,
      );
    }
    if (outcome.outcome === 'gone') {
      throw new RelayError(
        ErrorCode.Gone,
        `the job first created for this client_request_id has expired (finished jobs are kept ${this.config.JOB_RETENTION_SECONDS} s); it was not run again. Use a new client_request_id to submit again`,
        [],
        { job_id: outcome.firstJobId },
      );
    }
    if (outcome.outcome === 'created') {
      this.metrics.jobsTotal.inc({ status: 'pending', workspace_id: this.labels.label(principal.workspaceId) }, jobs.length);
    }
    return outcome;
  }

  async get(principal: Principal, jobId: string): Promise<Job> {
    assertJobId(jobId);
    const job = await this.store.get(principal.workspaceId, jobId);
    if (!job) throw notFound('job');
    return job;
  }

  async list(principal: Principal, limit: number, cursor?: string, status?: JobStatus): Promise<ListPage> {
    const label = { workspace_id: this.labels.label(principal.workspaceId) };
    const stop = this.metrics.listDuration.startTimer(label);
    // Predecessor records are listed once indexed; a no-op after the first pass, bounded before.
    await this.legacyIndexer.waitBriefly(2000);
    const page = await this.store.list({ workspaceId: principal.workspaceId, limit, cursor, status });
    stop();
    this.metrics.listQueries.inc(label);
    this.metrics.listResults.inc(label, page.items.length);
    return page;
  }

  /**
   * Cancels a job that has not started at once; asks the worker running a running one to stop it and
   * waits (cancelWaitMs) for the job to end: README "Cancelling a running job". 409 for a final job.
   */
  async cancel(principal: Principal, jobId: string): Promise<CancelResult> {
    assertJobId(jobId);
    const ws = principal.workspaceId;
    const workspace_id = this.labels.label(ws);
    const result = await this.store.cancel(ws, jobId);
    if (result.outcome === 'missing') throw notFound('job');
    if (result.outcome === 'conflict') {
      this.metrics.jobCancels.inc({ outcome: 'conflict', workspace_id });
      throw new RelayError(ErrorCode.Conflict, `job is ${result.status}; only a job that has not finished can be cancelled`);
    }
    if (result.outcome === 'cancelled') {
      this.metrics.jobsTotal.inc({ status: 'cancelled', workspace_id });
      this.metrics.jobCancels.inc({ outcome: 'cancelled', workspace_id });
      return { cancel: 'cancelled', job: result.job };
    }
    // Running: its worker records the end (and counts it in ai_jobs_total).
    const ended = await awaitCancelled(this.store, ws, result.job, cancelWaitMs(this.config.CANCEL_WAIT_MS, this.config.WORKER_LEASE_MS));
    const outcome = ended.cancel === 'cancelled' ? 'stopped' : ended.cancel === 'requested' ? 'still_running' : 'finished_first';
    this.metrics.jobCancels.inc({ outcome, workspace_id });
    return ended;
  }
}

function assertJobId(jobId: string): void {
  if (!JOB_ID_PATTERN.test(jobId)) throw invalidInput('id must be 1-128 characters of letters, digits, . _ -');
}
