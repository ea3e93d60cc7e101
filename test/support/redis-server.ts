import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

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

/** How long a redis-server may take to answer, and how often we look. */
const START_TIMEOUT_MS = 5000;
const PROBE_INTERVAL_MS = 20;
/** Ports tried by PrivateRedis.start before giving up (a picked port can be taken before redis-server binds it). */
const PORT_ATTEMPTS = 5;

/** Whether something accepts TCP connections on 127.0.0.1:port (a plain socket: a refused ioredis connection leaves timers running for seconds). */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The pid of the redis-server answering at `url`, or undefined when none answers. */
async function answeringPid(url: string): Promise<number | undefined> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    const info = await probe.info('server');
    return Number(/^process_id:(\d+)/m.exec(info)?.[1]);
  } catch {
    return undefined;
  } finally {
    probe.disconnect();
  }
}

/**
 * A private redis-server on a spare port: every e2e file's Redis (through
 * fileRedis() in redis.ts), and the servers outage tests stop, restart or
 * pause. It serves nothing but the test that started it, so it may be
 * flushed freely; the machine's Redis on 6379 is never touched. A server is
 * only used once it is known to be this process's child (its INFO pid), so
 * a port taken meanwhile by another Redis is never mistaken for ours.
 */
export class PrivateRedis {
  private process?: ChildProcess;
  private exited = true;
  private dir?: string;

  private constructor(readonly port: number) {}

  /** Starts one on a port from `pickPort` (a free one), trying another port when that one turns out taken. */
  static async start(pickPort: () => Promise<number> = freePort): Promise<PrivateRedis> {
    let lastError: unknown;
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      const server = new PrivateRedis(await pickPort());
      try {
        await server.start();
        return server;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The running server's pid (undefined while stopped). */
  get pid(): number | undefined {
    return this.running() ? this.process!.pid : undefined;
  }

  /** (Re)starts the server on its port, empty; throws when the port is taken or redis-server is missing. */
  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'relay-redis-'));
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], {
      stdio: 'ignore',
    });
    this.process = child;
    this.exited = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    child.once('exit', () => (this.exited = true));
    child.once('error', (error: NodeJS.ErrnoException) => {
      spawnError = error;
      this.exited = true;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    let failure: Error | undefined;
    while (!failure) {
      if (spawnError?.code === 'ENOENT') {
        failure = Object.assign(new Error('redis-server is not installed (the e2e tests start their own; Debian: apt-get install redis-server)'), { code: 'ENOENT' });
      } else if (!this.running()) {
        failure = new Error(`redis-server could not start on port ${this.port} (taken?)`);
      } else if (Date.now() > deadline) {
        failure = new Error(`redis-server did not answer on port ${this.port} within ${START_TIMEOUT_MS} ms`);
      } else {
        const pid = (await accepts(this.port)) ? await answeringPid(this.url) : undefined;
        if (pid === undefined) await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
        else if (pid === child.pid) return;
        // Someone else's Redis holds the port: ours cannot bind it, and theirs must not be taken for ours.
        else failure = new Error(`port ${this.port} is served by another Redis (pid ${pid})`);
      }
    }
    await this.stop();
    throw failure;
  }

  /** Kills the server (it keeps nothing: data lives in memory only), waits for it to exit, removes its directory. */
  async stop(): Promise<void> {
    const child = this.process;
    if (child && this.running()) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  private running(): boolean {
    return this.process !== undefined && !this.exited;
  }
}
