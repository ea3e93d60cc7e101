import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually } from './expect-eventually.js';
import { prometheusBinary } from './ops-files.js';
import { freePort } from './redis-server.js';

/**
 * A Prometheus server of the test's own (Debian's `prometheus` binary): a
 * spare loopback port, a temporary data directory and configuration,
 * scraping the given targets and evaluating the given rule files every
 * second. Never the package's own service on :9090.
 */

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RuleState {
  name: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  lastEvaluation: string;
}

export interface PrometheusServer {
  readonly url: string;
  /** An instant query at the current time; throws Prometheus's error for an invalid one. */
  query(expr: string): Promise<PromSample[]>;
  /** Every loaded rule, by group, with the health of its last evaluation. */
  rules(): Promise<{ name: string; rules: RuleState[] }[]>;
  output(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(options: { targets: Record<string, number>; ruleFiles: string[] }): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-prometheus-'));
  const port = await freePort();
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: options.ruleFiles,
    scrape_configs: Object.entries(options.targets).map(([job, target]) => ({ job_name: job, static_configs: [{ targets: [`127.0.0.1:${target}`] }] })),
  };
  // JSON is YAML: no YAML writer needed.
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
  const child: ChildProcess = spawn(
    prometheusBinary('prometheus'),
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-32 * 1024));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  const server: PrometheusServer = {
    url,
    query: async (expr) => (await api<{ result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    rules: async () => (await api<{ groups: { name: string; rules: RuleState[] }[] }>('/api/v1/rules')).groups,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await expectEventually(async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${output}`);
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (res.status !== 200) throw new Error(`prometheus not ready (${res.status})`);
    }, 20_000, 100);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
