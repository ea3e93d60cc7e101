import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { RedisKeys } from '@relay/redis';
import { JobStore } from '@relay/queue';
import { RelayMetrics } from '@relay/telemetry';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { PrivateRedis } from './support/redis-server.js';

/**
 * Issue 12, point 11: when the API's own submit queue overflows, the answer,
 * the log and a metric say so — not "Redis unavailable" — and the log is
 * aggregated instead of one line per request. Redis stays healthy (it
 * answers PING and reads throughout) but holds writes for 800 ms
 * (`CLIENT PAUSE … WRITE`, less than the 1 s command timeout, so no call
 * times out) while 10,000 submits made in-process through the API's own
 * store fill its wait queue; the HTTP submits whose bodies arrive then are
 * refused at once. (Their API keys were checked before: the API reads a
 * body only after its key guard, so the test sends headers first, and the
 * bodies once the queue is full.) Private redis-server (it is paused).
 */
describe('API overload: a distinct reason in the answer, the log and a metric', () => {
  let server: PrivateRedis;
  let pauser: Redis;
  let api: ApiHarness;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    pauser = new Redis(server.url);
    // No predecessor sweep: its script calls would count as key checks below.
    await pauser.set(RedisKeys.legacyIndexFinal, new Date().toISOString());
    api = await startApi(server.url, { REDIS_COMMAND_TIMEOUT_MS: '1000', RATE_LIMIT_MAX: '0' });
  });
  afterAll(async () => {
    await api.close();
    pauser.disconnect();
    await server.stop();
  });

  it('submits that find the wait queue full are 503 "overloaded" with Retry-After, counted, logged in one line; Redis is never blamed, and submits work again after', async () => {
    const key = await api.key('acme');
    const auth = { Authorization: `Bearer ${key}` };
    const metrics = api.app.get(RelayMetrics);
    const count = async (reason: string) => (await metrics.unavailableResponses.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
    const before = { overload: await count('submit_overload'), unavailable: await count('redis_unavailable') };
    const store = api.app.get(JobStore);

    const scriptCalls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await pauser.info('commandstats'))?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(await pauser.info('commandstats'))?.[1] ?? 0);
    const scriptCallsBefore = await scriptCalls();
    // 20 submits: headers now (their keys are checked), bodies later.
    await api.app.listen(0, '127.0.0.1');
    const { port } = api.app.getHttpServer().address() as AddressInfo;
    const held = Array.from({ length: 20 }, (_, i) => {
      const body = JSON.stringify({ action: 'debug.echo', params: { i } });
      const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/ai/jobs', headers: { ...auth, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } });
      const answer = new Promise<{ status: number; retryAfter?: string; body: { message?: string } }>((resolve, reject) => {
        req.on('response', (res: IncomingMessage) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body: JSON.parse(text || '{}') }));
        });
        req.on('error', reject);
      });
      req.flushHeaders();
      return { req, body, answer };
    });
    // Each key check is one script call (the failed-auth limiter's): wait until all 20 were made.
    await expectEventually(async () => expect((await scriptCalls()) - scriptCallsBefore).toBeGreaterThanOrEqual(20), 10_000);

    await pauser.call('CLIENT', 'PAUSE', '800', 'WRITE');
    // 4 calls go out (and wait for the pause); the next 10,000 submits wait for a slot: the queue is full.
    const flood = Array.from({ length: 10_004 }, (_, i) =>
      store.create({ workspaceId: 'flood', kind: 'job', jobs: [{ actorId: 'a', action: 'debug.echo', params: { i } }] }).then(
        () => 'created',
        (error: Error) => error.name,
      ),
    );
    for (const { req, body } of held) (req as ClientRequest).end(body);
    const answers = await Promise.all(held.map((h) => h.answer));
    expect(await pauser.ping()).toBe('PONG'); // Redis itself answers throughout

    for (const res of answers) {
      expect([res.status, res.retryAfter, res.body.message]).toEqual([503, '1', 'the API is overloaded: too many submits are waiting for storage; retry shortly']);
    }
    expect((await count('submit_overload')) - before.overload).toBe(20);
    expect((await count('redis_unavailable')) - before.unavailable).toBe(0);
    expect(api.logs.lines.filter((l) => l.includes('submit_overload'))).toHaveLength(1);
    expect(api.logs.lines.filter((l) => /redis_unavailable/.test(l))).toEqual([]);

    // The flood ends as created or refused for waiting (never a Redis error), and the API serves again.
    const outcomes = new Set(await Promise.all(flood));
    expect([...outcomes].every((o) => o === 'created' || o === 'SubmitWaitError')).toBe(true);
    expect(outcomes.has('created')).toBe(true);
    const after = await api.http.post('/ai/jobs').set(auth).send({ action: 'debug.echo', params: {} });
    expect(after.status).toBe(202);
  }, 60_000);
});
