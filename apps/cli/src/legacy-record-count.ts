import { type Redis, RedisKeys } from '@relay/redis';

/** Keys per SCAN call: large, since only the count is kept. */
const COUNT_PER_CALL = 1000;

/**
 * The total `relay migrate backfill` shows progress against: the legacy
 * records, counted with a SCAN of their own while the backfill runs (so it
 * starts at once). An estimate: SCAN may return a key twice, and records
 * written meanwhile may or may not be seen. Undefined when `stopped()` says
 * the backfill ended first.
 */
export async function countLegacyRecords(redis: Redis, stopped: () => boolean): Promise<number | undefined> {
  let cursor = '0';
  let count = 0;
  do {
    if (stopped()) return undefined;
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${RedisKeys.legacyJobPrefix}*`, 'COUNT', COUNT_PER_CALL);
    count += keys.length;
    cursor = next;
  } while (cursor !== '0');
  return count;
}
