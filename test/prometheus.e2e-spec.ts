import { ApiKeyStore } from '@relay/auth';
import { BUILT_INS } from './support/api-harness.js';
import { killAllApps, startApp, type AppProcess } from './support/app-process.js';
import { expectEventually } from './support/expect-eventually.js';
import { alertNames, dashboardQueries, RULES_FILE } from './support/ops-files.js';
import { startPrometheus, type PrometheusServer, type PromSample } from './support/prometheus-server.js';
import { freePort } from './support/redis-server.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 16, point 4, end to end: a real Prometheus (Debian's package, on a
 * spare port with its own configuration and data) scrapes the real API and
 * worker processes every second and evaluates the committed alert rules;
 * the series the rules read are there, with the values the traffic made,
 * every rule evaluates without error, and every dashboard query runs.
 */
describe('Prometheus scraping the API and the worker, with the committed rules', () => {
  let redis: FileRedis;
  let api: AppProcess;
  let worker: AppProcess;
  let prometheus: PrometheusServer;
  let key: string;

  beforeAll(async () => {
    redis = await fileRedis();
    const common = { REDIS_URL: redis.url, ACTION_ALLOWLIST: BUILT_INS };
    [api, worker] = await Promise.all([
      startApp('api', { ...common, PORT: String(await freePort()) }),
      startApp('worker', { ...common, WORKER_PORT: String(await freePort()), WORKER_CONCURRENCY: '1', WORKER_SHUTDOWN_GRACE_MS: '200' }),
    ]);
    prometheus = await startPrometheus({ targets: { 'relay-api': api.port, 'relay-worker': worker.port }, ruleFiles: [RULES_FILE] });
    key = (await new ApiKeyStore(redis.redis).create({ workspaceId: 'acme', scopes: ['actions:execute', 'actions:preview'] })).key;
  }, 90_000);
  afterAll(async () => {
    await prometheus?.stop();
    await killAllApps();
    await redis?.stop();
  });

  async function submit(action: string, params: Record<string, unknown>): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${api.port}/ai/jobs`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ action, params }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { job_id: string }).job_id;
  }

  const status = (id: string) => redis.redis.hget(`ai:jobs:${id}`, 'status');
  /** Series → value, keyed by the given label. */
  const byLabel = (samples: PromSample[], label: string) => Object.fromEntries(samples.map((s) => [s.metric[label] ?? '', Number(s.value[1])]));

  it('scrapes both processes', async () => {
    await expectEventually(async () => expect(byLabel(await prometheus.query('up'), 'job')).toEqual({ 'relay-api': 1, 'relay-worker': 1 }), 15_000, 200);
  });

  it('sees what the traffic did in the series the rules read: requests, outcomes, depth per state, the wait of the job next in line', async () => {
    const echoed = await submit('debug.echo', { n: 1 });
    await expectEventually(async () => expect(await status(echoed)).toBe('succeeded'), 10_000);
    // One worker slot: a sleeping job holds it, so the next job waits in line.
    const sleeping = await submit('debug.sleep', { ms: 6000 });
    await expectEventually(async () => expect(await status(sleeping)).toBe('running'), 10_000);
    const waiting = await submit('debug.echo', { n: 2 });

    await expectEventually(async () => {
      expect(await status(waiting)).toBe('pending');
      // The rules' own aggregations (relay-alerts.yml), against the live scrape.
      expect(byLabel(await prometheus.query('sum by (state) (max by (state, workspace_id) (ai_queue_depth))'), 'state')).toMatchObject({ pending: 1, running: 1 });
      const [oldest] = await prometheus.query('max(relay_queue_oldest_pending_seconds)');
      expect(Number(oldest?.value[1])).toBeGreaterThan(0);
    }, 15_000, 200);

    await expectEventually(async () => {
      // Outcomes are counted by the worker (the sleeping job may have finished by now too).
      const succeeded = byLabel(await prometheus.query('sum by (job) (ai_jobs_total{status="succeeded"})'), 'job');
      expect(Object.keys(succeeded)).toEqual(['relay-worker']);
      expect(succeeded['relay-worker']).toBeGreaterThanOrEqual(1);
      expect(byLabel(await prometheus.query('sum by (job) (http_requests_total{route="/ai/jobs", status_code="202"})'), 'job')).toEqual({ 'relay-api': 3 });
      // RelayApiErrorRate leaves out health and metrics by their route label as the API really writes it (its scrapes and readiness polls are there).
      expect(Object.keys(byLabel(await prometheus.query('sum by (route) (http_requests_total)'), 'route')).sort()).toEqual(['/ai/jobs', '/health/ready', '/metrics']);
      expect(Object.keys(byLabel(await prometheus.query('sum by (route) (http_requests_total{route!~"/health/.*|/metrics"})'), 'route'))).toEqual(['/ai/jobs']);
    }, 15_000, 200);
  });

  it('loads every committed rule and evaluates each one without error', async () => {
    await expectEventually(async () => {
      const groups = await prometheus.rules();
      expect(groups.map((g) => g.name)).toEqual(['relay-migration', 'relay-operations']);
      const rules = groups.flatMap((g) => g.rules);
      expect(rules.map((r) => r.name)).toEqual(alertNames());
      expect(rules.filter((r) => r.health !== 'ok' || r.lastEvaluation.startsWith('0001'))).toEqual([]);
    }, 15_000, 200);
  });

  it('runs every query of the Grafana dashboard, and the per-state depth panel has data', async () => {
    const failures: string[] = [];
    for (const { panel, expr } of dashboardQueries()) {
      await prometheus.query(expr).catch((error: Error) => failures.push(`${panel}: ${error.message}`));
    }
    expect(failures).toEqual([]);
    const depth = dashboardQueries().find((q) => q.panel === 'Queue depth per state')!;
    expect(Object.keys(byLabel(await prometheus.query(depth.expr), 'state')).sort()).toEqual(['dead', 'delayed', 'pending', 'retrying', 'running']);
  });
});
