import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '@relay/config';
import { HttpPostAction } from '../apps/worker/src/actions/http-post.action.js';
import { freePort } from './support/redis-server.js';
import { killAllWorkers, spawnWorker } from './support/worker-process.js';

/**
 * The outbound policy of http.post against a real local server (issue 12,
 * point 14): the unspecified address reaches every local port (Linux
 * connects 0.0.0.0 to loopback), so an allowlist entry of it stops the
 * worker at start-up, and no spelling of it or of loopback in a URL gets
 * through unless that literal address is allowlisted.
 */
describe('http.post outbound policy against a real local server', () => {
  let server: Server;
  let port: number;
  const hits: string[] = [];

  /** A plain request, outside Relay, to show where a URL really goes. */
  const plainPost = (url: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(url, { method: 'POST', agent: false, timeout: 2000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });

  const context = { jobId: 'j1', workspaceId: 'acme', attempt: 1, signal: new AbortController().signal, progress: () => undefined };
  const action = (allowlist: string) => new HttpPostAction(loadConfig({ HTTP_ACTION_ALLOWED_HOSTS: allowlist, HTTP_ACTION_TIMEOUT_MS: '2000' }));

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '/');
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"reached":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await killAllWorkers();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('0.0.0.0 really reaches a server listening on 127.0.0.1 (what the policy must stop)', async () => {
    expect(await plainPost(`http://0.0.0.0:${port}/plain`)).toBe(200);
    expect(hits).toContain('/plain');
  });

  it.each(['0.0.0.0', '[::]:PORT', 'api.example.com,0'])(
    'a worker with HTTP_ACTION_ALLOWED_HOSTS=%s does not start: exit 2, naming HTTP_ACTION_ALLOWED_HOSTS',
    async (allowlist) => {
      // Nothing answers at REDIS_URL: the allowlist is refused before Redis matters.
      const worker = await spawnWorker({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, HTTP_ACTION_ALLOWED_HOSTS: allowlist.replace('PORT', String(port)) });
      let bound: NodeJS.Timeout | undefined;
      const exit = await Promise.race([worker.exited, new Promise<'still running'>((r) => (bound = setTimeout(() => r('still running'), 30_000)))]);
      clearTimeout(bound);
      expect(exit).toEqual({ code: 2, signal: null });
      expect(worker.output()).toMatch(/Invalid configuration: HTTP_ACTION_ALLOWED_HOSTS: \S+ is not a host/);
    },
  );

  it('no spelling of the unspecified address in a URL gets through, even with 127.0.0.1 on that port allowlisted', async () => {
    const before = hits.length;
    const run = action(`127.0.0.1:${port}`);
    for (const host of ['0.0.0.0', '0', '[::]', '[::ffff:0.0.0.0]']) {
      await expect(run.run({ url: `http://${host}:${port}/unspecified`, body: {} }, context)).rejects.toMatchObject({
        retryable: false,
        message: expect.stringMatching(/is not a host/),
      });
    }
    expect(hits.slice(before)).toEqual([]);
  });

  it('an allowlisted literal IP is reached, and only that exact address: its IPv4-mapped spelling is refused unless listed itself', async () => {
    const before = hits.length;
    const result = await action(`127.0.0.1:${port}`).run({ url: `http://127.0.0.1:${port}/literal`, body: {} }, context);
    expect(result).toEqual({ status: 200, body: { reached: true } });
    await expect(action(`127.0.0.1:${port}`).run({ url: `http://[::ffff:127.0.0.1]:${port}/mapped`, body: {} }, context)).rejects.toThrow(
      /not on HTTP_ACTION_ALLOWED_HOSTS/,
    );
    await expect(action(`127.0.0.1:${port}`).run({ url: `http://127.0.0.2:${port}/neighbour`, body: {} }, context)).rejects.toThrow(/not on/);
    expect(hits.slice(before)).toEqual(['/literal']);
  });

  it('a name that resolves to loopback is refused before connecting, whatever port is allowlisted for it', async () => {
    const before = hits.length;
    await expect(action(`localhost:${port}`).run({ url: `http://localhost:${port}/by-name`, body: {} }, context)).rejects.toMatchObject({
      retryable: false,
      message: expect.stringMatching(/resolves to a loopback address/),
    });
    expect(hits.slice(before)).toEqual([]);
  });
});
