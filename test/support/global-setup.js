// Plain JavaScript: jest loads global setup outside the TypeScript hook.
// Makes sure the suite has a Redis: the one at RELAY_TEST_REDIS_URL (default
// redis://127.0.0.1:6379) when it answers, else a private redis-server on a
// spare port, which global-teardown.js stops. Test files flush only their
// own database numbers (test/support/databases.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

async function answers(url) {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export default async function globalSetup() {
  const url = process.env.RELAY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await answers(url)) {
    process.env.RELAY_TEST_REDIS_URL = url;
    return;
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'relay-test-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  globalThis.relayTestRedis = child;
  const privateUrl = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !(await answers(privateUrl)); i++) await new Promise((r) => setTimeout(r, 50));
  process.env.RELAY_TEST_REDIS_URL = privateUrl;
  process.stdout.write(`\n[test] no Redis at ${url}; started a private one at ${privateUrl}\n`);
}
