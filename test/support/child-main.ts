import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Runs one of the real entry points (apps/<app>/src/main.ts) as a child
 * process, the way app-process.ts and worker-process.ts need it: in an empty
 * temporary working directory (the product loads `.env` from its cwd, and
 * the checkout's must not leak in), with the TypeScript hook registered from
 * the checkout (a bare `--import @swc-node/register/esm-register` would
 * resolve from the temporary cwd and fail) and SWC_NODE_PROJECT pointing at
 * the checkout's tsconfig so the `@relay/*` paths resolve.
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REGISTER_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(`import { register } from 'node:module'; register('@swc-node/register/esm', ${JSON.stringify(pathToFileURL(ROOT).href)});`);
/** Output kept per child (the tail only), for assertion messages. */
const OUTPUT_CAP = 64 * 1024;
const dirs: string[] = [];

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildMain {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ChildExit>;
  /** stdout + stderr so far (tail). */
  output(): string;
  alive(): boolean;
}

/** Spawns apps/<app>/src/main.ts with exactly `env` (plus SWC_NODE_PROJECT). */
export function spawnMain(app: 'api' | 'worker', env: Record<string, string | undefined>): ChildMain {
  return spawnTypeScript(join(ROOT, `apps/${app}/src/main.ts`), [], env, app);
}

/**
 * Spawns any TypeScript entry point of the checkout the same way, with
 * `args`, in a new empty temporary directory (or `cwd`, when given).
 */
export function spawnTypeScript(file: string, args: readonly string[], env: Record<string, string | undefined>, name = 'script', cwd?: string): ChildMain {
  if (cwd === undefined) {
    cwd = mkdtempSync(join(tmpdir(), `relay-${name}-`));
    dirs.push(cwd);
  }
  const child = spawn(process.execPath, ['--import', REGISTER_HOOK, file, ...args], {
    cwd,
    env: { ...env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > OUTPUT_CAP) output = output.slice(-OUTPUT_CAP);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  return {
    child,
    pid: child.pid!,
    exited,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
}

/** Removes the temporary working directories of children spawned so far. */
export function removeChildDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

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
