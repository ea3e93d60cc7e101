import { Inject, Injectable } from '@nestjs/common';
import { Redis, RedisKeys } from '@relay/redis';
import { QueueScripts } from '../scripts/queue-scripts.js';
import { JobStore } from '../store/job-store.js';
import type { StorageStrategy } from '../store/storage-strategy.js';
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
  /**
   * Hashes at `ai:job:<id>` (two segments: no workspace). Relay's keys are
   * `ai:jobs:<id>` and `ai:job:<ws>:<id>`; these are most likely predecessor
   * records written under the singular prefix, which Relay neither reads,
   * lists nor migrates. Up to 10 sample keys.
   */
  singularLegacyKeys: { count: number; samples: string[] };
  /** The API's sweep of predecessor records (README "Migration runbook"). */
  legacyIndex: { lastPass: string | null; checkpoint: string | null; final: string | null };
}

/** `relay migrate status`: counts per schema, jobs only in one schema, the phase the flags describe. */
@Injectable()
export class MigrationStatusService {
  constructor(
    private readonly scripts: QueueScripts,
    @Inject(Redis) private readonly redis: Redis,
    private readonly store: JobStore,
  ) {}

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
      singularLegacyKeys: { count: 0, samples: [] },
      legacyIndex: {
        lastPass: await this.redis.get(RedisKeys.legacyIndexedMarker),
        checkpoint: await this.redis.get(RedisKeys.legacyIndexCheckpoint),
        final: await this.redis.get(RedisKeys.legacyIndexFinal),
      },
    };
    for await (const { keys } of scanBatches(this.redis, `${RedisKeys.legacyJobPrefix}*`, '0', batchSize)) {
      if (keys.length === 0) continue;
      const { matching, missing, diverged, invalid } = await this.scripts.compareJobs(keys);
      status.legacyRecords += matching + missing.length + diverged.length + invalid.length;
      status.legacyOnly += missing.length + invalid.length;
    }
    for await (const { keys } of scanBatches(this.redis, `${RedisKeys.scopedJobPrefix}*`, '0', batchSize)) {
      if (keys.length === 0) continue;
      const { withLegacy, scopedOnly } = await this.scripts.countScopedOnly(keys);
      status.scopedRecords += withLegacy + scopedOnly.length;
      status.scopedOnly += scopedOnly.length;
      await this.countSingularLegacyKeys(keys, status.singularLegacyKeys);
    }
    return status;
  }

  /** Of a batch of `ai:job:*` keys, the hashes with nothing after the prefix but an id (a job id holds no ':'). */
  private async countSingularLegacyKeys(keys: string[], into: MigrationStatus['singularLegacyKeys']): Promise<void> {
    const twoSegments = keys.filter((key) => {
      const rest = key.slice(RedisKeys.scopedJobPrefix.length);
      return rest !== '' && !rest.includes(':');
    });
    if (twoSegments.length === 0) return;
    const types = await Promise.all(twoSegments.map((key) => this.redis.type(key)));
    twoSegments.forEach((key, i) => {
      if (types[i] !== 'hash') return;
      into.count += 1;
      if (into.samples.length < 10) into.samples.push(key);
    });
  }
}
