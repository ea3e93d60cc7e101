import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RelayApiError, RelayClient, type RelayClientOptions } from '../clients/typescript/src/index.js';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { startLostAnswerProxy } from './support/lost-answer-proxy.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 16, point 2: the typed client (clients/typescript) against the real
 * API listening on a port, on this file's own Redis: submit, plan, list as
 * an async iterator over pages, get, cancel, and the retry rule for 429 and
 * 503 (Retry-After honoured, bounded, idempotent submits). Retries are
 * observed through onRetry, never by mocking anything.
 */

const BOTH = ['actions:execute', 'actions:preview'];

describe('typed client against a running API', () => {
  let server: FileRedis;
  let api: ApiHarness;
  let limited: ApiHarness;
  const urlOf = async (harness: ApiHarness) => {
    await harness.app.listen(0, '127.0.0.1');
    return `http://127.0.0.1:${((harness.app.getHttpServer() as Server).address() as AddressInfo).port}`;
  };
  let apiUrl: string;
  let limitedUrl: string;
  const client = async (workspace: string, options: Partial<RelayClientOptions> = {}, on = api) =>
    new RelayClient({ baseUrl: on === api ? apiUrl : limitedUrl, apiKey: await on.key(workspace, BOTH), ...options });

  beforeAll(async () => {
    server = await fileRedis();
    api = await startApi(server.url);
    limited = await startApi(`${server.url}/1`, { RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '1000', WORKSPACE_LIMITS: '{"full": {"max_stored_jobs": 1}}' });
    apiUrl = await urlOf(api);
    limitedUrl = await urlOf(limited);
  });
  afterAll(async () => {
    await Promise.all([api?.close(), limited?.close()]);
    await server?.stop();
  });

  it('submits, replays with the same idempotency key, plans, reads and cancels jobs', async () => {
    const relay = await client('acme');
    const job = await relay.submit({ action: 'debug.echo', params: { text: 'hi', api_key: 'k-123' } });
    expect(job).toEqual({ job_id: expect.any(String), status: 'pending', created_at: expect.any(String), replayed: false });
    // Each call gets its own key: the same payload twice is two jobs, unless the caller names the key.
    expect((await relay.submit({ action: 'debug.echo', params: { text: 'hi', api_key: 'k-123' } })).job_id).not.toBe(job.job_id);
    const keyed = await relay.submit({ action: 'debug.echo' }, 'order-1');
    expect(await relay.submit({ action: 'debug.echo' }, 'order-1')).toEqual({ ...keyed, replayed: true });
    expect(await relay.submit({ action: 'debug.echo', client_request_id: 'order-1' })).toEqual({ ...keyed, replayed: true });

    const plan = await relay.plan({ steps: [{ action: 'debug.echo' }, { action: 'debug.sleep', params: { ms: 1 } }] });
    expect(plan.job_ids).toEqual([expect.stringMatching(/_0$/), expect.stringMatching(/_1$/)]);
    expect(plan.replayed).toBe(false);

    const read = await relay.get(job.job_id);
    expect(read).toMatchObject({ job_id: job.job_id, action: 'debug.echo', status: 'pending', params: { text: 'hi', api_key: '[REDACTED]' } });
    expect(await relay.cancel(job.job_id)).toMatchObject({ status: 'cancelled', cancel: 'cancelled' });
    const again = await relay.cancel(job.job_id).catch((error: unknown) => error);
    expect(again).toBeInstanceOf(RelayApiError);
    expect(again).toMatchObject({ status: 409, attempts: 1, body: { statusCode: 409, message: 'job is cancelled; only a job that has not finished can be cancelled' } });
  });

  it('lists every job of the workspace newest first, following next_cursor page by page', async () => {
    const relay = await client('lister');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await relay.submit({ action: 'debug.echo', params: { i } })).job_id);
    await relay.cancel(ids[2]);
    const listed: string[] = [];
    for await (const job of relay.list({ limit: 3 })) listed.push(job.job_id);
    expect(listed).toEqual([...ids].reverse());
    const cancelled: string[] = [];
    for await (const job of relay.list({ limit: 1, status: 'cancelled' })) cancelled.push(job.job_id);
    expect(cancelled).toEqual([ids[2]]);
  });

  it('throws a RelayApiError with the status, the error body and the request id', async () => {
    const error = await (await client('acme')).get('no-such-job').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RelayApiError);
    expect(error).toMatchObject({ status: 404, attempts: 1, body: { statusCode: 404, error: 'Not Found', message: 'job not found' } });
    expect((error as RelayApiError).requestId).toBe((error as RelayApiError).body?.request_id);
    const unauthenticated = await new RelayClient({ baseUrl: apiUrl, apiKey: 'relay_wrong' }).get('x').catch((e: unknown) => e);
    expect(unauthenticated).toMatchObject({ status: 401, attempts: 1 });
  });

  it('retries a 429 after its Retry-After, and does not retry the stored-jobs quota (no Retry-After)', async () => {
    const retries: { status: number; delayMs: number }[] = [];
    const relay = await client('acme', { onRetry: ({ status, delayMs }) => retries.push({ status, delayMs }) }, limited);
    await relay.listPage();
    await relay.listPage();
    const started = Date.now();
    expect((await relay.listPage()).items).toEqual([]);
    expect(retries).toEqual([{ status: 429, delayMs: expect.any(Number) }]);
    // Retry-After is whole seconds: at least 1 s, plus at most the first retry's jitter (250 ms).
    expect(retries[0].delayMs).toBeGreaterThanOrEqual(1000);
    expect(retries[0].delayMs).toBeLessThan(1250);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);

    const full = await client('full', {}, limited);
    await full.submit({ action: 'debug.echo' });
    const refused = await full.submit({ action: 'debug.echo' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 429, attempts: 1 });
  });

  it('retries a 503 until Redis answers again, and gives up after maxAttempts', async () => {
    const pid = Number(/process_id:(\d+)/.exec(await server.redis.info('server'))![1]);
    let resumed = false;
    const resume = () => {
      if (!resumed) process.kill(pid, 'SIGCONT');
      resumed = true;
    };
    const retried: number[] = [];
    const impatient = await client('acme', { retry: { maxAttempts: 2 } });
    const resumingOnFirstRetry = await client('acme', { onRetry: ({ status }) => (retried.push(status), resume()) });
    process.kill(pid, 'SIGSTOP');
    try {
      const gaveUp = await impatient.listPage().catch((e: unknown) => e);
      expect(gaveUp).toMatchObject({ status: 503, attempts: 2, body: { message: 'storage temporarily unavailable; retry shortly' } });
      expect((await resumingOnFirstRetry.listPage()).items).toEqual(expect.any(Array));
      expect(retried).toEqual([503]);
    } finally {
      resume();
    }
  });

  it('makes retries safe when a first answer is lost (503): a submit is the same job, only one exists; a cancel returns the cancelled job', async () => {
    const port = Number(new URL(apiUrl).port);
    // The first submit's answer and the first cancel's answer are lost.
    const proxy = await startLostAnswerProxy(port, [/^POST \/ai\/jobs$/, /^POST \/ai\/jobs\/[^/]+\/cancel$/]);
    try {
      const apiKey = await api.key('proxied', BOTH);
      const relay = new RelayClient({ baseUrl: proxy.url, apiKey });
      const job = await relay.submit({ action: 'debug.echo', params: { once: true } });
      expect(job.replayed).toBe(true);
      expect(proxy.forwarded).toEqual(['POST /ai/jobs', 'POST /ai/jobs']);
      const jobs: string[] = [];
      for await (const listed of relay.list()) jobs.push(listed.job_id);
      expect(jobs).toEqual([job.job_id]);
      // The retried cancel is answered 409 (the first try did cancel it): the client reads the job and returns it.
      expect(await relay.cancel(job.job_id)).toMatchObject({ job_id: job.job_id, status: 'cancelled' });
      expect(proxy.forwarded.slice(-3)).toEqual([`POST /ai/jobs/${job.job_id}/cancel`, `POST /ai/jobs/${job.job_id}/cancel`, `GET /ai/jobs/${job.job_id}`]);
    } finally {
      await proxy.close();
    }
  });
});
