import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { register } from 'prom-client';
import { RelayMetrics } from '@relay/telemetry';
import { ROOT } from './support/child-main.js';
import { alertNames, dashboard, dashboardQueries, prometheusBinary, relayMetricNames, RULE_TESTS_FILE, RULES_FILE } from './support/ops-files.js';

/**
 * Issue 16, point 4: the alert rules (ops/prometheus/relay-alerts.yml) pass
 * `promtool check rules` and their unit tests (`promtool test rules`, from
 * Debian's prometheus package), every alert is tested firing and quiet,
 * rules and dashboard use only metrics Relay exports, and the README maps
 * every alert. test/prometheus.e2e-spec.ts runs them in a real Prometheus.
 */

function promtool(...args: string[]): { status: number | null; output: string } {
  // From the rules' folder: the test file names its rule file relative to it.
  const run = spawnSync(prometheusBinary('promtool'), args, { cwd: dirname(RULES_FILE), encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Names Relay's /metrics can serve: every metric RelayMetrics defines, with a histogram's series. */
async function exportedNames(): Promise<Set<string>> {
  new RelayMetrics();
  const names = new Set<string>();
  for (const metric of await register.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

describe('alert rules and dashboard (ops/)', () => {
  it('promtool check rules accepts the rules file, one rule per alert', () => {
    const alerts = alertNames();
    expect(alerts.length).toBeGreaterThanOrEqual(9);
    const run = promtool('check', 'rules', RULES_FILE);
    expect(run).toEqual({ status: 0, output: expect.stringContaining(`SUCCESS: ${alerts.length} rules found`) });
  });

  it('promtool test rules: the unit tests of every alert pass', () => {
    const run = promtool('test', 'rules', RULE_TESTS_FILE);
    expect(run).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });

  it('every alert is tested both firing and quiet, and nothing else is tested', () => {
    const tests = readFileSync(RULE_TESTS_FILE, 'utf8');
    const firing = new Set<string>();
    const quiet = new Set<string>();
    for (const [, alert, expected] of tests.matchAll(/alertname: (\S+)\s*\n\s*exp_alerts:[ \t]*(\S*)/g)) (expected === '[]' ? quiet : firing).add(alert);
    const alerts = alertNames().sort();
    expect({ firing: [...firing].sort(), quiet: [...quiet].sort() }).toEqual({ firing: alerts, quiet: alerts });
  });

  it('the alerts cover the runbook go/no-go signals and the operations signals the issue lists', () => {
    const rules = readFileSync(RULES_FILE, 'utf8');
    const exprOf = (alert: string) => new RegExp(`- alert: ${alert}\\n\\s+expr: \\|?([\\s\\S]*?)\\n\\s+(?:for|labels):`).exec(rules)?.[1] ?? '';
    expect({
      dualWriteFailures: exprOf('RelayDualWriteFailures'),
      divergence: exprOf('RelayCopyDivergence'),
      readMisses: exprOf('RelayReadMissesAfterPhase3'),
      backlog: exprOf('RelayQueueBacklog'),
      oldestPending: exprOf('RelayOldestPendingJobTooOld'),
      workspaceWait: exprOf('RelayWorkspaceWaitHigh'),
      deadLetters: exprOf('RelayDeadLettersGrowing'),
      leaseLosses: exprOf('RelayLeaseLosses'),
      redis: exprOf('RelayRedisUnavailable'),
      api5xx: exprOf('RelayApiErrorRate'),
    }).toEqual({
      dualWriteFailures: expect.stringContaining('relay_dual_write_attempt_total{result="failed"}'),
      divergence: expect.stringContaining('relay_copy_divergence_total'),
      readMisses: expect.stringContaining('relay_job_read_path_total{path="miss"}'),
      backlog: expect.stringContaining('ai_queue_depth{state="pending"}'),
      oldestPending: expect.stringContaining('relay_queue_oldest_pending_seconds'),
      workspaceWait: expect.stringContaining('relay_job_wait_seconds_bucket'),
      deadLetters: expect.stringContaining('ai_queue_depth{state="dead"}'),
      leaseLosses: expect.stringContaining('relay_worker_lease_losses_total'),
      redis: expect.stringMatching(/relay_worker_backoffs_total[\s\S]*relay_unavailable_responses_total\{reason=~"redis_\.\*"\}/),
      api5xx: expect.stringContaining('http_requests_total{status_code=~"5.."'),
    });
  });

  it('rules and dashboard use only metrics that Relay exports', async () => {
    const exported = await exportedNames();
    const used = relayMetricNames(readFileSync(RULES_FILE, 'utf8') + dashboardQueries().map((q) => q.expr).join('\n'));
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((name) => !exported.has(name))).toEqual([]);
  });

  it('the dashboard: unique panel ids, every query on the chosen Prometheus, panels inside the 24-column grid', () => {
    const board = dashboard();
    expect(board).toMatchObject({ uid: 'relay-overview', title: 'Relay' });
    expect(board.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    const ids = board.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const graphs = board.panels.filter((p) => p.type !== 'row');
    expect(graphs.filter((p) => !p.targets?.length || p.datasource?.uid !== '${datasource}' || p.targets.some((t) => t.datasource?.uid !== '${datasource}'))).toEqual([]);
    expect(board.panels.filter((p) => p.gridPos.x < 0 || p.gridPos.x + p.gridPos.w > 24)).toEqual([]);
  });

  it('the dashboard shows API traffic and latency, queue depth per state, job outcomes and the migration', () => {
    const queries = dashboardQueries().map((q) => q.expr);
    const shows = (pattern: RegExp) => queries.some((q) => pattern.test(q));
    expect({
      traffic: shows(/rate\(http_requests_total/),
      latency: shows(/histogram_quantile\([^,]+, sum by \(le[^)]*\) \(rate\(http_request_duration_seconds_bucket/),
      depthPerState: shows(/sum by \(state\) \(.*ai_queue_depth/),
      outcomes: shows(/sum by \(status\) \(rate\(ai_jobs_total\{status=~"[^"]*succeeded\|failed/),
      dualWrites: shows(/relay_dual_write_attempt/),
      readPaths: shows(/relay_job_read_path/),
      divergence: shows(/relay_copy_divergence_total/),
    }).toEqual({ traffic: true, latency: true, depthPerState: true, outcomes: true, dualWrites: true, readPaths: true, divergence: true });
  });

  it('the README section "Alerts and dashboard" names every alert and the files', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = /\n## Alerts and dashboard\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
    expect(section).toContain('ops/prometheus/relay-alerts.yml');
    expect(section).toContain('ops/grafana/relay-dashboard.json');
    expect(alertNames().filter((alert) => !section.includes(alert))).toEqual([]);
  });
});
