import { type Redis, RedisKeys } from '@relay/redis';
import type { QueueScripts } from '../scripts/queue-scripts.js';
import { scanBatches } from './scan-batches.js';

export interface IndexSweepResult {
  /** Legacy keys the pass looked at. */
  scanned: number;
  /** Predecessor records newly given index entries. */
  indexed: number;
  /** Predecessor records already indexed whose status entry was moved to their current status. */
  moved: number;
  /** Records skipped: invalid workspace id, job id or created_at. */
  invalid: number;
  /** Relay's own records (indexed when written), passed over. */
  relayOwn: number;
  /** Records skipped because an index key of another type was in the way (logged by the API). */
  failed: number;
  /** The SCAN cursor the pass started from ('0': the beginning). */
  resumedFrom: string;
}

/** How a pass of the shared sweep ended. */
export type SharedPassOutcome =
  | { outcome: 'complete'; result: IndexSweepResult }
  /** Another API process holds the sweep's lock: nothing done. */
  | { outcome: 'busy' }
  /** The lock lapsed mid-pass and another process took it: this one stopped, its checkpoint is the other's now. */
  | { outcome: 'lost'; result: IndexSweepResult }
  /** Stopped between batches at the caller's request (shutdown); the checkpoint keeps the place. */
  | { outcome: 'stopped'; result: IndexSweepResult }
  /** The predecessor was declared gone (`relay migrate index --final`): no pass runs. */
  | { outcome: 'final' };

export interface SharedPassOptions {
  /** This process's lock token. */
  token: string;
  /** Lock time while the pass goes on (extended by every batch). */
  lockMs: number;
  /** Lock time after a finished pass: the sweep interval, so no replica starts another sooner. */
  holdMs: number;
  /** Checked between batches. */
  shouldStop: () => boolean;
}

/**
 * One pass over `ai:jobs:*`: SCAN in batches, each batch indexed by the
 * indexLegacyJobs script. The SCAN costs time in proportion to the whole
 * keyspace, which is why passes are spaced by an interval and never run per
 * page. SCAN returns every key present for the whole pass at least once, and
 * the script is idempotent, so a key seen twice costs only time.
 */
export class LegacyIndexPass {
  constructor(
    private readonly redis: Redis,
    private readonly scripts: QueueScripts,
    private readonly batchSize = 500,
  ) {}

  /** On demand (`relay migrate index`): the whole keyspace from the start, beside the sweep's lock and checkpoint. */
  async full(): Promise<IndexSweepResult> {
    const result = emptyResult('0');
    for await (const batch of scanBatches(this.redis, `${RedisKeys.legacyJobPrefix}*`, '0', this.batchSize)) {
      const reply = await this.scripts.indexLegacyJobs(batch.keys, { token: '', lockMs: 0, nextCursor: batch.next, holdMs: 0 });
      if (reply !== 'lost') addBatch(result, batch.keys.length, reply);
    }
    return result;
  }

  /**
   * The API's sweep: one process at a time (a lock with expiry), resuming
   * from the checkpoint an earlier pass left, wherever it stopped.
   */
  async shared(options: SharedPassOptions): Promise<SharedPassOutcome> {
    if ((await this.redis.exists(RedisKeys.legacyIndexFinal)) === 1) return { outcome: 'final' };
    const taken = await this.redis.set(RedisKeys.legacyIndexLock, options.token, 'PX', options.lockMs, 'NX');
    // Still held from this process's last pass (the hold after a pass): ours to continue.
    if (taken === null && (await this.redis.get(RedisKeys.legacyIndexLock)) !== options.token) return { outcome: 'busy' };
    const from = (await this.redis.get(RedisKeys.legacyIndexCheckpoint)) ?? '0';
    const result = emptyResult(from);
    for await (const batch of scanBatches(this.redis, `${RedisKeys.legacyJobPrefix}*`, from, this.batchSize)) {
      const reply = await this.scripts.indexLegacyJobs(batch.keys, { token: options.token, lockMs: options.lockMs, nextCursor: batch.next, holdMs: options.holdMs });
      if (reply === 'lost') return { outcome: 'lost', result };
      addBatch(result, batch.keys.length, reply);
      if (batch.next !== '0' && options.shouldStop()) return { outcome: 'stopped', result };
    }
    return { outcome: 'complete', result };
  }
}

function emptyResult(resumedFrom: string): IndexSweepResult {
  return { scanned: 0, indexed: 0, moved: 0, invalid: 0, relayOwn: 0, failed: 0, resumedFrom };
}

function addBatch(result: IndexSweepResult, scanned: number, reply: Omit<IndexSweepResult, 'scanned' | 'resumedFrom'>): void {
  result.scanned += scanned;
  result.indexed += reply.indexed;
  result.moved += reply.moved;
  result.invalid += reply.invalid;
  result.relayOwn += reply.relayOwn;
  result.failed += reply.failed;
}
