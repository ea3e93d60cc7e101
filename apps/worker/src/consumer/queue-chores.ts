import type { Logger } from '@nestjs/common';
import { isRedisUnavailableError } from '@relay/redis';
import type { WorkQueue } from '@relay/queue';
import type { RelayMetrics } from '@relay/telemetry';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface QueueChoresDeps {
  queue: WorkQueue;
  metrics: RelayMetrics;
  /** The consumer's logger: these lines are the consumer's. */
  logger: Logger;
  /** The worker is shutting down. */
  stopping: () => boolean;
}

/**
 * What each worker does for the shared queue besides running its own jobs:
 * publishes its scheduling table, recovers the jobs of stopped workers, and
 * reports the queue's depth. Redis being away is not logged here (readiness
 * reports it).
 */
export class QueueChores {
  constructor(private readonly deps: QueueChoresDeps) {}

  /**
   * Claims read each workspace's weight and cap from Redis, so that every worker applies the same
   * ones; published at start-up, again until Redis takes it (claims meanwhile use what is stored).
   */
  async publishSchedule(overrides: Readonly<Record<string, { weight: number; maxRunning: number }>>): Promise<void> {
    const { queue, logger } = this.deps;
    for (let wait = 250; !this.deps.stopping(); wait = Math.min(5000, wait * 2)) {
      try {
        if (await queue.publishSchedule(overrides)) {
          logger.warn('WORKSPACE_LIMITS weights or caps differ from those another worker published; this worker\'s now apply (run every worker with the same settings)');
        }
        return;
      } catch (error) {
        if (!isRedisUnavailableError(error)) logger.error(`publishing WORKSPACE_LIMITS weights and caps failed: ${(error as Error).message}`);
        await sleep(wait);
      }
    }
  }

  /** One recovery pass (queue.recover), locked for `lockMs` against other workers' passes. */
  async recover(lockMs: number, retentionSeconds: number): Promise<void> {
    try {
      const result = await this.deps.queue.recover(lockMs, retentionSeconds);
      if (result && (result.expired > 0 || result.stalled > 0 || result.cancelled > 0)) this.deps.logger.warn(`recovered jobs of stopped workers: ${JSON.stringify(result)}`);
    } catch (error) {
      if (!isRedisUnavailableError(error)) this.deps.logger.error(`recovery failed: ${(error as Error).message}`);
    }
  }

  async reportDepth(): Promise<void> {
    try {
      await this.deps.queue.reportDepth();
      this.deps.metrics.queueOldestPendingAge.set(await this.deps.queue.oldestPendingSeconds());
    } catch {
      // Redis away: readiness reports it; the gauge keeps its last value.
    }
  }
}
