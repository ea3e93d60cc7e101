import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RedisKeys } from '@relay/redis';
import { BUILT_INS, startApi, type ApiHarness } from './support/api-harness.js';
import { killAllApps, spawnApp, stopApp, waitAppReady, type AppProcess } from './support/app-process.js';
import { expectEventually } from './support/expect-eventually.js';
import { freePort } from './support/redis-server.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 17, point 2: WORKER_PREFETCH (README "Prefetch"). A prefetched job is
 * leased to its worker but still pending: no started_at, attempts unchanged,
 * until the worker starts it in a free slot. Real worker processes on the
 * file's own Redis; one slow job holds the only slot while the rest wait
 * prefetched behind it.
 */
describe('WORKER_PREFETCH: jobs held claimed but not started', () => {
  let r: FileRedis;
  let api: ApiHarness;
  let key: string;
  const WS = 'acme';

  beforeAll(async () => {
    r = await fileRedis();
    api = await startApi(r.url, { RATE_LIMIT_MAX: '0' });
    key = await api.key(WS);
  });
  afterAll(async () => {
    await killAllApps();
    await api.close();
    await r.stop();
  });
  beforeEach(async () => {
    await r.redis.flushdb();
    key = await api.key(WS);
  });

  async function submit(action: string, params: Record<string, unknown>): Promise<string> {
    const res = await api.http.post('/ai/jobs').set({ Authorization: `Bearer ${key}` }).send({ action, params });
    expect(res.status).toBe(202);
    return res.body.job_id;
  }
  const record = (id: string) => r.redis.hgetall(RedisKeys.legacyJob(id));
  const leased = async () => (await r.redis.zrange(RedisKeys.leases, '0', '-1')).map((lease) => lease.slice(WS.length + 1, lease.indexOf('|')));

  async function worker(env: Record<string, string> = {}): Promise<AppProcess> {
    const app = spawnApp('worker', {
      REDIS_URL: r.url,
      WORKER_PORT: String(await freePort()),
      ACTION_ALLOWLIST: BUILT_INS,
      LOG_LEVEL: 'warn',
      WORKER_CONCURRENCY: '1',
      WORKER_PREFETCH: '3',
      WORKER_LEASE_MS: '1500',
      WORKER_SHUTDOWN_GRACE_MS: '10000',
      ...env,
    });
    await waitAppReady(app);
    return app;
  }

  /** One slow job in the only slot, three quick ones prefetched behind it. */
  async function slowThenQuick(slowMs: number): Promise<{ slow: string; quick: string[] }> {
    const slow = await submit('debug.sleep', { ms: slowMs });
    const quick = [await submit('debug.echo', { n: 1 }), await submit('debug.echo', { n: 2 }), await submit('debug.echo', { n: 3 })];
    return { slow, quick };
  }

  it('a prefetched job reads as pending (no started_at, attempts 0) until it starts; then all run in order, one at a time', async () => {
    const { slow, quick } = await slowThenQuick(1500);
    const app = await worker();
    try {
      await expectEventually(async () => expect((await leased()).sort()).toEqual([slow, ...quick].sort()), 10_000, 20);
      for (const id of quick) expect(await record(id)).toMatchObject({ status: 'pending', attempts: '0', started_at: '' });
      expect((await record(slow)).status).toBe('running');
      const view = await api.http.get(`/ai/jobs/${quick[0]}`).set({ Authorization: `Bearer ${key}` });
      expect(view.body).toMatchObject({ status: 'pending', attempts: 0 });

      await expectEventually(async () => expect(await Promise.all([slow, ...quick].map(async (id) => (await record(id)).status))).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']), 15_000);
      const recs = await Promise.all([slow, ...quick].map(record));
      for (const rec of recs) expect(rec.attempts).toBe('1');
      // Concurrency 1: each starts no earlier than the one before it finished.
      for (let i = 1; i < recs.length; i++) expect(Date.parse(recs[i].started_at)).toBeGreaterThanOrEqual(Date.parse(recs[i - 1].finished_at));
      expect(await r.redis.zcard(RedisKeys.leases)).toBe(0);
      expect(await r.redis.zcard(RedisKeys.workspaceStatusIndex(WS, 'pending'))).toBe(0);
      expect(await r.redis.zcard(RedisKeys.workspaceStatusIndex(WS, 'running'))).toBe(0);
      expect(await r.redis.zcard(RedisKeys.workspaceStatusIndex(WS, 'succeeded'))).toBe(4);
    } finally {
      await stopApp(app);
    }
  });

  it('shutdown gives prefetched jobs back at once (not after the grace period), for another worker to run on their first attempt', async () => {
    const { slow, quick } = await slowThenQuick(4000);
    const first = await worker();
    await expectEventually(async () => expect((await leased()).sort()).toEqual([slow, ...quick].sort()), 10_000, 20);
    const stopping = stopApp(first);
    // The slow job drains within the grace period; the prefetched ones are released well before it ends.
    await expectEventually(async () => expect(await leased()).toEqual([slow]), 2_000, 20);
    for (const id of quick) expect(await record(id)).toMatchObject({ status: 'pending', attempts: '0' });
    await stopping;
    expect((await record(slow)).status).toBe('succeeded');
    const second = await worker({ WORKER_PREFETCH: '0' });
    try {
      await expectEventually(async () => expect(await Promise.all(quick.map(async (id) => (await record(id)).status))).toEqual(['succeeded', 'succeeded', 'succeeded']), 10_000);
      for (const id of quick) expect((await record(id)).attempts).toBe('1');
    } finally {
      await stopApp(second);
    }
  });

  it('jobs prefetched by a call that was out when shutdown began are given back at once too, not stranded until their leases lapse', async () => {
    const slow = await submit('debug.sleep', { ms: 1000 });
    const app = await worker({ WORKER_LEASE_MS: '5000' });
    await expectEventually(async () => expect((await record(slow)).status).toBe('running'), 10_000, 20);
    const quick = [await submit('debug.echo', { n: 1 }), await submit('debug.echo', { n: 2 }), await submit('debug.echo', { n: 3 }), await submit('debug.echo', { n: 4 })];
    // Scripts wait while writes are paused: the slow job's finish (which claims the next job and
    // prefetches three) goes out when its action ends and stays out until the pause is lifted.
    await r.redis.call('CLIENT', 'PAUSE', '10000', 'WRITE');
    try {
      const startedAt = Date.parse((await record(slow)).started_at);
      const [seconds, micros] = await r.redis.time();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + 1300 - (Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)))));
      app.child.kill('SIGTERM');
      // Shutdown begins (the prefetched jobs held now, none, are given back) while the finish is out.
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await r.redis.call('CLIENT', 'UNPAUSE');
    }
    const exit = await stopApp(app);
    expect(exit.killed).toBe(false);
    // The finish's answer brought jobs to hold after the worker had given back what it held: they go back too.
    expect(await leased()).toEqual([]);
    expect((await record(slow)).status).toBe('succeeded');
    const states = await Promise.all(quick.map(async (id) => (await record(id)).status));
    for (const [i, id] of quick.entries()) {
      if (states[i] !== 'succeeded') expect(await record(id)).toMatchObject({ status: 'pending', attempts: '0', started_at: '' });
    }
    // At least the three prefetched ones were not run by the stopping worker, and all four run elsewhere.
    expect(states.filter((s) => s === 'pending').length).toBeGreaterThanOrEqual(3);
    const second = await worker({ WORKER_PREFETCH: '0' });
    try {
      await expectEventually(async () => expect(await Promise.all(quick.map(async (id) => (await record(id)).status))).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']), 10_000);
    } finally {
      await stopApp(second);
    }
  });

  it('a worker SIGKILLed while holding prefetched jobs: after its leases lapse they run elsewhere, on their first attempt', async () => {
    const { slow, quick } = await slowThenQuick(5000);
    const victim = await worker();
    await expectEventually(async () => expect((await leased()).sort()).toEqual([slow, ...quick].sort()), 10_000, 20);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const survivor = await worker({ WORKER_PREFETCH: '0', WORKER_CONCURRENCY: '2' });
    try {
      await expectEventually(async () => expect(await Promise.all(quick.map(async (id) => (await record(id)).status))).toEqual(['succeeded', 'succeeded', 'succeeded']), 15_000);
      // Never started before: the recovery requeued them as they were.
      for (const id of quick) expect((await record(id)).attempts).toBe('1');
      // The slow job was running: its re-run is its second attempt.
      await expectEventually(async () => expect(await record(slow)).toMatchObject({ status: 'succeeded', attempts: '2' }), 15_000);
    } finally {
      await stopApp(survivor);
    }
  });

  it('a job cancelled while prefetched never runs: its http.post never reaches the receiver, and the jobs behind it do', async () => {
    const hits: string[] = [];
    const receiver: Server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    try {
      const slow = await submit('debug.sleep', { ms: 2500 });
      const [first, cancelled, last] = await Promise.all(['first', 'cancelled', 'last'].map((path) => submit('http.post', { url: `http://${host}/${path}`, body: {} })));
      const app = await worker({ HTTP_ACTION_ALLOWED_HOSTS: host });
      try {
        await expectEventually(async () => expect((await leased()).sort()).toEqual([slow, first, cancelled, last].sort()), 10_000, 20);
        const res = await api.http.post(`/ai/jobs/${cancelled}/cancel`).set({ Authorization: `Bearer ${key}` });
        expect(res.status).toBe(200);
        expect(res.body.status).toBe('cancelled');
        // The worker that held it prefetched drops it and ends its lease at once (well before the slow job ends).
        await expectEventually(async () => expect(await leased()).not.toContain(cancelled), 1_000, 20);
        await expectEventually(async () => expect(await Promise.all([slow, first, last].map(async (id) => (await record(id)).status))).toEqual(['succeeded', 'succeeded', 'succeeded']), 15_000);
        expect(hits).toEqual(['/first', '/last']);
        expect(await record(cancelled)).toMatchObject({ status: 'cancelled', attempts: '0', started_at: '' });
        expect(await r.redis.zcard(RedisKeys.leases)).toBe(0);
      } finally {
        await stopApp(app);
      }
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
