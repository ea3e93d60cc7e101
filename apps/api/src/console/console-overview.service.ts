import { Inject, Injectable } from '@nestjs/common';
import { WorkQueue } from '@relay/queue';
import { Redis, RedisKeys } from '@relay/redis';
import { countEntriesByWorkspace } from './queue-entries.js';
import { ShortCache } from './short-cache.js';
import { WorkspaceDiscovery, type DiscoveredWorkspaces } from './workspace-discovery.js';

/** How long the overview (counts) and the list of workspaces (a keyspace SCAN) are reused. */
export const OVERVIEW_CACHE_MS = 2000;
export const WORKSPACES_CACHE_MS = 30_000;

export interface WorkspaceQueues {
  workspace_id: string;
  /** Waiting to run now (retries waiting out their backoff are not counted here). */
  pending: number;
  running: number;
  /** Waiting out a retry backoff (the job reads `pending`, with its last error). */
  retrying: number;
  /** In the dead-letter list. */
  dead: number;
}

export interface QueueOverview {
  workspaces: WorkspaceQueues[];
  /** The whole queue, exact (list and set sizes). */
  totals: { pending: number; running: number; retrying: number; dead: number };
  /** More workspaces than the console lists (MAX_WORKSPACES). */
  workspaces_truncated: boolean;
  /** The retry set or dead-letter list was too long to count per workspace in full (MAX_ENTRIES_READ). */
  counts_capped: boolean;
  generated_at: string;
}

/**
 * The console's queue table: per workspace, pending and running from the
 * workspace's status indexes (ZCARD each), retrying and dead from the
 * global retry set and dead-letter list (read in chunks, counted by the
 * workspace part of each entry).
 */
@Injectable()
export class ConsoleOverviewService {
  private readonly overview = new ShortCache(OVERVIEW_CACHE_MS, () => this.compute());
  private readonly workspaces: ShortCache<DiscoveredWorkspaces>;

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    private readonly queue: WorkQueue,
    discovery: WorkspaceDiscovery,
  ) {
    this.workspaces = new ShortCache(WORKSPACES_CACHE_MS, () => discovery.find());
  }

  get(): Promise<QueueOverview> {
    return this.overview.get();
  }

  private async compute(): Promise<QueueOverview> {
    const [discovered, retry, dead, totals] = await Promise.all([
      this.workspaces.get(),
      countEntriesByWorkspace(this.redis, RedisKeys.retryQueue, 'zset'),
      countEntriesByWorkspace(this.redis, RedisKeys.deadLetters, 'list'),
      this.queue.depthTotals(),
    ]);
    // A workspace whose index is gone can still have dead letters or retries: it is listed too.
    const ids = [...new Set([...discovered.ids, ...retry.byWorkspace.keys(), ...dead.byWorkspace.keys()])].sort();
    const pipeline = this.redis.pipeline();
    for (const ws of ids) pipeline.zcard(RedisKeys.workspaceStatusIndex(ws, 'pending')).zcard(RedisKeys.workspaceStatusIndex(ws, 'running'));
    const replies = ((await pipeline.exec()) ?? []).map(([error, n]) => zcardOrZero(error, n));
    const workspaces = ids.map((workspace_id, i) => {
      const retrying = retry.byWorkspace.get(workspace_id) ?? 0;
      return {
        workspace_id,
        pending: Math.max(0, replies[2 * i] - retrying),
        running: replies[2 * i + 1],
        retrying,
        dead: dead.byWorkspace.get(workspace_id) ?? 0,
      };
    });
    return {
      workspaces,
      totals,
      workspaces_truncated: discovered.truncated,
      counts_capped: retry.capped || dead.capped,
      generated_at: new Date().toISOString(),
    };
  }
}

/** A key of another type in the way (corruption) reads as 0 for that one count; any other failure (Redis away) fails the overview. */
function zcardOrZero(error: Error | null, n: unknown): number {
  if (error && !/WRONGTYPE/.test(error.message)) throw error;
  return error ? 0 : Number(n);
}
