import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeChildDirs, ROOT, spawnMain, spawnTypeScript, type ChildMain } from './support/child-main.js';

/**
 * Settings are loaded and validated by @nestjs/config (libs/config/src/config-source.ts):
 * `.env` in the working directory plus the environment, which wins; an
 * explicit record (what tests and createApiApp(env) pass) is all there is;
 * loading never writes process.env; a bad value stops start-up with exit 2
 * naming the variable. Each case is a child process (test/support/settings-probe.ts,
 * or the real worker) with exactly the environment given, in a temporary
 * directory holding the `.env` the case needs.
 */

const PROBE = join(ROOT, 'test/support/settings-probe.ts');
const KILL_AFTER_MS = 30_000;

interface ProbeResult {
  PORT?: number;
  PHASE_1_CANARY_PCT?: number;
  WORKER_CONCURRENCY?: number;
  sameObjectInConfigService?: boolean;
  addedToProcessEnv?: string[];
  error?: string;
  message?: string;
}

describe('configuration through @nestjs/config', () => {
  const dirs: string[] = [];
  let blackhole: Server;

  /** A temporary working directory holding `dotEnv` as its `.env`. */
  function dirWithDotEnv(dotEnv: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'relay-config-'));
    dirs.push(dir);
    writeFileSync(join(dir, '.env'), dotEnv);
    return dir;
  }

  async function finished(child: ChildMain) {
    const timer = setTimeout(() => child.child.kill('SIGKILL'), KILL_AFTER_MS);
    try {
      return await child.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async function probe(cwd: string, env: Record<string, string>, args: string[]): Promise<ProbeResult> {
    const child = spawnTypeScript(PROBE, args, { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, 'config-probe', cwd);
    await finished(child);
    const line = child.output().split('\n').find((l) => l.startsWith('PROBE '));
    if (!line) throw new Error(`the probe printed no result:\n${child.output().slice(-2000)}`);
    return JSON.parse(line.slice('PROBE '.length)) as ProbeResult;
  }

  beforeAll(async () => {
    blackhole = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => blackhole.close(resolve));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    removeChildDirs();
  });

  it('an app reads `.env` and the environment, the environment winning; RelayConfig and ConfigService hold the same settings; process.env is left as it was', async () => {
    const cwd = dirWithDotEnv('PORT=4100\nPHASE_1_CANARY_PCT=40\n');
    const result = await probe(cwd, { PHASE_1_CANARY_PCT: '60' }, ['process']);
    expect(result).toEqual({ PORT: 4100, PHASE_1_CANARY_PCT: 60, WORKER_CONCURRENCY: 10, sameObjectInConfigService: true, addedToProcessEnv: [] });
  });

  it('an explicit record is all there is: neither the environment nor `.env` is read, even when they hold bad values', async () => {
    const cwd = dirWithDotEnv('PORT=abc\nWORKER_CONCURRENCY=5\n');
    const result = await probe(cwd, { PHASE_1_CANARY_PCT: '150' }, ['record', JSON.stringify({ PORT: '4200' })]);
    expect(result).toEqual({ PORT: 4200, PHASE_1_CANARY_PCT: 100, WORKER_CONCURRENCY: 10, sameObjectInConfigService: true, addedToProcessEnv: [] });
  });

  it('a bad value in `.env` fails the validate hook with ConfigError naming the variable', async () => {
    const cwd = dirWithDotEnv('WORKER_CONCURRENCY=0\n');
    const result = await probe(cwd, {}, ['process']);
    expect(result.error).toBe('ConfigError');
    expect(result.message).toMatch(/^Invalid configuration: WORKER_CONCURRENCY="0": WORKER_CONCURRENCY must not be less than 1/);
  });

  it('the worker stops with exit code 2 and one line naming the variable', async () => {
    const port = (blackhole.address() as { port: number }).port;
    const worker = spawnMain('worker', { PATH: process.env.PATH ?? '/usr/bin:/bin', REDIS_URL: `redis://127.0.0.1:${port}`, WORKER_CONCURRENCY: '0' });
    const exit = await finished(worker);
    expect({ code: exit.code, output: worker.output().trim() }).toEqual({
      code: 2,
      output: expect.stringMatching(/^Invalid configuration: WORKER_CONCURRENCY="0": WORKER_CONCURRENCY must not be less than 1$/),
    });
  });
});
