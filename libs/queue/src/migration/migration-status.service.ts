import { Inject, Injectable } from '@nestjs/common';
import { Redis, RedisKeys } from '@relay/redis';
import { jobScripts, type JobScripts } from '../job-scripts.js';
import { JobStore } from '../job-store.js';
import type { StorageStrategy } from '../storage-strategy.js';
import { scanBatches } from './scan-batches.js';

export interface MigrationStatus {
  phase: StorageStrategy['phase'];
  strategy: StorageStrategy;
  legacyRecords: number;
  scopedRecords: number;
  /** Legacy records with no scoped copy (what backfill still has to copy, plus invalid ones). */
  legacyOnly: number;
  /** Scoped records with no legacy copy. */
  scopedOnly: number;
  backfill: { checkpoint: string | null; progress: Record<string, string> };
}

/** `relay migrate status`: counts per schema, jobs only in one schema, the phase the flags describe. */
@Injectable()
export class MigrationStatusService {
  private readonly scripts: JobScripts;

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    private readonly store: JobStore,
  ) {
    this.scripts = jobScripts(redis);
  }

  async run(batchSize = 500): Promise<MigrationStatus> {
    const status: MigrationStatus = {
      phase: this.store.strategy.phase,
      strategy: this.store.strategy,
      legacyRecords: 0,
      scopedRecords: 0,
      legacyOnly: 0,
      scopedOnly: 0,
      backfill: {
        checkpoint: await this.redis.get(RedisKeys.backfillCheckpoint),
        progress: await this.redis.hgetall(RedisKeys.backfillProgress),
      },
    };
    for await (const { keys } of scanBatches(this.redis, `${RedisKeys.legacyJobPrefix}*`, '0', batchSize)) {
      if (keys.length === 0) continue;
      const [matching, missing, diverged, invalid] = (await this.scripts.compareJobs(keys, [])) as [number, string[], string[], string[]];
      status.legacyRecords += matching + missing.length + diverged.length + invalid.length;
      status.legacyOnly += missing.length + invalid.length;
    }
    for await (const { keys } of scanBatches(this.redis, `${RedisKeys.scopedJobPrefix}*`, '0', batchSize)) {
      if (keys.length === 0) continue;
      const [both, only] = (await this.scripts.countScopedOnly(keys, [])) as [number, string[]];
      status.scopedRecords += both + only.length;
      status.scopedOnly += only.length;
    }
    return status;
  }
}
