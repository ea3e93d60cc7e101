import type { Redis } from 'ioredis';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { fileRedis, type FileRedis } from './support/redis.js';

describe('rate limiting per API key (shared through Redis)', () => {
  let redis: Redis;
  let server: FileRedis;
  let api: ApiHarness;

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    api = await startApi(server.url, { RATE_LIMIT_MAX: '4', RATE_LIMIT_WINDOW_MS: '60000' });
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  it('counts every route of a key against one budget, then answers 429 with Retry-After', async () => {
    const key = await api.key('acme');
    const auth = { Authorization: `Bearer ${key}` };
    expect((await api.http.get('/ai/jobs').set(auth)).status).toBe(200);
    expect((await api.http.get('/ai/jobs').set(auth)).status).toBe(200);
    expect((await api.http.post('/ai/jobs').set(auth).send({ action: 'debug.echo' })).status).toBe(202);
    expect((await api.http.get('/ai/jobs/nope').set(auth)).status).toBe(404);
    const limited = await api.http.post('/ai/jobs').set(auth).send({ action: 'debug.echo' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests', request_id: expect.any(String) });
    // Nothing was written by the refused request: one job only.
    expect(await redis.llen('ai:queue:pending')).toBe(1);
  });

  it('keeps separate budgets for separate keys, and never limits health or metrics', async () => {
    const other = await api.key('acme');
    expect((await api.http.get('/ai/jobs').set({ Authorization: `Bearer ${other}` })).status).toBe(200);
    for (let i = 0; i < 8; i++) expect((await api.http.get('/health/live')).status).toBe(200);
    expect((await api.http.get('/metrics')).status).toBe(200);
  });
});
