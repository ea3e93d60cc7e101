import type { Redis } from 'ioredis';
import { RedisKeys } from '@relay/redis';

/** The fields every event opens with, in this order (README "Event stream"). */
export const FIXED_EVENT_FIELDS = ['type', 'job_id', 'action', 'status', 'attempt', 'at'];

/** One stream entry as written: its id, its field names in order, and the fields by name. */
export interface StoredEvent {
  id: string;
  names: string[];
  f: Record<string, string>;
}

/**
 * A workspace's events, oldest first, read raw with XRANGE (the tests look at
 * what the scripts wrote, field order included; the API's reader is not theirs).
 */
export async function workspaceEvents(redis: Redis, workspaceId: string): Promise<StoredEvent[]> {
  const entries = await redis.xrange(RedisKeys.workspaceEvents(workspaceId), '-', '+');
  return entries.map(([id, flat]) => {
    const names = flat.filter((_, i) => i % 2 === 0);
    const f: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) f[flat[i]] = flat[i + 1];
    return { id, names, f };
  });
}

export async function jobEvents(redis: Redis, workspaceId: string, jobId: string): Promise<StoredEvent[]> {
  return (await workspaceEvents(redis, workspaceId)).filter((e) => e.f.job_id === jobId);
}

/** type/status/attempt of each event, for comparing a job's history at a glance. */
export const history = (events: StoredEvent[]) => events.map((e) => `${e.f.type}:${e.f.status}:${e.f.attempt}`);

/** Stream ids compare by their ms part, then their sequence. */
export function idBefore(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am < bm || (am === bm && as < bs);
}
