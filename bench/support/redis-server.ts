import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { sleep, tempDir, trackPid, untrackPid } from './processes.js';

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The benchmark's own redis-server on a spare port, in memory only (no RDB,
 * no AOF), so no other Redis on the machine is touched and nothing else runs
 * on it. A detached shell watchdog SIGKILLs it if the bench process dies
 * without stopping it.
 */
export class BenchRedis {
  private process?: ChildProcess;
  private watchdog?: ChildProcess;

  private constructor(readonly port: number) {}

  static async start(): Promise<BenchRedis> {
    const server = new BenchRedis(await freePort());
    await server.start();
    return server;
  }

  /** URL of logical database `db` (0 by default). */
  url(db = 0): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  private async start(): Promise<void> {
    const dir = tempDir('relay-bench-redis-');
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--databases', '16', '--maxmemory', '0', '--maxmemory-policy', 'noeviction'],
      { stdio: 'ignore' },
    );
    this.process = child;
    child.once('error', () => undefined);
    trackPid(child.pid!);
    const watchdog = spawn('sh', ['-c', 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null', 'watchdog', String(process.pid), String(child.pid)], {
      stdio: 'ignore',
      detached: true,
    });
    watchdog.unref();
    this.watchdog = watchdog;
    trackPid(watchdog.pid!);

    const probe = new Redis(this.url(), { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) break;
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        await sleep(50);
      }
    }
    throw new Error(`redis-server did not start on port ${this.port} (is redis-server installed? Debian: apt-get install redis-server)`);
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
    if (child?.pid) untrackPid(child.pid);
    const watchdog = this.watchdog;
    if (watchdog?.pid) {
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      untrackPid(watchdog.pid);
    }
  }
}
