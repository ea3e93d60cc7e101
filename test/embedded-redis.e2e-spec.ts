import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startEmbeddedRedis } from '../src/embedded-redis.js';
import { freePort } from './support/redis-server.js';

/**
 * Issue 12, point 5: the Redis that `npm start` runs when none answers keeps
 * its data on disk (append-only file, fsynced every second) and never
 * evicts. Shown on real redis-server processes started exactly as the
 * launcher starts them: a job written, the server SIGKILLed, a new server on
 * the same data folder has it.
 */
describe('embedded Redis of npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'relay-embedded-'));
  let server: ChildProcess | undefined;
  afterAll(() => {
    server?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs with appendonly yes, appendfsync everysec and noeviction, and keeps what it was told across a SIGKILL', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    server = await startEmbeddedRedis(url, dataDir);
    const redis = new Redis(url);
    try {
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await redis.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await redis.config('GET', 'save')).toEqual(['save', '']);
      await redis.hset('ai:jobs:kept', 'job_id', 'kept', 'status', 'pending');
      await redis.lpush('ai:queue:pending', 'acme:kept');
      // Past one fsync interval: the writes are on disk.
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      redis.disconnect();
    }
    const killed = server;
    await new Promise((resolve) => {
      killed.once('exit', resolve);
      killed.kill('SIGKILL');
    });
    expect(readdirSync(dataDir).length).toBeGreaterThan(0);

    server = await startEmbeddedRedis(url, dataDir);
    const again = new Redis(url);
    try {
      expect(await again.hgetall('ai:jobs:kept')).toEqual({ job_id: 'kept', status: 'pending' });
      expect(await again.lrange('ai:queue:pending', 0, -1)).toEqual(['acme:kept']);
    } finally {
      again.disconnect();
    }
  });

  it('refuses a URL that is not local', async () => {
    await expect(startEmbeddedRedis('redis://10.1.2.3:6379', dataDir)).rejects.toThrow(/not local/);
  });
});
