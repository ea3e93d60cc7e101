import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Redis, RedisKeys } from '@relay/redis';
import { RelayMetrics } from '@relay/telemetry';
import { jobScripts, type JobScripts } from './job-scripts.js';

/** A job a worker has claimed: run it, then finish it with the same token. */
export interface ClaimedJob {
  entry: string;
  token: string;
  workspaceId: string;
  jobId: string;
  attempts: number;
  action: string;
  params: unknown;
  actorId: string;
  createdAt: string;
}

export type AttemptOutcome =
  | { outcome: 'succeeded'; result: unknown }
  | { outcome: 'failed'; error: string }
  | { outcome: 'retry'; error: string; delayMs: number };

export type FinishResult = 'done' | 'lost' | 'gone';

export interface QueueDepth {
  pending: number;
  running: number;
  retrying: number;
  dead: number;
}

export interface ClaimOptions {
  /** How many jobs to claim (0: none). */
  max: number;
  workerId: string;
  leaseMs: number;
  maxAttempts: number;
  retentionSeconds: number;
  /** An entry a blocking wait moved to the active list, to lease first. */
  blockedEntry?: string;
}

/** The keys of claimJobs and finishJobs, in their documented order. */
const QUEUE_KEYS = [
  RedisKeys.pendingQueue,
  RedisKeys.activeQueue,
  RedisKeys.leases,
  RedisKeys.retryQueue,
  RedisKeys.deadLetters,
  RedisKeys.retention,
];

function parseParams(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

function toClaimedJob([entry, token, attempts, provider, name, params, actorId, createdAt]: string[]): ClaimedJob {
  const sep = entry.indexOf(':');
  return {
    entry,
    token,
    workspaceId: entry.slice(0, sep),
    jobId: entry.slice(sep + 1),
    attempts: Number(attempts),
    action: `${provider}.${name}`,
    params: parseParams(params),
    actorId,
    createdAt,
  };
}

/**
 * The worker's side of the queue: claim with a lease, renew, finish (fenced
 * by the lease token), release on shutdown, recover what dead workers held,
 * and the dead-letter list. Each operation is one Lua script.
 */
@Injectable()
export class WorkQueue {
  private readonly logger = new Logger(WorkQueue.name);
  private readonly scripts: JobScripts;

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Optional() private readonly metrics?: RelayMetrics,
  ) {
    this.scripts = jobScripts(redis);
  }

  /**
   * The claim and finish scripts skip (rather than abort on) an index,
   * retention or dead-letter write that fails, so that the other jobs of the
   * call are not stranded; such a failure means a key of another type is in
   * the way (corruption or an operator's mistake), so it is logged and counted.
   */
  private reportSkippedWrites(skipped: number): void {
    if (skipped <= 0) return;
    this.metrics?.statusUpdateFailures.inc({ reason: 'index_write' }, skipped);
    this.logger.error(
      `${skipped} index, retention or dead-letter write(s) skipped: a key of another type is in the way (an ai:index:* key, ai:queue:retention, ai:queue:retry or ai:queue:dead); listings by status may be off until it is repaired`,
    );
  }

  async claim(options: ClaimOptions): Promise<ClaimedJob[]> {
    const now = new Date();
    const [rows, skipped] = (await this.scripts.claimJobs(QUEUE_KEYS, [
      now.getTime(),
      now.toISOString(),
      options.leaseMs,
      options.max,
      options.workerId,
      options.blockedEntry ?? '',
      options.maxAttempts,
      options.retentionSeconds,
    ])) as [string[][], number];
    this.reportSkippedWrites(skipped);
    return rows.map(toClaimedJob);
  }

  /** Milliseconds until the earliest retry is due (claims promote it), or undefined when none waits. */
  async msUntilNextRetry(): Promise<number | undefined> {
    const [, score] = await this.redis.zrange(RedisKeys.retryQueue, '0', '0', 'WITHSCORES');
    return score === undefined ? undefined : Math.max(0, Number(score) - Date.now());
  }

  /** Waits up to timeoutSeconds for a pending entry, moving it to the active list; on a blocking connection. */
  async waitForEntry(blocking: Redis, timeoutSeconds: number): Promise<string | null> {
    return blocking.blmove(RedisKeys.pendingQueue, RedisKeys.activeQueue, 'RIGHT', 'LEFT', timeoutSeconds);
  }

  /**
   * Records an attempt's outcome ('lost' when the lease is no longer this
   * worker's) and, in the same round trip, claims up to `next.max` jobs.
   */
  async finish(
    job: ClaimedJob,
    outcome: AttemptOutcome,
    retentionSeconds: number,
    next?: Omit<ClaimOptions, 'retentionSeconds' | 'blockedEntry'>,
  ): Promise<{ result: FinishResult; claimed: ClaimedJob[] }> {
    const { results, claimed } = await this.finishMany([{ job, outcome }], retentionSeconds, next);
    return { result: results[0], claimed };
  }

  /** finish for several jobs in one script call (a busy worker batches what finished in the same tick). */
  async finishMany(
    items: { job: ClaimedJob; outcome: AttemptOutcome }[],
    retentionSeconds: number,
    next?: Omit<ClaimOptions, 'retentionSeconds' | 'blockedEntry'>,
  ): Promise<{ results: FinishResult[]; claimed: ClaimedJob[] }> {
    const args: (string | number)[] = [
      new Date().toISOString(),
      retentionSeconds,
      next?.max ?? 0,
      next?.workerId ?? '',
      next?.leaseMs ?? 0,
      next?.maxAttempts ?? 0,
    ];
    for (const { job, outcome } of items) {
      args.push(
        job.entry,
        job.token,
        outcome.outcome,
        outcome.outcome === 'succeeded' ? JSON.stringify(outcome.result ?? null) : '',
        outcome.outcome === 'succeeded' ? '' : outcome.error,
        outcome.outcome === 'retry' ? outcome.delayMs : 0,
        job.createdAt,
      );
    }
    const [results, rows, skipped] = (await this.scripts.finishJobs(QUEUE_KEYS, args)) as [FinishResult[], string[][], number];
    this.reportSkippedWrites(skipped);
    return { results, claimed: rows.map(toClaimedJob) };
  }

  /** Extends the leases still held; returns the entries whose lease was lost. */
  async renew(jobs: ClaimedJob[], leaseMs: number): Promise<string[]> {
    if (jobs.length === 0) return [];
    return (await this.scripts.renewLeases(
      [RedisKeys.leases],
      [leaseMs, ...jobs.flatMap((j) => [j.entry, j.token])],
    )) as string[];
  }

  /** Gives unfinished jobs back for immediate re-delivery (graceful shutdown). */
  async release(jobs: ClaimedJob[]): Promise<number> {
    if (jobs.length === 0) return 0;
    return (await this.scripts.releaseJobs(
      [RedisKeys.leases, RedisKeys.pendingQueue],
      [new Date().toISOString(), ...jobs.flatMap((j) => [j.entry, j.token])],
    )) as number;
  }

  /** One recovery pass (skipped when another worker ran one within lockMs). */
  async recover(lockMs: number): Promise<{ expired: number; stalled: number; dropped: number } | undefined> {
    const now = new Date();
    const reply = (await this.scripts.recoverStalled(
      [RedisKeys.leases, RedisKeys.pendingQueue, RedisKeys.activeQueue, RedisKeys.stalledCheck, RedisKeys.recoveryLock, RedisKeys.retention, RedisKeys.deadLetters],
      [now.getTime(), now.toISOString(), lockMs],
    )) as number[];
    if (reply[0] === -1) return undefined;
    return { expired: reply[0], stalled: reply[1], dropped: reply[2] };
  }

  async depth(): Promise<QueueDepth> {
    const replies = await this.redis
      .pipeline()
      .llen(RedisKeys.pendingQueue)
      .zcard(RedisKeys.leases)
      .zcard(RedisKeys.retryQueue)
      .llen(RedisKeys.deadLetters)
      .exec();
    const [pending, running, retrying, dead] = (replies ?? []).map(([, n]) => Number(n ?? 0));
    return { pending, running, retrying, dead };
  }

  /** Dead-letter entries, newest first. */
  async listDead(limit = 100): Promise<{ workspaceId: string; jobId: string }[]> {
    const entries = await this.redis.lrange(RedisKeys.deadLetters, 0, limit - 1);
    return entries.map((e) => ({ workspaceId: e.slice(0, e.indexOf(':')), jobId: e.slice(e.indexOf(':') + 1) }));
  }

  async requeueDead(workspaceId: string, jobId: string): Promise<'requeued' | 'missing' | 'gone'> {
    return (await this.scripts.requeueDead(
      [RedisKeys.deadLetters, RedisKeys.pendingQueue, RedisKeys.retention],
      [`${workspaceId}:${jobId}`, new Date().toISOString()],
    )) as 'requeued' | 'missing' | 'gone';
  }
}
