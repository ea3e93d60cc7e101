import BeeQueue from 'bee-queue';

/**
 * How the benchmark configures Bee-Queue, in one place so the worker child,
 * the fill and enqueue producers and the JSON all say the same thing. The
 * aim is the closest match to the BullMQ side (which runs at BullMQ's
 * defaults); bench/README.md explains each choice.
 */

/** Bee-Queue's default prefix: its keys (`bq:<queue>:…`) never meet BullMQ's (`bull:<queue>:…`) or Relay's (`ai:…`). */
export const BEE_QUEUE_PREFIX = 'bq';

export const BEE_QUEUE_WORKER_SETTINGS = {
  prefix: BEE_QUEUE_PREFIX,
  isWorker: true,
  // Finished jobs stay in Redis (the job hash entry plus the succeeded set), as BullMQ's default
  // removeOnComplete keeps completed jobs and Relay keeps finished jobs for the retention period.
  removeOnSuccess: false,
  removeOnFailure: false,
  // The worker still announces each finished job (a PUBLISH), as BullMQ's worker writes each
  // completion to its events stream by default.
  sendEvents: true,
  // No subscriber connection in the worker: it would only receive its own announcements back.
  // BullMQ's Worker does not read its events either (that is the separate QueueEvents class).
  getEvents: false,
  // Job objects kept in memory only for event delivery, which nothing here listens to.
  storeJobs: false,
  // Defaults, named for the record: stallInterval 5 s, no delayed-job activation.
  stallInterval: 5000,
  activateDelayedJobs: false,
} as const;

/** How often the worker runs Bee-Queue's stalled-job check (the interval its README shows; BullMQ checks every 30 s by itself). */
export const BEE_QUEUE_STALL_CHECK_MS = 5000;

/**
 * A producer-only queue (Bee-Queue README "producer queues": no worker
 * connection, no events), with storeJobs off: with events off, a stored Job
 * would never be let go, and the benchmark process would keep every job it
 * ever created.
 */
export function beeQueueProducer(name: string, port: number, db: number): BeeQueue {
  return new BeeQueue(name, {
    prefix: BEE_QUEUE_PREFIX,
    redis: { host: '127.0.0.1', port, db },
    isWorker: false,
    getEvents: false,
    sendEvents: false,
    storeJobs: false,
  });
}

/** Saves `n` jobs with `data` in one pipelined call (Queue#saveAll: one EVALSHA of addJob per job); throws if any failed. */
export async function beeQueueSaveAll(queue: BeeQueue, n: number, data: object): Promise<BeeQueue.Job<object>[]> {
  const jobs = Array.from({ length: n }, () => queue.createJob(data));
  const errors = await queue.saveAll(jobs);
  if (errors.size > 0) throw new Error(`bee-queue saveAll: ${errors.size} of ${n} jobs failed: ${[...errors.values()][0]?.message}`);
  return jobs;
}
