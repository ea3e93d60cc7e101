import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { QueueScripts, RedisJobStore, WorkQueue, selectStorageStrategy } from '@relay/queue';
import { RelayMetrics } from '@relay/telemetry';
import { inlineIncludes } from '../libs/queue/src/scripts/script-source.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Every time a script stores or compares comes from Redis TIME (issue 11,
 * point 6). Shown by running the store and the worker's queue in a process
 * whose clock is 36 hours behind Redis's: every timestamp written and every
 * deadline, due time and expiry scored must still be Redis's. The skew is
 * made by replacing the global Date for the duration of one test (a fault a
 * real machine cannot be asked to produce on demand), and restored after.
 */
const RealDate = Date;
const SKEW_MS = -36 * 3600 * 1000;
class SkewedDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(RealDate.now() + SKEW_MS);
    else super(...(args as [string]));
  }
  static override now(): number {
    return RealDate.now() + SKEW_MS;
  }
}

const TIME_FIELDS = ['created_at', 'updated_at', 'started_at', 'finished_at'] as const;
const RETENTION_SECONDS = 3600;

describe('one clock: scripts use Redis TIME', () => {
  let server: FileRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
  });
  afterAll(async () => {
    globalThis.Date = RealDate;
    await server?.stop();
  });

  it('isoFromMs writes what Date.prototype.toISOString writes, for any time from 1970 to 2286', async () => {
    const convert = inlineIncludes('-- @include clock\nlocal out = {}\nfor i, ms in ipairs(ARGV) do out[i] = isoFromMs(tonumber(ms)) end\nreturn out');
    const edges = [0, 951782400000, 951868799999, 4107542400000, 1735689599999, 1704067200000, 9999999999999];
    const samples = [...edges, ...fc.sample(fc.integer({ min: 0, max: 9_999_999_999_999 }), 2000)];
    const written = (await redis.eval(convert, 0, ...samples.map(String))) as string[];
    expect(written).toEqual(samples.map((ms) => new RealDate(ms).toISOString()));
  });

  it('a process whose clock is 36 h behind Redis still stores Redis times: submit, claim, finish, retry, cancel, release, dead-letter requeue', async () => {
    const scripts = new QueueScripts(redis);
    const flags = { newSchema: true, canaryPct: 100, readPrefersNew: true, readFallbackOld: true, legacyWrites: true };
    const store = new RedisJobStore(scripts, selectStorageStrategy(flags), new RelayMetrics(), RETENTION_SECONDS);
    const queue = new WorkQueue(scripts, redis);
    const claimOptions = { workerId: 'w1', leaseMs: 30_000, maxAttempts: 1, retentionSeconds: RETENTION_SECONDS };
    globalThis.Date = SkewedDate as DateConstructor;
    try {
      const submit = async () => {
        const created = await store.create({ workspaceId: 'acme', kind: 'job', jobs: [{ actorId: 'a', action: 'debug.echo', params: {} }] });
        if (created.outcome !== 'created') throw new Error(created.outcome);
        return created;
      };
      const first = await submit();
      const [succeeds, retries, released, dies] = [first, await submit(), await submit(), await submit()].map((c) => c.jobIds[0]);
      const cancelled = (await submit()).jobIds[0];
      expect((await store.cancel('acme', cancelled)).outcome).toBe('cancelled');

      const claimed = await queue.claim({ ...claimOptions, max: 4 });
      expect(claimed.map((j) => j.jobId).sort()).toEqual([succeeds, retries, released, dies].sort());
      const job = (id: string) => claimed.find((j) => j.jobId === id)!;
      const finished = await queue.finishMany(
        [
          { job: job(succeeds), outcome: { outcome: 'succeeded', result: 1 } },
          { job: job(retries), outcome: { outcome: 'retry', error: 'again', delayMs: 60_000 } },
          { job: job(dies), outcome: { outcome: 'failed', error: 'no' } },
        ],
        RETENTION_SECONDS,
      );
      expect(finished.results).toEqual(['done', 'done', 'done']);
      expect(await queue.release([job(released)], RETENTION_SECONDS)).toEqual({ released: 1, cancelled: 0 });
      expect(await queue.requeueDead('acme', dies)).toBe('requeued');

      const [seconds, micros] = await redis.time();
      const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const near = (ms: number, expected: number) => Math.abs(ms - expected) < 10_000;

      // Every timestamp of every copy: Redis's time, not the process's.
      for (const id of [succeeds, retries, released, dies, cancelled]) {
        for (const key of [`ai:jobs:${id}`, `ai:job:acme:${id}`]) {
          const times = await redis.hmget(key, ...TIME_FIELDS);
          TIME_FIELDS.forEach((field, i) => {
            if (times[i]) expect({ key, field, near: near(RealDate.parse(times[i]!), redisNow) }).toEqual({ key, field, near: true });
          });
        }
      }
      // Every event's times and stream id (README "Event stream"): Redis's too.
      const events = await redis.xrange('ai:events:acme', '-', '+');
      expect(events.length).toBeGreaterThanOrEqual(12);
      for (const [id, fields] of events) {
        const f = Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])));
        expect({ id, near: near(Number(id.split('-')[0]), redisNow), at: near(RealDate.parse(f.at), redisNow) }).toEqual({ id, near: true, at: true });
        if (f.retry_at) expect(near(RealDate.parse(f.retry_at), redisNow + (f.reason === 'attempt_failed' ? 60_000 : 0))).toBe(true);
      }
      expect(first.createdAt).toBe(await redis.hget(`ai:job:acme:${succeeds}`, 'created_at'));
      expect(await redis.hget(`ai:job:acme:${succeeds}`, 'finished_at')).toBeTruthy();
      // Scores compared later (retry due time) are Redis's time plus the delay; finished records
      // expire by Redis's clock (EXPIRE), and the expiry sweep compares created_at with it too.
      const retryDue = Number(await redis.zscore('ai:queue:retry', `acme:${retries}`));
      expect(near(retryDue, redisNow + 60_000)).toBe(true);
      for (const id of [succeeds, cancelled]) expect(near(redisNow + (await redis.pttl(`ai:job:acme:${id}`)), redisNow + RETENTION_SECONDS * 1000)).toBe(true);
      expect(await redis.zcard('ai:queue:retention')).toBe(0);
      // The worker's idle wait is timed by Redis too: the retry is due in about a minute, not 36 h ago.
      const dueIn = await queue.msUntilNextRetry();
      expect(dueIn).toBeGreaterThan(50_000);
      expect(dueIn).toBeLessThanOrEqual(60_000);
    } finally {
      globalThis.Date = RealDate;
    }
  });
});
