import { Injectable, Logger } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { PermissionsService, SecretRedactor } from '@relay/permissions';
import { EVENT_RESULT_OMITTED, type AttemptOutcome, type ClaimedJob } from '@relay/queue';
import { WorkspaceLimits } from '@relay/workspace';
import { ActionDeferred, ActionError } from '../actions/action.js';
import { ActionRegistry } from '../actions/action-registry.js';
import type { AttemptControl } from './attempt-control.js';
import { ProgressReports } from './progress-reports.js';
import type { ProgressThrottle } from './progress-throttle.js';
import { retryDelayMs } from './retry-policy.js';

/**
 * Runs one attempt of a claimed job and says what should be recorded:
 * permission re-checked first (a decision made after submission wins), then
 * the action under the per-job timeout. Error messages stored on the job are
 * safe: an ActionError's own message, or only the error's class name. An
 * attempt stopped because its job's cancel was requested ends `cancelled`
 * whatever the action threw; one whose action returned first keeps its result.
 */
@Injectable()
export class JobRunner {
  private readonly logger = new Logger(JobRunner.name);

  constructor(
    private readonly config: RelayConfig,
    private readonly permissions: PermissionsService,
    private readonly actions: ActionRegistry,
    private readonly limits: WorkspaceLimits,
    private readonly redactor: SecretRedactor,
    private readonly progressReports: ProgressReports,
  ) {}

  /** `control` is the attempt's stop handle: the timeout stops it too, so the action sees one signal. */
  async run(job: ClaimedJob, control: AttemptControl): Promise<AttemptOutcome> {
    if (!this.permissions.canExecute(job.action, job.actorId, job.workspaceId).allowed) {
      return { outcome: 'failed', error: `action ${job.action} is not permitted for this workspace (checked when the job ran)` };
    }
    const handler = this.actions.get(job.action);
    if (!handler) return { outcome: 'failed', error: `no worker action is registered for ${job.action}` };
    const params = job.params !== null && typeof job.params === 'object' && !Array.isArray(job.params) ? (job.params as Record<string, unknown>) : {};

    // One timer per attempt (cheaper than AbortSignal.timeout/any on the hot path).
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      control.stop(new Error('timed out'));
    }, this.config.JOB_TIMEOUT_MS);
    // Made when the action first reports (most never do).
    let progress: ProgressThrottle | undefined;
    const reports = this.progressReports;
    const context = {
      jobId: job.jobId,
      workspaceId: job.workspaceId,
      attempt: job.attempts,
      get signal() {
        return control.signal;
      },
      progress(percent: number, message?: string) {
        (progress ??= reports.forAttempt(job)).report(percent, message);
      },
    };
    try {
      // bound() also ends an action that ignores the signal.
      const result = await control.bound(handler.run(params, context));
      return this.succeeded(job, result);
    } catch (error) {
      // Stopped for a requested cancel: the job ends cancelled, never retried, whatever the action threw.
      if (control.cancelled) return { outcome: 'cancelled' };
      // "Rate limited, retry after N ms": waiting is not a failed attempt, up to JOB_MAX_DEFERRALS times.
      if (!timedOut && error instanceof ActionDeferred && job.deferrals < this.config.JOB_MAX_DEFERRALS) {
        return { outcome: 'defer', error: error.message.slice(0, 500), delayMs: error.retryAfterMs };
      }
      const message = timedOut
        ? `timed out after ${this.config.JOB_TIMEOUT_MS} ms`
        : error instanceof ActionError
          ? error.message.slice(0, 500)
          : error instanceof ActionDeferred
            ? `${error.message.slice(0, 400)} (deferred ${job.deferrals} times, JOB_MAX_DEFERRALS)`
            : `action failed (${error instanceof Error ? error.name : 'error'})`;
      if (!(error instanceof ActionError) && !(error instanceof ActionDeferred) && !timedOut) {
        // The job id is enough to find it; params and the raw message may hold secrets.
        this.logger.warn(`job ${job.jobId} (${job.action}) threw ${error instanceof Error ? error.name : typeof error}`);
      }
      const retryable = timedOut || !(error instanceof ActionError) || error.retryable;
      if (retryable && job.attempts < this.config.JOB_MAX_ATTEMPTS) {
        const delay = retryDelayMs(job.attempts, this.config.JOB_RETRY_BASE_MS, this.config.JOB_RETRY_MAX_MS);
        return { outcome: 'retry', error: message, delayMs: delay };
      }
      // A failure that would have been retried had it an attempt left: its attempts are spent (event dead_lettered).
      return { outcome: 'failed', error: message, attemptsSpent: retryable };
    } finally {
      clearTimeout(timer);
      // The last report still waiting goes to Redis before the outcome does.
      progress?.end();
    }
  }

  /**
   * A result is stored whole or not at all: one that is not JSON, or larger
   * than the workspace's RESULT_MAX_BYTES, fails the job (no retry: the
   * action would produce it again) rather than being cut.
   */
  private succeeded(job: ClaimedJob, result: unknown): AttemptOutcome {
    let resultJson: string | undefined;
    try {
      resultJson = JSON.stringify(result ?? null);
    } catch {
      // A cycle or a BigInt.
    }
    // undefined: a function or a symbol.
    if (resultJson === undefined) return { outcome: 'failed', error: 'the action returned a result that is not JSON' };
    const limit = this.limits.for(job.workspaceId).resultMaxBytes;
    // Cheap first: a UTF-8 byte count is at most 3 per UTF-16 unit.
    if (resultJson.length * 3 > limit) {
      const bytes = Buffer.byteLength(resultJson);
      if (bytes > limit) return { outcome: 'failed', error: `result too large: ${bytes} bytes of JSON, the workspace's limit is ${limit} (RESULT_MAX_BYTES)` };
    }
    return { outcome: 'succeeded', result, resultJson, eventResultJson: this.redactedForEvent(resultJson) };
  }

  /**
   * The result as the `succeeded` event carries it: redacted with the rules
   * of params (a result may echo them), read back from the JSON that is
   * stored so that it is exactly what GET would redact. Only when redaction
   * changed something (the redactor returns its input when it did not), so
   * the common call sends nothing more to Redis.
   */
  private redactedForEvent(resultJson: string): string | undefined {
    const stored: unknown = JSON.parse(resultJson);
    const redacted = this.redactor.redact(stored);
    const text = redacted === stored ? undefined : JSON.stringify(redacted);
    // Too large for the event (EVENT_RESULT_MAX_BYTES): left out; GET /ai/jobs/{id} has it. Cheap first:
    // a UTF-8 byte count is at most 3 per UTF-16 unit.
    const sent = text ?? resultJson;
    const max = this.config.EVENT_RESULT_MAX_BYTES;
    if (sent.length * 3 > max && Buffer.byteLength(sent) > max) return EVENT_RESULT_OMITTED;
    return text;
  }
}
