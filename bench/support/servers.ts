import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { ApiKeyStore } from '@relay/auth';
import { ROOT, spawnChild, waitHttpReady, waitMessage, type Child } from './processes.js';
import { freePort } from './redis-server.js';

/**
 * The servers the benchmark runs as child processes, each through the swc
 * hook from source (no build needed), in an empty working directory, with an
 * explicit environment (nothing of the caller's shell or `.env` leaks in).
 */

/** Relay settings common to the API and worker children: the defaults of `.env.example`, quiet logs. */
const RELAY_ENV = {
  ACTION_ALLOWLIST: 'debug.*,http.post',
  LOG_LEVEL: 'warn',
};

export interface HttpServer {
  child: Child;
  port: number;
  url: string;
}

/**
 * apps/api/src/main.ts with rate limiting and the stored-jobs quota off (RATE_LIMIT_MAX=0,
 * WORKSPACE_MAX_STORED_JOBS=0: the batch scenario stores more than the default 100,000 jobs in
 * one workspace) and default migration flags (phase 0).
 */
export async function startRelayApi(redisUrl: string, env: Record<string, string> = {}): Promise<HttpServer> {
  const port = await freePort();
  const child = spawnChild('relay-api', join(ROOT, 'apps/api/src/main.ts'), {
    env: { ...RELAY_ENV, RATE_LIMIT_MAX: '0', WORKSPACE_MAX_STORED_JOBS: '0', ...env, PORT: String(port), REDIS_URL: redisUrl },
  });
  await waitHttpReady(child, port, '/health/ready');
  return { child, port, url: `http://127.0.0.1:${port}` };
}

/** bench/baseline-api/main.ts: the minimal Nest + Express app of the API submit scenario. */
export async function startBaselineApi(redisUrl: string): Promise<HttpServer> {
  const port = await freePort();
  const child = spawnChild('baseline-api', join(ROOT, 'bench/baseline-api/main.ts'), { env: { PORT: String(port), REDIS_URL: redisUrl } });
  await waitHttpReady(child, port, '/health');
  return { child, port, url: `http://127.0.0.1:${port}` };
}

export const WORKER_WORKSPACE = 'bench-worker';

/** apps/worker/src/main.ts at WORKER_CONCURRENCY=concurrency (plus `extraEnv`, e.g. migration flags); resolves once ready (consuming). */
export async function startRelayWorker(redisUrl: string, concurrency: number, extraEnv: Record<string, string> = {}): Promise<{ child: Child; env: Record<string, string> }> {
  const port = await freePort();
  const env = { ...RELAY_ENV, WORKER_CONCURRENCY: String(concurrency), ...extraEnv };
  const child = spawnChild('relay-worker', join(ROOT, 'apps/worker/src/main.ts'), { env: { ...env, WORKER_PORT: String(port), REDIS_URL: redisUrl } });
  await waitHttpReady(child, port, '/health/ready');
  return { child, env };
}

export const BULLMQ_QUEUE = 'bench';

/** What a comparison worker may be told besides its concurrency: its queue, and the JSON its no-op returns (default: undefined). */
export interface ComparisonWorkerOptions {
  queue?: string;
  result?: unknown;
}

function comparisonEnv(port: number, db: number, concurrency: number, queue: string, result: unknown): Record<string, string> {
  const env: Record<string, string> = { BENCH_REDIS_PORT: String(port), BENCH_REDIS_DB: String(db), BENCH_QUEUE: queue, BENCH_CONCURRENCY: String(concurrency) };
  if (result !== undefined) env.BENCH_RESULT = JSON.stringify(result);
  return env;
}

/** bench/workers/bullmq-worker.ts at the given concurrency; resolves with the options it reports once connected. */
export async function startBullmqWorker(port: number, db: number, concurrency: number, options: ComparisonWorkerOptions = {}): Promise<{ child: Child; options: unknown }> {
  const child = spawnChild('bullmq-worker', join(ROOT, 'bench/workers/bullmq-worker.ts'), {
    env: comparisonEnv(port, db, concurrency, options.queue ?? BULLMQ_QUEUE, options.result),
  });
  const ready = await waitMessage(child, (m): m is { ready: true; options: unknown } => typeof m === 'object' && m !== null && (m as { ready?: unknown }).ready === true);
  return { child, options: ready.options };
}

export const BEE_QUEUE_NAME = 'bench';

/** bench/workers/bee-queue-worker.ts at the given concurrency; resolves with the settings it reports once processing. */
export async function startBeeQueueWorker(port: number, db: number, concurrency: number, options: ComparisonWorkerOptions = {}): Promise<{ child: Child; options: unknown }> {
  const child = spawnChild('bee-queue-worker', join(ROOT, 'bench/workers/bee-queue-worker.ts'), {
    env: comparisonEnv(port, db, concurrency, options.queue ?? BEE_QUEUE_NAME, options.result),
  });
  const ready = await waitMessage(child, (m): m is { ready: true; options: unknown } => typeof m === 'object' && m !== null && (m as { ready?: unknown }).ready === true);
  return { child, options: ready.options };
}

/** A fresh API key (after a FLUSHALL the previous one is gone), created the way `relay keys create` does. */
export async function createApiKey(redis: Redis, workspaceId: string): Promise<string> {
  const store = new ApiKeyStore(redis);
  return (await store.create({ workspaceId, scopes: ['actions:execute', 'actions:preview'], actorId: 'bench-actor' })).key;
}
