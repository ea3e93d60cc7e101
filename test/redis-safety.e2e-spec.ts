import { Redis } from 'ioredis';
import { spawnApp, waitAppReady, type AppName } from './support/app-process.js';
import { freePort, PrivateRedis } from './support/redis-server.js';

/**
 * Issue 12, points 1 and 2: Relay on a Redis that may evict, and on a full
 * Redis. Real API and worker processes on a private redis-server whose
 * settings the test changes (CONFIG SET), never the machine's Redis.
 */
describe('Redis safety: eviction policy and a full Redis', () => {
  let server: PrivateRedis;
  let admin: Redis;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  const env = async (name: AppName, extra: Record<string, string> = {}) => ({
    REDIS_URL: server.url,
    ACTION_ALLOWLIST: 'debug.*',
    [name === 'api' ? 'PORT' : 'WORKER_PORT']: String(await freePort()),
    ...extra,
  });

  describe.each(['api', 'worker'] as const)('the %s, with maxmemory-policy allkeys-lru', (name) => {
    beforeAll(async () => {
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    });
    afterAll(async () => {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
    });

    it('refuses to start: exit 2, naming maxmemory-policy and REDIS_ALLOW_EVICTION', async () => {
      const app = spawnApp(name, await env(name));
      const exit = await app.exited;
      expect(exit.code).toBe(2);
      expect(app.output()).toMatch(/maxmemory-policy is allkeys-lru/);
      expect(app.output()).toMatch(/REDIS_ALLOW_EVICTION=on/);
    });

    it('starts with REDIS_ALLOW_EVICTION=on, warning that keys may be evicted', async () => {
      const app = spawnApp(name, await env(name, { REDIS_ALLOW_EVICTION: 'on' }));
      try {
        await waitAppReady(app);
        expect(app.output()).toMatch(/maxmemory-policy is allkeys-lru: a full Redis may evict/);
      } finally {
        app.child.kill('SIGTERM');
        await app.exited;
      }
    });
  });
});
