import { Worker, type WorkerOptions } from 'bullmq';

/**
 * The comparison worker of the worker scenarios, run as a child process (so
 * it has a core of its own, like the Relay worker child): a BullMQ Worker
 * with an async no-op processor. Settings from the environment:
 * BENCH_REDIS_PORT, BENCH_REDIS_DB, BENCH_QUEUE, BENCH_CONCURRENCY, and
 * BENCH_RESULT (JSON the processor returns, kept as the job's returnvalue;
 * unset: undefined, as the drains run).
 * Sends {ready: true, options} over IPC once connected; closes on SIGTERM.
 */
const options: WorkerOptions = {
  connection: { host: '127.0.0.1', port: Number(process.env.BENCH_REDIS_PORT), db: Number(process.env.BENCH_REDIS_DB ?? 0) },
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 1),
  // Everything else at BullMQ's defaults (removeOnComplete: keep, stalledInterval 30 s, lockDuration 30 s, drainDelay 5 s).
};
const returned: unknown = process.env.BENCH_RESULT ? JSON.parse(process.env.BENCH_RESULT) : undefined;
const worker = new Worker(process.env.BENCH_QUEUE ?? 'bench', async () => returned, options);
worker.on('error', (error) => console.error(`bullmq worker error: ${error.message}`));
await worker.waitUntilReady();
const { connection: _connection, ...shown } = options;
process.send?.({ ready: true, options: { ...shown, removeOnComplete: 'default (kept)', processor: `async () => ${process.env.BENCH_RESULT ?? 'undefined'}` } });

const close = async () => {
  await worker.close();
  process.exit(0);
};
process.once('SIGTERM', () => void close());
process.once('SIGINT', () => void close());
