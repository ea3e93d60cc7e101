import { Redis } from 'ioredis';
import { PrivateRedis } from './redis-server.js';

/**
 * The Redis of one e2e file: a redis-server of its own on a spare port
 * (PrivateRedis), so files running in parallel never see each other's keys,
 * a file may flush it freely, and a new file needs no number or name
 * reserved anywhere. Start it in beforeAll, stop it in afterAll (which
 * jest runs even when the file's tests or hooks failed; a server left
 * running all the same is stopped by global-teardown.js).
 *
 * jest-light-runner runs several files one after another in each worker
 * thread, and support modules are loaded once per thread, so nothing is kept
 * here between calls: every call starts a new server.
 */
export interface FileRedis {
  /** redis://127.0.0.1:<port> (database 0): for startApi, the CLI, REDIS_URL of child processes. */
  readonly url: string;
  /** A plain client on it, to seed and inspect. */
  readonly redis: Redis;
  readonly server: PrivateRedis;
  /** Disconnects the client and stops the server. */
  stop(): Promise<void>;
}

export async function fileRedis(): Promise<FileRedis> {
  const server = await PrivateRedis.start();
  const redis = new Redis(server.url);
  return {
    url: server.url,
    redis,
    server,
    stop: async () => {
      redis.disconnect();
      await server.stop();
    },
  };
}
