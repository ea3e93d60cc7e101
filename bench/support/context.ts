import { Redis } from 'ioredis';
import { selectStorageStrategy, type MigrationFlags, type StorageStrategy } from '@relay/queue';
import type { BenchRedis } from './redis-server.js';
import { sleep } from './processes.js';

/** The default migration flags (phase 0, what `.env.example` ships) and the other two write modes the memory scenario compares. */
export const FLAGS: Record<'legacy' | 'dualWrite' | 'scoped', MigrationFlags> = {
  legacy: { newSchema: false, canaryPct: 100, readPrefersNew: false, readFallbackOld: true, legacyWrites: true },
  dualWrite: { newSchema: true, canaryPct: 100, readPrefersNew: false, readFallbackOld: true, legacyWrites: true },
  scoped: { newSchema: true, canaryPct: 100, readPrefersNew: true, readFallbackOld: false, legacyWrites: false },
};

export function strategy(mode: keyof typeof FLAGS): StorageStrategy {
  return selectStorageStrategy(FLAGS[mode]);
}

/** What every scenario gets: the mode, the private Redis, an admin connection, and a logger. */
export class BenchContext {
  /** Connections opened through connect(), closed at the end. */
  private readonly connections = new Set<Redis>();
  readonly admin: Redis;
  /** Measurements one scenario leaves for another in the same run (e.g. the concurrency-100 drains, for Redis CPU). */
  readonly memo = new Map<string, unknown>();

  constructor(
    readonly quick: boolean,
    readonly redis: BenchRedis,
    private readonly logLine: (line: string) => void,
  ) {
    this.admin = this.connect(0, 'bench-admin');
  }

  /** A plain ioredis connection to logical database `db` (no command timeout: seeding pipelines can be large). */
  connect(db = 0, name = 'bench'): Redis {
    const client = new Redis(this.redis.url(db), { connectionName: name, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    this.connections.add(client);
    client.once('end', () => this.connections.delete(client));
    return client;
  }

  /** Empties every database, then lets Redis settle (lazy frees, allocator). */
  async flushAll(): Promise<void> {
    await this.admin.flushall('SYNC');
    await sleep(100);
  }

  log(message: string): void {
    this.logLine(message);
  }

  /** Picks the full or the quick figure. */
  pick<T>(full: T, quick: T): T {
    return this.quick ? quick : full;
  }

  async close(): Promise<void> {
    for (const client of [...this.connections]) client.disconnect();
    this.connections.clear();
  }
}
