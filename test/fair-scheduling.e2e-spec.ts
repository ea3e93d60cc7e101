import { RedisKeys } from '@relay/redis';
import { BUILT_INS, startApi, type ApiHarness } from './support/api-harness.js';
import { killAllApps, spawnApp, stopApp, waitAppReady, type AppProcess } from './support/app-process.js';
import { expectEventually } from './support/expect-eventually.js';
import { freePort } from './support/redis-server.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 14, point 6: fair scheduling with two real worker processes on one
 * Redis (README "Scheduling" derives the bounds asserted here). Times are
 * the records' own (created_at, started_at: Redis TIME), so the assertions
 * are about order, never about how fast this machine is.
 */
describe('fair scheduling across two worker processes', () => {
  let r: FileRedis;
  let api: ApiHarness;
  const keys = new Map<string, string>();

  beforeAll(async () => {
    r = await fileRedis();
    api = await startApi(r.url, { PLAN_MAX_STEPS: '100', WORKSPACE_MAX_STORED_JOBS: '0', RATE_LIMIT_MAX: '0' });
  });
  afterAll(async () => {
    await killAllApps();
    await api.close();
    await r.stop();
  });

  async function keyOf(ws: string): Promise<string> {
    if (!keys.has(ws)) keys.set(ws, await api.key(ws));
    return keys.get(ws)!;
  }

  /** Submits a plan of `steps` (one request); returns the job ids in step order. */
  async function plan(ws: string, steps: Record<string, unknown>[]): Promise<string[]> {
    const res = await api.http
      .post('/ai/plans')
      .set({ Authorization: `Bearer ${await keyOf(ws)}` })
      .send({ steps });
    expect(res.status).toBe(202);
    return res.body.job_ids;
  }

  async function job(ws: string, action: string, params: Record<string, unknown>): Promise<string> {
    const res = await api.http
      .post('/ai/jobs')
      .set({ Authorization: `Bearer ${await keyOf(ws)}` })
      .send({ action, params });
    expect(res.status).toBe(202);
    return res.body.job_id;
  }

  async function workers(env: Record<string, string>, count = 2): Promise<AppProcess[]> {
    const apps: AppProcess[] = [];
    for (let i = 0; i < count; i++) {
      apps.push(
        spawnApp('worker', {
          REDIS_URL: r.url,
          WORKER_PORT: String(await freePort()),
          ACTION_ALLOWLIST: BUILT_INS,
          LOG_LEVEL: 'warn',
          WORKER_SHUTDOWN_GRACE_MS: '2000',
          ...env,
        }),
      );
    }
    await Promise.all(apps.map((a) => waitAppReady(a)));
    return apps;
  }

  // The API runs in phase 0: records are legacy ones (their workspace is a field).
  const record = async (_ws: string, id: string) => r.redis.hgetall(RedisKeys.legacyJob(id));
  const statusesOf = async (_ws: string, ids: string[]) => Promise.all(ids.map(async (id) => (await r.redis.hget(RedisKeys.legacyJob(id), 'status')) ?? 'missing'));
  /** Each test starts from an empty Redis (API keys included). */
  async function reset(): Promise<void> {
    await r.redis.flushdb();
    keys.clear();
  }
  const ms = (iso: string) => Date.parse(iso);

  it('a flood from one workspace and a trickle from three others: no flood job starts between a trickle job\'s submission and its start', async () => {
    await reset();
    const apps = await workers({ WORKER_CONCURRENCY: '4' });
    try {
      // 3,000 jobs of 5 ms each on 8 slots: a backlog of about two seconds.
      const flood: string[] = [];
      for (let i = 0; i < 30; i++) flood.push(...(await plan('flood', Array.from({ length: 100 }, () => ({ action: 'debug.sleep', params: { ms: 5 } })))));
      const trickle: { ws: string; id: string }[] = [];
      for (let round = 0; round < 8; round++) {
        for (const ws of ['t1', 't2', 't3']) trickle.push({ ws, id: await job(ws, 'debug.echo', { round }) });
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      await expectEventually(async () => expect(new Set(await statusesOf('flood', flood))).toEqual(new Set(['succeeded'])), 60_000, 100);
      await expectEventually(async () => expect(new Set(await Promise.all(trickle.map(async (t) => (await record(t.ws, t.id)).status)))).toEqual(new Set(['succeeded'])));

      const floodStarts = (await Promise.all(flood.map(async (id) => ms((await record('flood', id)).started_at)))).sort((a, b) => a - b);
      let backlogged = 0;
      for (const t of trickle) {
        const rec = await record(t.ws, t.id);
        const submitted = ms(rec.created_at);
        const started = ms(rec.started_at);
        // The bound (README "Scheduling"): the first claim after its submission serves it, ahead of the flood.
        const overtaking = floodStarts.filter((s) => s > submitted && s < started);
        expect({ job: t, overtaking: overtaking.length }).toEqual({ job: t, overtaking: 0 });
        // ...while, in arrival order, it would have waited behind every flood job not yet started.
        if (floodStarts.filter((s) => s > submitted).length > 500) backlogged++;
      }
      // The flood really was backlogged while most trickle jobs came in.
      expect(backlogged).toBeGreaterThanOrEqual(12);
    } finally {
      await Promise.all(apps.map((a) => stopApp(a)));
    }
  });

  it('within a workspace, jobs and a plan\'s steps start in submission order on two workers', async () => {
    await reset();
    const ids = [...(await plan('acme', Array.from({ length: 60 }, (_, step) => ({ action: 'debug.sleep', params: { ms: 2, step } }))))];
    for (let i = 0; i < 20; i++) ids.push(await job('acme', 'debug.echo', { i }));
    const apps = await workers({ WORKER_CONCURRENCY: '3' });
    try {
      await expectEventually(async () => expect(new Set(await statusesOf('acme', ids))).toEqual(new Set(['succeeded'])), 30_000);
      const starts = await Promise.all(ids.map(async (id) => ms((await record('acme', id)).started_at)));
      for (let i = 1; i < starts.length; i++) expect({ i, ordered: starts[i] >= starts[i - 1] }).toEqual({ i, ordered: true });
    } finally {
      await Promise.all(apps.map((a) => stopApp(a)));
    }
  });

  it('WORKSPACE_MAX_RUNNING holds across two workers, and when one is SIGKILLed its jobs are recovered and the count repaired', async () => {
    await reset();
    const ids = await plan('capped', Array.from({ length: 24 }, () => ({ action: 'debug.sleep', params: { ms: 150 } })));
    const free = await plan('free', Array.from({ length: 6 }, () => ({ action: 'debug.sleep', params: { ms: 150 } })));
    const apps = await workers({ WORKER_CONCURRENCY: '5', WORKSPACE_MAX_RUNNING: '0', WORKSPACE_LIMITS: JSON.stringify({ capped: { max_running: 2 } }), WORKER_LEASE_MS: '1500' });
    let maxRunning = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const leases = await r.redis.zrange(RedisKeys.leases, '0', '-1');
        maxRunning = Math.max(maxRunning, leases.filter((l) => l.startsWith('capped:')).length);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      // The other workspace is not held back by the capped one: its 6 jobs run at once.
      await expectEventually(async () => expect(new Set(await statusesOf('free', free))).toEqual(new Set(['succeeded'])), 10_000);
      // Kill the worker that holds capped jobs (a finish claims the next job for its own freed slot,
      // so one worker may hold them all).
      let victim: AppProcess | undefined;
      await expectEventually(async () => {
        const leases = (await r.redis.zrange(RedisKeys.leases, '0', '-1')).filter((l) => l.startsWith('capped:'));
        victim = apps.find((a) => leases.some((l) => l.includes(`-${a.pid}-`)));
        expect(victim).toBeDefined();
      }, 10_000, 5);
      victim!.child.kill('SIGKILL');
      await victim!.exited;
      await expectEventually(async () => expect(new Set(await statusesOf('capped', ids))).toEqual(new Set(['succeeded'])), 30_000, 50);
      sampling = false;
      await sampler;
      expect(maxRunning).toBe(2);
      // A job of the killed worker ran again elsewhere (attempt 2), and the counts are back to nothing.
      const attempts = await Promise.all(ids.map(async (id) => Number((await record('capped', id)).attempts)));
      expect(attempts.some((a) => a === 2)).toBe(true);
      expect(await r.redis.hgetall(RedisKeys.runningCounts)).toEqual({});
    } finally {
      sampling = false;
      await sampler;
      await Promise.all(apps.filter((a) => a.alive()).map((a) => stopApp(a)));
    }
  });

  it('ACTION_RATE_LIMITS holds across two workers: never more than N starts in any window, and no attempt used waiting', async () => {
    await reset();
    const ids = await plan('acme', Array.from({ length: 12 }, (_, i) => ({ action: 'debug.echo', params: { i } })));
    const other = await plan('beta', Array.from({ length: 4 }, (_, i) => ({ action: 'debug.echo', params: { i } })));
    const apps = await workers({ WORKER_CONCURRENCY: '4', ACTION_RATE_LIMITS: JSON.stringify({ 'debug.echo': { limit: 4, window_ms: 700 } }) });
    try {
      await expectEventually(async () => expect(new Set(await statusesOf('acme', ids))).toEqual(new Set(['succeeded'])), 20_000, 50);
      const recs = await Promise.all(ids.map((id) => record('acme', id)));
      const starts = recs.map((rec) => ms(rec.started_at)).sort((a, b) => a - b);
      // Any 4 + 1 consecutive starts span at least the window.
      for (let i = 4; i < starts.length; i++) expect(starts[i] - starts[i - 4]).toBeGreaterThanOrEqual(700);
      expect(recs.map((rec) => rec.attempts)).toEqual(ids.map(() => '1'));
      // Per workspace: beta's 4 were not held behind acme's limit.
      const betaStarts = await Promise.all(other.map(async (id) => ms((await record('beta', id)).started_at)));
      expect(Math.max(...betaStarts) - starts[0]).toBeLessThan(700);
    } finally {
      await Promise.all(apps.map((a) => stopApp(a)));
    }
  });
});
