import type { Redis } from 'ioredis';
import { BackfillService, QueueScripts } from '@relay/queue';
import { RedisKeys } from '@relay/redis';
import type { BenchContext } from '../support/context.js';
import { PARAMS_200 } from '../support/payload.js';
import { RawPipe } from '../support/raw-pipe.js';
import { relayStore, waitConnected } from '../support/relay-store.js';
import { result, TARGETS, type ScenarioResult } from '../support/result.js';
import { seedLegacyJobs } from '../support/seed.js';
import { round, timeMs } from '../support/stats.js';
import { startProbe, type ProbeReport } from '../support/probe.js';

const WORKSPACES = 100;
const BATCH = 500;
const T0 = Date.parse('2024-06-01T00:00:00.000Z');

/**
 * The comparison: the same copy done by hand, batch by batch like the
 * service (SCAN MATCH ai:jobs:* COUNT 500), reading the batch's records
 * with one pipeline of HGETALL, then writing them in one MULTI: HSET of the
 * scoped copy with the same fields, ZADD NX to the workspace index and to
 * its status index.
 */
export async function handBackfill(redis: Redis): Promise<number> {
  let copied = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${RedisKeys.legacyJobPrefix}*`, 'COUNT', BATCH);
    cursor = next;
    if (keys.length === 0) continue;
    const read = redis.pipeline();
    for (const key of keys) read.hgetall(key);
    const records = (await read.exec()) ?? [];
    const multi = redis.multi();
    for (const [error, value] of records) {
      if (error) throw error;
      const record = value as Record<string, string>;
      const ws = record.workspace_id;
      const member = `${record.created_at}/${record.job_id}`;
      multi.hset(RedisKeys.scopedJob(ws, record.job_id), record);
      multi.zadd(RedisKeys.workspaceStatusIndex(ws, record.status), 'NX', 0, member);
      copied++;
    }
    await multi.exec();
  } while (cursor !== '0');
  return copied;
}

/**
 * Backfill: N legacy records (200k; quick 20k) over 100 workspaces, seeded
 * with raw pipelined HSET (no index entries, like predecessor records),
 * copied to the scoped schema by BackfillService.run() (default batch of
 * 500) and by the hand-written loop above. Reseeded from scratch before
 * every run; interleaved Relay, hand-written, Relay, hand-written; the best
 * run of each counts.
 */
export async function backfill(ctx: BenchContext): Promise<ScenarioResult[]> {
  const records = ctx.pick(200_000, 20_000);
  const runs = 2;
  const { redis } = relayStore(ctx.redis.url(), 'legacy');
  const service = new BackfillService(new QueueScripts(redis), redis);
  const seed = async () => {
    await ctx.flushAll();
    const pipe = await RawPipe.open(ctx.redis.port, 0);
    try {
      for (let w = 0; w < WORKSPACES; w++) {
        await seedLegacyJobs(pipe, { workspace: `legacy-${w}`, count: records / WORKSPACES, params: PARAMS_200, indexed: false, createdAtMs: T0 + w });
      }
      await pipe.flush();
    } finally {
      pipe.close();
    }
  };
  const expectCopied = async (copied: number, who: string) => {
    const scoped = await ctx.admin.scan('0', 'MATCH', `${RedisKeys.scopedJobPrefix}*`, 'COUNT', 100);
    if (copied !== records || scoped[1].length === 0) throw new Error(`${who} copied ${copied} of ${records} records`);
  };
  try {
    await waitConnected(redis);
    const relayRuns: number[] = [];
    const handRuns: number[] = [];
    const probes: { relay: ProbeReport[]; comparison: ProbeReport[] } = { relay: [], comparison: [] };
    for (let i = 0; i < runs; i++) {
      await seed();
      let copied = 0;
      let probe = await startProbe(ctx.admin);
      const relayMs = await timeMs(async () => (copied = (await service.run()).copied));
      probes.relay.push(await probe.stop(records));
      await expectCopied(copied, 'BackfillService');
      relayRuns.push((records / relayMs) * 1000);
      ctx.log(`  relay run ${i + 1}: ${Math.round(relayRuns[i])} copies/s`);
      await seed();
      probe = await startProbe(ctx.admin);
      const handMs = await timeMs(async () => (copied = await handBackfill(redis)));
      probes.comparison.push(await probe.stop(records));
      await expectCopied(copied, 'hand-written backfill');
      handRuns.push((records / handMs) * 1000);
      ctx.log(`  hand  run ${i + 1}: ${Math.round(handRuns[i])} copies/s`);
    }
    const r = Math.max(...relayRuns);
    const h = Math.max(...handRuns);
    const perRecord = { relay: probes.relay[relayRuns.indexOf(r)], comparison: probes.comparison[handRuns.indexOf(h)] };
    return [
      result({
        name: 'backfill legacy → scoped',
        relay: round(r),
        comparison: round(h),
        ratio: round(r / h, 3),
        ratioDefinition: 'Relay copies/s ÷ hand-written copies/s',
        units: 'copies/s',
        jobs: records,
        target: TARGETS.backfill,
        threshold: 0.8,
        comparator: '>=',
        relayLabel: 'BackfillService.run() (batches of 500 through backfillJobs.lua, checkpoint after each)',
        comparisonLabel: 'hand-written: SCAN COUNT 500, pipelined HGETALL, one MULTI per batch (HSET scoped copy, ZADD NX index + status index)',
        details: {
          perRecord,
          runs: { relay: relayRuns.map((v) => round(v)), comparison: handRuns.map((v) => round(v)) },
          pick: 'best of the runs, interleaved, reseeded (FLUSHALL + seed) before each',
          workspaces: WORKSPACES,
          paramsBytes: 200,
          note: ctx.quick ? 'quick mode: 20k records instead of 200k' : undefined,
        },
      }),
    ];
  } finally {
    redis.disconnect();
    await ctx.flushAll();
  }
}
