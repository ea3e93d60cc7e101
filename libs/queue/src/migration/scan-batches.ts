import type { Redis } from 'ioredis';

export interface ScanBatch {
  keys: string[];
  /** The cursor to resume from after this batch ('0' when the scan is complete). */
  next: string;
}

/**
 * SCAN MATCH in batches, from a cursor (a saved checkpoint resumes a scan).
 * SCAN returns every key present for the whole scan at least once, so each
 * consumer here is idempotent per key.
 */
export async function* scanBatches(redis: Redis, match: string, from = '0', count = 500): AsyncGenerator<ScanBatch> {
  let cursor = from;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', count);
    cursor = next;
    yield { keys, next };
  } while (cursor !== '0');
}
