import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '@relay/config';
import { ActionDeferred, ActionError } from '../apps/worker/src/actions/action.js';
import { HttpPostAction } from '../apps/worker/src/actions/http-post.action.js';

/**
 * http.post against a real local server answering 429 (issue 14, point 3):
 * the action throws ActionDeferred with the wait its Retry-After asks for
 * (whole seconds or an HTTP date, 1 s when absent, at most an hour), so the
 * worker can defer the job without using an attempt. The action is called
 * directly; no Redis is involved.
 */
describe('http.post on a 429 with Retry-After, against a real local server', () => {
  let server: Server;
  let port: number;
  /** What the server sent as Retry-After on its last /date answer. */
  let lastDate = '';

  /** path → [status, Retry-After to send (none when undefined)] */
  const answers: Record<string, () => [number, string | undefined]> = {
    '/seconds': () => [429, '7'],
    '/none': () => [429, undefined],
    '/garbage': () => [429, 'in a while'],
    '/day': () => [429, '86400'],
    '/date': () => [429, (lastDate = new Date(Date.now() + 30_000).toUTCString())],
    '/past': () => [429, new Date(Date.now() - 60_000).toUTCString()],
    '/busy': () => [503, '5'],
    '/ok': () => [200, '5'],
  };

  const context = { jobId: 'j1', workspaceId: 'acme', attempt: 1, signal: new AbortController().signal, progress: () => undefined };
  const action = () => new HttpPostAction(loadConfig({ HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${port}`, HTTP_ACTION_TIMEOUT_MS: '5000' }));
  const post = (path: string) => action().run({ url: `http://127.0.0.1:${port}${path}`, body: { n: 1 } }, context);

  /** The error post(path) rejects with (fails the test when it resolves). */
  async function refusal(path: string): Promise<Error> {
    const outcome = await post(path).then(
      (result) => ({ resolved: result }),
      (error: Error) => ({ error }),
    );
    if (!('error' in outcome)) throw new Error(`${path} resolved with ${JSON.stringify(outcome.resolved)}`);
    return outcome.error;
  }

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      const [status, retryAfter] = (answers[req.url ?? ''] ?? (() => [404, undefined]))();
      res.writeHead(status, { 'content-type': 'application/json', ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }) });
      res.end(JSON.stringify({ path: req.url }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('Retry-After in seconds: ActionDeferred for exactly that long, with a message that names no URL', async () => {
    const error = await refusal('/seconds');
    expect(error).toBeInstanceOf(ActionDeferred);
    expect(error).toMatchObject({ retryAfterMs: 7000, message: 'http.post: upstream answered 429, retry after 7000 ms' });
    expect(error.message).not.toMatch(/127\.0\.0\.1|seconds/);
  });

  it('Retry-After as an HTTP date: the time from the answer to that date, by this machine’s clock', async () => {
    const before = Date.now();
    const error = await refusal('/date');
    const after = Date.now();
    const due = Date.parse(lastDate);
    expect(error).toBeInstanceOf(ActionDeferred);
    const wait = (error as ActionDeferred).retryAfterMs;
    expect(wait).toBeGreaterThanOrEqual(due - after);
    expect(wait).toBeLessThanOrEqual(due - before);
  });

  it('no Retry-After, or one that cannot be read: the default 1000 ms', async () => {
    for (const path of ['/none', '/garbage']) {
      const error = await refusal(path);
      expect({ path, deferred: error instanceof ActionDeferred, wait: (error as ActionDeferred).retryAfterMs }).toEqual({ path, deferred: true, wait: 1000 });
    }
  });

  it('a day asked for is capped at an hour; a date already past waits the default', async () => {
    expect(await refusal('/day')).toMatchObject({ name: 'ActionDeferred', retryAfterMs: 3_600_000 });
    expect(await refusal('/past')).toMatchObject({ name: 'ActionDeferred', retryAfterMs: 1000 });
  });

  it('only a 429 defers: a 503 with Retry-After stays a retryable failure, and a 200 returns just {status, body}', async () => {
    const busy = await refusal('/busy');
    expect(busy).toBeInstanceOf(ActionError);
    expect(busy).not.toBeInstanceOf(ActionDeferred);
    expect(busy).toMatchObject({ retryable: true, message: 'http.post: upstream answered 503' });
    const ok = await post('/ok');
    expect(Object.keys(ok as object).sort()).toEqual(['body', 'status']);
    expect(ok).toEqual({ status: 200, body: { path: '/ok' } });
  });
});
