import { type Redis, RedisKeys } from '@relay/redis';
import { isValidWorkspaceId } from '@relay/workspace';
import { QUEUE_ENTRIES_READ_MAX } from './queue-depth.js';

export interface QueueWorkspaces {
  /** Workspace ids, sorted. */
  ids: string[];
  /** A structure held more than the entries read of it: workspaces found only past them are missing. */
  incomplete: boolean;
}

type Reading = { kind: 'ids' | 'counts' | 'entries'; size: number; items: string[] };

/**
 * The workspaces the queue holds anything for, without walking the
 * keyspace: those in the rotation (ready or capped), those with jobs
 * running (the running counts, and the leases, which workers of an earlier
 * release also write), and those named by an entry of the delayed set, the
 * retry set, the dead-letter list or the pending list (entries not yet
 * drained into a workspace queue, e.g. while no worker runs). At most `max`
 * members or entries of each are read (the pending list from its consuming
 * end, sets by due time); one round trip.
 */
export async function findQueueWorkspaces(redis: Redis, max = QUEUE_ENTRIES_READ_MAX): Promise<QueueWorkspaces> {
  const last = String(max - 1);
  const replies = await redis
    .pipeline()
    .zrange(RedisKeys.readyWorkspaces, '0', last)
    .zcard(RedisKeys.readyWorkspaces)
    .srandmember(RedisKeys.cappedWorkspaces, max)
    .scard(RedisKeys.cappedWorkspaces)
    .hrandfield(RedisKeys.runningCounts, max, 'WITHVALUES')
    .hlen(RedisKeys.runningCounts)
    .zrange(RedisKeys.leases, '0', last)
    .zcard(RedisKeys.leases)
    .zrange(RedisKeys.delayedQueue, '0', last)
    .zcard(RedisKeys.delayedQueue)
    .zrange(RedisKeys.retryQueue, '0', last)
    .zcard(RedisKeys.retryQueue)
    .lrange(RedisKeys.deadLetters, 0, max - 1)
    .llen(RedisKeys.deadLetters)
    .lrange(RedisKeys.pendingQueue, -max, -1)
    .llen(RedisKeys.pendingQueue)
    .exec();
  const values = (replies ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  });
  const kinds: Reading['kind'][] = ['ids', 'ids', 'counts', 'entries', 'entries', 'entries', 'entries', 'entries'];
  const readings: Reading[] = kinds.map((kind, i) => ({ kind, items: (values[2 * i] as string[] | null) ?? [], size: Number(values[2 * i + 1] ?? 0) }));

  const ids = new Set<string>();
  for (const { kind, items } of readings) for (const ws of workspacesIn(kind, items)) if (isValidWorkspaceId(ws)) ids.add(ws);
  return { ids: [...ids].sort(), incomplete: readings.some(({ size }) => size > max) };
}

/** Entries are `<workspace>:<job>` (a workspace id holds no `:`), leases `<entry>|<token>`; the running counts come as field, value pairs. */
function workspacesIn(kind: Reading['kind'], items: readonly string[]): string[] {
  switch (kind) {
    case 'ids':
      return [...items];
    case 'counts':
      // A count of 0 is a workspace that ran jobs and runs none now.
      return items.filter((_, i) => i % 2 === 0 && Number(items[i + 1]) > 0);
    case 'entries':
      return items.map((entry) => entry.slice(0, Math.max(0, entry.indexOf(':'))));
  }
}
