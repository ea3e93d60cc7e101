import type { ChildProcess } from 'node:child_process';
import { expectEventually } from './expect-eventually.js';
import { httpStatus, removeChildDirs, spawnMain, type ChildExit } from './child-main.js';
import { freePort } from './redis-server.js';

/**
 * The real worker entry point (apps/worker/src/main.ts) as a child process,
 * so tests can SIGKILL or SIGTERM it like an orchestrator would. It gets the
 * parent's environment without NODE_OPTIONS; child-main.ts says how it is run.
 */

export type WorkerExit = ChildExit;

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

/**
 * Spawns a worker with the parent's environment (minus NODE_OPTIONS) plus
 * `env`, on a free WORKER_PORT. Does not wait for it: see waitReady.
 */
export async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const port = await freePort();
  const inherited: Record<string, string | undefined> = { ...process.env };
  delete inherited.NODE_OPTIONS;
  const { child, pid, exited, output, alive } = spawnMain('worker', { ...inherited, WORKER_PORT: String(port), ...env });
  const worker: WorkerProcess = { child, pid, port, exited, output, alive, httpStatus: (path) => httpStatus(port, path) };
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
  removeChildDirs();
}
