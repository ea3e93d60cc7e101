import type { ChildProcess } from 'node:child_process';
import { expectEventually } from './expect-eventually.js';
import { httpStatus, removeChildDirs, spawnMain, type ChildExit } from './child-main.js';

/**
 * The real entry points (apps/api/src/main.ts, apps/worker/src/main.ts) as
 * child processes, for tests that stop and restart them like an
 * orchestrator would (a flag change means a restart).
 *
 * Unlike worker-process.ts (which hands the worker the parent's environment),
 * a child here gets exactly `env` plus what node and the TypeScript hook
 * need (PATH, HOME, TMPDIR): no setting of the test process, NODE_OPTIONS
 * included, leaks in. child-main.ts says how it is run.
 */

export type AppName = 'api' | 'worker';

export type AppExit = ChildExit;

export interface AppProcess {
  readonly name: AppName;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The port it serves HTTP on (PORT for the API, WORKER_PORT for the worker). */
  readonly port: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<AppExit>;
  /** stdout + stderr so far (tail). */
  output(): string;
  alive(): boolean;
}

const children = new Set<AppProcess>();

/**
 * Spawns `apps/<name>/src/main.ts` with exactly `env` (which must carry
 * PORT for the API, WORKER_PORT for the worker). Does not wait: see waitAppReady.
 */
export function spawnApp(name: AppName, env: Record<string, string>): AppProcess {
  const portVar = name === 'api' ? 'PORT' : 'WORKER_PORT';
  const port = Number(env[portVar]);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`spawnApp(${name}): env.${portVar} must be set`);
  const base: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (process.env.HOME) base.HOME = process.env.HOME;
  if (process.env.TMPDIR) base.TMPDIR = process.env.TMPDIR;
  const { child, pid, exited, output, alive } = spawnMain(name, { ...base, ...env });
  const app: AppProcess = { name, child, pid, port, exited, output, alive };
  children.add(app);
  void exited.then(() => children.delete(app));
  return app;
}

/** Waits until GET /health/ready answers 200; fails at once, with the output, if the process exits. */
export async function waitAppReady(app: AppProcess, timeoutMs = 30_000): Promise<void> {
  await expectEventually(
    async () => {
      if (!app.alive()) throw new Error(`${app.name} ${app.pid} exited during start-up:\n${app.output().slice(-2000)}`);
      const status = await httpStatus(app.port, '/health/ready');
      if (status !== 200) throw new Error(`${app.name} ${app.pid}: /health/ready answered ${status || 'nothing'}`);
    },
    timeoutMs,
    50,
  );
}

export async function startApp(name: AppName, env: Record<string, string>, timeoutMs?: number): Promise<AppProcess> {
  const app = spawnApp(name, env);
  await waitAppReady(app, timeoutMs);
  return app;
}

/**
 * SIGTERM, then waits up to timeoutMs for the exit; past that, SIGKILL.
 * Returns how it exited, and whether it had to be killed.
 */
export async function stopApp(app: AppProcess, timeoutMs = 15_000): Promise<AppExit & { killed: boolean; elapsedMs: number }> {
  const started = Date.now();
  if (app.alive()) app.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([app.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs)))]);
  clearTimeout(timer);
  if (exit) return { ...exit, killed: false, elapsedMs: Date.now() - started };
  app.child.kill('SIGKILL');
  return { ...(await app.exited), killed: true, elapsedMs: Date.now() - started };
}

/** SIGKILLs every child still running (afterAll) and removes their temporary directories. */
export async function killAllApps(): Promise<void> {
  const left = [...children];
  for (const app of left) if (app.alive()) app.child.kill('SIGKILL');
  await Promise.all(left.map((a) => a.exited));
  removeChildDirs();
}
