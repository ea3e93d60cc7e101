import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { ROOT } from './support/child-main.js';
import { expectEventually } from './support/expect-eventually.js';
import { PrivateRedis, accepts, freePort } from './support/redis-server.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * The suite's own isolation (README "Tests"): every e2e file runs on a
 * redis-server of its own, so files running side by side never see or flush
 * each other's keys, and no server outlives the run.
 */

/** The pid INFO reports: which process is really answering on a connection. */
async function pidOf(redis: Redis): Promise<number> {
  return Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
}

/**
 * Stands in for the jest process at the end of a run: starts a redis-server
 * on the port given, prints its pid, leaves it running (as a file whose
 * afterAll failed would), and on a line on stdin runs global-teardown.js.
 */
const ABANDONING_PARENT = `
import { spawn } from 'node:child_process';
const [port, teardown] = process.argv.slice(1);
const redis = spawn('redis-server', ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
console.log(redis.pid);
process.stdin.once('data', async () => {
  await (await import(teardown)).default();
  process.exit(0);
});
`;

describe('test isolation: each e2e file has a redis-server of its own', () => {
  const servers: FileRedis[] = [];
  const start = async () => {
    const server = await fileRedis();
    servers.push(server);
    return server;
  };
  afterAll(async () => {
    for (const server of servers) await server.stop();
  });

  it("two files' servers are two processes on two ports: the same key written on both keeps both values, a flush of one leaves the other", async () => {
    const [a, b] = [await start(), await start()];
    expect(a.url).not.toBe(b.url);
    expect(await pidOf(a.redis)).toBe(a.server.pid);
    expect(await pidOf(b.redis)).toBe(b.server.pid);
    expect(a.server.pid).not.toBe(b.server.pid);

    await a.redis.set('ai:queue:probe', 'file a');
    await b.redis.set('ai:queue:probe', 'file b');
    expect([await a.redis.get('ai:queue:probe'), await b.redis.get('ai:queue:probe')]).toEqual(['file a', 'file b']);
    await a.redis.flushall();
    expect([await a.redis.dbsize(), await b.redis.get('ai:queue:probe')]).toEqual([0, 'file b']);
  });

  it('a port another Redis already serves is never taken for a new server: the start moves on to another port', async () => {
    const taken = await start();
    await taken.redis.set('ai:queue:probe', 'kept');
    const offered = [taken.server.port, await freePort()];
    const fresh = await PrivateRedis.start(async () => offered.shift() ?? freePort());
    const client = new Redis(fresh.url);
    try {
      expect(fresh.port).not.toBe(taken.server.port);
      expect(await pidOf(client)).toBe(fresh.pid);
      expect(await client.dbsize()).toBe(0);
      expect(await taken.redis.get('ai:queue:probe')).toBe('kept');
      expect(await pidOf(taken.redis)).toBe(taken.server.pid);
    } finally {
      client.disconnect();
      await fresh.stop();
    }
  });

  it('stop() ends the server: its pid is gone and its port refuses connections', async () => {
    const server = await fileRedis();
    const pid = server.server.pid!;
    expect(await accepts(server.server.port)).toBe(true);
    await server.stop();
    expect(server.server.pid).toBeUndefined();
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(await accepts(server.server.port)).toBe(false);
  });

  it('without redis-server on PATH a start fails at once, saying how to install it, instead of handing out a server', async () => {
    const path = process.env.PATH;
    const empty = mkdtempSync(join(tmpdir(), 'relay-no-redis-'));
    const started = Date.now();
    process.env.PATH = empty;
    try {
      await expect(PrivateRedis.start()).rejects.toThrow('redis-server is not installed (the e2e tests start their own; Debian: apt-get install redis-server)');
    } finally {
      process.env.PATH = path;
      rmSync(empty, { recursive: true, force: true });
    }
    expect(Date.now() - started).toBeLessThan(4000); // not after the 5 s start timeout, on every port tried
  });

  it('the global teardown stops a redis-server its process still has running, and names it', async () => {
    const port = await freePort();
    const teardown = pathToFileURL(join(ROOT, 'test/support/global-teardown.js')).href;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', ABANDONING_PARENT, String(port), teardown], {
      cwd: tmpdir(), // the server's working directory: never the checkout
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    parent.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    parent.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => parent.once('exit', (code) => resolve(code)));
    let redisPid: number | undefined;
    try {
      redisPid = await expectEventually(() => {
        const pid = Number(/^(\d+)\n/.exec(stdout)?.[1]);
        expect(pid).toBeGreaterThan(0);
        return pid;
      }, 10_000);
      await expectEventually(async () => expect(await accepts(port)).toBe(true), 10_000);

      parent.stdin.end('run the teardown\n');
      expect(await exited).toBe(0);
      expect(stderr).toContain(`stopped 1 redis-server(s) a test file left running (pids ${redisPid})`);
      await expectEventually(async () => expect(await accepts(port)).toBe(false), 5000);
    } finally {
      parent.kill('SIGKILL');
      // Only if the teardown did not do its job: do not leave the server behind.
      if (redisPid && (await accepts(port))) process.kill(redisPid, 'SIGKILL');
    }
  });
});
