import { type Redis, RedisKeys } from '@relay/redis';

export interface QueueDepth {
  pending: number;
  running: number;
  retrying: number;
  dead: number;
}

export const QUEUE_STATES = ['pending', 'running', 'retrying', 'dead'] as const satisfies readonly (keyof QueueDepth)[];

/**
 * Retry entries read per report to tell whose retries they are (the retry
 * set is one sorted set for every workspace, scored by due time). Past this
 * many, a workspace's later retries count as its pending.
 */
export const RETRY_ENTRIES_READ_MAX = 10_000;

export interface DepthReading {
  /** The whole queue: the sizes of the pending list, the lease set, the retry set and the dead-letter list. */
  total: QueueDepth;
  /** Each requested workspace's own jobs. */
  byWorkspace: Map<string, QueueDepth>;
}

/**
 * Reads the queue's depth in one round trip. A workspace's own counts come
 * from its status indexes (one ZCARD each: `pending` jobs, waiting or
 * waiting for a retry; `running`; `failed`, which are exactly its dead
 * letters) and from reading the retry set for its retries. Nothing walks
 * the keyspace, and a workspace costs three ZCARDs.
 */
export async function readQueueDepth(redis: Redis, workspaces: readonly string[]): Promise<DepthReading> {
  const pipeline = redis.pipeline().llen(RedisKeys.pendingQueue).zcard(RedisKeys.leases).zcard(RedisKeys.retryQueue).llen(RedisKeys.deadLetters);
  for (const ws of workspaces) {
    for (const status of ['pending', 'running', 'failed']) pipeline.zcard(RedisKeys.workspaceStatusIndex(ws, status));
  }
  if (workspaces.length > 0) pipeline.zrange(RedisKeys.retryQueue, 0, String(RETRY_ENTRIES_READ_MAX - 1));
  const replies = (await pipeline.exec()) ?? [];
  const values = replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
  const count = (i: number) => Number(values[i] ?? 0);
  const total: QueueDepth = { pending: count(0), running: count(1), retrying: count(2), dead: count(3) };

  const retries = retriesByWorkspace((values[4 + 3 * workspaces.length] as string[] | undefined) ?? []);
  const byWorkspace = new Map<string, QueueDepth>();
  workspaces.forEach((ws, i) => {
    const base = 4 + 3 * i;
    const retrying = retries.get(ws) ?? 0;
    byWorkspace.set(ws, { pending: Math.max(0, count(base) - retrying), running: count(base + 1), retrying, dead: count(base + 2) });
  });
  return { total, byWorkspace };
}

/** Retry entries are `<workspace>:<job>`; a workspace id holds no `:`. */
function retriesByWorkspace(entries: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of entries) {
    const ws = entry.slice(0, entry.indexOf(':'));
    counts.set(ws, (counts.get(ws) ?? 0) + 1);
  }
  return counts;
}
