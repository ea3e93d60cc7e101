import { Redis } from 'ioredis';
import type { Response } from 'supertest';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { PrivateRedis } from './support/redis-server.js';

/**
 * Issue 12, point 9: what is ambiguous in a request is refused, not guessed.
 * Two Authorization headers (Node would keep the first); query parameters
 * named after Object.prototype members (class-validator's whitelist takes
 * them for declared fields); a `limit` that is anything but decimal digits
 * (Number() reads `1e2`, `0x10` and ` 5`).
 */

function expect400Naming(res: Response, name: string): void {
  expect(res.status).toBe(400);
  expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.any(Array), request_id: expect.any(String) });
  expect(JSON.stringify(res.body.message)).toContain(name);
}

describe('strict request parsing: duplicate Authorization, inherited query names, decimal limit', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let api: ApiHarness;
  let key: string;
  const list = (query: string) => api.http.get(`/ai/jobs?${query}`).set('Authorization', `Bearer ${key}`);

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    api = await startApi(server.url);
    key = await api.key('acme');
  });
  afterAll(async () => {
    await api?.close();
    redis?.disconnect();
    await server?.stop();
  });

  describe('two Authorization headers', () => {
    const forged = `rly_0123456789abcdef_${'A'.repeat(32)}`;

    it('are 400 whichever comes first, on reads and writes, and nothing is written', async () => {
      // superagent sends an array value as repeated header lines (its types allow that only for Cookie).
      const pairs = [[`Bearer ${key}`, `Bearer ${forged}`], [`Bearer ${forged}`, `Bearer ${key}`], [`Bearer ${key}`, `Bearer ${key}`]];
      for (const pair of pairs as unknown as string[]) {
        expect400Naming(await api.http.get('/ai/jobs').set('Authorization', pair), 'Authorization');
        expect400Naming(await api.http.post('/ai/jobs').set('Authorization', pair).send({ action: 'debug.echo' }), 'Authorization');
      }
      expect(await redis.llen('ai:queue:pending')).toBe(0);
    });

    it('one header with the same key is served (the baseline)', async () => {
      expect((await api.http.get('/ai/jobs').set('Authorization', `Bearer ${key}`)).status).toBe(200);
      expect((await api.http.post('/ai/jobs').set('Authorization', `Bearer ${key}`).send({ action: 'debug.echo' })).status).toBe(202);
    });
  });

  describe('GET /ai/jobs query parameters named after Object.prototype members', () => {
    it.each([
      ['constructor=1'],
      ['hasOwnProperty=1'],
      ['__proto__=x'],
      ['toString=1'],
      ['valueOf=1'],
      ['isPrototypeOf=1'],
      ['propertyIsEnumerable=1'],
      ['__defineGetter__=1'],
      ['limit=5&constructor=1'],
    ])('refuses %s with 400 naming it, like any other unknown parameter', async (query) => {
      const name = query.split('&').pop()!.split('=')[0];
      expect400Naming(await list(query), `property ${name} should not exist`);
    });
  });

  describe('GET /ai/jobs limit: decimal digits only', () => {
    it.each([['1e2'], ['0x10'], ['%205'], ['5%20'], ['%2B5'], ['5.0'], ['0b11'], ['Infinity'], ['%20']])('refuses limit=%s with 400 naming limit', async (value) => {
      expect400Naming(await list(`limit=${value}`), 'limit must be a whole number from 1 to 100');
    });

    it('accepts decimal digits, leading zeros included, and pages by them', async () => {
      for (let i = 0; i < 3; i++) await api.http.post('/ai/jobs').set('Authorization', `Bearer ${key}`).send({ action: 'debug.echo' });
      const page = await list('limit=002');
      expect(page.status).toBe(200);
      expect(page.body.items).toHaveLength(2);
      expect((await list('limit=100')).status).toBe(200);
    });
  });
});
