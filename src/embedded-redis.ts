import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRedisClient, waitUntilReady, type RedisClientOptions } from '@relay/redis';

/**
 * The Redis `npm start` runs when none answers at a local REDIS_URL. It keeps
 * its data on disk like a production Redis should: an append-only file
 * fsynced every second (at most about a second of writes lost if the
 * machine fails; none when redis-server is stopped with SIGTERM), no RDB
 * snapshots, and `noeviction`, so that a full Redis refuses writes instead
 * of dropping accepted jobs or API keys.
 */
export function embeddedRedisArgs(port: string, dataDir: string): string[] {
  return ['--port', port, '--bind', '127.0.0.1', '--dir', dataDir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction'];
}

/** Whether a Redis answers with these connection settings (with sentinels: whether they name a primary that answers). */
export async function redisAnswers(options: RedisClientOptions, waitMs = 1500): Promise<boolean> {
  const client = createRedisClient({ ...options, commandTimeoutMs: 1000 });
  client.removeAllListeners('error');
  client.on('error', () => undefined);
  const ready = await waitUntilReady(client, waitMs);
  client.disconnect();
  return ready;
}

/** Starts redis-server for `url` (which must be local) with its data in `dataDir`; resolves once it answers. */
export async function startEmbeddedRedis(url: string, dataDir: string): Promise<ChildProcess> {
  const { hostname, port } = new URL(url);
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(hostname)) {
    throw new Error(`no Redis answers at ${url}, and it is not local, so no private one can be started there`);
  }
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error(`no Redis answers at ${url} and redis-server is not installed (Debian: apt-get install redis-server)`);
  }
  mkdirSync(dataDir, { recursive: true });
  const redis = spawn('redis-server', embeddedRedisArgs(port || '6379', dataDir), { stdio: 'ignore' });
  for (let i = 0; i < 20; i++) {
    if (redis.exitCode !== null) break;
    if (await redisAnswers({ url, commandTimeoutMs: 1000, connectionName: 'relay-launcher' })) return redis;
    await new Promise((r) => setTimeout(r, 250));
  }
  redis.kill('SIGKILL');
  throw new Error(`the private redis-server on port ${port || 6379} did not answer (is the port taken?)`);
}
