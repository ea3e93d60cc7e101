import { Inject, Injectable, Logger } from '@nestjs/common';
import { Redis, RedisKeys, isRedisUnavailableError } from '@relay/redis';
import { QueueScripts } from '../scripts/queue-scripts.js';

export interface IndexSweepResult {
  scanned: number;
  indexed: number;
  invalid: number;
}

const LEGACY_INDEXED_MARKER = RedisKeys.legacyIndexedMarker;

/**
 * Records written by the predecessor system have no index entry, so lists
 * would not show them. This sweep (SCAN of `ai:jobs:*`, batches through one
 * Lua script) indexes them once; the API starts it at start-up while the
 * marker is absent, and list requests wait for a sweep in progress. The SCAN
 * costs time in proportion to the whole keyspace, which is why it runs once
 * and not per page.
 */
@Injectable()
export class LegacyIndexer {
  private readonly logger = new Logger(LegacyIndexer.name);
  private sweep?: Promise<void>;
  private done = false;
  private failedAt = 0;

  constructor(
    private readonly scripts: QueueScripts,
    @Inject(Redis) private readonly redis: Redis,
  ) {}

  /** Resolves once legacy records are indexed (at once when the marker says so). */
  async ensureIndexed(): Promise<void> {
    if (this.done) return;
    this.sweep ??= this.runOnce().finally(() => (this.sweep = undefined));
    return this.sweep;
  }

  /**
   * For list requests: waits for the sweep at most `ms`, never throws, and
   * after a failed sweep does not start another for 30 s. A list served
   * before the sweep ends may lack predecessor records, never Relay's own.
   */
  async waitBriefly(ms: number): Promise<void> {
    if (this.done || Date.now() - this.failedAt < 30000) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.ensureIndexed().catch(() => (this.failedAt = Date.now())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
  }

  private async runOnce(): Promise<void> {
    try {
      if ((await this.redis.exists(LEGACY_INDEXED_MARKER)) === 1) {
        this.done = true;
        return;
      }
      const result = await this.indexAll();
      await this.redis.set(LEGACY_INDEXED_MARKER, new Date().toISOString());
      this.done = true;
      if (result.scanned > 0) this.logger.log(`indexed legacy records: ${JSON.stringify(result)}`);
    } catch (error) {
      if (!isRedisUnavailableError(error)) this.logger.error(`legacy index sweep failed: ${(error as Error).message}`);
      throw error;
    }
  }

  /** One full pass over `ai:jobs:*`; idempotent. */
  async indexAll(batchSize = 500): Promise<IndexSweepResult> {
    const result: IndexSweepResult = { scanned: 0, indexed: 0, invalid: 0 };
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${RedisKeys.legacyJobPrefix}*`, 'COUNT', batchSize);
      cursor = next;
      if (keys.length === 0) continue;
      const { indexed, invalid } = await this.scripts.indexLegacyJobs(keys);
      result.scanned += keys.length;
      result.indexed += indexed;
      result.invalid += invalid;
    } while (cursor !== '0');
    return result;
  }
}
