import { Injectable } from '@nestjs/common';
import { MigrationStatusService, type MigrationStatus } from '@relay/queue';
import { ShortCache } from './short-cache.js';

/** How long one `relay migrate status` count is shown before the next request counts again. */
export const MIGRATION_STATUS_CACHE_MS = 15_000;

/**
 * `relay migrate status` for the console. It SCANs every job record of both
 * schemas (seconds on millions of jobs), so the console runs it only when
 * asked, and one count serves every request for MIGRATION_STATUS_CACHE_MS.
 */
@Injectable()
export class MigrationStatusCache {
  private readonly cache: ShortCache<{ status: MigrationStatus; computedAt: string }>;

  constructor(status: MigrationStatusService) {
    this.cache = new ShortCache(MIGRATION_STATUS_CACHE_MS, async () => ({ status: await status.run(), computedAt: new Date().toISOString() }));
  }

  get(): Promise<{ status: MigrationStatus; computedAt: string }> {
    return this.cache.get();
  }
}
