import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { Redis, RedisKeys, isRedisUnavailableError } from '@relay/redis';
import { QueueScripts } from '../scripts/queue-scripts.js';
import { JobStore } from '../store/job-store.js';
import { LegacyIndexPass, type IndexSweepResult, type SharedPassOutcome } from './legacy-index-pass.js';
import { settledWithin } from '../settled-within.js';

export type { IndexSweepResult } from './legacy-index-pass.js';

/** After a failed pass, lists stop waiting and the next pass comes at most this much later. */
const RETRY_AFTER_FAILURE_MS = 30000;
/** While no pass has finished yet and another process sweeps, look again this often (lists wait for it). */
const FIRST_PASS_POLL_MS = 1000;

/**
 * Records written by the predecessor system have no index entry, so lists
 * would not show them, and its processes may go on writing for a while after
 * Relay starts (a rolling deploy, a straggler cron). The API therefore
 * sweeps `ai:jobs:*` from start-up and again every LEGACY_INDEX_INTERVAL_MS
 * until the operator declares the predecessor gone (`relay migrate index
 * --final`). One API process sweeps at a time; a pass resumes from the
 * checkpoint where an earlier one stopped. Lists wait briefly for the first
 * finished pass only, and phases that read only the scoped schema do not
 * sweep: nothing they list comes from legacy records.
 */
@Injectable()
export class LegacyIndexer implements OnModuleDestroy {
  private readonly logger = new Logger(LegacyIndexer.name);
  private readonly token = randomUUID();
  private readonly pass: LegacyIndexPass;
  private readonly intervalMs: number;
  private readonly lockMs: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private started = false;
  private stopped = false;
  private failedAt = 0;
  private firstPassSeen = false;
  private resolveFirstPass!: () => void;
  private readonly firstPass = new Promise<void>((resolve) => (this.resolveFirstPass = resolve));

  constructor(
    scripts: QueueScripts,
    @Inject(Redis) private readonly redis: Redis,
    config: RelayConfig,
    private readonly store: JobStore,
  ) {
    this.pass = new LegacyIndexPass(redis, scripts);
    this.intervalMs = config.LEGACY_INDEX_INTERVAL_MS;
    // Batches come every few milliseconds; the lock outlives a few slow commands, not a dead process for long.
    this.lockMs = Math.max(10000, 4 * config.REDIS_COMMAND_TIMEOUT_MS);
  }

  /** The API's start-up: the first pass at once, then one every interval. */
  startSweeping(): void {
    if (this.started) return;
    this.started = true;
    if (this.store.strategy.reads === 'scoped') return this.sawFirstPass();
    this.schedule(0);
  }

  /**
   * For list requests: waits at most `ms` for the first finished pass, never
   * throws, and does not wait for 30 s after a failed pass. A page served
   * before it may lack predecessor records, never Relay's own.
   */
  async waitBriefly(ms: number): Promise<void> {
    if (!this.started || this.firstPassSeen || Date.now() - this.failedAt < RETRY_AFTER_FAILURE_MS) return;
    await settledWithin(this.firstPass, ms);
  }

  /** One pass of the shared sweep now, as this process (what every tick runs), after any pass of this process in progress. */
  async sweepOnce(): Promise<SharedPassOutcome['outcome']> {
    const previous = this.running?.catch(() => undefined);
    const running = (async () => {
      await previous;
      if (!this.firstPassSeen && (await this.redis.exists(RedisKeys.legacyIndexedMarker)) === 1) this.sawFirstPass();
      return this.pass.shared({ token: this.token, lockMs: this.lockMs, holdMs: this.intervalMs, shouldStop: () => this.stopped });
    })();
    this.running = running;
    const ended = await running;
    if (ended.outcome === 'complete' || ended.outcome === 'final') this.sawFirstPass();
    if (ended.outcome === 'complete' || ended.outcome === 'lost' || ended.outcome === 'stopped') {
      const { indexed, moved, failed } = ended.result;
      if (failed > 0) this.logger.warn(`legacy index sweep: ${failed} record(s) skipped, an index key of another type is in the way: ${JSON.stringify(ended.result)}`);
      else if (indexed + moved > 0) this.logger.log(`indexed predecessor records: ${JSON.stringify(ended.result)}`);
    }
    return ended.outcome;
  }

  /**
   * `relay migrate index`: one whole pass now. With `final`, the predecessor
   * is declared gone afterwards: no API sweeps again (the marker is read at
   * the start of every pass) and the sweep's checkpoint is dropped.
   */
  async indexAll(options: { final?: boolean } = {}): Promise<IndexSweepResult> {
    const result = await this.pass.full();
    if (options.final) {
      await this.redis.multi().set(RedisKeys.legacyIndexFinal, new Date().toISOString()).del(RedisKeys.legacyIndexCheckpoint).exec();
    }
    return result;
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let next = this.intervalMs;
    try {
      const outcome = await this.sweepOnce();
      if (outcome === 'final') return this.logger.log('the predecessor was declared gone (relay migrate index --final): legacy index sweeps stopped');
      if (outcome === 'busy' && !this.firstPassSeen) next = Math.min(next, FIRST_PASS_POLL_MS);
    } catch (error) {
      if (!isRedisUnavailableError(error)) this.logger.error(`legacy index sweep failed: ${(error as Error).message}`);
      this.failedAt = Date.now();
      next = Math.min(next, RETRY_AFTER_FAILURE_MS);
    }
    this.schedule(next);
  }

  private sawFirstPass(): void {
    this.firstPassSeen = true;
    this.resolveFirstPass();
  }
}
