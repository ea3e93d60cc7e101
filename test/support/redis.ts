import { Redis } from 'ioredis';

/**
 * The Redis the suite uses: RELAY_TEST_REDIS_URL when set (global-setup sets
 * it when it had to start a private server), else the local default.
 */
export function testRedisBase(): string {
  return (process.env.RELAY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379').replace(/\/\d+$/, '');
}

export function testRedisUrl(db: number): string {
  return `${testRedisBase()}/${db}`;
}

/** A plain client on the file's own database, flushed so the file starts clean. */
export async function freshDatabase(db: number): Promise<Redis> {
  const redis = new Redis(testRedisUrl(db));
  await redis.flushdb();
  return redis;
}
