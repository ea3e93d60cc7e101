/**
 * `npm start`: runs Relay on one machine. Makes sure a Redis answers at
 * REDIS_URL (starting a private `redis-server` when none does and the URL is
 * local; with REDIS_SENTINELS, that the sentinels name a primary that answers), then runs the built API and worker as child processes, prints how
 * to call them, and stops everything it started on Ctrl-C or SIGTERM.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configFromProcessEnv, ConfigError, maskCredentials, type RelayConfig } from '@relay/config';
import { createRedisClient, redisClientOptions, waitUntilReady } from '@relay/redis';

const root = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcess[] = [];
let stopping = false;

function say(line: string): void {
  process.stdout.write(`[relay] ${maskCredentials(line)}\n`);
}

async function redisAnswers(config: RelayConfig): Promise<boolean> {
  const client = createRedisClient({ ...redisClientOptions(config, 'relay-launcher'), commandTimeoutMs: 1000 });
  client.removeAllListeners('error');
  client.on('error', () => undefined);
  const ready = await waitUntilReady(client, 1500);
  client.disconnect();
  return ready;
}

async function startPrivateRedis(config: RelayConfig): Promise<void> {
  const url = config.REDIS_URL;
  if (config.REDIS_SENTINELS) {
    throw new Error(`the sentinels at ${config.REDIS_SENTINELS} name no primary "${config.REDIS_SENTINEL_MASTER}" that answers (a private Redis is started only without REDIS_SENTINELS)`);
  }
  const { hostname, port } = new URL(url);
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(hostname)) {
    throw new Error(`no Redis answers at ${url}, and it is not local, so no private one can be started there`);
  }
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error(`no Redis answers at ${url} and redis-server is not installed (Debian: apt-get install redis-server)`);
  }
  const dir = `${root}.relay`;
  mkdirSync(dir, { recursive: true });
  say(`no Redis at ${url}; starting a private redis-server on port ${port || 6379} (data in memory only)`);
  const redis = spawn('redis-server', ['--port', port || '6379', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  children.push(redis);
  for (let i = 0; i < 20; i++) {
    if (await redisAnswers(config)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the private redis-server on port ${port || 6379} did not answer (is the port taken?)`);
}

function run(name: string, script: string): void {
  const child = spawn(process.execPath, [`${root}${script}`], { stdio: 'inherit', cwd: root });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    say(`${name} exited (${signal ?? code}); stopping Relay`);
    void stop(1);
  });
}

async function stop(code: number): Promise<never> {
  stopping = true;
  // API and worker first (graceful SIGTERM), Redis last.
  for (const child of [...children].reverse()) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  process.exit(code);
}

async function main(): Promise<void> {
  if (!existsSync(`${root}.env`) && existsSync(`${root}.env.example`)) {
    copyFileSync(`${root}.env.example`, `${root}.env`);
    say('created .env from .env.example (edit it to change settings)');
  }
  process.chdir(root);
  const config = configFromProcessEnv();
  if (!(await redisAnswers(config))) await startPrivateRedis(config);
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  run('api', 'dist/apps/api/src/main.js');
  run('worker', 'dist/apps/worker/src/main.js');
  say(`API on http://127.0.0.1:${config.PORT}, worker health and metrics on http://127.0.0.1:${config.WORKER_PORT}`);
  say('create a key:   npm run --silent relay -- keys create --workspace demo --scopes actions:execute,actions:preview');
  say(`submit a job:   curl -s -X POST http://127.0.0.1:${config.PORT}/ai/jobs -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{"action":"debug.echo","params":{"hello":"world"}}'`);
  say(`list jobs:      curl -s http://127.0.0.1:${config.PORT}/ai/jobs -H "Authorization: Bearer $KEY"`);
  say('stop:           Ctrl-C');
}

main().catch((error: unknown) => {
  process.stderr.write(`[relay] ${maskCredentials(error instanceof Error ? error.message : String(error))}\n`);
  void stop(error instanceof ConfigError ? 2 : 1);
});
