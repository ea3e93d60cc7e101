import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RelayMetrics } from '@relay/telemetry';
import { createWorkerApp } from '../apps/worker/src/worker.app.js';
import { BUILT_INS, CapturingLogger, startApi } from './support/api-harness.js';
import { spawnApp, waitAppReady, type AppName } from './support/app-process.js';
import { expectEventually } from './support/expect-eventually.js';
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
        await waitAppReady(app); // readiness is 200: the operator accepted the risk
        expect(app.output()).toMatch(/maxmemory-policy is allkeys-lru: a full Redis may evict/);
        // ...and the metric keeps saying so.
        const metrics = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text();
        expect(metrics).toMatch(/^relay_redis_may_evict 1$/m);
      } finally {
        app.child.kill('SIGTERM');
        await app.exited;
      }
    });
  });

  it('a maxmemory-policy changed to an evicting one at run time makes readiness 503, naming it', async () => {
    const api = await startApi(server.url, { HEALTH_READY_PROBE_INTERVAL_MS: '100' });
    try {
      expect((await api.http.get('/health/ready')).status).toBe(200);
      await admin.config('SET', 'maxmemory-policy', 'volatile-lru');
      await expectEventually(async () => {
        const ready = await api.http.get('/health/ready');
        expect([ready.status, ready.body.message]).toEqual([503, ['redis: Redis maxmemory-policy is volatile-lru: it may evict jobs (set noeviction, or REDIS_ALLOW_EVICTION=on)']]);
      });
      expect((await api.http.get('/metrics')).text).toMatch(/^relay_redis_may_evict 1$/m);
    } finally {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await api.close();
    }
  });

  describe('a full Redis (noeviction, used memory at maxmemory)', () => {
    it('writes are 503 with Retry-After and their own reason, reads keep working, readiness and metrics say so, the worker backs off quietly; all recover when memory is freed', async () => {
      const api = await startApi(server.url, { HEALTH_READY_PROBE_INTERVAL_MS: '100' });
      let worker: INestApplication | undefined;
      const workerLogs = new CapturingLogger();
      try {
        const key = await api.key('acme');
        const auth = { Authorization: `Bearer ${key}` };
        const metrics = api.app.get(RelayMetrics);
        const counted = async (metric: 'unavailableResponses' | 'workerBackoffs', reason: string) =>
          (await metrics[metric].get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
        const before = { api: await counted('unavailableResponses', 'redis_oom'), worker: await counted('workerBackoffs', 'redis_oom') };
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          const res = await api.http.post('/ai/jobs').set(auth).send({ action: 'debug.echo', params: { i } });
          expect(res.status).toBe(202);
          ids.push(res.body.job_id);
        }
        expect((await api.http.get('/health/ready')).status).toBe(200);

        // Full: maxmemory well below what Redis uses now (usage moves a little with client buffers).
        const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
        await admin.config('SET', 'maxmemory', String(Math.floor(used / 2)));

        const refused = await api.http.post('/ai/jobs').set(auth).send({ action: 'debug.echo', params: {} });
        expect([refused.status, refused.headers['retry-after'], refused.body.message]).toEqual([503, '1', 'storage is full and refuses writes; retry later']);
        // Reads need no write: the rate limit fails open for them.
        expect((await api.http.get(`/ai/jobs/${ids[0]}`).set(auth)).status).toBe(200);
        const listed = await api.http.get('/ai/jobs').set(auth);
        expect([listed.status, listed.body.items.length]).toEqual([200, 3]);
        await expectEventually(async () => {
          const ready = await api.http.get('/health/ready');
          expect(ready.status).toBe(503);
          expect(JSON.stringify(ready.body)).toMatch(/Redis refuses writes/);
        });
        const exposition = (await api.http.get('/metrics')).text;
        expect(exposition).toMatch(/^relay_redis_refusing_writes 1$/m);
        expect((await counted('unavailableResponses', 'redis_oom')) - before.api).toBe(1);

        // A worker started now: Redis refuses its waits for new work (BLMOVE needs memory), so it backs off,
        // counts it, and logs nothing per attempt. (A script that popped an entry has written, and Redis lets
        // its further writes through: jobs already queued may still run.)
        worker = await createWorkerApp({ REDIS_URL: server.url, ACTION_ALLOWLIST: BUILT_INS, WORKER_SHUTDOWN_GRACE_MS: '200' }, workerLogs);
        await worker.init();
        await expectEventually(async () => expect((await counted('workerBackoffs', 'redis_oom')) - before.worker).toBeGreaterThanOrEqual(2), 5000);
        expect(workerLogs.lines.filter((l) => /OOM|claim failed/.test(l))).toEqual([]);

        // Memory freed: everything serves again, without a restart.
        await admin.config('SET', 'maxmemory', '0');
        await expectEventually(async () => expect(await Promise.all(ids.map((id) => admin.hget(`ai:jobs:${id}`, 'status')))).toEqual(['succeeded', 'succeeded', 'succeeded']), 10_000);
        expect((await api.http.post('/ai/jobs').set(auth).send({ action: 'debug.echo', params: {} })).status).toBe(202);
        await expectEventually(async () => expect((await api.http.get('/health/ready')).status).toBe(200));
        expect((await api.http.get('/metrics')).text).toMatch(/^relay_redis_refusing_writes 0$/m);
      } finally {
        await admin.config('SET', 'maxmemory', '0');
        await worker?.close();
        await api.close();
      }
    });
  });
});
