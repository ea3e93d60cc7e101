import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import request from 'supertest';
import { ApiKeyStore } from '@relay/auth';
import { createApiApp } from '../apps/api/src/api.app.js';
import { BUILT_INS, CapturingLogger } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { PrivateRedis } from './support/redis-server.js';

/**
 * SPEC section 4: while Redis does not answer, requests get 503 with
 * Retry-After within a bounded time (never a hang), readiness is 503 and
 * liveness stays 200; when Redis returns, the same process serves again, and
 * nothing sent during the outage is replayed behind the caller's back.
 *
 * Runs on a private redis-server of its own (stopped, restarted, paused);
 * the machine's Redis is never touched.
 */

/** The spec's bound on an answer while Redis is away (REDIS_COMMAND_TIMEOUT_MS is 1000 by default). */
const BOUND_MS = 2000;

/** Texts of Redis/ioredis errors that must never reach a client. */
const REDIS_ERROR_TEXT =
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|enableOfflineQueue|Stream isn't writeable|Connection is closed|Command timed out|MaxRetriesPerRequest|ioredis|redis-server|127\.0\.0\.1|ReplyError/i;

describe('Redis outage and slow Redis (private redis-server)', () => {
  let server: PrivateRedis;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let logs: CapturingLogger;
  let key: string;
  const auth = () => ({ Authorization: `Bearer ${key}` });

  /** A short-lived plain connection to the private server, to look at what is stored. */
  async function inspect<T>(use: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = new Redis(`${server.url}/0`, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      return await use(redis);
    } finally {
      redis.disconnect();
    }
  }

  const createKey = async () => (await app.get(ApiKeyStore).create({ workspaceId: 'acme', scopes: ['actions:execute', 'actions:preview'], actorId: 'agent-1' })).key;

  /** Sends a request and measures how long the answer took. */
  async function timed(send: () => PromiseLike<request.Response>): Promise<{ res: request.Response; elapsed: number }> {
    const started = Date.now();
    const res = await send();
    return { res, elapsed: Date.now() - started };
  }

  function expectRedisUnavailable(res: request.Response, elapsed: number): void {
    expect(res.status).toBe(503);
    expect(elapsed).toBeLessThan(BOUND_MS);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: expect.any(String), request_id: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toMatch(REDIS_ERROR_TEXT);
  }

  beforeAll(async () => {
    server = await PrivateRedis.start();
    logs = new CapturingLogger();
    app = await createApiApp({ REDIS_URL: `${server.url}/0`, ACTION_ALLOWLIST: BUILT_INS }, logs);
    await app.init();
    http = request(app.getHttpServer());
    key = await createKey();
  });

  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  it('serves while Redis is up: submit 202, readiness 200', async () => {
    const submit = await http.post('/ai/jobs').set(auth()).send({ action: 'debug.echo', params: { phase: 'before' } });
    expect(submit.status).toBe(202);
    expect((await http.get('/health/ready')).status).toBe(200);
  });

  describe('while Redis is stopped', () => {
    beforeAll(async () => {
      await server.stop();
    });

    it('answers a submit 503 with Retry-After within 2 s, in the error shape, without Redis error text', async () => {
      // Several attempts: the first right after the server died (the client may not have noticed yet), the rest while it reconnects.
      for (let attempt = 0; attempt < 3; attempt++) {
        const { res, elapsed } = await timed(() =>
          http.post('/ai/jobs').set(auth()).send({ action: 'debug.echo', params: { phase: 'outage', attempt } }),
        );
        expectRedisUnavailable(res, elapsed);
      }
    });

    it('answers a plan, a list and a read 503 within 2 s as well', async () => {
      const plan = await timed(() => http.post('/ai/plans').set(auth()).send({ steps: [{ action: 'debug.echo', params: { phase: 'outage-plan' } }] }));
      expectRedisUnavailable(plan.res, plan.elapsed);
      const list = await timed(() => http.get('/ai/jobs').set(auth()));
      expectRedisUnavailable(list.res, list.elapsed);
      const read = await timed(() => http.get('/ai/jobs/some-job').set(auth()));
      expectRedisUnavailable(read.res, read.elapsed);
    });

    it('reports readiness 503 within 2 s', async () => {
      const { res, elapsed } = await timed(() => http.get('/health/ready'));
      expect(res.status).toBe(503);
      expect(elapsed).toBeLessThan(BOUND_MS);
      expect(JSON.stringify(res.body)).not.toMatch(REDIS_ERROR_TEXT);
    });

    it('keeps liveness 200 (a Redis outage must not get the process restarted)', async () => {
      const { res, elapsed } = await timed(() => http.get('/health/live'));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
      expect(elapsed).toBeLessThan(BOUND_MS);
    });

    it('logs the outage without leaking it to clients, and never as an unexpected 500', () => {
      expect(logs.lines.join('\n')).not.toMatch(/"logLevel":"error"/);
    });
  });

  describe('after Redis comes back (empty)', () => {
    let recoveredJobIds: string[];

    beforeAll(async () => {
      await server.start();
    });

    it('serves again without a restart: readiness 200, then a submit 202', async () => {
      await expectEventually(async () => expect((await http.get('/health/ready')).status).toBe(200), 10000);
      // The restarted server holds nothing: the key from before the outage is gone.
      key = await expectEventually(createKey, 10000);
      const first = await expectEventually(async () => {
        const res = await http.post('/ai/jobs').set(auth()).send({ action: 'debug.echo', params: { phase: 'after' } });
        expect(res.status).toBe(202);
        return res;
      }, 10000);
      const second = await http.post('/ai/jobs').set(auth()).send({ action: 'debug.echo', params: { phase: 'after', n: 2 } });
      expect(second.status).toBe(202);
      recoveredJobIds = [first.body.job_id, second.body.job_id];
      const read = await http.get(`/ai/jobs/${first.body.job_id}`).set(auth());
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ job_id: first.body.job_id, status: 'pending', params: { phase: 'after' } });
    });

    it('replays nothing sent during the outage: Redis holds exactly the jobs submitted after recovery', async () => {
      expect(recoveredJobIds).toHaveLength(2);
      const stored = await inspect(async (redis) => {
        const legacy = (await redis.keys('ai:jobs:*')).sort();
        const scoped = await redis.keys('ai:job:*');
        const queue = (await redis.lrange('ai:queue:pending', 0, -1)).sort();
        const members: string[] = await redis.zrange('ai:index:acme:status:pending', '0', '-1');
        const index = members.map((m) => m.slice(m.lastIndexOf('/') + 1)).sort();
        const params = await Promise.all(legacy.map((k) => redis.hget(k, 'params')));
        return { legacy, scoped, queue, index, params };
      });
      expect(stored.legacy).toEqual(recoveredJobIds.map((id) => `ai:jobs:${id}`).sort());
      expect(stored.scoped).toEqual([]);
      expect(stored.queue).toEqual(recoveredJobIds.map((id) => `acme:${id}`).sort());
      expect(stored.index).toEqual([...recoveredJobIds].sort());
      for (const params of stored.params) expect(params).not.toMatch(/outage|before/);
    });
  });

  describe('while Redis is paused (SIGSTOP: connected but not answering)', () => {
    let pid: number;
    let paused = false;

    const resume = () => {
      if (paused) process.kill(pid, 'SIGCONT');
      paused = false;
    };

    beforeAll(async () => {
      await expectEventually(async () => expect((await http.get('/health/ready')).status).toBe(200), 10000);
      // The server's own pid (we started it), read from INFO rather than from PrivateRedis internals.
      pid = await inspect(async (redis) => Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]));
      expect(pid).toBeGreaterThan(0);
      process.kill(pid, 'SIGSTOP');
      paused = true;
    });

    afterAll(() => {
      resume();
    });

    it('answers a submit 503 with Retry-After within 2 s (REDIS_COMMAND_TIMEOUT_MS), never a hang', async () => {
      const { res, elapsed } = await timed(() => http.post('/ai/jobs').set(auth()).send({ action: 'debug.echo', params: { phase: 'paused' } }));
      expectRedisUnavailable(res, elapsed);
    });

    it('reports readiness 503 within 2 s and liveness 200', async () => {
      const ready = await timed(() => http.get('/health/ready'));
      expect(ready.res.status).toBe(503);
      expect(ready.elapsed).toBeLessThan(BOUND_MS);
      const live = await timed(() => http.get('/health/live'));
      expect(live.res.status).toBe(200);
      expect(live.elapsed).toBeLessThan(BOUND_MS);
    });

    it('serves again once Redis answers, and the timed-out submit created no job', async () => {
      const before = await http.get('/ai/jobs').set(auth());
      expect(before.status).toBe(503);
      resume();
      await expectEventually(async () => expect((await http.get('/health/ready')).status).toBe(200), 10000);
      const submit = await expectEventually(async () => {
        const res = await http.post('/ai/jobs').set(auth()).send({ action: 'debug.echo', params: { phase: 'resumed' } });
        expect(res.status).toBe(202);
        return res;
      }, 10000);
      const params = await inspect(async (redis) => Promise.all((await redis.keys('ai:jobs:*')).map((k) => redis.hget(k, 'params'))));
      expect(params).toContain('{"phase":"resumed"}');
      expect(params).not.toContain('{"phase":"paused"}');
      expect(submit.body.job_id).toEqual(expect.any(String));
    });
  });
});
