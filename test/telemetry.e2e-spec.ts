import type { Redis } from 'ioredis';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * SPEC section 7 (telemetry) and the health endpoints of section 4, on the
 * real API and a real Redis. prom-client's registry is shared by every
 * application in the process (this file builds several, and other files may
 * run in the same worker), so counters are asserted as deltas between two
 * scrapes, never as absolute values.
 */

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (0.0.4) into samples; fails on a line it cannot read. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(line);
    if (!match) throw new Error(`unreadable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, raw] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** One scrape of /metrics: the raw text and a reader summing the samples that carry the given labels. */
interface Scrape {
  text: string;
  samples: Sample[];
  value(name: string, labels?: Record<string, string>): number;
}

const SPEC_METRICS = [
  'ai_jobs_total',
  'ai_job_latency_seconds',
  'ai_queue_depth',
  'security_decisions_total',
  'ai_job_list_queries_total',
  'ai_job_list_duration_seconds',
  'ai_job_list_results_total',
  'ai_jobs_dual_write_ratio',
  'relay_job_read_path_total',
  'relay_dual_write_attempt_total',
  'relay_job_list_read_path_total',
  'ai_jobs_created_total',
  'ai_jobs_created_with_scoped_copy_total',
  'http_requests_total',
];

describe('telemetry: /metrics, metric labels and health', () => {
  let redis: Redis;
  let server: FileRedis;
  let api: ApiHarness;
  let key: string;
  const auth = (k = key) => ({ Authorization: `Bearer ${k}` });

  async function scrape(harness: ApiHarness = api): Promise<Scrape> {
    const res = await harness.http.get('/metrics');
    expect(res.status).toBe(200);
    const samples = parseExposition(res.text);
    return {
      text: res.text,
      samples,
      value: (name, labels = {}) =>
        samples
          .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
          .reduce((sum, s) => sum + s.value, 0),
    };
  }

  /** How much a sample moved across `act`. */
  async function delta(name: string, labels: Record<string, string>, act: () => Promise<unknown>, harness: ApiHarness = api): Promise<number> {
    const before = (await scrape(harness)).value(name, labels);
    await act();
    return (await scrape(harness)).value(name, labels) - before;
  }

  async function submit(k: string, action = 'debug.echo', params: Record<string, unknown> = {}, harness: ApiHarness = api) {
    return harness.http.post('/ai/jobs').set(auth(k)).send({ action, params });
  }

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    api = await startApi(server.url);
    key = await api.key('acme', ['actions:execute', 'actions:preview'], 'agent-telemetry-7');
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  describe('health', () => {
    it('GET /health/live is 200 {status: "ok"} without a key', async () => {
      const res = await api.http.get('/health/live');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });

    it('GET /health/ready is 200 with Redis up, reporting Redis as up', async () => {
      const res = await api.http.get('/health/ready');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', info: { redis: { status: 'up' } } });
    });
  });

  describe('/metrics', () => {
    it('is public: 200 text exposition without a key, listing every metric of SPEC section 7', async () => {
      await submit(key);
      const res = await api.http.get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      for (const name of SPEC_METRICS) expect(res.text).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'));
      expect(() => parseExposition(res.text)).not.toThrow();
    });

    it('counts HTTP requests by route pattern; a job id never appears in any label or anywhere in /metrics', async () => {
      const before = await scrape();
      const created = await submit(key, 'debug.echo', { note: 'metrics-probe', token: 'tok-secret-123' });
      expect(created.status).toBe(202);
      const jobId: string = created.body.job_id;
      expect((await api.http.get(`/ai/jobs/${jobId}`).set(auth())).status).toBe(200);
      const absentId = `absent-${jobId}`;
      expect((await api.http.get(`/ai/jobs/${absentId}`).set(auth())).status).toBe(404);
      expect((await api.http.post(`/ai/jobs/${jobId}/cancel`).set(auth())).status).toBe(200);
      const after = await scrape();

      const moved = (labels: Record<string, string>) => after.value('http_requests_total', labels) - before.value('http_requests_total', labels);
      expect(moved({ method: 'POST', route: '/ai/jobs', status_code: '202' })).toBe(1);
      expect(moved({ method: 'GET', route: '/ai/jobs/:id', status_code: '200' })).toBe(1);
      expect(moved({ method: 'GET', route: '/ai/jobs/:id', status_code: '404' })).toBe(1);
      expect(moved({ method: 'POST', route: '/ai/jobs/:id/cancel', status_code: '200' })).toBe(1);

      for (const s of after.samples) {
        for (const value of Object.values(s.labels)) expect(value).not.toContain(jobId);
      }
      expect(after.text).not.toContain(jobId);
      expect(after.text).not.toContain(absentId);
      // Nor user ids, credentials or params.
      expect(after.text).not.toContain('agent-telemetry-7');
      expect(after.text).not.toContain(key);
      expect(after.text).not.toMatch(/metrics-probe|tok-secret-123/);
    });
  });

  describe('counters move', () => {
    it('ai_jobs_total{status="pending"} counts a created job', async () => {
      expect(await delta('ai_jobs_total', { status: 'pending', workspace_id: 'unscoped' }, async () => expect((await submit(key)).status).toBe(202))).toBe(1);
    });

    it('security_decisions_total{result="deny"} counts a forbidden action, result="allow" an allowed one', async () => {
      const deny = { result: 'deny', reason: 'not_allowlisted', workspace_id: 'unscoped' };
      const allow = { result: 'allow', workspace_id: 'unscoped' };

      let before = await scrape();
      const forbidden = await submit(key, 'gmail.send', { to: 'x@example.com' });
      expect(forbidden.status).toBe(403);
      let after = await scrape();
      expect(after.value('security_decisions_total', deny) - before.value('security_decisions_total', deny)).toBe(1);
      expect(after.value('security_decisions_total', allow) - before.value('security_decisions_total', allow)).toBe(0);

      before = after;
      expect((await submit(key, 'debug.echo')).status).toBe(202);
      after = await scrape();
      expect(after.value('security_decisions_total', allow) - before.value('security_decisions_total', allow)).toBe(1);
      expect(after.value('security_decisions_total', deny) - before.value('security_decisions_total', deny)).toBe(0);
    });

    it('relay_job_read_path_total counts path="old" for an existing job (legacy phase) and path="miss" for an absent one', async () => {
      const { body } = await submit(key);
      expect(await delta('relay_job_read_path_total', { path: 'old' }, async () => expect((await api.http.get(`/ai/jobs/${body.job_id}`).set(auth())).status).toBe(200))).toBe(1);
      expect(await delta('relay_job_read_path_total', { path: 'miss' }, async () => expect((await api.http.get('/ai/jobs/no-such-job').set(auth())).status).toBe(404))).toBe(1);
      expect(await delta('relay_job_read_path_total', { path: 'new' }, async () => api.http.get(`/ai/jobs/${body.job_id}`).set(auth()))).toBe(0);
    });

    it('a list page moves ai_job_list_queries_total, ai_job_list_results_total, ai_job_list_duration_seconds and relay_job_list_read_path_total{path="old"}', async () => {
      const before = await scrape();
      const page = await api.http.get('/ai/jobs?limit=3').set(auth());
      expect(page.status).toBe(200);
      expect(page.body.items).toHaveLength(3);
      const after = await scrape();
      const moved = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);
      expect(moved('ai_job_list_queries_total', { workspace_id: 'unscoped' })).toBe(1);
      expect(moved('ai_job_list_results_total', { workspace_id: 'unscoped' })).toBe(3);
      expect(moved('ai_job_list_duration_seconds_count', { workspace_id: 'unscoped' })).toBe(1);
      expect(moved('relay_job_list_read_path_total', { path: 'old' })).toBe(1);
    });

    it('with dual-write on (new schema, canary 100 %), ai_jobs_dual_write_ratio is 1 and relay_dual_write_attempt_total{result="succeeded"} counts', async () => {
      const dual = await startApi(server.url, { AI_JOBS_NEW_SCHEMA: 'on', PHASE_1_CANARY_PCT: '100', READ_PREFERS_NEW: 'on' });
      try {
        const dualKey = await dual.key('acme');
        const before = await scrape(dual);
        const res = await submit(dualKey, 'debug.echo', {}, dual);
        expect(res.status).toBe(202);
        expect((await dual.http.get(`/ai/jobs/${res.body.job_id}`).set(auth(dualKey))).status).toBe(200);
        const after = await scrape(dual);
        expect(after.value('ai_jobs_dual_write_ratio')).toBe(1);
        expect(after.value('relay_dual_write_attempt_total', { result: 'succeeded' }) - before.value('relay_dual_write_attempt_total', { result: 'succeeded' })).toBe(1);
        expect(after.value('relay_job_read_path_total', { path: 'new' }) - before.value('relay_job_read_path_total', { path: 'new' })).toBe(1);
      } finally {
        await dual.close();
      }
    });
  });

  describe('jobs created, with and without a scoped copy (the dual-write share, summable across replicas)', () => {
    const created = 'ai_jobs_created_total';
    const scoped = 'ai_jobs_created_with_scoped_copy_total';

    it('count every job created, a plan\'s steps included, and a replay not at all; legacy-only jobs have no scoped copy', async () => {
      let before = await scrape();
      expect((await submit(key)).status).toBe(202);
      const plan = await api.http.post('/ai/plans').set(auth()).send({ steps: [{ action: 'debug.echo' }, { action: 'debug.echo' }, { action: 'debug.echo' }], client_request_id: 'plan-counted-once' });
      expect(plan.status).toBe(202);
      const replay = await api.http.post('/ai/plans').set(auth()).send({ steps: [{ action: 'debug.echo' }, { action: 'debug.echo' }, { action: 'debug.echo' }], client_request_id: 'plan-counted-once' });
      expect(replay.status).toBe(200);
      let after = await scrape();
      expect([after.value(created) - before.value(created), after.value(scoped) - before.value(scoped)]).toEqual([4, 0]);

      const dual = await startApi(server.url, { AI_JOBS_NEW_SCHEMA: 'on', PHASE_1_CANARY_PCT: '100' });
      try {
        before = await scrape(dual);
        expect((await submit(await dual.key('acme'), 'debug.echo', {}, dual)).status).toBe(202);
        after = await scrape(dual);
        expect([after.value(created) - before.value(created), after.value(scoped) - before.value(scoped)]).toEqual([1, 1]);
      } finally {
        await dual.close();
      }
    });
  });

  describe('workspace_id label policy', () => {
    it('is "unscoped" with the default settings, whatever the workspace', async () => {
      const before = await scrape();
      expect((await submit(key)).status).toBe(202);
      const after = await scrape();
      expect(after.value('ai_jobs_total', { status: 'pending', workspace_id: 'unscoped' }) - before.value('ai_jobs_total', { status: 'pending', workspace_id: 'unscoped' })).toBe(1);
      expect(after.value('ai_jobs_total', { workspace_id: 'acme' }) - before.value('ai_jobs_total', { workspace_id: 'acme' })).toBe(0);
    });

    it('with METRICS_WORKSPACE_LABEL=on and METRICS_WORKSPACE_ALLOWLIST=acme: acme is labelled "acme", other workspaces "unscoped"', async () => {
      const labelled = await startApi(server.url, { METRICS_WORKSPACE_LABEL: 'on', METRICS_WORKSPACE_ALLOWLIST: 'acme' });
      try {
        const acmeKey = await labelled.key('acme');
        const otherKey = await labelled.key('other');
        const pending = (workspace_id: string) => ({ status: 'pending', workspace_id });
        const allowed = (workspace_id: string) => ({ result: 'allow', workspace_id });

        let before = await scrape(labelled);
        expect((await submit(acmeKey, 'debug.echo', {}, labelled)).status).toBe(202);
        let after = await scrape(labelled);
        expect(after.value('ai_jobs_total', pending('acme')) - before.value('ai_jobs_total', pending('acme'))).toBe(1);
        expect(after.value('ai_jobs_total', pending('unscoped')) - before.value('ai_jobs_total', pending('unscoped'))).toBe(0);
        expect(after.value('security_decisions_total', allowed('acme')) - before.value('security_decisions_total', allowed('acme'))).toBe(1);

        before = after;
        expect((await submit(otherKey, 'debug.echo', {}, labelled)).status).toBe(202);
        expect((await labelled.http.get('/ai/jobs').set(auth(otherKey))).status).toBe(200);
        after = await scrape(labelled);
        expect(after.value('ai_jobs_total', pending('unscoped')) - before.value('ai_jobs_total', pending('unscoped'))).toBe(1);
        expect(after.value('ai_jobs_total', pending('acme')) - before.value('ai_jobs_total', pending('acme'))).toBe(0);
        expect(after.value('security_decisions_total', allowed('unscoped')) - before.value('security_decisions_total', allowed('unscoped'))).toBe(1);
        expect(after.value('ai_job_list_queries_total', { workspace_id: 'unscoped' }) - before.value('ai_job_list_queries_total', { workspace_id: 'unscoped' })).toBe(1);

        // A workspace off the allowlist never shows up as a label value.
        expect(after.samples.filter((s) => s.labels.workspace_id === 'other')).toEqual([]);
      } finally {
        await labelled.close();
      }
    });
  });
});
