import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { QueueScripts, RedisJobStore, type ClaimedJob } from '@relay/queue';
import { RelayMetrics } from '@relay/telemetry';
import { strategy } from './support/context.js';
import { commandStats, cpuSample, perUnit } from './support/info.js';
import { ROOT } from './support/processes.js';
import { BenchRedis } from './support/redis-server.js';
import { round } from './support/stats.js';

/**
 * `npm run bench:scripts [-- --jobs N] [-- --batches 1,10,50] [-- --runs R]`
 *
 * The worker's scripts alone, without a worker process, the network's
 * share or a comparison: where a job's Redis time goes (README Performance,
 * "where a job's Redis time goes"). On a private redis-server, N legacy
 * jobs (the default flags; `debug.echo`, params `{}`) are created, then
 * finished in `finishJobs` calls of B jobs that also claim the next B, as
 * a worker of concurrency 2B does. Per batch size, the best of R runs:
 * Redis CPU per job (INFO cpu), the time inside the scripts (EVALSHA in
 * INFO commandstats), the commands they call, and the rest (Lua around the
 * commands). Writes bench/results/script-cost.json. Not a target: a profile.
 */

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
};
const JOBS = Number(arg('jobs', '10000'));
const BATCHES = arg('batches', '1,10,50').split(',').map(Number);
const RUNS = Number(arg('runs', '3'));

const CLAIM = { workerId: 'script-cost', leaseMs: 30_000, maxAttempts: 3, retentionSeconds: 86_400 };
const succeeded = (job: ClaimedJob) => ({ job, outcome: { outcome: 'succeeded' as const, result: {} } });

async function run(redis: Redis, scripts: QueueScripts, store: RedisJobStore, batch: number) {
  await redis.flushall();
  for (let made = 0; made < JOBS + 2 * batch; made += 50) {
    await Promise.all(Array.from({ length: 50 }, () => store.create({ workspaceId: 'bench-ws', jobs: [{ actorId: 'bench', action: 'debug.echo', params: {} }], kind: 'job' })));
  }
  // The first claim moves every pending entry into the workspace's queue: not counted (the benchmark's drains count it).
  let claimed = (await scripts.claimJobs({ ...CLAIM, max: batch })).claimed;
  const cpu0 = await cpuSample(redis);
  const stats0 = await commandStats(redis);
  const started = process.hrtime.bigint();
  let done = 0;
  while (done < JOBS && claimed.length > 0) {
    const reply = await scripts.finishJobs(claimed.map(succeeded), CLAIM.retentionSeconds, { ...CLAIM, max: batch });
    done += claimed.length;
    claimed = reply.claimed;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu1 = await cpuSample(redis);
  const per = perUnit(stats0, await commandStats(redis), done);
  const inScript = per.usecPerUnit.evalsha ?? 0;
  const commands = Object.entries(per.usecPerUnit).filter(([name]) => name !== 'evalsha').reduce((sum, [, us]) => sum + us, 0);
  return {
    jobs: done,
    jobsPerSec: round(done / seconds),
    redisCpuUsPerJob: round(((cpu1.total - cpu0.total) * 1e6) / done),
    inScriptUsPerJob: round(inScript),
    commandsUsPerJob: round(commands),
    luaUsPerJob: round(inScript - commands),
    redis: per,
  };
}

const server = await BenchRedis.start();
const redis = new Redis(server.url(0), { maxRetriesPerRequest: 1 });
try {
  const scripts = new QueueScripts(redis);
  const store = new RedisJobStore(scripts, strategy('legacy'), new RelayMetrics(), 86_400);
  const results: Record<string, unknown> = {};
  for (const batch of BATCHES) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await run(redis, scripts, store, batch));
    const best = runs.reduce((a, b) => (b.redisCpuUsPerJob < a.redisCpuUsPerJob ? b : a));
    results[`batch ${batch}`] = { best, runs: runs.map((r) => r.redisCpuUsPerJob) };
    console.log(
      `batch ${String(batch).padStart(3)}: Redis CPU ${best.redisCpuUsPerJob} µs/job; in the scripts ${best.inScriptUsPerJob} ` +
        `(commands ${best.commandsUsPerJob}, Lua around them ${best.luaUsPerJob}); ${best.redis.totalCallsPerUnit} commands/job`,
    );
  }
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'script-cost.json'), JSON.stringify({ date: new Date().toISOString(), jobs: JOBS, runs: RUNS, results }, null, 2) + '\n');
  console.log('results in bench/results/script-cost.json');
} finally {
  redis.disconnect();
  await server.stop();
}
