import { Redis } from 'ioredis';
import { RedisKeys } from '@relay/redis';
import type { Response } from 'supertest';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { clientCommands } from './support/client-commands.js';
import { expectEventually } from './support/expect-eventually.js';
import { PrivateRedis } from './support/redis-server.js';

/**
 * Issue 12, point 8 (first half): failed authentications are limited per
 * client address, in Redis, so the limit holds across API replicas; a
 * failed attempt costs one Redis round trip and an address over its limit
 * none. Two replicas behind a "proxy" (TRUST_PROXY=loopback, so the address
 * is X-Forwarded-For's) and one without a trusted proxy share a private
 * redis-server. Each test uses addresses of its own.
 */

const LIMIT = 5;
const SHORT_WINDOW_MS = 1500;
const forged = `rly_0123456789abcdef_${'A'.repeat(32)}`;

describe('failed authentications limited per client address (two replicas, one Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let replica: ApiHarness;
  let otherReplica: ApiHarness;
  let direct: ApiHarness;
  let key: string;

  const get = (api: ApiHarness, address: string | undefined, authorization?: string) => {
    const req = api.http.get('/ai/jobs');
    if (address) req.set('X-Forwarded-For', address);
    return authorization === undefined ? req : req.set('Authorization', authorization);
  };
  const expect429 = (res: Response) => {
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ statusCode: 429, error: 'Too Many Requests', message: expect.stringMatching(/failed authentications/), request_id: expect.any(String) });
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  };

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    // No predecessor sweep: its passes would be commands MONITOR sees (and could meet while it starts).
    await redis.set(RedisKeys.legacyIndexFinal, new Date().toISOString());
    const behindProxy = { AUTH_FAILURES_MAX: String(LIMIT), AUTH_FAILURES_WINDOW_MS: '60000', TRUST_PROXY: 'loopback' };
    replica = await startApi(server.url, behindProxy);
    otherReplica = await startApi(server.url, behindProxy);
    direct = await startApi(server.url, { AUTH_FAILURES_MAX: '3', AUTH_FAILURES_WINDOW_MS: String(SHORT_WINDOW_MS) });
    key = await replica.key('acme');
  });
  afterAll(async () => {
    await Promise.all([replica?.close(), otherReplica?.close(), direct?.close()]);
    redis?.disconnect();
    await server?.stop();
  });

  it('answers the first AUTH_FAILURES_MAX failures of an address 401, then 429 with Retry-After to every request of it that needs a key, a valid key included', async () => {
    const address = '203.0.113.1';
    for (let i = 0; i < LIMIT; i++) expect((await get(replica, address, `Bearer ${forged}`)).status).toBe(401);
    expect429(await get(replica, address, `Bearer ${forged}`));
    expect429(await get(replica, address, `Bearer ${key}`));
    expect429(await replica.http.post('/ai/jobs').set('X-Forwarded-For', address).set('Authorization', `Bearer ${key}`).send({ action: 'debug.echo' }));
    expect(await redis.llen('ai:queue:pending')).toBe(0);
    // Public routes stay open to it; other addresses keep their own budget.
    expect((await replica.http.get('/health/live').set('X-Forwarded-For', address)).status).toBe(200);
    expect((await get(replica, '203.0.113.2', `Bearer ${key}`)).status).toBe(200);
    expect((await get(replica, '203.0.113.2', `Bearer ${forged}`)).status).toBe(401);
    // The operator hears of it once (Nest's Logger is process-wide: the line reaches the last application's logger).
    const lines = [replica, otherReplica, direct].flatMap((api) => api.logs.lines);
    expect(lines.filter((line) => line.includes(`client ${address}: ${LIMIT} failed authentications`))).toHaveLength(1);
  });

  it('does not count requests without an Authorization header (no attempt, and they cost no Redis call)', async () => {
    const address = '203.0.113.3';
    const commands = await clientCommands(redis, async () => {
      for (let i = 0; i < LIMIT * 2; i++) expect((await get(replica, address)).status).toBe(401);
    });
    expect(commands).toEqual([]);
    expect((await get(replica, address, `Bearer ${key}`)).status).toBe(200);
  });

  it('costs one Redis round trip per failed authentication, and none once the address is over its limit', async () => {
    const address = '203.0.113.4';
    expect((await get(replica, address, `Bearer ${forged}`)).status).toBe(401); // loads the script on this connection
    const failing = await clientCommands(redis, async () => {
      for (const authorization of [`Bearer ${forged}`, 'Bearer not-a-key', `Basic ${Buffer.from('a:b').toString('base64')}`]) {
        expect((await get(replica, address, authorization)).status).toBe(401);
      }
    });
    expect(failing).toEqual(['evalsha', 'evalsha', 'evalsha']);
    expect((await get(replica, address, `Bearer ${forged}`)).status).toBe(401); // the 5th: the limit is reached
    const blocked = await clientCommands(redis, async () => {
      for (let i = 0; i < 10; i++) expect429(await get(replica, address, `Bearer ${i % 2 ? key : forged}`));
    });
    expect(blocked).toEqual([]);
  });

  it('counts the failures an address has on every replica against one budget', async () => {
    const address = '203.0.113.5';
    for (let i = 0; i < 3; i++) expect((await get(replica, address, `Bearer ${forged}`)).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await get(otherReplica, address, `Bearer ${forged}`)).status).toBe(401);
    // This replica saw only 3 failures; Redis holds all 5.
    expect429(await get(replica, address, `Bearer ${key}`));
    expect429(await get(otherReplica, address, `Bearer ${key}`));
  });

  it('believes X-Forwarded-For only from a trusted proxy (TRUST_PROXY): otherwise the socket address is counted, whatever the header says', async () => {
    for (const address of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
      expect((await get(direct, address, `Bearer ${forged}`)).status).toBe(401);
    }
    expect429(await get(direct, '198.51.100.4', `Bearer ${key}`));
    // The window ends and the address is let in again.
    await expectEventually(async () => expect((await get(direct, '198.51.100.5', `Bearer ${key}`)).status).toBe(200), SHORT_WINDOW_MS + 5000, 100);
  });
});
