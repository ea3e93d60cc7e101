import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { WorkQueue } from '@relay/queue';
import { RelayMetrics } from '@relay/telemetry';
import { createWorkerApp } from '../apps/worker/src/worker.app.js';
import { BUILT_INS, CapturingLogger, startApi, type ApiHarness } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { PrivateRedis } from './support/redis-server.js';

/**
 * Issue 16, point 4: the two worker metrics the alert rules added
 * (ops/prometheus/relay-alerts.yml): relay_queue_oldest_pending_seconds,
 * which the worker's depth report sets, and
 * relay_worker_lease_losses_total{reason}, counted wherever the worker gives
 * up a job because its lease is no longer its own. Real worker application
 * in-process on a private redis-server (one test pauses it).
 */
const WS = 'acme';

describe('worker metrics for the alert rules', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let api: ApiHarness;
  let key: string;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    api = await startApi(server.url);
    key = await api.key(WS);
  });
  afterAll(async () => {
    await api?.close();
    redis?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis.del('ai:queue:pending', 'ai:queue:leases');
  });

  async function startWorker(env: Record<string, string>): Promise<{ app: INestApplication; logs: CapturingLogger; metrics: RelayMetrics }> {
    const logs = new CapturingLogger();
    const app = await createWorkerApp({ REDIS_URL: server.url, ACTION_ALLOWLIST: BUILT_INS, WORKER_SHUTDOWN_GRACE_MS: '200', ...env }, logs);
    await app.init();
    return { app, logs, metrics: app.get(RelayMetrics) };
  }

  async function submit(action: string, params: Record<string, unknown>): Promise<string> {
    const res = await api.http.post('/ai/jobs').set({ Authorization: `Bearer ${key}` }).send({ action, params });
    expect(res.status).toBe(202);
    return res.body.job_id as string;
  }

  /** The counter's value for one reason; it lives in the process-wide registry, so tests compare deltas. */
  async function leaseLosses(metrics: RelayMetrics, reason: string): Promise<number> {
    return (await metrics.leaseLosses.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  }

  /** Redis's clock in ms, the clock every stored timestamp comes from. */
  async function redisNowMs(): Promise<number> {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Hands the job's lease to another owner token, as re-delivery to another worker does. */
  async function takeLease(jobId: string): Promise<void> {
    const member = await expectEventually(async () => {
      const found = (await redis.zrange('ai:queue:leases', '0', '-1')).find((m) => m.startsWith(`${WS}:${jobId}|`));
      expect(found).toBeDefined();
      return found!;
    }, 5000, 5);
    const deadline = (await redisNowMs()) + 60_000;
    await redis.multi().zrem('ai:queue:leases', member).zadd('ai:queue:leases', deadline, `${WS}:${jobId}|another-worker`).exec();
  }

  describe('WorkQueue.oldestPendingSeconds (what relay_queue_oldest_pending_seconds reports)', () => {
    it('is 0 with nothing pending, and the wait of the job at the consuming end, whichever schema holds it', async () => {
      const queue = api.app.get(WorkQueue);
      expect(await queue.oldestPendingSeconds()).toBe(0);

      const now = await redisNowMs();
      // The consuming end is the right: LPUSH in. The next in line waited 90 s (a legacy record), the newer one 10 s (scoped only).
      await redis.hset('ai:jobs:old-1', { job_id: 'old-1', workspace_id: WS, status: 'pending', updated_at: new Date(now - 90_000).toISOString() });
      await redis.hset(`ai:job:${WS}:new-1`, { job_id: 'new-1', workspace_id: WS, status: 'pending', updated_at: new Date(now - 10_000).toISOString() });
      await redis.lpush('ai:queue:pending', `${WS}:old-1`, `${WS}:new-1`);
      const age = await queue.oldestPendingSeconds();
      expect(age).toBeGreaterThanOrEqual(90);
      expect(age).toBeLessThan(95);

      await redis.rpop('ai:queue:pending');
      const next = await queue.oldestPendingSeconds();
      expect(next).toBeGreaterThanOrEqual(10);
      expect(next).toBeLessThan(15);

      // An entry whose record is gone (expired, or an operator deleted it) reports no wait rather than failing the depth report.
      await redis.rpush('ai:queue:pending', `${WS}:gone-1`);
      expect(await queue.oldestPendingSeconds()).toBe(0);
      await redis.del('ai:queue:pending');
    });

    it('counts the jobs next in line in the workspace queues too (in the rotation, or capped): the longest wait of them', async () => {
      const queue = api.app.get(WorkQueue);
      const now = await redisNowMs();
      await redis.hset(`ai:job:${WS}:q-1`, { job_id: 'q-1', workspace_id: WS, status: 'pending', updated_at: new Date(now - 30_000).toISOString() });
      await redis.hset('ai:job:beta:q-2', { job_id: 'q-2', workspace_id: 'beta', status: 'pending', updated_at: new Date(now - 60_000).toISOString() });
      await redis.rpush(`ai:queue:ws:${WS}`, `${WS}:q-1`);
      await redis.zadd('ai:queue:ready', 0, WS);
      expect(Math.floor(await queue.oldestPendingSeconds())).toBe(30);
      // A capped workspace's next job waits too (for its cap): it counts.
      await redis.rpush('ai:queue:ws:beta', 'beta:q-2');
      await redis.sadd('ai:queue:capped', 'beta');
      expect(Math.floor(await queue.oldestPendingSeconds())).toBe(60);
      await redis.del(`ai:queue:ws:${WS}`, 'ai:queue:ws:beta', 'ai:queue:ready', 'ai:queue:capped');
    });

    it('the worker reports it with the queue depth: a job waiting behind a busy worker, then 0 once it ran', async () => {
      const worker = await startWorker({ WORKER_CONCURRENCY: '1' });
      try {
        const busy = await submit('debug.sleep', { ms: 3000 });
        await expectEventually(async () => expect(await redis.hget(`ai:jobs:${busy}`, 'status')).toBe('running'), 5000);
        const waiting = await submit('debug.echo', { n: 1 });
        const gauge = async () => (await worker.metrics.queueOldestPendingAge.get()).values[0]?.value ?? -1;
        // The depth report runs every 2 s: within one, the waiting job is seen.
        await expectEventually(async () => expect(await gauge()).toBeGreaterThan(0), 5000, 50);
        expect(await redis.hget(`ai:jobs:${waiting}`, 'status')).toBe('pending');
        await expectEventually(async () => expect(await redis.hget(`ai:jobs:${waiting}`, 'status')).toBe('succeeded'), 10_000);
        await expectEventually(async () => expect(await gauge()).toBe(0), 5000, 50);
      } finally {
        await worker.app.close();
      }
    });
  });

  describe('relay_worker_lease_losses_total{reason}', () => {
    it('lost_on_renewal: a renewal finds the lease held by another worker; the job is stopped here', async () => {
      const worker = await startWorker({ WORKER_LEASE_MS: '300' });
      try {
        const before = await leaseLosses(worker.metrics, 'lost_on_renewal');
        const id = await submit('debug.sleep', { ms: 5000 });
        await takeLease(id);
        await expectEventually(async () => expect(await leaseLosses(worker.metrics, 'lost_on_renewal')).toBe(before + 1), 3000);
        expect(worker.logs.lines.some((l) => l.includes(`job ${id}: lease lost; it runs elsewhere`))).toBe(true);
      } finally {
        await worker.app.close();
      }
    });

    it('lost_on_finish: the outcome is refused because the lease changed hands before the job ended', async () => {
      // Renewals every 10 s: the 400 ms job ends long before the first one, so only the finish can notice.
      const worker = await startWorker({ WORKER_LEASE_MS: '30000' });
      try {
        const before = await leaseLosses(worker.metrics, 'lost_on_finish');
        const renewalBefore = await leaseLosses(worker.metrics, 'lost_on_renewal');
        const id = await submit('debug.sleep', { ms: 400 });
        await takeLease(id);
        await expectEventually(async () => expect(await leaseLosses(worker.metrics, 'lost_on_finish')).toBe(before + 1), 3000);
        expect(await leaseLosses(worker.metrics, 'lost_on_renewal')).toBe(renewalBefore);
        // Fenced: the outcome was not written; the job still shows the attempt that another worker now owns.
        expect(await redis.hget(`ai:jobs:${id}`, 'status')).toBe('running');
      } finally {
        await worker.app.close();
      }
    });

    it('not_renewed: Redis stops answering for longer than a lease; the job is stopped here', async () => {
      const worker = await startWorker({ WORKER_LEASE_MS: '300', REDIS_COMMAND_TIMEOUT_MS: '200' });
      const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
      let paused = false;
      try {
        const before = await leaseLosses(worker.metrics, 'not_renewed');
        const id = await submit('debug.sleep', { ms: 5000 });
        await expectEventually(async () => expect(await redis.hget(`ai:jobs:${id}`, 'status')).toBe('running'), 5000, 5);
        process.kill(pid, 'SIGSTOP');
        paused = true;
        await expectEventually(async () => expect(await leaseLosses(worker.metrics, 'not_renewed')).toBe(before + 1), 3000);
      } finally {
        if (paused) process.kill(pid, 'SIGCONT');
        await worker.app.close();
      }
    });
  });
});
