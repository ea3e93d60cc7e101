import { spawnSync } from 'node:child_process';
import { ApiKeyStore } from '@relay/auth';
import { RedisKeys } from '@relay/redis';
import { killAllApps, startApp, type AppProcess } from './support/app-process.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';
import { freePort } from './support/redis-server.js';

/**
 * The metrics as real processes expose them (issue 13, point 3): two API
 * replicas and a worker, each a child process with a registry of its own,
 * on one Redis, with METRICS_WORKSPACE_LABEL=on and the allowlist `acme`.
 * `promtool check metrics` (Debian's prometheus package; .ci/run installs
 * it) finds nothing to report on either kind of /metrics, Node's process
 * metrics included; the SPEC's read-path and dual-write counters carry
 * workspace_id; the worker's ai_queue_depth has acme's own counts; and the
 * documented fleet share of dual-written jobs, sum of numerators over sum
 * of denominators, is what Redis holds.
 */

const FLAGS = { AI_JOBS_NEW_SCHEMA: 'on', PHASE_1_CANARY_PCT: '50' };
const LABELS = { METRICS_WORKSPACE_LABEL: 'on', METRICS_WORKSPACE_ALLOWLIST: 'acme' };
const START_TIMEOUT_MS = 45_000;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Samples of the text exposition (name, labels, value); comments skipped. */
function samples(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`unreadable exposition line: ${line}`);
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((p) => [p[1], p[2]]));
      return { name: m[1], labels, value: Number(m[3]) };
    });
}

/** The sum of the samples named `name` that carry `labels`. */
const total = (text: string, name: string, labels: Record<string, string> = {}) =>
  samples(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

/** What `promtool check metrics` says about an exposition: its exit code and everything it printed. */
function promtoolCheck(exposition: string): { status: number | null; printed: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8', timeout: 20_000 });
  if (run.error) throw new Error(`promtool could not be run (${run.error.message}); install Debian's prometheus package (.ci/run does)`);
  return { status: run.status, printed: `${run.stdout}${run.stderr}` };
}

describe('/metrics of real API and worker processes', () => {
  let server: FileRedis;
  let apiA: AppProcess;
  let apiB: AppProcess;
  let worker: AppProcess;
  const keys: Record<string, string> = {};

  const metricsOf = async (app: AppProcess) => {
    const res = await fetch(`http://127.0.0.1:${app.port}/metrics`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    return res.text();
  };

  async function call(app: AppProcess, method: string, path: string, workspace: string, body?: unknown) {
    const res = await fetch(`http://127.0.0.1:${app.port}${path}`, {
      method,
      headers: { Authorization: `Bearer ${keys[workspace]}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(5000),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function submit(app: AppProcess, workspace: string, action: string, params: Record<string, unknown> = {}): Promise<string> {
    const res = await call(app, 'POST', '/ai/jobs', workspace, { action, params });
    expect(res.status).toBe(202);
    return res.body.job_id as string;
  }

  const statusOf = async (jobId: string) => server.redis.hget(RedisKeys.legacyJob(jobId), 'status');

  beforeAll(async () => {
    server = await fileRedis();
    const store = new ApiKeyStore(server.redis);
    for (const ws of ['acme', 'beta']) keys[ws] = (await store.create({ workspaceId: ws, scopes: ['actions:execute', 'actions:preview'] })).key;
    const common = { REDIS_URL: server.url, ...FLAGS, ...LABELS };
    [apiA, apiB, worker] = await Promise.all([
      freePort().then((port) => startApp('api', { ...common, PORT: String(port), ACTION_ALLOWLIST: 'debug.*,http.post' }, START_TIMEOUT_MS)),
      freePort().then((port) => startApp('api', { ...common, PORT: String(port), ACTION_ALLOWLIST: 'debug.*,http.post' }, START_TIMEOUT_MS)),
      // One job at a time, retries due in 10 minutes, and http.post not allowed (a job of it fails at once: a dead letter).
      freePort().then((port) =>
        startApp(
          'worker',
          { ...common, WORKER_PORT: String(port), ACTION_ALLOWLIST: 'debug.*', WORKER_CONCURRENCY: '1', JOB_MAX_ATTEMPTS: '2', JOB_RETRY_BASE_MS: '600000', JOB_RETRY_MAX_MS: '600000' },
          START_TIMEOUT_MS,
        ),
      ),
    ]);
  }, 2 * START_TIMEOUT_MS);
  afterAll(async () => {
    await killAllApps();
    await server?.stop();
  });

  it('the fleet share of jobs with a scoped copy is sum(ai_jobs_created_with_scoped_copy_total) / sum(ai_jobs_created_total) over the replicas; each ratio gauge is its own replica\'s share', async () => {
    const created: Record<string, string[]> = { a: [], b: [] };
    for (let i = 0; i < 24; i++) created.a.push(await submit(apiA, 'acme', 'debug.echo', { i }));
    for (let i = 0; i < 6; i++) created.b.push(await submit(apiB, 'beta', 'debug.echo', { i }));
    const scopedCopies = async (ids: string[], ws: string) => (await Promise.all(ids.map((id) => server.redis.exists(RedisKeys.scopedJob(ws, id))))).reduce((a, b) => a + b, 0);
    const scopedA = await scopedCopies(created.a, 'acme');
    const scopedB = await scopedCopies(created.b, 'beta');

    const [textA, textB] = await Promise.all([metricsOf(apiA), metricsOf(apiB)]);
    const created_ = total(textA, 'ai_jobs_created_total') + total(textB, 'ai_jobs_created_total');
    const scoped = total(textA, 'ai_jobs_created_with_scoped_copy_total') + total(textB, 'ai_jobs_created_with_scoped_copy_total');
    expect({ created: created_, scoped }).toEqual({ created: 30, scoped: scopedA + scopedB });
    expect(total(textA, 'ai_jobs_dual_write_ratio')).toBeCloseTo(scopedA / 24, 9);
    expect(total(textB, 'ai_jobs_dual_write_ratio')).toBeCloseTo(scopedB / 6, 9);
    // The worker creates no job: its gauge is undefined, not 0 ("no scoped copies").
    expect(samples(await metricsOf(worker)).find((s) => s.name === 'ai_jobs_dual_write_ratio')?.value).toBeNaN();
    await expectEventually(async () => expect(await server.redis.llen(RedisKeys.pendingQueue)).toBe(0), 20_000, 100);
  }, 60_000);

  it('the worker reports ai_queue_depth for acme on its own and the rest as "unscoped"', async () => {
    const retrying = await submit(apiA, 'acme', 'debug.fail', {});
    await expectEventually(async () => expect(await server.redis.zscore(RedisKeys.retryQueue, `acme:${retrying}`)).not.toBeNull(), 20_000, 50);
    const dead = await submit(apiA, 'acme', 'http.post', { url: 'http://127.0.0.1:1/', body: {} });
    await expectEventually(async () => expect(await statusOf(dead)).toBe('failed'), 20_000, 50);
    const running = await submit(apiA, 'acme', 'debug.sleep', { ms: 60_000 });
    await expectEventually(async () => expect(await statusOf(running)).toBe('running'), 20_000, 50);
    // The worker's one slot is taken: these wait.
    await submit(apiA, 'acme', 'debug.echo');
    await submit(apiB, 'acme', 'debug.echo');
    await submit(apiB, 'beta', 'debug.echo');

    const depth = (text: string, workspace_id: string) =>
      Object.fromEntries(['pending', 'running', 'retrying', 'dead'].map((state) => [state, total(text, 'ai_queue_depth', { state, workspace_id })]));
    await expectEventually(
      async () => {
        const text = await metricsOf(worker);
        expect({ acme: depth(text, 'acme'), unscoped: depth(text, 'unscoped') }).toEqual({
          acme: { pending: 2, running: 1, retrying: 1, dead: 1 },
          unscoped: { pending: 1, running: 0, retrying: 0, dead: 0 },
        });
        expect(samples(text).filter((s) => s.labels.workspace_id === 'beta')).toEqual([]);
      },
      10_000,
      200,
    );
  }, 60_000);

  it('the read-path, list-path and dual-write counters carry workspace_id: acme by name, beta as "unscoped"', async () => {
    const acmeJob = await submit(apiA, 'acme', 'debug.echo');
    const betaJob = await submit(apiA, 'beta', 'debug.echo');
    expect((await call(apiA, 'GET', `/ai/jobs/${acmeJob}`, 'acme')).status).toBe(200);
    expect((await call(apiA, 'GET', `/ai/jobs/${betaJob}`, 'beta')).status).toBe(200);
    expect((await call(apiA, 'GET', '/ai/jobs/absent-job', 'acme')).status).toBe(404);
    expect((await call(apiA, 'GET', '/ai/jobs?limit=5', 'acme')).status).toBe(200);
    expect((await call(apiA, 'GET', '/ai/jobs?limit=5', 'beta')).status).toBe(200);

    const text = await metricsOf(apiA);
    for (const ws of ['acme', 'unscoped']) {
      expect(total(text, 'relay_job_read_path_total', { workspace_id: ws })).toBeGreaterThanOrEqual(1);
      expect(total(text, 'relay_job_list_read_path_total', { workspace_id: ws })).toBeGreaterThanOrEqual(1);
      expect(total(text, 'relay_dual_write_attempt_total', { result: 'succeeded', workspace_id: ws })).toBeGreaterThanOrEqual(1);
    }
    expect(total(text, 'relay_job_read_path_total', { path: 'miss', workspace_id: 'acme' })).toBe(1);
    expect(samples(text).filter((s) => s.labels.workspace_id === 'beta')).toEqual([]);
  }, 30_000);

  it('promtool check metrics reports nothing on the API\'s and the worker\'s /metrics, Node\'s process metrics included', async () => {
    const nodeMetrics = ['process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_active_handles', 'nodejs_eventloop_lag_seconds'];
    const relayMetrics = { api: ['http_requests_total', 'relay_job_read_path_total', 'relay_dual_write_attempt_total', 'ai_jobs_created_total'], worker: ['ai_queue_depth', 'ai_jobs_total', 'ai_job_latency_seconds_bucket'] };
    for (const app of [apiA, worker]) {
      const text = await metricsOf(app);
      // The check covers what carries samples: Node's own metrics, and Relay's with their workspace labels.
      for (const name of [...nodeMetrics, ...relayMetrics[app.name]]) {
        expect([app.name, name, samples(text).some((s) => s.name === name)]).toEqual([app.name, name, true]);
      }
      expect(text).not.toMatch(/^nodejs_active_(handles|requests|resources)_total/m);
      expect([app.name, promtoolCheck(text)]).toEqual([app.name, { status: 0, printed: '' }]);
    }
    // The check itself finds what it should: today's problems, had they stayed.
    expect(promtoolCheck('# HELP nodejs_active_handles_total Total number of active handles.\n# TYPE nodejs_active_handles_total gauge\nnodejs_active_handles_total 3\n').printed).toMatch(
      /nodejs_active_handles_total non-counter metrics should not have "_total" suffix/,
    );
    expect(promtoolCheck('# HELP relay_job_read_path Reads.\n# TYPE relay_job_read_path counter\nrelay_job_read_path{path="new"} 1\n').printed).toMatch(/should have "_total" suffix/);
  }, 30_000);
});
