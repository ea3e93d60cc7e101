import { startApi, type ApiHarness } from './support/api-harness.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 13, point 6: the predecessor's own shapes are recognised, not
 * misread. Its list cursors (an offset, `new:X:old:Y`) are refused with a
 * message that says to start again from the first page.
 */
describe("the predecessor's cursors and keys", () => {
  let server: FileRedis;
  let api: ApiHarness;
  let headers: Record<string, string>;

  beforeAll(async () => {
    server = await fileRedis();
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
});
