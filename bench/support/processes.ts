import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Every process the benchmark starts is registered here, so that it is
 * stopped whatever happens: at the end of a scenario, when a scenario throws,
 * on Ctrl-C / SIGTERM, and (synchronously, SIGKILL) when the bench process
 * exits. Node children are spawned with an IPC channel and a guard module
 * that exits them when the channel closes, so they also go away if the bench
 * process itself is SIGKILLed; redis-server gets a small shell watchdog for
 * the same reason (see redis-server.ts).
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Registers the TypeScript hook from the checkout (a bare specifier would resolve from the child's temporary cwd). */
const REGISTER_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(`import { register } from 'node:module'; register('@swc-node/register/esm', ${JSON.stringify(pathToFileURL(ROOT).href)});`);
const ORPHAN_GUARD = pathToFileURL(join(ROOT, 'bench/support/orphan-guard.mjs')).href;

const OUTPUT_CAP = 64 * 1024;

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** stdout + stderr so far (the tail). */
  output(): string;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const children = new Set<Child>();
const extraPids = new Set<number>();
const tempDirs: string[] = [];

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** A pid to SIGKILL at exit (e.g. a watchdog), for processes not spawned through spawnChild. */
export function trackPid(pid: number): void {
  extraPids.add(pid);
}
export function untrackPid(pid: number): void {
  extraPids.delete(pid);
}

export interface SpawnOptions {
  /** Exactly these variables (plus PATH, HOME, SWC_NODE_PROJECT): nothing else is inherited, NODE_OPTIONS included. */
  env?: Record<string, string>;
  /** A TypeScript entry run through the swc hook (default), or a plain command. */
  typescript?: boolean;
  args?: string[];
}

/**
 * Spawns `entry` (a .ts file under the checkout) with node + the swc hook in
 * an empty temporary working directory (Relay loads `.env` from its cwd; the
 * checkout's must not leak in).
 */
export function spawnChild(name: string, entry: string, options: SpawnOptions = {}): Child {
  const cwd = tempDir('relay-bench-');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? cwd,
    SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
    ...options.env,
  };
  // BENCH_CPU_PROF=<dir>: every Node child writes a V8 CPU profile there when it exits (for finding hot spots).
  // (One file per thread: with the swc hook, module loading runs in a thread of its own.)
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${join(process.env.BENCH_CPU_PROF, name)}`] : [];
  const args = [...profile, '--import', REGISTER_HOOK, '--import', ORPHAN_GUARD, entry, ...(options.args ?? [])];
  const proc = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > OUTPUT_CAP) output = output.slice(-OUTPUT_CAP);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', (error) => {
      output += `\nspawn error: ${error.message}`;
      resolve({ code: null, signal: null });
    });
  });
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const child: Child = {
    name,
    process: proc,
    exited,
    alive,
    output: () => output,
    stop: async (graceMs = 3000) => {
      if (alive()) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => alive() && proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      children.delete(child);
    },
  };
  children.add(child);
  void exited.then(() => {
    if (proc.connected) proc.disconnect();
  });
  return child;
}

/** Stops every child still registered (SIGTERM, then SIGKILL). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop(2000)));
}

/** Last resort at process exit: SIGKILL everything, synchronously. */
export function killEverythingNow(): void {
  for (const child of children) {
    if (child.alive()) {
      try {
        child.process.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const pid of extraPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
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

/** Waits until GET path answers 200; throws (with the child's output) when the child exits or time runs out. */
export async function waitHttpReady(child: Child, port: number, path: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.alive()) throw new Error(`${child.name} exited during start-up:\n${child.output().slice(-3000)}`);
    if ((await httpStatus(port, path)) === 200) return;
    await sleep(100);
  }
  throw new Error(`${child.name} did not answer 200 on ${path} within ${timeoutMs} ms:\n${child.output().slice(-3000)}`);
}

/** Waits for the first IPC message from the child matching `predicate`. */
export function waitMessage<T>(child: Child, predicate: (m: unknown) => m is T, timeoutMs = 60_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${child.name}: no ready message within ${timeoutMs} ms:\n${child.output().slice(-3000)}`)), timeoutMs);
    const onMessage = (m: unknown) => {
      if (predicate(m)) finish(undefined, m);
    };
    const onExit = () => finish(new Error(`${child.name} exited:\n${child.output().slice(-3000)}`));
    const finish = (error?: Error, value?: T) => {
      clearTimeout(timer);
      child.process.off('message', onMessage);
      child.process.off('exit', onExit);
      if (error) reject(error);
      else resolve(value as T);
    };
    child.process.on('message', onMessage);
    child.process.once('exit', onExit);
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** CPU time (user + system) a process has used so far, in seconds, from /proc (Linux); undefined elsewhere. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** sysconf(_SC_CLK_TCK) is 100 on Linux. */
const CLOCK_TICKS = 100;
