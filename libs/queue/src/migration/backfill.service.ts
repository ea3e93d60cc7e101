import { Inject, Injectable } from '@nestjs/common';
import { Redis, RedisKeys } from '@relay/redis';
import { QueueScripts } from '../scripts/queue-scripts.js';
import { scanBatches } from './scan-batches.js';

export interface BackfillOptions {
  dryRun?: boolean;
  /** Records per second at most (0: no limit). */
  rate?: number;
  batchSize?: number;
  /** Ignore a saved checkpoint and scan from the start. */
  restart?: boolean;
  onProgress?: (totals: BackfillTotals) => void;
}

export interface BackfillTotals {
  scanned: number;
  copied: number;
  skipped: number;
  invalid: number;
  /** Up to 20 legacy keys that could not be migrated (invalid workspace id, job id or created_at). */
  invalidSamples: string[];
  resumedFrom: string;
  dryRun: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `relay migrate backfill`: copies legacy records to the workspace-scoped
 * schema and indexes them, batch by batch through one Lua script. After each
 * batch the SCAN cursor and running totals are saved, so a killed run
 * resumes where it stopped; re-running is harmless (a scoped copy at least as
 * new is never overwritten).
 */
@Injectable()
export class BackfillService {
  constructor(
    private readonly scripts: QueueScripts,
    @Inject(Redis) private readonly redis: Redis,
  ) {}

  async run(options: BackfillOptions = {}): Promise<BackfillTotals> {
    const dryRun = options.dryRun ?? false;
    if (options.restart && !dryRun) await this.redis.del(RedisKeys.backfillCheckpoint, RedisKeys.backfillProgress);
    const from = (!dryRun && (await this.redis.get(RedisKeys.backfillCheckpoint))) || '0';
    const saved = from !== '0' ? await this.redis.hgetall(RedisKeys.backfillProgress) : {};
    const totals: BackfillTotals = {
      scanned: Number(saved.scanned ?? 0),
      copied: Number(saved.copied ?? 0),
      skipped: Number(saved.skipped ?? 0),
      invalid: Number(saved.invalid ?? 0),
      invalidSamples: saved.invalid_samples ? (JSON.parse(saved.invalid_samples) as string[]) : [],
      resumedFrom: from,
      dryRun,
    };
    const started = Date.now();
    let sinceStart = 0;
    for await (const batch of scanBatches(this.redis, `${RedisKeys.legacyJobPrefix}*`, from, options.batchSize ?? 500)) {
      if (batch.keys.length > 0) {
        const { copied, skipped, invalid, invalidKeys } = await this.scripts.backfillJobs(batch.keys, dryRun);
        totals.scanned += batch.keys.length;
        totals.copied += copied;
        totals.skipped += skipped;
        totals.invalid += invalid;
        for (const key of invalidKeys) if (totals.invalidSamples.length < 20) totals.invalidSamples.push(key);
        sinceStart += batch.keys.length;
      }
      if (!dryRun) {
        await this.redis
          .multi()
          .set(RedisKeys.backfillCheckpoint, batch.next)
          .hset(RedisKeys.backfillProgress, {
            scanned: totals.scanned,
            copied: totals.copied,
            skipped: totals.skipped,
            invalid: totals.invalid,
            invalid_samples: JSON.stringify(totals.invalidSamples),
          })
          .exec();
      }
      options.onProgress?.(totals);
      if (options.rate && options.rate > 0) {
        const due = started + (sinceStart / options.rate) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    }
    if (!dryRun) await this.redis.del(RedisKeys.backfillCheckpoint, RedisKeys.backfillProgress);
    return totals;
  }
}
