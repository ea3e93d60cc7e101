import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { ApiKeyStore } from '@relay/auth';
import { loadConfig } from '@relay/config';
import { createApiApp } from '../apps/api/src/api.app.js';
import { HttpPostAction } from '../apps/worker/src/actions/http-post.action.js';
import { BUILT_INS, CapturingLogger } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { fullGc } from './support/force-gc.js';
import { PrivateRedis } from './support/redis-server.js';
import { startSilentServer, startTricklingServer, type StallingServer } from './support/stalling-servers.js';
import { killAllWorkers, startWorker } from './support/worker-process.js';

/**
 * http.post ends within HTTP_ACTION_TIMEOUT_MS (issue 12, point 12) against
 * real local servers that never finish answering: one that accepts and
 * never writes, one that trickles its answer a byte at a time (bytes keep
 * coming, the answer never completes in time). The action in-process,
 * then whole jobs through the real API and a worker process on a private
 * redis-server.
 */

const TIMEOUT_MS = 300;
/** Generous: 10× the timeout on a busy 2-core machine, and still far below JOB_TIMEOUT_MS. */
const BOUND_MS = 3000;
const JOB_TIMEOUT_MS = 60_000;

const action = (allowlist: string) =>
  new HttpPostAction(loadConfig({ HTTP_ACTION_ALLOWED_HOSTS: allowlist, HTTP_ACTION_TIMEOUT_MS: String(TIMEOUT_MS) }));

const context = (signal = new AbortController().signal) => ({ jobId: 'j1', workspaceId: 'acme', attempt: 1, signal, progress: () => undefined });

/**
 * Runs `work`, returning how it settled and after how long; gives up after
 * twice the bound, so a request that never ends fails the test instead of
 * hanging it (the light runner does not enforce jest's test timeout).
 */
async function timed(work: Promise<unknown>): Promise<{ error: Error | undefined; elapsed: number }> {
  const started = Date.now();
  let guard: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    guard = setTimeout(() => reject(new Error(`still running after ${BOUND_MS * 2} ms`)), BOUND_MS * 2);
  });
  try {
    await Promise.race([work, gaveUp]);
    return { error: undefined, elapsed: Date.now() - started };
  } catch (error) {
    return { error: error as Error, elapsed: Date.now() - started };
  } finally {
    clearTimeout(guard);
  }
}

describe('http.post timeout against hosts that never finish answering', () => {
  let silent: StallingServer;
  let trickling: StallingServer;

  beforeAll(async () => {
    silent = await startSilentServer();
    // 50 ms per byte, 10,000 bytes: complete only after ~8 minutes.
    trickling = await startTricklingServer(50, 10_000);
  });
  afterAll(async () => {
    await silent.close();
    await trickling.close();
  });

  describe('the action', () => {
    it('a host that accepts and never answers: a retryable timeout error after HTTP_ACTION_TIMEOUT_MS, and the connection closed', async () => {
      const closedBefore = silent.closedByClient;
      const { error, elapsed } = await timed(action(`127.0.0.1:${silent.port}`).run({ url: `http://127.0.0.1:${silent.port}/hang`, body: {} }, context()));
      expect(error).toMatchObject({ name: 'ActionError', retryable: true, message: `http.post: timed out, no answer within ${TIMEOUT_MS} ms (HTTP_ACTION_TIMEOUT_MS)` });
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(elapsed).toBeLessThan(BOUND_MS);
      await expectEventually(() => expect(silent.closedByClient).toBe(closedBefore + 1), 2000);
    });

    it('a host that trickles its answer a byte at a time: bytes keep coming, yet it ends at HTTP_ACTION_TIMEOUT_MS for the whole exchange', async () => {
      const bytesBefore = trickling.bytesSent;
      const closedBefore = trickling.closedByClient;
      const { error, elapsed } = await timed(
        action(`127.0.0.1:${trickling.port}`).run({ url: `http://127.0.0.1:${trickling.port}/slow`, body: {} }, context()),
      );
      expect(error).toMatchObject({ name: 'ActionError', retryable: true, message: `http.post: timed out, the answer was not complete within ${TIMEOUT_MS} ms (HTTP_ACTION_TIMEOUT_MS)` });
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(elapsed).toBeLessThan(BOUND_MS);
      // Several bytes arrived before the deadline: the client was not idle, the exchange was just too slow.
      expect(trickling.bytesSent - bytesBefore).toBeGreaterThan(1);
      await expectEventually(() => expect(trickling.closedByClient).toBe(closedBefore + 1), 2000);
    });

    it('still times out when garbage collections run while it waits (the deadline is a timer the event loop holds)', async () => {
      const gc = fullGc();
      const collecting = setInterval(gc, 20);
      try {
        const [hang, slow] = await Promise.all([
          timed(action(`127.0.0.1:${silent.port}`).run({ url: `http://127.0.0.1:${silent.port}/hang-gc`, body: {} }, context())),
          timed(action(`127.0.0.1:${trickling.port}`).run({ url: `http://127.0.0.1:${trickling.port}/slow-gc`, body: {} }, context())),
        ]);
        expect([hang.error?.message, hang.elapsed < BOUND_MS]).toEqual([expect.stringMatching(/timed out, no answer within 300 ms/), true]);
        expect([slow.error?.message, slow.elapsed < BOUND_MS]).toEqual([expect.stringMatching(/timed out, the answer was not complete/), true]);
      } finally {
        clearInterval(collecting);
      }
    });

    it('a stopped attempt (its signal aborted) ends the request at once, well before the timeout', async () => {
      const job = new AbortController();
      const closedBefore = silent.closedByClient;
      const acceptedBefore = silent.accepted;
      const running = timed(
        new HttpPostAction(loadConfig({ HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${silent.port}`, HTTP_ACTION_TIMEOUT_MS: '60000' })).run(
          { url: `http://127.0.0.1:${silent.port}/stopped`, body: {} },
          context(job.signal),
        ),
      );
      await expectEventually(() => expect(silent.accepted).toBe(acceptedBefore + 1), 2000);
      job.abort(new Error('lease lost'));
      const { error, elapsed } = await running;
      expect(error?.message).toBe('http.post: the attempt was stopped');
      expect(elapsed).toBeLessThan(BOUND_MS);
      await expectEventually(() => expect(silent.closedByClient).toBe(closedBefore + 1), 2000);
    });
  });

  describe('jobs through the real API and a worker process (private redis-server)', () => {
    let redis: PrivateRedis;
    let api: INestApplication;
    let key: string;

    beforeAll(async () => {
      redis = await PrivateRedis.start();
      const env = { REDIS_URL: `${redis.url}/0`, ACTION_ALLOWLIST: BUILT_INS };
      api = await createApiApp(env, new CapturingLogger());
      await api.init();
      key = (await api.get(ApiKeyStore).create({ workspaceId: 'acme', scopes: ['actions:execute', 'actions:preview'], actorId: 'agent-1' })).key;
      await startWorker({
        ...env,
        HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${silent.port},127.0.0.1:${trickling.port}`,
        HTTP_ACTION_TIMEOUT_MS: String(TIMEOUT_MS),
        JOB_TIMEOUT_MS: String(JOB_TIMEOUT_MS),
        JOB_MAX_ATTEMPTS: '1',
        LOG_LEVEL: 'warn',
      });
    });
    afterAll(async () => {
      await killAllWorkers();
      await api?.close();
      await redis?.stop();
    });

    it('each job fails with a clear timeout error within a few seconds, not at JOB_TIMEOUT_MS (60 s)', async () => {
      const http = request(api.getHttpServer());
      const auth = { Authorization: `Bearer ${key}` };
      const started = Date.now();
      const submit = async (url: string) => {
        const res = await http.post('/ai/jobs').set(auth).send({ action: 'http.post', params: { url, body: { n: 1 } } });
        expect(res.status).toBe(202);
        return res.body.job_id as string;
      };
      const hang = await submit(`http://127.0.0.1:${silent.port}/job-hang`);
      const slow = await submit(`http://127.0.0.1:${trickling.port}/job-slow`);

      const failed = async (id: string) =>
        expectEventually(async () => {
          const job = (await http.get(`/ai/jobs/${id}`).set(auth)).body;
          expect({ id, status: job.status }).toEqual({ id, status: 'failed' });
          return job;
        }, BOUND_MS * 2);
      const [hangJob, slowJob] = await Promise.all([failed(hang), failed(slow)]);
      expect(Date.now() - started).toBeLessThan(BOUND_MS * 2);
      expect(hangJob.error).toBe(`http.post: timed out, no answer within ${TIMEOUT_MS} ms (HTTP_ACTION_TIMEOUT_MS)`);
      expect(slowJob.error).toBe(`http.post: timed out, the answer was not complete within ${TIMEOUT_MS} ms (HTTP_ACTION_TIMEOUT_MS)`);
      for (const job of [hangJob, slowJob]) {
        expect(job.attempts).toBe(1);
        const ran = Date.parse(job.finished_at) - Date.parse(job.started_at);
        expect(ran).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
        expect(ran).toBeLessThan(BOUND_MS);
      }
    });
  });
});
