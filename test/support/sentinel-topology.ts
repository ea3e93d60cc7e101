import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { DelayedLink } from './delayed-link.js';
import { expectEventually } from './expect-eventually.js';
import { freePort } from './redis-server.js';

/**
 * A primary, one replica and `sentinels` Redis Sentinels, all local
 * `redis-server` processes (sentinels run as `redis-server <conf> --sentinel`,
 * which is what Debian's redis-sentinel package runs too) on spare ports
 * under one temporary directory, in memory only. The replica may replicate
 * through a DelayedLink, so that asynchronous replication lags.
 *
 * Sentinels take a primary for down after 1 s without answers. Their
 * failover-timeout is long on purpose: besides bounding a failover that goes
 * wrong, it is how long a sentinel waits before "fixing" a replica that
 * replicates from another address than the primary's (the delayed link), so
 * a long one keeps the link in place for the whole test; a failover that
 * goes right (every one here) never waits for it.
 */
export interface TopologyOptions {
  sentinels?: number;
  /** The replica receives the primary's stream this late (0: replicates directly). */
  replicaLagMs?: number;
}

export const MASTER_NAME = 'relay-test';
const DOWN_AFTER_MS = 1000;
const FAILOVER_TIMEOUT_MS = 60_000;

export class SentinelTopology {
  private readonly processes: ChildProcess[] = [];
  private primaryProcess?: ChildProcess;
  private link?: DelayedLink;
  primaryPort = 0;
  replicaPort = 0;
  sentinelPorts: number[] = [];

  private constructor(private readonly dir: string) {}

  /** Starts everything and waits until every sentinel knows the primary, the replica and the other sentinels. */
  static async start(options: TopologyOptions = {}): Promise<SentinelTopology> {
    const topology = new SentinelTopology(mkdtempSync(join(tmpdir(), 'relay-sentinel-')));
    try {
      await topology.build(options.sentinels ?? 3, options.replicaLagMs ?? 0);
    } catch (error) {
      await topology.stop();
      throw error;
    }
    return topology;
  }

  /** REDIS_SENTINELS for Relay. */
  get sentinelList(): string {
    return this.sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',');
  }

  /** The old primary dies at once (no shutdown, no goodbye to clients or the replica). */
  killPrimary(): void {
    this.primaryProcess?.kill('SIGKILL');
  }

  /**
   * The old primary comes back on its port, empty (in memory only), as a
   * primary; the sentinels make it a replica of the new one after a few
   * seconds (they wait 8 s before correcting a role).
   */
  async revivePrimary(): Promise<void> {
    this.primaryProcess = await this.redisServer(this.primaryPort, []);
  }

  /** Waits until every sentinel names the replica as the primary, and it says it is one. */
  async waitForFailover(timeoutMs: number): Promise<void> {
    await expectEventually(
      async () => {
        for (const port of this.sentinelPorts) expect(await this.ask(port, (r) => r.call('SENTINEL', 'get-master-addr-by-name', MASTER_NAME))).toEqual(['127.0.0.1', String(this.replicaPort)]);
        expect(((await this.ask(this.replicaPort, (r) => r.role())) as unknown[])[0]).toBe('master');
      },
      timeoutMs,
      100,
    );
  }

  /** Runs `use` on a short-lived connection to a local port. */
  async ask<T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 2000 });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return await use(redis);
    } finally {
      redis.disconnect();
    }
  }

  /** Stops every process (SIGKILL), the link, and removes the directory. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.processes.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((r) => (child.once('exit', r), child.kill('SIGKILL'))) : undefined)));
    await this.link?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async build(sentinels: number, replicaLagMs: number): Promise<void> {
    this.primaryPort = await freePort();
    this.primaryProcess = await this.redisServer(this.primaryPort, []);
    let upstream = this.primaryPort;
    if (replicaLagMs > 0) {
      this.link = await DelayedLink.open(this.primaryPort, replicaLagMs);
      upstream = this.link.port;
    }
    this.replicaPort = await freePort();
    await this.redisServer(this.replicaPort, ['--replicaof', '127.0.0.1', String(upstream)]);
    await expectEventually(async () => expect(await this.ask(this.replicaPort, (r) => r.info('replication'))).toMatch(/master_link_status:up/), 10_000, 50);
    for (let i = 0; i < sentinels; i++) {
      const port = await freePort();
      const conf = join(this.dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${this.dir}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${this.primaryPort} ${Math.floor(sentinels / 2) + 1}`,
          `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
          '',
        ].join('\n'),
      );
      this.sentinelPorts.push(port);
      await this.redisServer(port, [], conf);
    }
    await expectEventually(
      async () => {
        for (const port of this.sentinelPorts) {
          const replicas = (await this.ask(port, (r) => r.call('SENTINEL', 'replicas', MASTER_NAME))) as string[][];
          expect(replicas.map((fields) => fields[fields.indexOf('flags') + 1])).toEqual(['slave']);
          expect(((await this.ask(port, (r) => r.call('SENTINEL', 'sentinels', MASTER_NAME))) as unknown[]).length).toBe(sentinels - 1);
        }
      },
      20_000,
      100,
    );
  }

  /** A redis-server (a sentinel when given its config file) on `port`, answering PING. */
  private async redisServer(port: number, args: string[], sentinelConf?: string): Promise<ChildProcess> {
    const argv = sentinelConf
      ? [sentinelConf, '--sentinel']
      : ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--dbfilename', `dump-${port}.rdb`, '--repl-diskless-sync-delay', '0', ...args];
    const child = spawn('redis-server', argv, { stdio: 'ignore' });
    this.processes.push(child);
    await expectEventually(async () => expect(await this.ask(port, (r) => r.ping())).toBe('PONG'), 10_000, 50);
    return child;
  }
}
