import { Inject, Injectable } from '@nestjs/common';
import { Redis, RedisKeys } from '@relay/redis';
import { QueueScripts } from '../scripts/queue-scripts.js';
import { scanBatches } from './scan-batches.js';

export interface VerifyReport {
  legacyRecords: number;
  matching: number;
  /** Legacy records with no scoped copy. */
  missingScoped: number;
  /** Records whose copies differ in at least one field. */
  diverged: number;
  /** Legacy records that cannot be migrated (reported, not a divergence). */
  invalid: number;
  /** Scoped records with no legacy copy (normal once legacy writes are off). */
  scopedOnly: number;
  samples: { missingScoped: string[]; diverged: string[]; invalid: string[] };
  clean: boolean;
}

const SAMPLE = 20;

/**
 * `relay migrate verify`: compares every legacy record with its scoped copy,
 * field by field. Clean means no legacy record lacks its scoped copy and no
 * pair differs; diverging job ids are named (up to 20 per kind).
 */
@Injectable()
export class VerifyService {
  constructor(
    private readonly scripts: QueueScripts,
    @Inject(Redis) private readonly redis: Redis,
  ) {}

  async run(batchSize = 500): Promise<VerifyReport> {
    const report: VerifyReport = {
      legacyRecords: 0,
      matching: 0,
      missingScoped: 0,
      diverged: 0,
      invalid: 0,
      scopedOnly: 0,
      samples: { missingScoped: [], diverged: [], invalid: [] },
      clean: false,
    };
    const sample = (list: string[], items: string[]) => list.push(...items.slice(0, Math.max(0, SAMPLE - list.length)));
    for await (const { keys } of scanBatches(this.redis, `${RedisKeys.legacyJobPrefix}*`, '0', batchSize)) {
      if (keys.length === 0) continue;
      const { matching, missing, diverged, invalid } = await this.scripts.compareJobs(keys);
      report.legacyRecords += matching + missing.length + diverged.length + invalid.length;
      report.matching += matching;
      report.missingScoped += missing.length;
      report.diverged += diverged.length;
      report.invalid += invalid.length;
      sample(report.samples.missingScoped, missing);
      sample(report.samples.diverged, diverged);
      sample(report.samples.invalid, invalid);
    }
    for await (const { keys } of scanBatches(this.redis, `${RedisKeys.scopedJobPrefix}*`, '0', batchSize)) {
      if (keys.length === 0) continue;
      const { scopedOnly } = await this.scripts.countScopedOnly(keys);
      report.scopedOnly += scopedOnly.length;
    }
    report.clean = report.missingScoped === 0 && report.diverged === 0;
    return report;
  }
}
