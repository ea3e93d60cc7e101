import BeeQueue from 'bee-queue';
import { BEE_QUEUE_WORKER_SETTINGS, BEE_QUEUE_STALL_CHECK_MS } from '../support/bee-queue-settings.js';

/**
 * The second comparison worker of the worker scenarios, run as a child
 * process like the BullMQ one: a Bee-Queue worker queue with an async no-op
 * handler. Settings from the environment: BENCH_REDIS_PORT, BENCH_REDIS_DB,
 * BENCH_QUEUE, BENCH_CONCURRENCY. Sends {ready: true, options} over IPC once
 * connected and processing; closes on SIGTERM.
 */
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 1);
const queue = new BeeQueue(process.env.BENCH_QUEUE ?? 'bench', {
  ...BEE_QUEUE_WORKER_SETTINGS,
  redis: { host: '127.0.0.1', port: Number(process.env.BENCH_REDIS_PORT), db: Number(process.env.BENCH_REDIS_DB ?? 0) },
});
queue.on('error', (error) => console.error(`bee-queue worker error: ${error.message}`));
await queue.ready();
const returned: unknown = process.env.BENCH_RESULT ? JSON.parse(process.env.BENCH_RESULT) : undefined;
queue.process(concurrency, async () => returned);
// Bee-Queue only checks for stalled jobs when asked (process() does it once); its README runs the check on a timer,
// as BullMQ's Worker does on its own (stalledInterval): a worker run the documented way.
void queue.checkStalledJobs(BEE_QUEUE_STALL_CHECK_MS).catch((error: Error) => console.error(`bee-queue stalled check: ${error.message}`));
process.send?.({
  ready: true,
  options: { ...BEE_QUEUE_WORKER_SETTINGS, concurrency, stalledCheckEveryMs: BEE_QUEUE_STALL_CHECK_MS, handler: `async () => ${process.env.BENCH_RESULT ?? 'undefined'}` },
});

const close = async () => {
  await queue.close(5000).catch(() => undefined);
  process.exit(0);
};
process.once('SIGTERM', () => void close());
process.once('SIGINT', () => void close());
