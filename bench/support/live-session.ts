import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@relay/redis';
import type { BenchContext } from './context.js';
import type { Side } from './drain.js';
import { NOOP_ACTION } from './payload.js';
import { relayStore, waitConnected } from './relay-store.js';
import { BULLMQ_QUEUE, startBullmqWorker, startRelayWorker } from './servers.js';
import { runPool } from './stats.js';
import type { Child } from './processes.js';

/**
 * One side's worker child running on logical database 0 while this process
 * submits jobs into the same database (unlike the drains, whose jobs are
 * written elsewhere and handed over by SWAPDB): what the noisy-neighbour
 * scenario needs, since its point is what happens to jobs submitted while
 * a backlog is being worked off. The worker processes are the drains' own
 * (servers.ts: apps/worker/src/main.ts, workers/bullmq-worker.ts).
 *
 * Submissions go through each side's own enqueue API: Relay's
 * RedisJobStore.create (default flags, a batch of n is one create call of
 * kind 'plan', what POST /ai/plans does), BullMQ's Queue.addBulk. BullMQ
 * runs one queue for every workspace (groups are its paid edition), so the
 * workspace argument only matters on Relay's side.
 */
export interface LiveSession {
  side: Side;
  /** What the worker ran with (env for Relay, options for BullMQ). */
  options: unknown;
  /** n jobs of `workspace` in batches of `batch`, `inFlight` batch calls at a time; resolves when every call has answered. */
  enqueue(workspace: string, n: number, batch: number, inFlight: number): Promise<void>;
  /** One batch call of n jobs; resolves with their ids in submission order. */
  submitBatch(workspace: string, n: number): Promise<string[]>;
  /** Jobs finished so far (every workspace given at open), and how many of them failed. */
  finished(): Promise<{ done: number; failed: number }>;
  /** Each job's wait from submission to start, ms, read back from the stored job (see the implementations for which clocks). */
  waitsMs(workspace: string, ids: string[]): Promise<number[]>;
  /** Empties database 0 between runs (the worker stays up, idle). */
  reset(): Promise<void>;
  worker: Child;
  close(): Promise<void>;
}

export async function openLiveSession(ctx: BenchContext, side: Side, concurrency: number, workspaces: string[]): Promise<LiveSession> {
  const db0 = ctx.connect(0, `bench-live-${side}`);
  await db0.flushdb();
  return side === 'relay' ? openRelay(ctx, db0, concurrency, workspaces) : openBullmq(ctx, db0, concurrency);
}

const jobsOf = (n: number) => Array.from({ length: n }, () => ({ actorId: 'bench-actor', action: NOOP_ACTION, params: {} }));

async function openRelay(ctx: BenchContext, db0: Redis, concurrency: number, workspaces: string[]): Promise<LiveSession> {
  const started = await startRelayWorker(ctx.redis.url(0), concurrency);
  const { store, redis } = relayStore(ctx.redis.url(0), 'legacy');
  await waitConnected(redis);
  const create = async (workspace: string, n: number) => {
    const outcome = await store.create({ workspaceId: workspace, jobs: jobsOf(n), kind: 'plan' });
    if (outcome.outcome !== 'created') throw new Error(`relay create answered ${outcome.outcome}`);
    return outcome.jobIds;
  };
  return {
    side: 'relay',
    options: { ...started.env, migrationFlags: 'defaults (phase 0)', action: `${NOOP_ACTION} with params {}` },
    worker: started.child,
    enqueue: (workspace, n, batch, inFlight) => runPool(Math.ceil(n / batch), inFlight, (i) => create(workspace, Math.min(batch, n - i * batch))),
    submitBatch: create,
    async finished() {
      const pipe = db0.pipeline();
      for (const ws of workspaces) pipe.zcard(RedisKeys.workspaceStatusIndex(ws, 'succeeded')).zcard(RedisKeys.workspaceStatusIndex(ws, 'failed'));
      const replies = (await pipe.exec()) ?? [];
      const at = (i: number) => Number(replies[i]?.[1] ?? 0);
      let done = 0;
      let failed = 0;
      for (let i = 0; i < workspaces.length; i++) {
        done += at(2 * i) + at(2 * i + 1);
        failed += at(2 * i + 1);
      }
      return { done, failed };
    },
    async waitsMs(workspace, ids) {
      // created_at (createJobs) and started_at (the claim) are both Redis TIME, ms precision.
      return Promise.all(
        ids.map(async (id) => {
          const job = await store.get(workspace, id);
          if (!job?.startedAt) throw new Error(`relay job ${workspace}/${id} has no started_at (status ${job?.status ?? 'missing'})`);
          return Date.parse(job.startedAt) - Date.parse(job.createdAt);
        }),
      );
    },
    reset: async () => void (await db0.flushdb()),
    async close() {
      redis.disconnect();
      await started.child.stop(5000);
      db0.disconnect();
    },
  };
}

async function openBullmq(ctx: BenchContext, db0: Redis, concurrency: number): Promise<LiveSession> {
  const started = await startBullmqWorker(ctx.redis.port, 0, concurrency);
  const queue = new Queue(BULLMQ_QUEUE, { connection: { host: '127.0.0.1', port: ctx.redis.port, db: 0 } });
  await queue.waitUntilReady();
  const add = async (n: number) => (await queue.addBulk(jobsOf(n).map(() => ({ name: NOOP_ACTION, data: {} })))).map((job) => job.id!);
  return {
    side: 'bullmq',
    options: started.options,
    worker: started.child,
    enqueue: (_workspace, n, batch, inFlight) => runPool(Math.ceil(n / batch), inFlight, (i) => add(Math.min(batch, n - i * batch))),
    submitBatch: (_workspace, n) => add(n),
    async finished() {
      const replies = (await db0.pipeline().zcard(`bull:${BULLMQ_QUEUE}:completed`).zcard(`bull:${BULLMQ_QUEUE}:failed`).exec()) ?? [];
      const completed = Number(replies[0]?.[1] ?? 0);
      const failed = Number(replies[1]?.[1] ?? 0);
      return { done: completed + failed, failed };
    },
    async waitsMs(_workspace, ids) {
      // timestamp: Date.now() of this (the submitting) process when addBulk built the job;
      // processedOn: Date.now() of the worker child, sent with the call that moved it to active.
      return Promise.all(
        ids.map(async (id) => {
          const job = await queue.getJob(id);
          if (!job?.processedOn) throw new Error(`bullmq job ${id} has no processedOn`);
          return job.processedOn - job.timestamp;
        }),
      );
    },
    reset: async () => void (await db0.flushdb()),
    async close() {
      await queue.close().catch(() => undefined);
      await started.child.stop(5000);
      db0.disconnect();
    },
  };
}
