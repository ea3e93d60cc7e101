import { closeSync, existsSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import { ErrorCode, RelayError } from '@relay/errors';
import { Redis, RedisKeys } from '@relay/redis';
import { QueueScripts } from '../scripts/queue-scripts.js';
import { JobStore } from '../store/job-store.js';
import { scanBatches } from './scan-batches.js';
import { VerifyService, type VerifyReport } from './verify.service.js';

/**
 * Cleanup refused before it changed anything: code InvalidConfiguration when
 * the flags or options do not allow it, CheckFailed when verify is not clean
 * (with its report).
 */
export class CleanupRefusedError extends RelayError {
  constructor(
    code: ErrorCode.InvalidConfiguration | ErrorCode.CheckFailed,
    message: string,
    readonly verify?: VerifyReport,
  ) {
    super(code, message);
    this.name = 'CleanupRefusedError';
  }
}

export interface CleanupReport {
  archive: string | null;
  archived: number;
  deleted: number;
  /** Legacy keys kept because no scoped copy exists (should be none after a clean verify). */
  kept: string[];
  dryRun: boolean;
}

/**
 * `relay migrate cleanup` (phase 4 only): refuses while legacy writes are on
 * or verify is not clean; otherwise archives every legacy record to a
 * JSON-lines file (key, remaining TTL, fields; written and fsynced before
 * anything is deleted) and deletes the archived records.
 */
@Injectable()
export class CleanupService {
  constructor(
    private readonly scripts: QueueScripts,
    @Inject(Redis) private readonly redis: Redis,
    private readonly store: JobStore,
    private readonly verify: VerifyService,
  ) {}

  async run(archivePath: string, options: { dryRun?: boolean; batchSize?: number } = {}): Promise<CleanupReport> {
    if (this.store.strategy.writes !== 'scoped') {
      throw new CleanupRefusedError(ErrorCode.InvalidConfiguration, 'cleanup runs only in phase 4: set AI_JOBS_LEGACY_WRITES=off (and restart the services) first');
    }
    if (!options.dryRun && existsSync(archivePath)) {
      throw new CleanupRefusedError(ErrorCode.InvalidConfiguration, `archive file ${archivePath} already exists; name a new one with --archive`);
    }
    const verify = await this.verify.run();
    if (!verify.clean) throw new CleanupRefusedError(ErrorCode.CheckFailed, 'verify is not clean: run backfill, then verify, before cleanup', verify);

    const dryRun = options.dryRun ?? false;
    const report: CleanupReport = { archive: dryRun ? null : archivePath, archived: 0, deleted: 0, kept: [], dryRun };
    // 'wx': never overwrite an earlier archive.
    const fd = dryRun ? undefined : openSync(archivePath, 'wx', 0o600);
    try {
      for await (const { keys } of scanBatches(this.redis, `${RedisKeys.legacyJobPrefix}*`, '0', options.batchSize ?? 500)) {
        if (keys.length === 0) continue;
        const pipeline = this.redis.pipeline();
        for (const key of keys) pipeline.hgetall(key).pttl(key);
        const replies = (await pipeline.exec()) ?? [];
        const lines: string[] = [];
        keys.forEach((key, i) => {
          const fields = replies[2 * i]?.[1] as Record<string, string> | undefined;
          if (fields && Object.keys(fields).length > 0) lines.push(JSON.stringify({ key, ttl_ms: replies[2 * i + 1]?.[1], fields }));
        });
        report.archived += lines.length;
        if (fd === undefined) continue;
        if (lines.length > 0) {
          writeSync(fd, `${lines.join('\n')}\n`);
          fsyncSync(fd);
        }
        const { deleted, kept } = await this.scripts.deleteLegacy(keys);
        report.deleted += deleted;
        report.kept.push(...kept);
      }
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return report;
  }
}
