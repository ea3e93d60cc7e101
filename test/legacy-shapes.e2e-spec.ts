import type { Redis } from 'ioredis';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { runRelay } from './support/cli-runner.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 13, point 6: the predecessor's own shapes are recognised, not
 * misread. Its list cursors (an offset, `new:X:old:Y`) are refused with a
 * message that says to start again from the first page; hashes at the
 * singular two-segment key `ai:job:<id>` (how some of the old reviews spell
 * the legacy key) are counted and warned about by `relay migrate status`.
 */
describe("the predecessor's cursors and keys", () => {
  let server: FileRedis;
  let redis: Redis;
  let api: ApiHarness;
  let headers: Record<string, string>;

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    api = await startApi(server.url, { RATE_LIMIT_MAX: '0' });
    headers = { Authorization: `Bearer ${await api.key('acme')}` };
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  describe('GET /ai/jobs with a cursor Relay did not issue', () => {
    it.each([
      ['an offset of the previous system ("10")', '10', /^cursor is from the previous job service/],
      ['a two-schema position of the previous system ("new:40:old:12")', 'new:40:old:12', /^cursor is from the previous job service/],
      ['the same with ids in it ("new:f3c1b2a4-1111:old:legacy-7")', 'new:f3c1b2a4-1111:old:legacy-7', /^cursor is from the previous job service/],
      ['base64url that is not a Relay cursor ("Zm9vYmFy")', 'Zm9vYmFy', /^cursor is not one this API issued/],
      ['text with spaces ("page 2")', 'page 2', /^cursor is not one this API issued/],
      ['a cursor too long to be one (401 characters)', 'a'.repeat(401), /^cursor is not one this API issued \(too long\)/],
    ])('%s is 400 with one field message that says to start again from the first page', async (_what, cursor, opening) => {
      const res = await api.http.get('/ai/jobs').query({ cursor }).set(headers);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: [expect.stringMatching(opening)], request_id: expect.any(String) });
      expect(res.body.message[0]).toContain('start again from the first page (repeat the request without cursor)');
    });

    it('still follows a cursor it issued', async () => {
      for (let i = 0; i < 3; i++) expect((await api.http.post('/ai/jobs').set(headers).send({ action: 'debug.echo', params: {} })).status).toBe(202);
      const first = await api.http.get('/ai/jobs').query({ limit: 2 }).set(headers);
      const second = await api.http.get('/ai/jobs').query({ limit: 2, cursor: first.body.next_cursor }).set(headers);
      expect(second.status).toBe(200);
      expect(second.body.items).toHaveLength(1);
    });
  });

  describe('relay migrate status and ai:job:<id> hashes', () => {
    const env = () => ({ REDIS_URL: server.url });

    beforeEach(async () => {
      await redis.flushdb();
    });

    it('counts two-segment ai:job:<id> hashes (ids with . _ -), and only those, in --json and text, with a warning; exit 0', async () => {
      const fields = { job_id: 'x', workspace_id: 'acme', status: 'pending', created_at: '2025-10-17T10:15:00.000Z' };
      await redis.hset('ai:job:old-1', fields);
      await redis.hset('ai:job:f3c1.b2_a4-9', fields);
      // Not counted: scoped records (three segments), a scoped key whose job id is empty, non-hash values, the legacy prefix.
      await redis.hset('ai:job:acme:scoped-1', { ...fields, job_id: 'scoped-1' });
      await redis.hset('ai:job:acme:', fields);
      await redis.set('ai:job:a-string', 'x');
      await redis.rpush('ai:job:a-list', 'x');
      await redis.hset('ai:jobs:legacy-1', { ...fields, job_id: 'legacy-1' });

      const json = await runRelay(env(), ['migrate', 'status', '--json']);
      expect({ code: json.code, err: json.err }).toEqual({ code: 0, err: [] });
      const status = JSON.parse(json.out[0]);
      expect(status.singularLegacyKeys.count).toBe(2);
      expect(status.singularLegacyKeys.samples.slice().sort()).toEqual(['ai:job:f3c1.b2_a4-9', 'ai:job:old-1']);
      // They are neither scoped nor legacy records.
      expect(status).toMatchObject({ legacyRecords: 1, scopedRecords: 1 });

      const text = await runRelay(env(), ['migrate', 'status']);
      expect({ code: text.code, err: text.err }).toEqual({ code: 0, err: [] });
      expect(text.out).toContain('ai:job:<id> hashes (no workspace segment): 2');
      const warning = text.out.filter((line) => line.startsWith('warning:'));
      expect(warning).toEqual([expect.stringMatching(/^warning: 2 hash\(es\) at ai:job:<id> \(e\.g\. .*ai:job:old-1.*\): not a key Relay reads, lists or migrates/)]);
    });

    it('reports 0 and prints no warning when there are none', async () => {
      await redis.hset('ai:job:acme:scoped-1', { job_id: 'scoped-1', workspace_id: 'acme' });
      const json = await runRelay(env(), ['migrate', 'status', '--json']);
      expect(JSON.parse(json.out[0]).singularLegacyKeys).toEqual({ count: 0, samples: [] });
      const text = await runRelay(env(), ['migrate', 'status']);
      expect(text.code).toBe(0);
      expect(text.out).toContain('ai:job:<id> hashes (no workspace segment): 0');
      expect(text.out.filter((line) => line.startsWith('warning:'))).toEqual([]);
    });

    it('counts them past one SCAN batch (samples capped at 10)', async () => {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 1200; i++) pipeline.hset(`ai:job:bulk-${i}`, { job_id: `bulk-${i}` });
      for (let i = 0; i < 300; i++) pipeline.hset(`ai:job:acme:s-${i}`, { job_id: `s-${i}`, workspace_id: 'acme' });
      await pipeline.exec();
      const status = JSON.parse((await runRelay(env(), ['migrate', 'status', '--json'])).out[0]);
      expect(status.singularLegacyKeys.count).toBe(1200);
      expect(status.singularLegacyKeys.samples).toHaveLength(10);
      expect(status.scopedRecords).toBe(300);
    });
  });
});
