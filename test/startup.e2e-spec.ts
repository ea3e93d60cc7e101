import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { killAllApps, spawnApp } from './support/app-process.js';
import { freePort } from './support/redis-server.js';

/**
 * Start-up configuration checks (SPEC sections 3 and 9): the real API entry
 * point in a child process, with a bad setting, must stop with a non-zero
 * exit code and a message naming the variable.
 *
 * No Redis is touched: REDIS_URL points at a local port of our own that
 * accepts connections and closes them at once, so nothing can be read or
 * written even if the process got that far. The child's environment is
 * given explicitly (nothing inherited, NODE_OPTIONS included) and its
 * working directory is an empty temporary one, so no `.env` file of the
 * checkout can influence it (the product loads `.env` from the cwd).
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'apps/api/src/main.ts');
// The TypeScript hook, resolved from the checkout rather than from the (temporary) cwd.
const REGISTER_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(`import { register } from 'node:module'; register('@swc-node/register/esm', ${JSON.stringify(pathToFileURL(ROOT).href)});`);
const KILL_AFTER_MS = 20_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  timedOut: boolean;
}

describe('API start-up refuses bad configuration (child process)', () => {
  let blackhole: Server;
  let redisUrl: string;
  const dirs: string[] = [];

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'relay-startup-'));
    dirs.push(dir);
    return dir;
  }

  /** Runs the API with exactly `env` (plus what node and the hook need), in `cwd`; killed after 20 s. */
  async function startApi(env: Record<string, string>, cwd = tempDir()): Promise<Exit> {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', REGISTER_HOOK, MAIN], {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), PORT: String(port), REDIS_URL: redisUrl, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, KILL_AFTER_MS);
    try {
      return await new Promise<Exit>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => resolve({ code, signal, output, timedOut }));
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** A clear summary for assertion messages: exit code and the output's last lines. */
  const summary = (exit: Exit) => ({ code: exit.code, timedOut: exit.timedOut, tail: exit.output.trim().split('\n').slice(-3).join('\n') });

  beforeAll(async () => {
    blackhole = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    redisUrl = `redis://127.0.0.1:${(blackhole.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => blackhole.close(resolve));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('PHASE_1_CANARY_PCT=150: exit 2, naming PHASE_1_CANARY_PCT', async () => {
    const exit = await startApi({ PHASE_1_CANARY_PCT: '150' });
    expect(summary(exit)).toMatchObject({ code: 2, timedOut: false });
    expect(exit.output).toMatch(/PHASE_1_CANARY_PCT/);
  });

  it('PORT=abc: exit 2, naming PORT', async () => {
    const exit = await startApi({ PORT: 'abc' });
    expect(summary(exit)).toMatchObject({ code: 2, timedOut: false });
    expect(exit.output).toMatch(/\bPORT\b/);
  });

  it('AI_JOBS_LEGACY_WRITES=off with READ_PREFERS_NEW=off: exit 2, naming the flags', async () => {
    const exit = await startApi({ AI_JOBS_LEGACY_WRITES: 'off', READ_PREFERS_NEW: 'off' });
    expect(summary(exit)).toMatchObject({ code: 2, timedOut: false });
    expect(exit.output).toMatch(/AI_JOBS_LEGACY_WRITES/);
  });

  it('AI_JOBS_LEGACY_WRITES=off with READ_PREFERS_NEW=off, new schema on: exit 2, naming both flags', async () => {
    const exit = await startApi({ AI_JOBS_NEW_SCHEMA: 'on', AI_JOBS_LEGACY_WRITES: 'off', READ_PREFERS_NEW: 'off' });
    expect(summary(exit)).toMatchObject({ code: 2, timedOut: false });
    expect(exit.output).toMatch(/AI_JOBS_LEGACY_WRITES/);
    expect(exit.output).toMatch(/READ_PREFERS_NEW/);
  });

  it("ACTION_ALLOWLIST='debug' (not provider.name or provider.*): non-zero exit, naming ACTION_ALLOWLIST", async () => {
    const exit = await startApi({ ACTION_ALLOWLIST: 'debug' });
    expect(exit.timedOut).toBe(false);
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(exit.output).toMatch(/ACTION_ALLOWLIST/);
  });

  it('reads a .env file in its working directory, and a variable set in the environment wins over it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.env'), 'PHASE_1_CANARY_PCT=150\n');
    const fromFile = await startApi({}, dir);
    expect(summary(fromFile)).toMatchObject({ code: 2, timedOut: false });
    expect(fromFile.output).toMatch(/PHASE_1_CANARY_PCT/);

    // The environment's valid value wins; a second bad setting still stops start-up before Redis.
    const overridden = await startApi({ PHASE_1_CANARY_PCT: '50', WORKER_PORT: 'abc' }, dir);
    expect(summary(overridden)).toMatchObject({ code: 2, timedOut: false });
    expect(overridden.output).toMatch(/WORKER_PORT/);
    expect(overridden.output).not.toMatch(/PHASE_1_CANARY_PCT/);
  });
});

/**
 * The worker's own start-up checks of the scheduling settings (issue 14):
 * the real worker entry point, with exactly the environment given, against
 * the same kind of closing port (no Redis is touched).
 */
describe('worker start-up refuses bad scheduling settings (child process)', () => {
  let blackhole: Server;
  let redisUrl: string;

  async function startWorker(env: Record<string, string>) {
    const worker = spawnApp('worker', { WORKER_PORT: String(await freePort()), REDIS_URL: redisUrl, ...env });
    let bound: NodeJS.Timeout | undefined;
    const exit = await Promise.race([worker.exited, new Promise<'still running'>((r) => (bound = setTimeout(() => r('still running'), KILL_AFTER_MS)))]);
    clearTimeout(bound);
    return { exit, output: worker.output() };
  }

  beforeAll(async () => {
    blackhole = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    redisUrl = `redis://127.0.0.1:${(blackhole.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await killAllApps();
    await new Promise((resolve) => blackhole.close(resolve));
  });

  it.each([
    ['a limit of 0', '{"http.post": {"limit": 0, "window_ms": 1000}}', /Invalid configuration: ACTION_RATE_LIMITS: http\.post\.limit must be a whole number from 1 to 1000000/],
    ['a misspelt field', '{"gmail.*": {"limit": 5, "window": 1000}}', /Invalid configuration: ACTION_RATE_LIMITS: gmail\.\*\.window is not a field/],
    ['a key that is no action', '{"http": {"limit": 5, "window_ms": 1000}}', /Invalid configuration: ACTION_RATE_LIMITS: "http" is not an action id or provider\.\*/],
  ])('ACTION_RATE_LIMITS with %s: exit 2, naming ACTION_RATE_LIMITS', async (_, value, message) => {
    const { exit, output } = await startWorker({ ACTION_RATE_LIMITS: value });
    expect({ exit, tail: output.trim().split('\n').slice(-3).join('\n') }).toMatchObject({ exit: { code: 2, signal: null } });
    expect(output).toMatch(message);
  });

  it('WORKSPACE_LIMITS with a weight of 0: exit 2, naming WORKSPACE_LIMITS', async () => {
    const { exit, output } = await startWorker({ WORKSPACE_LIMITS: '{"acme": {"weight": 0}}' });
    expect({ exit, tail: output.trim().split('\n').slice(-3).join('\n') }).toMatchObject({ exit: { code: 2, signal: null } });
    expect(output).toMatch(/Invalid configuration: WORKSPACE_LIMITS: acme\.weight must be a whole number from 1 to 1000/);
  });
});
