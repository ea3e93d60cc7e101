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
  /** Waiting to run now (delayed jobs and retries waiting out their backoff are not counted here). */
  pending: number;
  running: number;
  /** Not yet due (run_at or delay_ms, a rate limit, an action's Retry-After); the job reads `pending`, with its run_at. */
  delayed: number;
  /** Waiting out a retry backoff (the job reads `pending`, with its last error). */
  retrying: number;
  /** In the dead-letter list. */
  dead: number;
}

export interface QueueOverview {
  workspaces: WorkspaceQueues[];
  /** The whole queue, exact (list and set sizes). */
  totals: { pending: number; running: number; delayed: number; retrying: number; dead: number };
  /** More workspaces than the console lists (MAX_WORKSPACES). */
  workspaces_truncated: boolean;
  /** The delayed set, retry set or dead-letter list was too long to count per workspace in full (MAX_ENTRIES_READ). */
  counts_capped: boolean;
  generated_at: string;
}

/**
 * The console's queue table: per workspace, pending and running from the
 * workspace's status indexes (ZCARD each; pending less the workspace's
 * delayed and retrying jobs, whose status stays pending), delayed, retrying
 * and dead from the global delayed and retry sets and dead-letter list
 * (read in chunks, counted by the workspace part of each entry).
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
    const [discovered, delayed, retry, dead, totals] = await Promise.all([
      this.workspaces.get(),
      countEntriesByWorkspace(this.redis, RedisKeys.delayedQueue, 'zset'),
      countEntriesByWorkspace(this.redis, RedisKeys.retryQueue, 'zset'),
      countEntriesByWorkspace(this.redis, RedisKeys.deadLetters, 'list'),
      this.queue.depthTotals(),
    ]);
    // A workspace whose index is gone can still have dead letters, retries or delayed entries: it is listed too.
    const ids = [...new Set([...discovered.ids, ...delayed.byWorkspace.keys(), ...retry.byWorkspace.keys(), ...dead.byWorkspace.keys()])].sort();
    const pipeline = this.redis.pipeline();
    for (const ws of ids) pipeline.zcard(RedisKeys.workspaceStatusIndex(ws, 'pending')).zcard(RedisKeys.workspaceStatusIndex(ws, 'running'));
    const replies = ((await pipeline.exec()) ?? []).map(([error, n]) => zcardOrZero(error, n));
    const workspaces = ids.map((workspace_id, i) => {
      const waiting = { delayed: delayed.byWorkspace.get(workspace_id) ?? 0, retrying: retry.byWorkspace.get(workspace_id) ?? 0 };
      return {
        workspace_id,
        pending: Math.max(0, replies[2 * i] - waiting.delayed - waiting.retrying),
        running: replies[2 * i + 1],
        ...waiting,
        dead: dead.byWorkspace.get(workspace_id) ?? 0,
      };
    });
    return {
      workspaces,
      totals,
      workspaces_truncated: discovered.truncated,
      counts_capped: delayed.capped || retry.capped || dead.capped,
      generated_at: new Date().toISOString(),
    };
  }
}

/** A key of another type in the way (corruption) reads as 0 for that one count; any other failure (Redis away) fails the overview. */
function zcardOrZero(error: Error | null, n: unknown): number {
  if (error && !/WRONGTYPE/.test(error.message)) throw error;
  return error ? 0 : Number(n);
}
