/**
 * `npm start`: runs Relay on one machine. Makes sure a Redis answers at
 * REDIS_URL (starting a private `redis-server` when none does and the URL is
 * local; with REDIS_SENTINELS, that the sentinels name a primary that
 * answers), then runs the built API and worker as child processes, prints
 * how to call them, and stops everything it started on Ctrl-C or SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configFromProcessEnv, maskCredentials, type RelayConfig } from '@relay/config';
import { exitCodeFor } from '@relay/errors';
import { redisClientOptions } from '@relay/redis';
import { redisAnswers, startEmbeddedRedis } from './embedded-redis.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcess[] = [];
let stopping = false;

function say(line: string): void {
  process.stdout.write(`[relay] ${maskCredentials(line)}\n`);
}

/** Where the embedded Redis keeps its append-only file (README "Running it"). */
const REDIS_DATA_DIR = '.relay/redis-data';

async function startPrivateRedis(config: RelayConfig): Promise<void> {
  const url = config.REDIS_URL;
  if (config.REDIS_SENTINELS) {
    throw new Error(`the sentinels at ${config.REDIS_SENTINELS} name no primary "${config.REDIS_SENTINEL_MASTER}" that answers (a private Redis is started only without REDIS_SENTINELS)`);
  }
  say(`no Redis at ${url}; starting a private redis-server (data in ${REDIS_DATA_DIR}, append-only file fsynced every second)`);
  children.push(await startEmbeddedRedis(url, `${root}${REDIS_DATA_DIR}`));
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
  const config = await configFromProcessEnv();
  if (!(await redisAnswers(redisClientOptions(config, 'relay-launcher')))) await startPrivateRedis(config);
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
  void stop(exitCodeFor(error));
});
