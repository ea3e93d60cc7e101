import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { BackfillService, type BackfillTotals } from '@relay/queue';
import { CliModule } from '../apps/cli/src/cli.module.js';
import { runRelay, type CliRun } from './support/cli-runner.js';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * `relay migrate status | backfill | verify | cleanup` (SPEC sections 2, 3
 * and 8) end to end on a real Redis: legacy records seeded the way the
 * predecessor system wrote them (plain HSET ai:jobs:<id>, nothing else),
 * jobs created through the real API in each phase, the commands run through
 * runCli in-process (and as the real `relay` child process, once SIGKILLed), and
 * the results read back from Redis and through the API.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI_MAIN = join(ROOT, 'apps/cli/src/main.ts');
// The TypeScript hook, resolved from the checkout rather than from the child's (temporary) cwd.
const REGISTER_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(`import { register } from 'node:module'; register('@swc-node/register/esm', ${JSON.stringify(pathToFileURL(ROOT).href)});`);

type Env = Record<string, string>;
const P1: Env = { AI_JOBS_NEW_SCHEMA: 'on' };
const P2: Env = { ...P1, READ_PREFERS_NEW: 'on' };
const P3: Env = { ...P2, READ_FALLBACK_OLD: 'off' };
const P4: Env = { ...P3, AI_JOBS_LEGACY_WRITES: 'off' };
/** Flags of phase 0..4 (SPEC section 3), by index. */
const PHASES: Env[] = [{}, P1, P2, P3, P4];

const CHECKPOINT = 'ai:migration:backfill-cursor';
const PROGRESS = 'ai:migration:backfill-progress';
/** Set by `relay migrate index --final`: no API process sweeps predecessor records once it exists. */
const SWEEPS_STOPPED = 'ai:migration:legacy-index-final';

/** This file's own Redis (started in beforeAll). */
let server: FileRedis;

/** `relay <argv>` in-process with the phase's flags. */
async function relay(env: Env, ...argv: string[]): Promise<CliRun> {
  return runRelay({ REDIS_URL: server.url, ...env }, argv);
}

/** Runs a --json command expecting `code`, and parses its single line of output. */
async function relayJson<T = Record<string, unknown>>(env: Env, code: number, ...argv: string[]): Promise<T> {
  const run = await relay(env, ...argv);
  expect({ code: run.code, err: run.err }).toEqual({ code, err: [] });
  expect(run.out).toHaveLength(1);
  return JSON.parse(run.out[0]) as T;
}

interface VerifyJson {
  legacyRecords: number;
  matching: number;
  missingScoped: number;
  diverged: number;
  invalid: number;
  scopedOnly: number;
  samples: { missingScoped: string[]; diverged: string[]; invalid: string[] };
  clean: boolean;
}

interface StatusJson {
  phase: number;
  legacyRecords: number;
  scopedRecords: number;
  legacyOnly: number;
  scopedOnly: number;
  backfill: { checkpoint: string | null; progress: Record<string, string> };
}

const STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
const T0 = Date.parse('2025-10-17T10:15:00.000Z');
/** How many records seedInvalid() writes. */
const N_INVALID = 7;
const iso = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/** A record as the predecessor system wrote it: exactly the SPEC's fields, all strings. */
function legacyFields(id: string, ws: string, n: number): Record<string, string> {
  const status = STATUSES[n % STATUSES.length];
  const started = status === 'pending' ? '' : iso(n + 1);
  const finished = status === 'succeeded' || status === 'failed' || status === 'cancelled' ? iso(n + 2) : '';
  return {
    job_id: id,
    workspace_id: ws,
    actor_id: `legacy-actor-${n % 3}`,
    action_provider: 'debug',
    action_name: 'echo',
    params: JSON.stringify({ n, note: `legacy ${id}` }),
    status,
    attempts: status === 'pending' ? '0' : '1',
    result: status === 'succeeded' ? JSON.stringify({ echoed: n }) : '',
    error: status === 'failed' ? 'boom' : '',
    client_request_id: n % 2 === 0 ? `req-${id}` : '',
    created_at: iso(n),
    updated_at: finished || started || iso(n),
    started_at: started,
    finished_at: finished,
  };
}

describe('relay migrate (status, backfill, verify, cleanup) on a real Redis', () => {
  let redis: Redis;
  /** The real API in phase 0..4, by index. */
  const apis: ApiHarness[] = [];
  const dirs: string[] = [];
  const contexts: INestApplicationContext[] = [];
  const children: ChildProcess[] = [];

  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-migrate-'));
    dirs.push(dir);
    return dir;
  };

  interface CliChild {
    proc: ChildProcess;
    output: () => string;
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  }

  /**
   * The real CLI entry point (apps/cli/src/main.ts) as a child process, with
   * exactly REDIS_URL and `env` (nothing inherited, no NODE_OPTIONS), in an
   * empty temporary cwd so no `.env` is read.
   */
  function spawnCli(env: Env, ...argv: string[]): CliChild {
    const proc = spawn(process.execPath, ['--import', REGISTER_HOOK, CLI_MAIN, ...argv], {
      cwd: tempDir(),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), REDIS_URL: server.url, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(proc);
    let output = '';
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      proc.once('exit', (code, signal) => resolve({ code, signal }));
      proc.once('error', () => resolve({ code: null, signal: null }));
    });
    return { proc, output: () => output, exited };
  }

  /** Every key matching a pattern. */
  async function keys(pattern: string): Promise<string[]> {
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      batch.forEach((k) => found.add(k));
    } while (cursor !== '0');
    return [...found].sort();
  }

  /** Every index member of a workspace: its five status indexes together (a job is in the one of its status). */
  async function indexed(ws: string): Promise<string[]> {
    const members = await Promise.all(STATUSES.map((status) => redis.zrange(`ai:index:${ws}:status:${status}`, '0', '-1')));
    return members.flat().sort();
  }

  /** Seeds one predecessor record; `overrides` set fields, null removes one. */
  async function seedLegacy(id: string, ws: string, n: number, overrides: Record<string, string | null> = {}): Promise<Record<string, string>> {
    const fields = legacyFields(id, ws, n);
    for (const [k, v] of Object.entries(overrides)) {
      if (v === null) delete fields[k];
      else fields[k] = v;
    }
    await redis.hset(`ai:jobs:${id}`, fields);
    return fields;
  }

  /** The invalid records backfill must report and skip (SPEC: invalid workspace id; invalid or missing created_at). */
  async function seedInvalid(): Promise<string[]> {
    await seedLegacy('inv-bad-ws', 'Bad WS', 100);
    await seedLegacy('inv-colon-ws', 'a:b', 101);
    await seedLegacy('inv-no-ws', 'x', 102, { workspace_id: null });
    await seedLegacy('inv-bad-created', 'acme', 103, { created_at: 'yesterday' });
    await seedLegacy('inv-no-created', 'acme', 104, { created_at: null });
    await seedLegacy('inv-long-ws', 'a'.repeat(33), 105);
    await seedLegacy('inv-newline-ws', 'acme\n', 106);
    const invalid = ['inv-bad-ws', 'inv-colon-ws', 'inv-no-ws', 'inv-bad-created', 'inv-no-created', 'inv-long-ws', 'inv-newline-ws'];
    expect(invalid).toHaveLength(N_INVALID);
    return invalid.map((id) => `ai:jobs:${id}`).sort();
  }

  /** Valid predecessor records: `count` per workspace, ids `<prefix>-<ws>-<i>`. Returns id → fields. */
  async function seedValid(prefix: string, workspaces: string[], count: number): Promise<Map<string, Record<string, string>>> {
    const seeded = new Map<string, Record<string, string>>();
    let n = 0;
    for (const ws of workspaces) {
      for (let i = 0; i < count; i++) {
        const id = `${prefix}-${ws}-${i}`;
        seeded.set(id, await seedLegacy(id, ws, n++));
      }
    }
    return seeded;
  }

  async function createJob(api: ApiHarness, key: string, params: Record<string, unknown> = { hello: 'world' }): Promise<string> {
    const res = await api.http.post('/ai/jobs').set('Authorization', `Bearer ${key}`).send({ action: 'debug.echo', params });
    expect(res.status).toBe(202);
    return res.body.job_id as string;
  }

  async function listIds(api: ApiHarness, key: string): Promise<string[]> {
    const res = await api.http.get('/ai/jobs?limit=100').set('Authorization', `Bearer ${key}`);
    expect(res.status).toBe(200);
    expect(res.body.next_cursor).toBeNull();
    return (res.body.items as Array<{ job_id: string }>).map((i) => i.job_id).sort();
  }

  /** Backfill with the phase-2 flags (the runbook's step), expecting success. */
  const backfill = (...extra: string[]) => relayJson<BackfillTotals>(P2, 0, 'migrate', 'backfill', '--json', ...extra);

  async function backfillContext(env: Env = P2): Promise<BackfillService> {
    const context = await NestFactory.createApplicationContext(CliModule.forRoot({ REDIS_URL: server.url, ...env }), { logger: false, abortOnError: false });
    contexts.push(context);
    return context.get(BackfillService);
  }

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    // Records seeded by this file must be indexed by backfill alone: the APIs
    // find the predecessor declared gone and never sweep (test/legacy-sweep covers the sweep).
    await redis.set(SWEEPS_STOPPED, new Date().toISOString());
    for (const env of PHASES) apis.push(await startApi(server.url, env));
    // Make sure every API has found the marker (a list request waits for its first pass).
    for (const api of apis) {
      const res = await api.http.get('/ai/jobs').set('Authorization', `Bearer ${await api.key('warmup')}`);
      expect(res.status).toBe(200);
    }
  });

  beforeEach(async () => {
    await redis.flushdb();
    await redis.set(SWEEPS_STOPPED, new Date().toISOString());
  });

  afterAll(async () => {
    for (const proc of children) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    for (const context of contexts) await context.close();
    for (const api of apis) await api.close();
    await server?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  describe('migrate status', () => {
    it('counts per schema and jobs only in one schema (--json and text), before and after backfill', async () => {
      await seedValid('st', ['acme'], 3);
      await seedInvalid();
      const acme = await apis[0].key('acme');
      const legacyOnlyJob = await createJob(apis[0], acme); // phase 0: legacy copy only
      const dualJob = await createJob(apis[1], acme); // phase 1: both copies
      const scopedOnlyJob = await createJob(apis[4], acme); // phase 4: scoped copy only
      expect(await redis.exists(`ai:jobs:${legacyOnlyJob}`, `ai:job:acme:${legacyOnlyJob}`)).toBe(1);
      expect(await redis.exists(`ai:jobs:${dualJob}`, `ai:job:acme:${dualJob}`)).toBe(2);
      expect(await redis.exists(`ai:jobs:${scopedOnlyJob}`, `ai:job:acme:${scopedOnlyJob}`)).toBe(1);

      // legacy: 3 seeded + the invalid ones + phase-0 job + dual job; scoped: dual job + phase-4 job.
      const legacy = 3 + N_INVALID + 2;
      const before = await relayJson<StatusJson>(P2, 0, 'migrate', 'status', '--json');
      expect(before).toMatchObject({ phase: 2, legacyRecords: legacy, legacyOnly: legacy - 1, scopedRecords: 2, scopedOnly: 1, backfill: { checkpoint: null } });

      const text = await relay(P2, 'migrate', 'status');
      expect(text.code).toBe(0);
      const joined = text.out.join('\n');
      expect(joined).toMatch(/phase 2/);
      expect(joined).toMatch(new RegExp(`legacy\\D*${legacy}\\D*${legacy - 1}\\b`));
      expect(joined).toMatch(/scoped\D*2\D*1\b/);

      await backfill();
      // Only the invalid records stay legacy-only; every valid one now has its scoped copy.
      const after = await relayJson<StatusJson>(P2, 0, 'migrate', 'status', '--json');
      expect(after).toMatchObject({ phase: 2, legacyRecords: legacy, legacyOnly: N_INVALID, scopedRecords: 6, scopedOnly: 1 });
      const afterText = (await relay(P2, 'migrate', 'status')).out.join('\n');
      expect(afterText).toMatch(new RegExp(`legacy\\D*${legacy}\\D*${N_INVALID}\\b`));
      expect(afterText).toMatch(/scoped\D*6\D*1\b/);
    });

    it.each([0, 1, 2, 3, 4])('reports phase %i for that phase\'s flags (--json and text)', async (phase) => {
      const json = await relayJson<StatusJson>(PHASES[phase], 0, 'migrate', 'status', '--json');
      expect(json.phase).toBe(phase);
      expect(json).toMatchObject({ legacyRecords: 0, scopedRecords: 0, legacyOnly: 0, scopedOnly: 0 });
      const text = await relay(PHASES[phase], 'migrate', 'status');
      expect(text.code).toBe(0);
      expect(text.out[0]).toMatch(new RegExp(`^phase ${phase}\\b`));
    });

    it('refuses a flag combination that would hide jobs with exit 2 (configuration), naming the flags', async () => {
      // Run as the real `relay` process: the exit code is what an operator's script sees.
      const run = spawnCli({ AI_JOBS_NEW_SCHEMA: 'on', AI_JOBS_LEGACY_WRITES: 'off' }, 'migrate', 'status', '--json');
      const exit = await run.exited;
      expect({ code: exit.code, output: run.output() }).toEqual({
        code: 2,
        output: expect.stringMatching(/AI_JOBS_LEGACY_WRITES.*READ_PREFERS_NEW|READ_PREFERS_NEW.*AI_JOBS_LEGACY_WRITES/),
      });
    });
  });

  describe('migrate backfill', () => {
    it('copies every valid legacy record with identical fields, indexes it, and reports and skips invalid ones', async () => {
      const seeded = await seedValid('bf', ['acme', 'globex'], 6);
      const invalidKeys = await seedInvalid();

      const totals = await backfill();
      expect(totals).toEqual({ scanned: 12 + N_INVALID, copied: 12, skipped: 0, invalid: N_INVALID, invalidSamples: expect.any(Array), resumedFrom: '0', dryRun: false });
      expect([...totals.invalidSamples].sort()).toEqual(invalidKeys);

      for (const [id, fields] of seeded) {
        expect({ id, scoped: await redis.hgetall(`ai:job:${fields.workspace_id}:${id}`) }).toEqual({ id, scoped: fields });
        // The legacy record is left as it was.
        expect(await redis.hgetall(`ai:jobs:${id}`)).toEqual(fields);
        const member = `${fields.created_at}/${id}`;
        expect(await redis.zscore(`ai:index:${fields.workspace_id}:status:${fields.status}`, member)).not.toBeNull();
      }
      // Exactly the valid records got a scoped copy: nothing for the invalid ones (no ai:job:a:b:…, no ai:job:acme:inv-…).
      const expectedScoped = [...seeded].map(([id, f]) => `ai:job:${f.workspace_id}:${id}`).sort();
      expect(await keys('ai:job:*')).toEqual(expectedScoped);
      expect(await indexed('acme')).toHaveLength(6);
      expect(await redis.exists(CHECKPOINT, PROGRESS)).toBe(0);

      // Listed through the API, per workspace, with the read flags of phases 2 and 3.
      const acme = await apis[2].key('acme');
      const globex = await apis[2].key('globex');
      const acmeIds = [...seeded].filter(([, f]) => f.workspace_id === 'acme').map(([id]) => id).sort();
      const globexIds = [...seeded].filter(([, f]) => f.workspace_id === 'globex').map(([id]) => id).sort();
      for (const phase of [2, 3]) {
        expect(await listIds(apis[phase], acme)).toEqual(acmeIds);
        expect(await listIds(apis[phase], globex)).toEqual(globexIds);
        const one = await apis[phase].http.get(`/ai/jobs/${acmeIds[2]}`).set('Authorization', `Bearer ${acme}`);
        expect(one.status).toBe(200);
        const f = seeded.get(acmeIds[2])!;
        expect(one.body).toMatchObject({ job_id: acmeIds[2], workspace_id: 'acme', action: 'debug.echo', status: f.status, created_at: f.created_at, params: JSON.parse(f.params) });
      }
    });

    it('text output names the invalid records and the totals', async () => {
      await seedValid('tx', ['acme'], 4);
      const invalidKeys = await seedInvalid();
      const run = await relay(P2, 'migrate', 'backfill');
      expect(run.code).toBe(0);
      const text = run.out.join('\n');
      expect(text).toMatch(/copied 4\b/);
      expect(text).toMatch(new RegExp(`invalid ${N_INVALID}\\b`));
      for (const key of invalidKeys) expect(text).toContain(key);
      expect(text).not.toContain('ai:jobs:tx-acme-0');
    });

    it('--dry-run reports what it would copy and writes nothing', async () => {
      await seedValid('dry', ['acme', 'globex'], 5);
      await seedInvalid();
      const before = await keys('*');

      const totals = await backfill('--dry-run');
      expect(totals).toMatchObject({ scanned: 10 + N_INVALID, copied: 10, skipped: 0, invalid: N_INVALID, dryRun: true });
      expect(await keys('*')).toEqual(before);
      expect(await keys('ai:job:*')).toEqual([]);
      expect(await keys('ai:index:*')).toEqual([]);

      const text = await relay(P2, 'migrate', 'backfill', '--dry-run');
      expect(text.code).toBe(0);
      expect(text.out.join('\n')).toMatch(/dry run: would copy 10\b/);
      expect(await keys('*')).toEqual(before);
    });

    it('is idempotent: a second run copies nothing and skips every record', async () => {
      const seeded = await seedValid('idem', ['acme'], 8);
      await seedInvalid();
      expect(await backfill()).toMatchObject({ copied: 8, skipped: 0, invalid: N_INVALID });
      const snapshot = await Promise.all([...seeded].map(([id]) => redis.hgetall(`ai:job:acme:${id}`)));
      const index = await indexed('acme');

      expect(await backfill()).toMatchObject({ scanned: 8 + N_INVALID, copied: 0, skipped: 8, invalid: N_INVALID, resumedFrom: '0' });
      expect(await Promise.all([...seeded].map(([id]) => redis.hgetall(`ai:job:acme:${id}`)))).toEqual(snapshot);
      expect(await indexed('acme')).toEqual(index);
    });

    it('never overwrites a newer scoped copy, but replaces an older one', async () => {
      const newerLegacy = await seedLegacy('ow-newer', 'acme', 2); // succeeded
      const olderLegacy = await seedLegacy('ow-older', 'acme', 7); // succeeded too (7 % 5)
      // A scoped copy updated after the legacy record (e.g. by a phase-4 status update): must stay.
      const newerScoped = { ...newerLegacy, status: 'cancelled', updated_at: '2030-01-01T00:00:00.000Z', error: 'cancelled later' };
      await redis.hset('ai:job:acme:ow-newer', newerScoped);
      // A scoped copy older than the legacy record, with a stray field: must be replaced entirely.
      const olderScoped = { ...olderLegacy, status: 'running', updated_at: '2020-01-01T00:00:00.000Z', stray: 'x' };
      await redis.hset('ai:job:acme:ow-older', olderScoped);

      expect(await backfill()).toMatchObject({ scanned: 2, copied: 1, skipped: 1, invalid: 0 });
      expect(await redis.hgetall('ai:job:acme:ow-newer')).toEqual(newerScoped);
      expect(await redis.hgetall('ai:job:acme:ow-older')).toEqual(olderLegacy);
    });

    it('keeps TTLs: the scoped copy expires when the legacy record does; no TTL stays no TTL', async () => {
      await seedLegacy('ttl-some', 'acme', 2);
      await redis.pexpire('ai:jobs:ttl-some', 500000);
      await seedLegacy('ttl-none', 'acme', 0);
      // An older scoped copy without a TTL is replaced, and gets the legacy TTL.
      const replaced = await seedLegacy('ttl-replace', 'acme', 3);
      await redis.pexpire('ai:jobs:ttl-replace', 400000);
      await redis.hset('ai:job:acme:ttl-replace', { ...replaced, updated_at: '2020-01-01T00:00:00.000Z' });

      expect(await backfill()).toMatchObject({ copied: 3 });
      const scopedTtl = await redis.pttl('ai:job:acme:ttl-some');
      const legacyTtl = await redis.pttl('ai:jobs:ttl-some');
      expect(scopedTtl).toBeGreaterThan(495000);
      expect(scopedTtl).toBeLessThanOrEqual(500000);
      expect(Math.abs(scopedTtl - legacyTtl)).toBeLessThan(5000);
      expect(await redis.pttl('ai:job:acme:ttl-none')).toBe(-1);
      const replacedTtl = await redis.pttl('ai:job:acme:ttl-replace');
      expect(replacedTtl).toBeGreaterThan(395000);
      expect(replacedTtl).toBeLessThanOrEqual(400000);
    });

    it('calls onProgress once per SCAN batch with growing totals (BackfillService in a CLI context)', async () => {
      await seedValid('prog', ['acme'], 60);
      const service = await backfillContext();

      // A dry run writes nothing, so its SCAN walks exactly the batches our own SCAN sees.
      let batches = 0;
      let cursor = '0';
      do {
        [cursor] = await redis.scan(cursor, 'MATCH', 'ai:jobs:*', 'COUNT', 10);
        batches++;
      } while (cursor !== '0');
      const dry: BackfillTotals[] = [];
      const dryTotals = await service.run({ dryRun: true, batchSize: 10, onProgress: (t) => dry.push({ ...t }) });
      expect(dry).toHaveLength(batches);
      expect(dryTotals).toMatchObject({ scanned: 60, copied: 60 });

      const seen: BackfillTotals[] = [];
      const checkpoints: Array<Promise<string | null>> = [];
      const totals = await service.run({
        batchSize: 10,
        onProgress: (t) => {
          seen.push({ ...t });
          checkpoints.push(redis.get(CHECKPOINT));
        },
      });
      expect(totals).toMatchObject({ scanned: 60, copied: 60, skipped: 0, invalid: 0 });
      expect(seen.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < seen.length; i++) {
        expect(seen[i].scanned).toBeGreaterThanOrEqual(seen[i - 1].scanned);
        expect(seen[i].copied).toBeGreaterThanOrEqual(seen[i - 1].copied);
      }
      expect(seen[0].scanned).toBeLessThan(60);
      expect(seen.at(-1)).toMatchObject({ scanned: 60, copied: 60 });
      // The checkpoint is saved before progress is reported: every report but the last has one to resume from.
      const saved = await Promise.all(checkpoints);
      expect(saved.slice(0, -1).every((c) => c !== null && c !== '0')).toBe(true);
      expect(await redis.exists(CHECKPOINT, PROGRESS)).toBe(0);
    });

    it('--rate limits records per second (a lower bound of the limiter); without it the run is much faster', async () => {
      await seedValid('rate', ['acme'], 60);
      const service = await backfillContext();

      let started = Date.now();
      expect(await service.run({ batchSize: 10 })).toMatchObject({ scanned: 60, copied: 60 });
      const unlimited = Date.now() - started;

      started = Date.now();
      expect(await service.run({ batchSize: 10, rate: 100 })).toMatchObject({ scanned: 60, skipped: 60 });
      const limited = Date.now() - started;

      expect(limited).toBeGreaterThanOrEqual(450); // 60 records at 100/s: at least ~0.6 s
      expect(unlimited).toBeLessThan(450);

      // The CLI option reaches the limiter.
      started = Date.now();
      expect(await backfill('--rate', '100', '--batch', '10')).toMatchObject({ scanned: 60, skipped: 60 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    });

    it('a negative or non-numeric --rate is bad usage: runCli returns 2 with the message on err (and never exits the process)', async () => {
      await seedValid('badrate', ['acme'], 2);
      for (const rate of ['-5', 'fast']) {
        const run = await relay(P2, 'migrate', 'backfill', '--rate', rate);
        expect({ rate, code: run.code, err: run.err.join('\n') }).toEqual({ rate, code: 2, err: expect.stringMatching(/--rate/) });
        expect(run.err.join('\n')).not.toMatch(/process\.exit/);
      }
      expect(await keys('ai:job:*')).toEqual([]);
    });

    it('a resumed run still names the invalid records found before the interruption', async () => {
      // 15 of 30 records are invalid.
      await seedValid('inter', ['acme'], 15);
      const invalidKeys: string[] = [];
      for (let i = 0; i < 15; i++) {
        await seedLegacy(`inter-bad-${i}`, 'Bad WS', i);
        invalidKeys.push(`ai:jobs:inter-bad-${i}`);
      }
      const service = await backfillContext();
      let firstBatch: BackfillTotals | undefined;
      await expect(
        service.run({
          batchSize: 10,
          // Interrupted (after its checkpoint was saved) by the first batch that held an invalid record.
          onProgress: (t) => {
            if (t.invalid === 0) return;
            firstBatch = { ...t, invalidSamples: [...t.invalidSamples] };
            throw new Error('interrupted after a batch');
          },
        }),
      ).rejects.toThrow('interrupted');
      expect(firstBatch!.invalid).toBeGreaterThan(0);
      expect(await redis.get(CHECKPOINT)).not.toBeNull();

      const resumed = await service.run({ batchSize: 10 });
      expect(resumed.resumedFrom).not.toBe('0');
      expect(resumed.invalid).toBe(15);
      expect(resumed.copied).toBe(15);
      // The report names every record it counted as invalid (15 < the 20 sample cap).
      expect([...resumed.invalidSamples].sort()).toEqual(invalidKeys.sort());
    });
  });

  describe('migrate backfill, killed and resumed', () => {
    it('a SIGKILLed child run leaves a checkpoint; the next run resumes from it and completes', async () => {
      const TOTAL = 3000;
      const pipeline = redis.pipeline();
      const ids: string[] = [];
      for (let i = 0; i < TOTAL; i++) {
        const id = `kill-${String(i).padStart(4, '0')}`;
        ids.push(id);
        pipeline.hset(`ai:jobs:${id}`, legacyFields(id, i % 2 === 0 ? 'acme' : 'globex', i));
      }
      await pipeline.exec();

      const { proc, output, exited } = spawnCli(P2, 'migrate', 'backfill', '--rate', '1000', '--batch', '50', '--json');

      await expectEventually(
        async () => {
          if (proc.exitCode !== null) throw new Error(`backfill child exited (${proc.exitCode}) before it could be killed:\n${output()}`);
          expect(await redis.get(CHECKPOINT)).not.toBeNull();
          expect(Number(await redis.hget(PROGRESS, 'copied'))).toBeGreaterThan(0);
        },
        30_000,
        20,
      );
      proc.kill('SIGKILL');
      expect((await exited).signal).toBe('SIGKILL');
      expect(output()).not.toMatch(/"scanned"/); // it never finished

      // The checkpoint and its totals survive the kill; status shows them.
      const checkpoint = await redis.get(CHECKPOINT);
      expect(checkpoint).not.toBeNull();
      expect(checkpoint).not.toBe('0');
      const progress = await redis.hgetall(PROGRESS);
      expect(Number(progress.scanned)).toBeGreaterThan(0);
      expect(Number(progress.scanned)).toBeLessThan(TOTAL);
      const copiedBefore = (await keys('ai:job:*')).length;
      expect(copiedBefore).toBeGreaterThan(0);
      expect(copiedBefore).toBeLessThan(TOTAL);
      const status = await relayJson<StatusJson>(P2, 0, 'migrate', 'status', '--json');
      expect(status.backfill.checkpoint).toBe(checkpoint);
      expect(status.legacyOnly).toBe(TOTAL - copiedBefore);

      const totals = await backfill();
      expect(totals.resumedFrom).toBe(checkpoint);
      expect(totals.scanned).toBeGreaterThanOrEqual(TOTAL);
      // It resumed: this run did not walk the whole keyspace again.
      expect(totals.scanned - Number(progress.scanned)).toBeLessThan(TOTAL);
      expect(totals.copied + totals.skipped + totals.invalid).toBe(totals.scanned);
      expect(totals.copied).toBeLessThanOrEqual(TOTAL);
      expect(totals.invalid).toBe(0);

      expect(await redis.exists(CHECKPOINT, PROGRESS)).toBe(0);
      const scoped = await keys('ai:job:*');
      expect(scoped).toHaveLength(TOTAL);
      expect(scoped).toEqual(ids.map((id, i) => `ai:job:${i % 2 === 0 ? 'acme' : 'globex'}:${id}`).sort());
      const verify = await relayJson<VerifyJson>(P2, 0, 'migrate', 'verify', '--json');
      expect(verify).toMatchObject({ clean: true, legacyRecords: TOTAL, matching: TOTAL });
      expect(await indexed('acme')).toHaveLength(TOTAL / 2);
    });
  });

  describe('migrate verify', () => {
    it('exit 0 and clean when every legacy record has an identical scoped copy; invalid and scoped-only records do not fail it', async () => {
      await seedValid('vf', ['acme', 'globex'], 4);
      const invalidKeys = await seedInvalid();
      await backfill();
      const acme = await apis[4].key('acme');
      const scopedOnly = await createJob(apis[4], acme); // phase 4: no legacy copy

      const json = await relayJson<VerifyJson>(P2, 0, 'migrate', 'verify', '--json');
      expect(json).toEqual({
        legacyRecords: 8 + N_INVALID,
        matching: 8,
        missingScoped: 0,
        diverged: 0,
        invalid: N_INVALID,
        scopedOnly: 1,
        samples: { missingScoped: [], diverged: [], invalid: expect.any(Array) },
        clean: true,
      });
      expect([...json.samples.invalid].sort()).toEqual(invalidKeys);
      expect(json.samples.invalid).not.toContain(scopedOnly);

      const text = await relay(P4, 'migrate', 'verify');
      expect(text.code).toBe(0);
      expect(text.out[0]).toMatch(/^clean/);
      expect(text.out.join('\n')).toContain('ai:jobs:inv-bad-ws');
    });

    it('exit 1 naming the job id when a scoped copy is missing', async () => {
      await seedValid('vm', ['acme'], 4);
      await backfill();
      await redis.del('ai:job:acme:vm-acme-2');

      const json = await relayJson<VerifyJson>(P2, 1, 'migrate', 'verify', '--json');
      expect(json).toMatchObject({ clean: false, legacyRecords: 4, matching: 3, missingScoped: 1, diverged: 0 });
      expect(json.samples.missingScoped).toEqual(['vm-acme-2']);

      const text = await relay(P2, 'migrate', 'verify');
      expect(text.code).toBe(1);
      expect(text.out[0]).toMatch(/NOT clean/);
      expect(text.out.join('\n')).toContain('vm-acme-2');
    });

    it('exit 1 naming id:field when a field diverges', async () => {
      await seedValid('vd', ['acme'], 4);
      await backfill();
      await redis.hset('ai:job:acme:vd-acme-1', 'status', 'failed', 'error', 'changed behind our back');
      await redis.hset('ai:jobs:vd-acme-3', 'attempts', '7');
      await redis.hset('ai:job:acme:vd-acme-0', 'extra', 'only in scoped');

      const json = await relayJson<VerifyJson>(P2, 1, 'migrate', 'verify', '--json');
      expect(json).toMatchObject({ clean: false, legacyRecords: 4, matching: 1, missingScoped: 0, diverged: 3 });
      expect([...json.samples.diverged].sort()).toEqual(['vd-acme-0:extra', 'vd-acme-1:error,status', 'vd-acme-3:attempts']);

      const text = await relay(P2, 'migrate', 'verify');
      expect(text.code).toBe(1);
      const joined = text.out.join('\n');
      expect(joined).toContain('vd-acme-1:error,status');
      expect(joined).toContain('vd-acme-3:attempts');
    });
  });

  describe('migrate cleanup', () => {
    /** Legacy records with scoped copies (one with a TTL), plus an invalid record; returns legacy key → fields. */
    async function migratedState(): Promise<Map<string, Record<string, string>>> {
      await seedValid('cl', ['acme', 'globex'], 3);
      await redis.pexpire('ai:jobs:cl-acme-1', 500000);
      await seedLegacy('cl-bad', 'Bad WS', 9);
      const acme = await apis[0].key('acme');
      await createJob(apis[1], acme, { via: 'phase 1', api_key: 'secret-in-archive-only' }); // dual-written
      expect(await backfill()).toMatchObject({ invalid: 1 });
      const state = new Map<string, Record<string, string>>();
      for (const key of await keys('ai:jobs:*')) state.set(key, await redis.hgetall(key));
      expect(state.size).toBe(8);
      return state;
    }

    it.each([0, 1, 2, 3])('is refused with exit 2 while legacy writes are on (phase %i flags); nothing written or deleted', async (phase) => {
      const state = await migratedState();
      const archive = join(tempDir(), 'archive.jsonl');
      const run = await relay(PHASES[phase], 'migrate', 'cleanup', '--archive', archive);
      expect(run.code).toBe(2);
      expect([...run.out, ...run.err].join('\n')).toMatch(/AI_JOBS_LEGACY_WRITES|phase 4/);
      expect(existsSync(archive)).toBe(false);
      expect(await keys('ai:jobs:*')).toEqual([...state.keys()].sort());
    });

    it('is refused with exit 1 when verify is not clean (phase 4, a missing scoped copy); nothing written or deleted', async () => {
      const state = await migratedState();
      await redis.del('ai:job:globex:cl-globex-0');
      const archive = join(tempDir(), 'archive.jsonl');
      const json = await relayJson<{ refused: string; verify: VerifyJson }>(P4, 1, 'migrate', 'cleanup', '--archive', archive, '--json');
      expect(json.refused).toMatch(/verify/);
      expect(json.verify.samples.missingScoped).toEqual(['cl-globex-0']);
      expect(existsSync(archive)).toBe(false);
      expect(await keys('ai:jobs:*')).toEqual([...state.keys()].sort());

      const text = await relay(P4, 'migrate', 'cleanup', '--archive', archive);
      expect(text.code).toBe(1);
      expect(existsSync(archive)).toBe(false);
    });

    it('refuses an archive path that already exists (exit 2) and writes nothing', async () => {
      const state = await migratedState();
      const archive = join(tempDir(), 'existing.jsonl');
      writeFileSync(archive, 'an earlier archive\n');
      const run = await relay(P4, 'migrate', 'cleanup', '--archive', archive);
      expect(run.code).toBe(2);
      expect(readFileSync(archive, 'utf8')).toBe('an earlier archive\n');
      expect(await keys('ai:jobs:*')).toEqual([...state.keys()].sort());
    });

    it('--dry-run writes no file and deletes nothing', async () => {
      const state = await migratedState();
      const archive = join(tempDir(), 'dry.jsonl');
      const json = await relayJson<Record<string, unknown>>(P4, 0, 'migrate', 'cleanup', '--archive', archive, '--dry-run', '--json');
      expect(json).toMatchObject({ archived: 8, deleted: 0, dryRun: true, archive: null });
      expect(existsSync(archive)).toBe(false);
      expect(await keys('ai:jobs:*')).toEqual([...state.keys()].sort());
    });

    it('in phase 4 after a clean verify: archives every legacy record as JSON lines, deletes them, keeps the scoped copies readable', async () => {
      const state = await migratedState();
      const scopedBefore = new Map<string, Record<string, string>>();
      for (const key of await keys('ai:job:*')) scopedBefore.set(key, await redis.hgetall(key));
      expect(scopedBefore.size).toBe(7);
      expect((await relay(P4, 'migrate', 'verify')).code).toBe(0);

      const archive = join(tempDir(), 'archive.jsonl');
      const json = await relayJson<Record<string, unknown>>(P4, 0, 'migrate', 'cleanup', '--archive', archive, '--json');
      expect(json).toMatchObject({ archive, archived: 8, deleted: 8, kept: [], dryRun: false });

      const lines = readFileSync(archive, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; ttl_ms: number; fields: Record<string, string> });
      expect(lines.map((l) => l.key).sort()).toEqual([...state.keys()].sort());
      for (const line of lines) {
        expect(Object.keys(line).sort()).toEqual(['fields', 'key', 'ttl_ms']);
        expect(line.fields).toEqual(state.get(line.key));
        if (line.key === 'ai:jobs:cl-acme-1') {
          expect(line.ttl_ms).toBeGreaterThan(490000);
          expect(line.ttl_ms).toBeLessThanOrEqual(500000);
        } else {
          expect(line.ttl_ms).toBe(-1);
        }
      }
      // The archive keeps params as stored (it is the one output exempt from redaction).
      expect(readFileSync(archive, 'utf8')).toContain('secret-in-archive-only');

      expect(await keys('ai:jobs:*')).toEqual([]);
      for (const [key, fields] of scopedBefore) expect({ key, fields: await redis.hgetall(key) }).toEqual({ key, fields });

      // Still readable and listed through the API in phase 4.
      const acme = await apis[4].key('acme');
      const acmeScoped = [...scopedBefore.values()].filter((f) => f.workspace_id === 'acme');
      expect(acmeScoped).toHaveLength(4);
      expect(await listIds(apis[4], acme)).toEqual(acmeScoped.map((f) => f.job_id).sort());
      for (const f of acmeScoped) {
        const res = await apis[4].http.get(`/ai/jobs/${f.job_id}`).set('Authorization', `Bearer ${acme}`);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ job_id: f.job_id, workspace_id: 'acme', status: f.status });
      }
      // A second cleanup has nothing left to do, and verify stays clean.
      const again = await relayJson<Record<string, unknown>>(P4, 0, 'migrate', 'cleanup', '--archive', join(tempDir(), 'again.jsonl'), '--json');
      expect(again).toMatchObject({ archived: 0, deleted: 0 });
      expect(await relayJson<VerifyJson>(P4, 0, 'migrate', 'verify', '--json')).toMatchObject({ clean: true, legacyRecords: 0, scopedOnly: 7 });
    });
  });

  describe('after backfill, jobs from phase 0 are read in phases 2, 3 and 4', () => {
    it('a job created in phase 0 (legacy only) and a predecessor record are readable and listed, and never visible to another workspace', async () => {
      const acme = await apis[0].key('acme');
      const globex = await apis[0].key('globex');
      const jobId = await createJob(apis[0], acme, { from: 'phase 0' });
      await seedLegacy('pred-1', 'acme', 2);
      await seedLegacy('pred-globex', 'globex', 3);
      expect(await redis.exists(`ai:jobs:${jobId}`)).toBe(1);
      expect(await keys('ai:job:*')).toEqual([]);
      // Phase 3 reads the scoped schema only: nothing to find before backfill.
      expect((await apis[3].http.get(`/ai/jobs/${jobId}`).set('Authorization', `Bearer ${acme}`)).status).toBe(404);

      expect(await backfill()).toMatchObject({ copied: 3, invalid: 0 });

      for (const phase of [2, 3, 4]) {
        const api = apis[phase];
        const own = await api.http.get(`/ai/jobs/${jobId}`).set('Authorization', `Bearer ${acme}`);
        expect({ phase, status: own.status }).toEqual({ phase, status: 200 });
        expect(own.body).toMatchObject({ job_id: jobId, workspace_id: 'acme', action: 'debug.echo', status: 'pending', params: { from: 'phase 0' } });
        expect((await api.http.get('/ai/jobs/pred-1').set('Authorization', `Bearer ${acme}`)).status).toBe(200);
        expect(await listIds(api, acme)).toEqual([jobId, 'pred-1'].sort());

        for (const id of [jobId, 'pred-1']) {
          const other = await api.http.get(`/ai/jobs/${id}`).set('Authorization', `Bearer ${globex}`);
          expect({ phase, id, status: other.status }).toEqual({ phase, id, status: 404 });
        }
        expect((await api.http.get('/ai/jobs/pred-globex').set('Authorization', `Bearer ${acme}`)).status).toBe(404);
        expect(await listIds(api, globex)).toEqual(['pred-globex']);
      }
    });
  });
});
