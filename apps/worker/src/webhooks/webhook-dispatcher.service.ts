import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { isRedisUnavailableError } from '@relay/redis';
import { WebhookScripts, settledWithin, type ClaimedDelivery, type DeliveryFinish, type DeliveryResult } from '@relay/queue';
import { MetricChildren, RelayMetrics, WorkspaceLabelPolicy } from '@relay/telemetry';
import type { Counter } from 'prom-client';
import { retryDelayMs } from '../consumer/retry-policy.js';
import { WebhookSender, type SendOutcome } from './webhook-sender.js';

/** Events read per workspace per fan-out call (the call repeats at once while more wait). */
const FANOUT_BATCH = 500;
/** Failed attempts kept per workspace for `relay webhooks deliveries`. */
export const WEBHOOK_FAILURES_KEPT = 100;
/** A delivery's lease outlasts its send (bounded by HTTP_ACTION_TIMEOUT_MS) by this much: the finish call's margin. */
const LEASE_MARGIN_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The worker's webhook delivery loop (README "Webhooks"). Each round fans
 * the new events of workspaces with endpoints out into deliveries (one pass
 * per poll interval across all workers), claims due deliveries for its free
 * slots (WEBHOOK_CONCURRENCY) under a lease, and sends them; each send ends
 * in a finish call: delivered, retried after a backoff, or dead-lettered.
 * A worker that dies mid-send leaves its lease to expire: another worker's
 * claim sends the delivery again (at least once). Nothing here runs per job:
 * workspaces without endpoints cost no Redis call.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  readonly workerId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private readonly counted: MetricChildren<Counter.Internal>;
  private readonly leaseMs: number;
  private stopping = false;
  private loopDone?: Promise<void>;
  private wake?: () => void;

  constructor(
    private readonly config: RelayConfig,
    private readonly scripts: WebhookScripts,
    private readonly sender: WebhookSender,
    metrics: RelayMetrics,
    private readonly labels: WorkspaceLabelPolicy,
  ) {
    this.counted = new MetricChildren(metrics.webhookDeliveries);
    this.leaseMs = config.HTTP_ACTION_TIMEOUT_MS + LEASE_MARGIN_MS;
  }

  onApplicationBootstrap(): void {
    if (this.config.WEBHOOK_CONCURRENCY === 0) return;
    this.loopDone = this.loop();
  }

  /** Stops claiming; sends still under way get the shutdown grace, then are stopped and released (due again at once, no attempt used). */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wake?.();
    await this.loopDone;
    const sends = () => Promise.all([...this.inFlight.values()].map((s) => s.done));
    const drained = await settledWithin(sends(), this.config.WORKER_SHUTDOWN_GRACE_MS);
    if (!drained) {
      for (const send of this.inFlight.values()) send.abort.abort();
      await sends();
    }
  }

  private async loop(): Promise<void> {
    let backoff = 0;
    while (!this.stopping) {
      let again = false;
      try {
        again = await this.round();
        backoff = 0;
      } catch (error) {
        backoff = Math.min(5000, Math.max(100, backoff * 2));
        if (!isRedisUnavailableError(error)) this.logger.error(`webhook round failed: ${(error as Error).message}`);
        await sleep(backoff);
        continue;
      }
      if (!again) await this.pause(this.config.WEBHOOK_POLL_INTERVAL_MS);
    }
  }

  /** One fan-out and one claim; true when there is more to do at once. */
  private async round(): Promise<boolean> {
    const fanOut = await this.scripts.fanOut({
      lockMs: this.config.WEBHOOK_POLL_INTERVAL_MS,
      batch: FANOUT_BATCH,
      maxPending: this.config.WEBHOOK_MAX_PENDING,
      deadLetterMax: this.config.WEBHOOK_DEAD_LETTER_MAX,
      deadLetterTtlMs: this.config.WEBHOOK_DEAD_LETTER_TTL_SECONDS * 1000,
    });
    if (!fanOut.busy) for (const d of fanOut.deadLettered) this.count('dead_lettered', d.workspaceId, d.count);
    const more = !fanOut.busy && fanOut.more;
    const free = this.config.WEBHOOK_CONCURRENCY - this.inFlight.size;
    if (free <= 0 || this.stopping) return more;
    const { claimed, recovered } = await this.scripts.claimDeliveries(free, this.leaseMs, this.workerId);
    if (recovered > 0) this.logger.warn(`${recovered} webhook deliveries whose worker stopped mid-send are due again`);
    for (const delivery of claimed) this.start(delivery);
    return more || claimed.length === free;
  }

  /** Waits up to `ms`, or until a send ends (a slot is free) or shutdown begins. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private start(delivery: ClaimedDelivery): void {
    const abort = new AbortController();
    const done = this.deliver(delivery, abort.signal)
      .catch((error: unknown) => this.logger.error(`webhook delivery ${delivery.deliveryId}: ${(error as Error).message}`))
      .finally(() => {
        this.inFlight.delete(delivery.deliveryId);
        this.wake?.();
      });
    this.inFlight.set(delivery.deliveryId, { abort, done });
  }

  private async deliver(delivery: ClaimedDelivery, signal: AbortSignal): Promise<void> {
    const sent = await this.sender.send(delivery, signal);
    // Stopped by shutdown past its grace: not an attempt of the receiver's making.
    if (signal.aborted) {
      await this.finish({ delivery, outcome: 'released' });
      return;
    }
    this.count(sent.outcome === 'failed' ? 'failed_attempt' : sent.outcome, delivery.workspaceId);
    const result = await this.finish(finishOf(delivery, sent, retryDelayMs(delivery.attempt, this.config.WEBHOOK_RETRY_BASE_MS, this.config.WEBHOOK_RETRY_MAX_MS)));
    if (result === 'dead_lettered') {
      this.count('dead_lettered', delivery.workspaceId);
      const reason = sent.outcome === 'delivered' ? '' : sent.error;
      this.logger.warn(`webhook delivery ${delivery.deliveryId} (workspace ${delivery.workspaceId}, job ${delivery.jobId}) dead-lettered after ${delivery.attempt} attempt(s): ${reason}`);
    }
  }

  /**
   * The finish call, tried again while Redis is away for up to a lease;
   * past that the lease has expired and another worker sends the delivery
   * again. undefined when it could not be recorded.
   */
  private async finish(item: DeliveryFinish): Promise<DeliveryResult | undefined> {
    const deadline = Date.now() + this.leaseMs;
    for (let wait = 100; ; wait = Math.min(1000, wait * 2)) {
      try {
        const [result] = await this.scripts.finishDeliveries([item], {
          retryPeriodMs: this.config.WEBHOOK_RETRY_PERIOD_MS,
          deadLetterMax: this.config.WEBHOOK_DEAD_LETTER_MAX,
          deadLetterTtlMs: this.config.WEBHOOK_DEAD_LETTER_TTL_SECONDS * 1000,
          failuresKept: WEBHOOK_FAILURES_KEPT,
        });
        return result;
      } catch (error) {
        if (!isRedisUnavailableError(error) || Date.now() > deadline) {
          this.logger.error(`webhook delivery ${item.delivery.deliveryId}: outcome not recorded (${(error as Error).message}); it will be sent again`);
          return undefined;
        }
        await sleep(wait);
      }
    }
  }

  private count(result: string, workspaceId: string, times = 1): void {
    this.counted.of(result, this.labels.label(workspaceId)).inc(times);
  }
}

function finishOf(delivery: ClaimedDelivery, sent: SendOutcome, delayMs: number): DeliveryFinish {
  if (sent.outcome === 'delivered') return { delivery, outcome: 'delivered', status: sent.status };
  if (sent.outcome === 'refused') return { delivery, outcome: 'refused', error: sent.error };
  return { delivery, outcome: 'failed', error: sent.error, status: sent.status, delayMs };
}
