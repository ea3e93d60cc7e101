import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expectEventually } from './expect-eventually.js';
import { freePort } from './redis-server.js';

/**
 * The real worker entry point (apps/worker/src/main.ts) as a child process,
 * so tests can SIGKILL or SIGTERM it like an orchestrator would.
 *
 * The child runs in an empty temporary working directory (the product loads
 * `.env` from its cwd, and the checkout's must not leak in), without the
 * parent's NODE_OPTIONS; the TypeScript hook is registered from the checkout
 * (a bare `--import @swc-node/register/esm-register` would resolve from the
 * temporary cwd and fail) and SWC_NODE_PROJECT points at the checkout's
 * tsconfig so the `@relay/*` paths resolve.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'apps/worker/src/main.ts');
const REGISTER_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(`import { register } from 'node:module'; register('@swc-node/register/esm', ${JSON.stringify(pathToFileURL(ROOT).href)});`);

/** Output kept per child (the tail only), for assertion messages. */
const OUTPUT_CAP = 64 * 1024;

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** WORKER_PORT: health and metrics. */
  readonly port: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<WorkerExit>;
  /** stdout + stderr so far (tail). */
  output(): string;
  alive(): boolean;
  /** GET on the worker's own port; the status code, or 0 when nothing answers. */
  httpStatus(path: string): Promise<number>;
}

const children = new Set<WorkerProcess>();
const dirs: string[] = [];

/** Status code of a GET on 127.0.0.1:port (no keep-alive, 2 s bound); 0 when nothing answers. */
export function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

/**
 * Spawns a worker with the parent's environment (minus NODE_OPTIONS) plus
 * `env`, on a free WORKER_PORT. Does not wait for it: see waitReady.
 */
export async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), 'relay-worker-'));
  dirs.push(cwd);
  const inherited = { ...process.env };
  delete inherited.NODE_OPTIONS;
  const child = spawn(process.execPath, ['--import', REGISTER_HOOK, MAIN], {
    cwd,
    env: { ...inherited, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), WORKER_PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > OUTPUT_CAP) output = output.slice(-OUTPUT_CAP);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<WorkerExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  const worker: WorkerProcess = {
    child,
    pid: child.pid!,
    port,
    exited,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    httpStatus: (path) => httpStatus(port, path),
  };
  children.add(worker);
  void exited.then(() => children.delete(worker));
  return worker;
}

/** Waits until the worker's readiness answers 200 (it consumes from then on). */
export async function waitReady(worker: WorkerProcess, timeoutMs = 30_000): Promise<void> {
  await expectEventually(async () => {
    if (!worker.alive()) throw new Error(`worker ${worker.pid} exited during start-up:\n${worker.output().slice(-2000)}`);
    expect(await worker.httpStatus('/health/ready')).toBe(200);
  }, timeoutMs, 100);
}

export async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const worker = await spawnWorker(env);
  await waitReady(worker);
  return worker;
}

/** SIGKILLs every worker child still running (afterAll) and removes their temporary directories. */
export async function killAllWorkers(): Promise<void> {
  const left = [...children];
  for (const worker of left) if (worker.alive()) worker.child.kill('SIGKILL');
  await Promise.all(left.map((w) => w.exited));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
