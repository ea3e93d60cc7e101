import { startApi, type ApiHarness } from './support/api-harness.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 12, point 4: one tenant paging through large results cannot starve
 * the others. A list item carries its result only up to
 * LIST_RESULT_MAX_BYTES (4 KiB by default; a larger one is left out and
 * never read: HSTRLEN first), so a page costs about the same whatever the
 * results hold. Shown with 60 jobs whose results are 1 MiB each, paged by
 * 6 connections without pause while another tenant lists its own jobs.
 */
const BIG = 'bigresults';
const SMALL = 'neighbour';
const ONE_MIB = JSON.stringify({ text: 'x'.repeat(1024 * 1024 - 12) });

describe('list pages have a bounded cost', () => {
  let server: FileRedis;
  let api: ApiHarness;
  let big: string;
  let small: string;
  const bigJobs: string[] = [];

  beforeAll(async () => {
    server = await fileRedis();
    api = await startApi(server.url, { RATE_LIMIT_MAX: '0' });
    big = `Bearer ${await api.key(BIG)}`;
    small = `Bearer ${await api.key(SMALL)}`;
    for (let i = 0; i < 60; i++) {
      const res = await api.http.post('/ai/jobs').set('Authorization', big).send({ action: 'debug.echo', params: { i } });
      bigJobs.push(res.body.job_id);
      // As a worker would have stored a large result (the test writes it directly: no 1 MiB cap to lift).
      await server.redis.hset(`ai:jobs:${res.body.job_id}`, 'status', 'succeeded', 'result', i === 0 ? '{"small":true}' : ONE_MIB);
    }
    for (let i = 0; i < 5; i++) await api.http.post('/ai/jobs').set('Authorization', small).send({ action: 'debug.echo', params: { i } });
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  it('a list item leaves out a result larger than LIST_RESULT_MAX_BYTES (result null, result_omitted true); small results stay inline; GET has the whole result', async () => {
    const page = await api.http.get('/ai/jobs?limit=100').set('Authorization', big);
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(60);
    const first = page.body.items.find((item: { job_id: string }) => item.job_id === bigJobs[0]);
    expect(first.result).toEqual({ small: true });
    expect('result_omitted' in first).toBe(false);
    const large = page.body.items.filter((item: { job_id: string }) => item.job_id !== bigJobs[0]);
    expect(large.every((item: { result: unknown; result_omitted?: boolean }) => item.result === null && item.result_omitted === true)).toBe(true);
    expect(page.text.length).toBeLessThan(64 * 1024);
    const one = await api.http.get(`/ai/jobs/${bigJobs[1]}`).set('Authorization', big);
    expect(one.body.result.text).toHaveLength(1024 * 1024 - 12);
  });

  it('6 connections paging through 1 MiB results without pause: every request of another tenant succeeds, each within the 1 s command timeout', async () => {
    let paging = true;
    const pages: number[] = [];
    const pager = async () => {
      while (paging) {
        let cursor: string | null = null;
        do {
          const res: { status: number; body: { next_cursor: string | null } } = await api.http.get(`/ai/jobs?limit=50${cursor ? `&cursor=${cursor}` : ''}`).set('Authorization', big);
          pages.push(res.status);
          cursor = res.body.next_cursor;
        } while (cursor && paging);
      }
    };
    const pagers = Array.from({ length: 6 }, pager);
    const neighbour: { status: number; ms: number }[] = [];
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      const started = Date.now();
      const res = await api.http.get('/ai/jobs?limit=50').set('Authorization', small);
      neighbour.push({ status: res.status, ms: Date.now() - started });
    }
    paging = false;
    await Promise.all(pagers);

    expect(pages.length).toBeGreaterThan(12);
    expect(new Set(pages)).toEqual(new Set([200]));
    expect(neighbour.length).toBeGreaterThan(5);
    expect(neighbour.filter((r) => r.status !== 200)).toEqual([]);
    expect(Math.max(...neighbour.map((r) => r.ms))).toBeLessThan(1000);
  }, 30_000);
});
