import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './child-main.js';

/**
 * The operator files under ops/ (alert rules, their promtool tests, the
 * Grafana dashboard) as the tests read them, and the Prometheus binaries
 * from Debian's `prometheus` package that check and run them.
 */

export const RULES_FILE = join(ROOT, 'ops/prometheus/relay-alerts.yml');
export const RULE_TESTS_FILE = join(ROOT, 'ops/prometheus/relay-alerts.test.yml');
export const DASHBOARD_FILE = join(ROOT, 'ops/grafana/relay-dashboard.json');

/** Absolute path of a binary on PATH; fails with how to get it when missing. */
export function prometheusBinary(name: 'promtool' | 'prometheus'): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error(`${name} not found: install Debian's prometheus package (apt-get install prometheus; .ci/run does it when missing)`);
  return found;
}

/** Alert names defined in the rules file, in order. */
export function alertNames(): string[] {
  return [...readFileSync(RULES_FILE, 'utf8').matchAll(/^\s*- alert: (\S+)\s*$/gm)].map((m) => m[1]);
}

/** Every name of a Relay metric (ai_*, relay_*, http_*, security_*) a text mentions. */
export function relayMetricNames(text: string): string[] {
  return [...new Set([...text.matchAll(/\b(?:ai|relay|http|security)_[a-z0-9_]+\b/g)].map((m) => m[0]))].sort();
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
  gridPos: { h: number; w: number; x: number; y: number };
}

export function dashboard(): { uid: string; title: string; panels: DashboardPanel[]; templating: { list: { name: string; type: string; query: string }[] } } {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'));
}

/** Every PromQL expression of the dashboard, with Grafana's interval variable replaced by a fixed window. */
export function dashboardQueries(): { panel: string; expr: string }[] {
  return dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr.replaceAll('$__rate_interval', '1m') })));
}
