import type { Redis } from 'ioredis';

/** Entries of the retry set or the dead-letter list read at most, per overview. */
export const MAX_ENTRIES_READ = 100_000;
const CHUNK = 1000;

export interface EntryCounts {
  /** Entries per workspace (the part of `<ws>:<job>` before the first colon). */
  byWorkspace: Map<string, number>;
  /** The structure held more than MAX_ENTRIES_READ entries: the counts cover only the first ones. */
  capped: boolean;
}

/**
 * Counts the queue entries (`<workspace>:<job>`) of the retry set or the
 * dead-letter list per workspace. Neither is kept per workspace, so each is
 * read in chunks (never in one reply that could block Redis), up to
 * `max` (MAX_ENTRIES_READ).
 */
export async function countEntriesByWorkspace(redis: Redis, key: string, kind: 'zset' | 'list', max = MAX_ENTRIES_READ): Promise<EntryCounts> {
  const byWorkspace = new Map<string, number>();
  for (let start = 0; start < max; start += CHUNK) {
    const stop = Math.min(start + CHUNK, max) - 1;
    const entries = kind === 'zset' ? await redis.zrange(key, String(start), String(stop)) : await redis.lrange(key, start, stop);
    for (const entry of entries) {
      const workspace = entry.slice(0, Math.max(0, entry.indexOf(':')));
      if (workspace) byWorkspace.set(workspace, (byWorkspace.get(workspace) ?? 0) + 1);
    }
    if (entries.length < stop - start + 1) return { byWorkspace, capped: false };
  }
  const size = kind === 'zset' ? await redis.zcard(key) : await redis.llen(key);
  return { byWorkspace, capped: size > max };
}
