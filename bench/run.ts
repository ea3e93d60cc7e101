import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { BenchContext } from './support/context.js';
import { redisVersion } from './support/info.js';
import { killEverythingNow, ROOT, stopAllChildren } from './support/processes.js';
import { BenchRedis } from './support/redis-server.js';
import type { ScenarioResult } from './support/result.js';
import { renderTable } from './support/table.js';
import { apiSubmit } from './scenarios/api-submit.js';
import { apiBatch } from './scenarios/api-batch.js';
import { enqueue } from './scenarios/enqueue.js';
import { workerThroughput } from './scenarios/worker-throughput.js';
import { redisCpu } from './scenarios/redis-cpu.js';
import { noisyNeighbour } from './scenarios/noisy-neighbour.js';
import { listJobs } from './scenarios/list-jobs.js';
import { backfill } from './scenarios/backfill.js';
import { memory } from './scenarios/memory.js';
import { notificationLatency } from './scenarios/notification-latency.js';

/**
 * `npm run bench [-- --quick] [-- --only name,name] [-- --strict]`
 *
 * Starts a private redis-server on a spare port, runs every scenario (each
 * interleaving Relay with its comparisons), prints a table and writes
 * bench/results/latest.json (--only writes bench/results/only.json instead).
 * --strict exits 1 when a target is not met. Everything started is stopped
 * at the end, on failure, and on Ctrl-C.
 */

const SCENARIOS: { id: string; run: (ctx: BenchContext) => Promise<ScenarioResult[]> }[] = [
  { id: 'api-submit', run: apiSubmit },
  { id: 'api-batch', run: apiBatch },
  { id: 'enqueue', run: enqueue },
  { id: 'worker-throughput', run: workerThroughput },
  { id: 'redis-cpu', run: redisCpu },
  { id: 'noisy-neighbour', run: noisyNeighbour },
  { id: 'list-jobs', run: listJobs },
  { id: 'backfill', run: backfill },
  { id: 'memory', run: memory },
  { id: 'notification-latency', run: notificationLatency },
];

function parseArgs(argv: string[]) {
  const args = { quick: false, strict: false, only: undefined as string[] | undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--strict') args.strict = true;
    else if (a === '--only') args.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a.startsWith('--only=')) args.only = a.slice('--only='.length).split(',').filter(Boolean);
    else if (a === '--help' || a === '-h') {
      console.log(`usage: npm run bench [-- --quick] [-- --only ${SCENARIOS.map((s) => s.id).join(',')}] [-- --strict]`);
      process.exit(0);
    } else {
      console.error(`unknown argument: ${a}`);
      process.exit(2);
    }
  }
  for (const id of args.only ?? []) {
    if (!SCENARIOS.some((s) => s.id === id)) {
      console.error(`unknown scenario: ${id} (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
      process.exit(2);
    }
  }
  return args;
}

const packageVersion = (path: string) => (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const log = (line: string) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  log(`mode: ${args.quick ? 'quick' : 'full'}; starting a private redis-server`);
  const redis = await BenchRedis.start();
  const ctx = new BenchContext(args.quick, redis, log);
  const rows: ScenarioResult[] = [];
  const failures: { scenario: string; error: string }[] = [];
  const timings: Record<string, number> = {};
  try {
    log(`redis-server on port ${redis.port}`);
    for (const scenario of SCENARIOS) {
      if (args.only && !args.only.includes(scenario.id)) continue;
      const t0 = Date.now();
      log(`${scenario.id} ...`);
      try {
        await ctx.flushAll();
        const out = await scenario.run(ctx);
        rows.push(...out);
        for (const r of out) log(`  => ${r.name}: Relay ${r.relay} vs ${r.comparison} ${r.units}, ratio ${r.ratio} (${r.ratioDefinition}), target ${r.target}: ${r.met === null ? 'informational' : r.met ? 'met' : 'NOT met'}`);
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        failures.push({ scenario: scenario.id, error: message });
        log(`${scenario.id} FAILED: ${message}`);
        await stopAllChildren();
      }
      timings[scenario.id] = Math.round((Date.now() - t0) / 100) / 10;
      log(`${scenario.id} took ${timings[scenario.id]} s`);
    }
    const versions = {
      node: process.version,
      redis: await redisVersion(ctx.admin),
      bullmq: packageVersion(join(ROOT, 'node_modules/bullmq/package.json')),
      beeQueue: packageVersion(join(ROOT, 'node_modules/bee-queue/package.json')),
      relay: packageVersion(join(ROOT, 'package.json')),
      autocannon: packageVersion(join(ROOT, 'node_modules/autocannon/package.json')),
    };
    const cpuList = cpus();
    const report = {
      mode: args.quick ? 'quick' : 'full',
      date: new Date().toISOString(),
      durationSeconds: Math.round((Date.now() - started) / 1000),
      versions,
      machine: { cpus: cpuList.length, model: cpuList[0]?.model ?? 'unknown', platform: platform(), release: release(), memoryBytes: totalmem() },
      only: args.only ?? null,
      scenarioSeconds: timings,
      failures,
      scenarios: rows,
    };
    const dir = join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, args.only ? 'only.json' : 'latest.json');
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    console.log('');
    console.log(renderTable(rows));
    console.log('');
    if (failures.length > 0) console.log(`FAILED scenarios: ${failures.map((f) => f.scenario).join(', ')}`);
    log(`done in ${report.durationSeconds} s (${report.mode}); results in ${file}`);
    if (failures.length > 0) return 1;
    if (args.strict && rows.some((r) => r.met === false)) return 1;
    return 0;
  } finally {
    await ctx.close();
    await stopAllChildren();
    await redis.stop();
    killEverythingNow();
  }
}

// Ctrl-C / SIGTERM: stop what was started, then exit; at any exit, a synchronous last sweep.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n[bench] ${signal}: stopping child processes and redis-server`);
    void stopAllChildren()
      .catch(() => undefined)
      .finally(() => {
        killEverythingNow();
        process.exit(signal === 'SIGINT' ? 130 : 143);
      });
  });
}
process.on('exit', () => killEverythingNow());

main().then(
  (code) => {
    process.exitCode = code;
    // Library timers (BullMQ, ioredis) must not keep the process alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (error: unknown) => {
    console.error(error);
    killEverythingNow();
    process.exit(1);
  },
);
