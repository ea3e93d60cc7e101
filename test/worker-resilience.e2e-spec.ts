import { createServer, type Server, type ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import request from 'supertest';
import { ApiKeyStore } from '@relay/auth';
import { createApiApp } from '../apps/api/src/api.app.js';
import { BUILT_INS, CapturingLogger, startApi, type ApiHarness } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { PrivateRedis } from './support/redis-server.js';
import { fileRedis, type FileRedis } from './support/redis.js';
import { killAllWorkers, startWorker, type WorkerExit, type WorkerProcess } from './support/worker-process.js';

/**
 * SPEC section 5, end to end: the real worker entry point runs as child
 * processes (killed and stopped like an orchestrator would), jobs are
 * submitted through the real API in-process, and everything is checked in a
 * real Redis (redis-servers of this file's own: one that the restart test
 * stops and starts, one for the rest).
 *
 * - At-least-once and fencing: a SIGKILLed worker's jobs are delivered again
 *   after their lease expires, none is lost, and no job is ever run by two
 *   live workers at once (an HTTP recording server sees every attempt).
 * - Graceful shutdown on SIGTERM: running jobs finish within the grace
 *   period, the rest stay queued; past a short grace, running jobs are
 *   released for re-delivery.
 * - A Redis restart: readiness 503 / liveness 200 while Redis is away, and
 *   the same worker process serves again when it returns.
 */

const LEASE_MS = 1500;
const SETTLE_MS = 30_000;

/**
 * How a worker may end after SIGTERM without crashing: exit code 0, or (Nest's
 * default after its shutdown hooks) by re-raising SIGTERM on itself. The
 * exit-code test below asks for 0 specifically.
 */
const GRACEFUL_EXITS: WorkerExit[] = [
  { code: 0, signal: null },
  { code: null, signal: 'SIGTERM' },
];

const ENTRY_PID = /-(\d+)-[0-9a-f]{6}:\d+$/; // lease token: `<hostname>-<pid>-<hex>:<attempt>`

interface JobState {
  id: string;
  status: string | null;
  attempts: number;
}

/** Counts by status, for readable assertion messages. */
function byStatus(states: JobState[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of states) out[String(s.status)] = (out[String(s.status)] ?? 0) + 1;
  return out;
}

/** Waits for a child's exit, bounded; `null` when it did not exit within timeoutMs. */
async function exitWithin(worker: WorkerProcess, timeoutMs: number): Promise<(WorkerExit & { elapsed: number }) | null> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([worker.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs)))]);
  clearTimeout(timer);
  return exit && { ...exit, elapsed: Date.now() - started };
}

// ---------------------------------------------------------------------------
// The HTTP recording server http.post jobs call.

interface Recorder {
  port: number;
  /** Requests received per tag (every attempt that reached the server). */
  received: Map<string, number>;
  /** Tags answered 200 at least once. */
  done: Set<string>;
  /** Tags that arrived while the same tag was in flight on a live connection. */
  overlaps: string[];
  reset(): void;
  close(): Promise<void>;
}

/**
 * Tags starting with this are held longer than a lease: their worker must
 * renew the lease meanwhile, or the job would be re-delivered to another live
 * worker while still in flight (an overlap the recorder would see).
 */
const SLOW_TAG = 'slow-';
const SLOW_HOLD_MS = 2 * LEASE_MS;

/**
 * A local upstream for http.post: each POST's JSON `{tag}` is in flight until
 * it is answered 200 {ok:true} after 40-80 ms (longer for SLOW_TAG tags).
 */
async function startRecorder(): Promise<Recorder> {
  const inFlight = new Map<string, Set<ServerResponse>>();
  const received = new Map<string, number>();
  const done = new Set<string>();
  const overlaps: string[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let tag: string;
      try {
        tag = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tag: unknown }).tag);
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"ok":false}');
        return;
      }
      const live = inFlight.get(tag) ?? new Set<ServerResponse>();
      if ([...live].some((other) => other.socket !== null && !other.socket.destroyed)) overlaps.push(tag);
      live.add(res);
      inFlight.set(tag, live);
      received.set(tag, (received.get(tag) ?? 0) + 1);
      const forget = () => {
        live.delete(res);
        if (live.size === 0 && inFlight.get(tag) === live) inFlight.delete(tag);
      };
      const timer = setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }, tag.startsWith(SLOW_TAG) ? SLOW_HOLD_MS : 40 + Math.floor(Math.random() * 41));
      res.on('finish', () => {
        forget();
        done.add(tag);
      });
      res.on('close', () => {
        if (res.writableFinished) return;
        // The connection closed before the answer: the worker that sent it died.
        clearTimeout(timer);
        forget();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    received,
    done,
    overlaps,
    reset: () => {
      inFlight.clear();
      received.clear();
      done.clear();
      overlaps.length = 0;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// ---------------------------------------------------------------------------

describe('worker resilience (worker child processes, real Redis)', () => {
  afterAll(async () => {
    await killAllWorkers();
  });

  describe('across a Redis restart (private redis-server)', () => {
    let server: PrivateRedis;
    let app: INestApplication;
    let http: ReturnType<typeof request>;
    let key: string;
    const auth = () => ({ Authorization: `Bearer ${key}` });
    const createKey = async () =>
      (await app.get(ApiKeyStore).create({ workspaceId: 'acme', scopes: ['actions:execute', 'actions:preview'], actorId: 'agent-1' })).key;

    /** A short-lived plain connection to the private server. */
    async function inspect<T>(use: (redis: Redis) => Promise<T>): Promise<T> {
      const redis = new Redis(`${server.url}/0`, { maxRetriesPerRequest: 0, retryStrategy: () => null });
      redis.on('error', () => undefined);
      try {
        return await use(redis);
      } finally {
        redis.disconnect();
      }
    }

    async function submit(n: number, phase: string): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const res = await http.post('/ai/jobs').set(auth()).send({ action: 'debug.echo', params: { phase, i } });
        expect(res.status).toBe(202);
        ids.push(res.body.job_id as string);
      }
      return ids;
    }

    async function expectSucceeded(ids: string[], phase: string): Promise<void> {
      await expectEventually(
        async () => {
          for (const [i, id] of ids.entries()) {
            const res = await http.get(`/ai/jobs/${id}`).set(auth());
            expect(res.body).toMatchObject({ status: 'succeeded', attempts: 1, result: { phase, i } });
          }
        },
        SETTLE_MS,
        100,
      );
    }

    beforeAll(async () => {
      server = await PrivateRedis.start();
      app = await createApiApp({ REDIS_URL: `${server.url}/0`, ACTION_ALLOWLIST: BUILT_INS }, new CapturingLogger());
      await app.init();
      http = request(app.getHttpServer());
      key = await createKey();
    });

    afterAll(async () => {
      await killAllWorkers();
      await app?.close();
      await server?.stop();
    });

    it('readiness 503 and liveness 200 while Redis is down; the same worker process runs jobs again after Redis restarts', async () => {
      const worker = await startWorker({
        REDIS_URL: `${server.url}/0`,
        ACTION_ALLOWLIST: BUILT_INS,
        WORKER_LEASE_MS: String(LEASE_MS),
        WORKER_CONCURRENCY: '10',
        JOB_RETRY_BASE_MS: '50',
        JOB_TIMEOUT_MS: '10000',
        WORKER_SHUTDOWN_GRACE_MS: '2000',
        LOG_LEVEL: 'warn',
      });
      /** Runs one step; a failure says which step, with the worker's last output. */
      const step = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
        try {
          return await run();
        } catch (error) {
          const queue = await inspect((r) => Promise.all([r.llen('ai:queue:pending'), r.zcard('ai:queue:leases'), r.llen('ai:queue:active')])).catch(() => 'unreadable');
          throw new Error(
            `step "${label}" failed: ${(error as Error).message}\nqueue [pending, leases, active]: ${JSON.stringify(queue)}; worker alive: ${worker.alive()}\nworker output (tail):\n${worker.output().slice(-3000)}`,
          );
        }
      };

      await step('jobs before the outage succeed', async () => expectSucceeded(await submit(3, 'before'), 'before'));

      await server.stop();
      await step('readiness 503, liveness 200 while Redis is down', () =>
        expectEventually(
          async () => {
            expect(await worker.httpStatus('/health/ready')).toBe(503);
            expect(await worker.httpStatus('/health/live')).toBe(200);
          },
          SETTLE_MS,
          100,
        ),
      );
      expect(worker.alive()).toBe(true);

      await server.start(); // same port, empty data
      await step('readiness 200 again', () => expectEventually(async () => expect(await worker.httpStatus('/health/ready')).toBe(200), SETTLE_MS, 100));
      await step('API key re-created', () => expectEventually(async () => (key = await createKey()), SETTLE_MS, 100));
      const after = await step('jobs submitted after the restart', () => expectEventually(() => submit(3, 'after'), SETTLE_MS, 100));
      await step('jobs after the restart succeed', () => expectSucceeded(after, 'after'));

      // Not restarted: the same child is still alive, and the queue is drained.
      expect(worker.alive()).toBe(true);
      expect(() => process.kill(worker.pid, 0)).not.toThrow();
      await step('queue drained', () =>
        expectEventually(
          async () => expect(await inspect((r) => Promise.all([r.llen('ai:queue:pending'), r.zcard('ai:queue:leases'), r.llen('ai:queue:active')]))).toEqual([0, 0, 0]),
          SETTLE_MS,
          100,
        ),
      );
    });
  });

  describe("on the file's own Redis", () => {
    let redis: Redis;
    let server: FileRedis;
    let api: ApiHarness;
    let recorder: Recorder;
    let key: string;
    const auth = () => ({ Authorization: `Bearer ${key}` });

    const workerEnv = (overrides: Record<string, string> = {}): Record<string, string> => ({
      REDIS_URL: server.url,
      ACTION_ALLOWLIST: BUILT_INS,
      HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${recorder.port}`,
      WORKER_LEASE_MS: String(LEASE_MS),
      WORKER_CONCURRENCY: '10',
      JOB_RETRY_BASE_MS: '50',
      JOB_TIMEOUT_MS: '10000',
      WORKER_SHUTDOWN_GRACE_MS: '5000',
      LOG_LEVEL: 'warn',
      ...overrides,
    });

    /** Submits steps as one plan (enqueued atomically) and returns the job ids in order. */
    async function submitPlan(steps: { action: string; params: Record<string, unknown> }[]): Promise<string[]> {
      const res = await api.http.post('/ai/plans').set(auth()).send({ steps });
      expect(res.status).toBe(202);
      return res.body.job_ids as string[];
    }

    /** Status and attempts straight from the job records (polling the API would hit the rate limit). */
    async function states(ids: string[]): Promise<JobState[]> {
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hmget(`ai:jobs:${id}`, 'status', 'attempts');
      const replies = (await pipeline.exec()) ?? [];
      return ids.map((id, i) => {
        const [status, attempts] = (replies[i]?.[1] ?? [null, null]) as (string | null)[];
        return { id, status, attempts: Number(attempts ?? 0) };
      });
    }

    async function allSucceeded(ids: string[], timeoutMs = SETTLE_MS): Promise<JobState[]> {
      return expectEventually(
        async () => {
          const now = await states(ids);
          expect(byStatus(now)).toEqual({ succeeded: ids.length });
          return now;
        },
        timeoutMs,
        100,
      );
    }

    /** Entries waiting to run: not yet drained from ai:queue:pending, or in the workspace's queue (README "Scheduling"). */
    async function queuedEntries(): Promise<string[]> {
      return [...(await redis.lrange('ai:queue:pending', 0, -1)), ...(await redis.lrange('ai:queue:ws:acme', 0, -1))];
    }

    /** Nothing queued, leased, blocked-on, retrying or dead. */
    async function queueState() {
      const [pending, leases, active, retry, dead] = await Promise.all([
        queuedEntries().then((entries) => entries.length),
        redis.zcard('ai:queue:leases'),
        redis.llen('ai:queue:active'),
        redis.zcard('ai:queue:retry'),
        redis.llen('ai:queue:dead'),
      ]);
      return { pending, leases, active, retry, dead };
    }
    const EMPTY = { pending: 0, leases: 0, active: 0, retry: 0, dead: 0 };

    beforeAll(async () => {
      server = await fileRedis();
      redis = server.redis;
      api = await startApi(server.url);
      recorder = await startRecorder();
    });

    beforeEach(async () => {
      // Each test starts with no worker, an empty database and a fresh key.
      await killAllWorkers();
      await redis.flushdb();
      recorder.reset();
      key = await api.key('acme', ['actions:execute', 'actions:preview'], 'agent-1');
    });

    afterAll(async () => {
      await killAllWorkers();
      await api?.close();
      await recorder?.close();
      await server?.stop();
    });

    it('SIGKILL of one of 3 workers mid-run: every job succeeds, none runs on two live workers at once, queue drained', async () => {
      const workers = await Promise.all([1, 2, 3].map(() => startWorker(workerEnv())));
      const run = Date.now().toString(36);
      // One job in 12 outlasts its lease (renewed by its worker, so never run twice).
      const tags = Array.from({ length: 120 }, (_, i) => `${i % 12 === 5 ? SLOW_TAG : 't'}${i}-${run}`);
      const step = (tag: string) => ({ action: 'http.post', params: { url: `http://127.0.0.1:${recorder.port}/x`, body: { tag } } });
      const ids = [...(await submitPlan(tags.slice(0, 60).map(step))), ...(await submitPlan(tags.slice(60).map(step)))];
      const tagOf = new Map(ids.map((id, i) => [id, tags[i]]));

      // ~30 % answered: kill the worker holding the most leases right now, so it surely dies mid-job.
      await expectEventually(() => expect(recorder.done.size).toBeGreaterThanOrEqual(36), SETTLE_MS, 5);
      // Lease members are '<entry>|<token>'; the token names the worker's pid.
      const leases = await redis.zrange('ai:queue:leases', '0', '-1');
      const heldBy = new Map<number, string[]>();
      for (const lease of leases) {
        const entry = lease.slice(0, lease.lastIndexOf('|'));
        const token = lease.slice(lease.lastIndexOf('|') + 1);
        const pid = Number(ENTRY_PID.exec(token)?.[1]);
        heldBy.set(pid, [...(heldBy.get(pid) ?? []), entry]);
      }
      const victim = workers.reduce((a, b) => ((heldBy.get(b.pid)?.length ?? 0) > (heldBy.get(a.pid)?.length ?? 0) ? b : a));
      const heldAtKill = heldBy.get(victim.pid) ?? [];
      expect(heldAtKill.length).toBeGreaterThan(0);
      victim.child.kill('SIGKILL');
      expect(await exitWithin(victim, 5000)).toMatchObject({ signal: 'SIGKILL' });
      const doneAtKill = recorder.done.size;
      expect(doneAtKill).toBeLessThan(tags.length); // it really died mid-run

      // Nothing lost: every job ends succeeded (the victim's after their leases expire).
      const final = await allSucceeded(ids);

      // Fencing: no tag ever arrived while the same tag was in flight on a live connection.
      expect(recorder.overlaps).toEqual([]);
      // Every job was answered upstream, and no attempt sent twice (requests per tag <= attempts recorded).
      const unanswered = final.filter((s) => !recorder.done.has(tagOf.get(s.id)!));
      const moreRequestsThanAttempts = final
        .map((s) => ({ ...s, requests: recorder.received.get(tagOf.get(s.id)!) ?? 0 }))
        .filter((s) => s.requests > s.attempts);
      expect({ unanswered, moreRequestsThanAttempts }).toEqual({ unanswered: [], moreRequestsThanAttempts: [] });
      // The victim's jobs were delivered again (attempt 2 on a surviving worker).
      const redelivered = final.filter((s) => s.attempts >= 2);
      expect(redelivered.length).toBeGreaterThanOrEqual(1);
      const victimJobIds = new Set(heldAtKill.map((e) => e.slice(e.indexOf(':') + 1)));
      expect(redelivered.some((s) => victimJobIds.has(s.id))).toBe(true);
      expect(final.every((s) => s.attempts <= 2)).toBe(true);

      // Each result is the upstream's 200 answer, as the API shows it.
      for (const id of ids) {
        const res = await api.http.get(`/ai/jobs/${id}`).set(auth());
        expect(res.status).toBe(200);
        expect({ id, status: res.body.status, result: res.body.result, error: res.body.error }).toEqual({
          id,
          status: 'succeeded',
          result: { status: 200, body: { ok: true } },
          error: null,
        });
      }

      // Queue, leases and the blocking-wait list end empty; the survivors still run.
      await expectEventually(async () => expect(await queueState()).toEqual(EMPTY), SETTLE_MS, 100);
      expect(workers.filter((w) => w !== victim).every((w) => w.alive())).toBe(true);
    });

    it('SIGTERM with a long grace: running jobs finish, the rest stay queued, it exits in time; a new worker runs the rest, nothing twice', async () => {
      const worker = await startWorker(workerEnv({ WORKER_CONCURRENCY: '5', WORKER_SHUTDOWN_GRACE_MS: '5000' }));
      const ids = await submitPlan(Array.from({ length: 20 }, (_, i) => ({ action: 'debug.sleep', params: { ms: 300, i } })));

      // Some finished and some running: then stop it.
      const before = await expectEventually(
        async () => {
          const now = await states(ids);
          expect(now.filter((s) => s.status === 'running').length).toBeGreaterThanOrEqual(1);
          expect(now.filter((s) => s.status === 'succeeded').length).toBeGreaterThanOrEqual(1);
          return now;
        },
        SETTLE_MS,
        10,
      );
      worker.child.kill('SIGTERM');
      const runningAtTerm = before.filter((s) => s.status === 'running').map((s) => s.id);

      const exit = await exitWithin(worker, 5000 + 3000);
      expect(exit).not.toBeNull(); // exited within the grace period plus a margin
      expect(GRACEFUL_EXITS).toContainEqual({ code: exit!.code, signal: exit!.signal }); // not a crash

      const after = await states(ids);
      // Running jobs were let finish, once.
      for (const s of after.filter((x) => runningAtTerm.includes(x.id))) expect(s).toEqual({ id: s.id, status: 'succeeded', attempts: 1 });
      // Nothing was left running or failed; the rest is still pending, never started, and queued.
      expect(after.every((s) => (s.status === 'succeeded' && s.attempts === 1) || (s.status === 'pending' && s.attempts === 0))).toBe(true);
      const pending = after.filter((s) => s.status === 'pending').map((s) => s.id);
      expect(pending.length).toBeGreaterThanOrEqual(1);
      const queued = await queuedEntries();
      expect(queued.sort()).toEqual(pending.map((id) => `acme:${id}`).sort());
      expect(await queueState()).toEqual({ ...EMPTY, pending: pending.length });

      // A new worker runs the rest; every job ran exactly once.
      await startWorker(workerEnv({ WORKER_CONCURRENCY: '5' }));
      const final = await allSucceeded(ids);
      expect(final.filter((s) => s.attempts !== 1)).toEqual([]);
      await expectEventually(async () => expect(await queueState()).toEqual(EMPTY), SETTLE_MS, 100);
    });

    it('SIGTERM with a short grace: exits quickly, interrupted jobs are released to pending, and a new worker completes them', async () => {
      const worker = await startWorker(workerEnv({ WORKER_SHUTDOWN_GRACE_MS: '200' }));
      const ids = await submitPlan(Array.from({ length: 3 }, (_, i) => ({ action: 'debug.sleep', params: { ms: 5000, i } })));
      await expectEventually(async () => expect(byStatus(await states(ids))).toEqual({ running: 3 }), SETTLE_MS, 20);

      worker.child.kill('SIGTERM');
      const exit = await exitWithin(worker, 200 + 3000);
      expect(exit).not.toBeNull(); // quickly: nowhere near the 5 s the jobs would take
      expect(GRACEFUL_EXITS).toContainEqual({ code: exit!.code, signal: exit!.signal }); // not a crash

      // Released: pending again with the interrupted attempt given back (a shutdown must not use up
      // the retry budget), back on the pending list, no lease, not retried or dead.
      expect(await states(ids)).toEqual(ids.map((id) => ({ id, status: 'pending', attempts: 0 })));
      expect((await queuedEntries()).sort()).toEqual(ids.map((id) => `acme:${id}`).sort());
      expect(await queueState()).toEqual({ ...EMPTY, pending: 3 });

      await startWorker(workerEnv());
      const final = await allSucceeded(ids);
      expect(final.map((s) => s.attempts)).toEqual([1, 1, 1]);
      for (const id of ids) {
        const res = await api.http.get(`/ai/jobs/${id}`).set(auth());
        expect(res.body).toMatchObject({ status: 'succeeded', attempts: 1, result: { slept_ms: 5000 }, error: null });
      }
      await expectEventually(async () => expect(await queueState()).toEqual(EMPTY), SETTLE_MS, 100);
    });

    it('SIGTERM: after draining its running jobs the worker exits with code 0 (a clean exit, not death by the signal)', async () => {
      const worker = await startWorker(workerEnv({ WORKER_SHUTDOWN_GRACE_MS: '5000' }));
      const ids = await submitPlan([1, 2].map((i) => ({ action: 'debug.sleep', params: { ms: 300, i } })));
      await expectEventually(async () => expect(byStatus(await states(ids))).toEqual({ running: 2 }), SETTLE_MS, 10);

      worker.child.kill('SIGTERM');
      const exit = await exitWithin(worker, 5000 + 3000);
      expect(await states(ids)).toEqual(ids.map((id) => ({ id, status: 'succeeded', attempts: 1 })));
      expect(exit).toMatchObject({ code: 0, signal: null });
    });
  });
});
