import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { canaryBucket } from '@relay/queue';
import { killAllApps, spawnApp, stopApp, waitAppReady, type AppExit, type AppProcess } from './support/app-process.js';
import { runRelay, type CliRun } from './support/cli-runner.js';
import { expectEventually } from './support/expect-eventually.js';
import { PrivateRedis, freePort } from './support/redis-server.js';

/**
 * The migration runbook (SPEC section 3, README "Migration runbook") walked
 * end to end, online: the real API and ONE real worker run as child
 * processes (apps/{api,worker}/src/main.ts) on a private redis-server
 * (database 0), and are restarted (SIGTERM, new flags, wait for readiness)
 * at every flag change while background loops in this process keep
 * submitting debug.echo jobs, plans and cancels (some behind debug.sleep
 * steps that hold every worker slot, so they cannot lose to the worker) for two workspaces over HTTP
 * (retrying through each restart; the client_request_id makes that safe) and
 * reading accepted jobs back, back to back on kept-alive connections.
 *
 *   phase 0 → 1 canary (20 %) → 1 (100 %) → 2 (+ backfill, verify)
 *           → 3 (fallback off) → 4 (legacy writes off, verify, cleanup)
 *
 * At every phase: every job accepted so far (and the predecessor system's
 * records seeded before the first start) is readable by id in its own
 * workspace and 404 in the other, a full list walk shows each exactly once,
 * and the jobs that phase's API created have exactly the copies its flags
 * call for (the canary by job id). At the end: nothing is lost, duplicated
 * or stuck, no legacy key remains, the archive holds every deleted legacy
 * record, every job has its scoped copy, and every restart was a graceful
 * exit (code 0).
 *
 * Checks that would stop the walk midway are collected per phase, so a
 * failure in one phase still lets the later phases (and their checks) run.
 */

type Ws = 'acme' | 'beta';
const WORKSPACES: readonly Ws[] = ['acme', 'beta'];
const other = (ws: Ws): Ws => (ws === 'acme' ? 'beta' : 'acme');

type PhaseName = 'p0' | 'p1-canary' | 'p1' | 'p2' | 'p3' | 'p4';
const PHASE_FLAGS: Record<PhaseName, Record<string, string>> = {
  p0: {},
  'p1-canary': { AI_JOBS_NEW_SCHEMA: 'on', PHASE_1_CANARY_PCT: '20' },
  p1: { AI_JOBS_NEW_SCHEMA: 'on', PHASE_1_CANARY_PCT: '100' },
  p2: { AI_JOBS_NEW_SCHEMA: 'on', PHASE_1_CANARY_PCT: '100', READ_PREFERS_NEW: 'on' },
  p3: { AI_JOBS_NEW_SCHEMA: 'on', PHASE_1_CANARY_PCT: '100', READ_PREFERS_NEW: 'on', READ_FALLBACK_OLD: 'off' },
  p4: { AI_JOBS_NEW_SCHEMA: 'on', PHASE_1_CANARY_PCT: '100', READ_PREFERS_NEW: 'on', READ_FALLBACK_OLD: 'off', AI_JOBS_LEGACY_WRITES: 'off' },
};
const CANARY_PCT = 20;

/** The worker's slots, set here because the walk's sure-to-win cancels fill them all (see trafficLoop). */
const WORKER_SLOTS = 10;
const SLOT_FILLER_MS = 200;

const BASE_ENV = {
  ACTION_ALLOWLIST: 'debug.*',
  WORKER_CONCURRENCY: String(WORKER_SLOTS),
  WORKER_LEASE_MS: '2000',
  JOB_RETRY_BASE_MS: '20',
  LOG_LEVEL: 'warn',
  RATE_LIMIT_MAX: '0',
};

/** Traffic pacing and bounds. */
const PACE_MS = 15; // between two submissions
const RETRY_PAUSE_MS = 50; // between two attempts of one submission while the API restarts
const MAX_SUBMISSIONS = 3000;
const MAX_READS = 200_000;
const SUBMIT_DEADLINE_MS = 40_000; // one submission, retries included
const REQUEST_TIMEOUT_MS = 5000;
const PHASE_MIN_ACCEPTED = 40; // 202s from the phase's own API before its checks (about 1-2 s)
const FINAL_STATUSES = new Set(['succeeded', 'cancelled']);
/** A graceful stop of either process takes well under a second here (debug.echo jobs are instant); past this, SIGKILL. */
const STOP_TIMEOUT_MS = 3000;

// ---------------------------------------------------------------------------
// Records of what was submitted.

interface JobRecord {
  id: string;
  ws: Ws;
  params: Record<string, unknown>;
  /** The phase of the API that created it (answered 202); null when only a replay (200) named it. */
  phase: PhaseName | null;
  cancel?: 'cancelled' | 'conflict';
  /** What a succeeded job's result must be; the params when unset (debug.echo). */
  result?: unknown;
}

interface Predecessor {
  id: string;
  ws: Ws;
  fields: Record<string, string>;
  ttlSeconds?: number;
}

function predecessors(): Predecessor[] {
  const out: Predecessor[] = [];
  WORKSPACES.forEach((ws, w) => {
    for (let i = 0; i < 3; i++) {
      const id = `pred-${ws}-${i}`;
      const created = new Date(Date.UTC(2025, 9, 17, 10, 15 + i, w)).toISOString();
      const finished = new Date(Date.UTC(2025, 9, 17, 10, 15 + i, w + 2)).toISOString();
      out.push({
        id,
        ws,
        ttlSeconds: i === 0 ? 86_400 : undefined,
        fields: {
          job_id: id,
          workspace_id: ws,
          actor_id: 'predecessor',
          action_provider: 'debug',
          action_name: 'echo',
          params: JSON.stringify({ seeded: i }),
          status: 'succeeded',
          attempts: '1',
          result: JSON.stringify({ seeded: i }),
          error: '',
          client_request_id: '',
          created_at: created,
          updated_at: finished,
          started_at: created,
          finished_at: finished,
        },
      });
    }
  });
  return out;
}

// ---------------------------------------------------------------------------

interface HttpReply {
  status: number;
  body: any;
  at: number;
}
type HttpResult = HttpReply | { error: string; refused: boolean; at: number };

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `work` over `items`, `width` at a time. */
async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

describe('migration walk: phase 0 → 4 online, under steady traffic (API + worker child processes, private Redis)', () => {
  let server: PrivateRedis;
  let db: Redis;
  let redisUrl: string;
  let apiPort: number;
  let workerPort: number;
  let api: AppProcess | undefined;
  let worker: AppProcess | undefined;
  const keys = {} as Record<Ws, string>;
  const archiveDir = mkdtempSync(join(tmpdir(), 'relay-walk-archive-'));
  const archiveFile = join(archiveDir, 'legacy-archive.jsonl');
  const seeded = predecessors();

  /** Every restart's stops, in order. */
  const exits: { phase: string; app: string; exit: AppExit & { killed: boolean; elapsedMs: number } }[] = [];
  /** When each phase's API took over: a 202 at time t came from the phase of the last switch at or before t. */
  const switches: { at: number; phase: PhaseName }[] = [];
  const phaseAt = (t: number): PhaseName => {
    let phase = switches[0]?.phase ?? 'p0';
    for (const s of switches) if (s.at <= t) phase = s.phase;
    return phase;
  };
  let current: PhaseName = 'p0';

  const env = (phase: PhaseName): Record<string, string> => ({ REDIS_URL: `${redisUrl}/0`, ...BASE_ENV, ...PHASE_FLAGS[phase] });

  // -------------------------------------------------------------------------
  // HTTP

  async function call(method: 'GET' | 'POST', path: string, ws: Ws, body?: unknown): Promise<HttpResult> {
    try {
      const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
        method,
        headers: { Authorization: `Bearer ${keys[ws]}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const at = Date.now();
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: kept as text for the messages
      }
      return { status: res.status, body: parsed, at };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      return { error: `${(error as Error).name}: ${(error as Error).message}${cause?.code ? ` (${cause.code})` : ''}`, refused: cause?.code === 'ECONNREFUSED', at: Date.now() };
    }
  }

  // -------------------------------------------------------------------------
  // Steady traffic

  const jobs = new Map<string, JobRecord>();
  const order: JobRecord[] = [];
  const trafficProblems: string[] = [];
  const stats = { submissions: 0, accepted202: 0, replayed200: 0, refused: 0, ambiguous: 0, ambiguousWithoutRequestId: 0, jobsMaybeCreatedUnseen: 0, got503: 0, cancels: 0 };
  let stopTraffic = false; // finish the submission in hand, then stop
  let abortTraffic = false; // give up at once (afterAll)
  let trafficDone: Promise<void> | undefined;

  /** POSTs until the API accepts (202 or replay 200); retries while it restarts (connection refused, 503, reset). */
  async function submitUntilAccepted(ws: Ws, path: string, body: Record<string, unknown>): Promise<HttpReply | undefined> {
    const deadline = Date.now() + SUBMIT_DEADLINE_MS;
    const hasRequestId = body.client_request_id !== undefined;
    for (let attempt = 1; ; attempt++) {
      const r = await call('POST', path, ws, body);
      if ('status' in r) {
        if (r.status === 202) {
          stats.accepted202++;
          return r;
        }
        // A retry whose earlier attempt was processed, answer lost: the original job (the request id makes it safe).
        if (r.status === 200 && attempt > 1 && hasRequestId && (typeof r.body?.job_id === 'string' || Array.isArray(r.body?.job_ids))) {
          stats.replayed200++;
          return r;
        }
        if (r.status !== 503) {
          trafficProblems.push(`${ws} POST ${path} (attempt ${attempt}): unexpected ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
          return undefined;
        }
        stats.got503++;
      } else if (r.refused) {
        stats.refused++;
      } else {
        // Sent, maybe processed, no answer (a connection closed by the stopping API).
        stats.ambiguous++;
        if (!hasRequestId) {
          // Without a request id the retry is a new submission: this attempt may have created jobs we never see the ids of.
          stats.ambiguousWithoutRequestId++;
          stats.jobsMaybeCreatedUnseen += Array.isArray(body.steps) ? body.steps.length : 1;
        }
      }
      if (abortTraffic) return undefined;
      if (Date.now() > deadline) {
        trafficProblems.push(`${ws} POST ${path}: not accepted within ${SUBMIT_DEADLINE_MS} ms (last: ${JSON.stringify(r).slice(0, 300)})`);
        return undefined;
      }
      await pause(RETRY_PAUSE_MS);
    }
  }

  function record(id: string, ws: Ws, params: Record<string, unknown>, reply: HttpReply, result?: unknown): JobRecord {
    const created = reply.status === 202;
    const existing = jobs.get(id);
    if (existing) {
      if (existing.ws !== ws) trafficProblems.push(`job ${id} returned to ${ws} and ${existing.ws}`);
      if (created) trafficProblems.push(`job id ${id} answered 202 twice`);
      return existing;
    }
    const job: JobRecord = { id, ws, params, phase: created ? phaseAt(reply.at) : null, result };
    jobs.set(id, job);
    order.push(job);
    return job;
  }

  async function cancelUntilAnswered(job: JobRecord): Promise<void> {
    const deadline = Date.now() + SUBMIT_DEADLINE_MS;
    for (;;) {
      const r = await call('POST', `/ai/jobs/${job.id}/cancel`, job.ws);
      if ('status' in r && r.status !== 503) {
        stats.cancels++;
        if (r.status === 200 && r.body?.status === 'cancelled') job.cancel = 'cancelled';
        else if (r.status === 409) job.cancel ??= 'conflict';
        // A running job (cancel of running jobs): it finished before the cancel reached it (200), or
        // its worker stops it unless it finishes first (202): neither is a cancel this walk checks.
        else if (r.status === 200 && r.body?.cancel === 'finished_first') job.cancel ??= 'conflict';
        else if (r.status === 202 && r.body?.cancel === 'requested') job.cancel ??= 'conflict';
        else trafficProblems.push(`cancel ${job.ws}/${job.id}: unexpected ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
        return;
      }
      if (abortTraffic) return;
      if (Date.now() > deadline) {
        trafficProblems.push(`cancel ${job.ws}/${job.id}: no answer within ${SUBMIT_DEADLINE_MS} ms`);
        return;
      }
      await pause(RETRY_PAUSE_MS);
    }
  }

  async function trafficLoop(): Promise<void> {
    for (let n = 0; !stopTraffic && n < MAX_SUBMISSIONS; n++) {
      stats.submissions++;
      const ws = WORKSPACES[n % 2];
      const kind = n % 10; // a fixed mix: 0-3 job with request id, 4-5 without, 6-7 plan, 8-9 job + cancel
      const requestId = kind === 4 || kind === 5 ? undefined : `walk-${ws}-${n}`;
      if (n % 50 === 8) {
        // A cancel sure to win: debug.sleep steps fill every worker slot for a moment ahead of a
        // debug.echo (consumed oldest first), which is cancelled at once. The other cancels race the
        // worker and may well all answer 409, so without these a run might show no successful cancel.
        const fillers = Array.from({ length: WORKER_SLOTS }, () => ({ action: 'debug.sleep', params: { ms: SLOT_FILLER_MS } }));
        const steps = [...fillers, { action: 'debug.echo', params: { n, ws, note: 'cancelled behind busy slots' } }];
        const reply = await submitUntilAccepted(ws, '/ai/plans', { steps });
        const ids = reply?.body?.job_ids as unknown;
        if (reply && (!Array.isArray(ids) || ids.length !== steps.length)) trafficProblems.push(`plan ${n}: job_ids ${JSON.stringify(ids)}`);
        else if (reply && Array.isArray(ids)) {
          const recorded = ids.map((id, i) => record(String(id), ws, steps[i].params, reply, i < fillers.length ? { slept_ms: SLOT_FILLER_MS } : undefined));
          await cancelUntilAnswered(recorded[recorded.length - 1]);
        }
      } else if (kind === 6 || kind === 7) {
        const steps = Array.from({ length: 2 + (n % 3 === 0 ? 1 : 0) }, (_, i) => ({ action: 'debug.echo', params: { n, step: i, ws } }));
        const reply = await submitUntilAccepted(ws, '/ai/plans', { steps, ...(kind === 6 ? { client_request_id: requestId } : {}) });
        if (reply) {
          const ids = reply.body?.job_ids as unknown;
          if (!Array.isArray(ids) || ids.length !== steps.length) trafficProblems.push(`plan ${n}: job_ids ${JSON.stringify(ids)}`);
          else ids.forEach((id, i) => record(String(id), ws, steps[i].params, reply));
        }
      } else {
        const params = { n, ws, note: 'walk' };
        const reply = await submitUntilAccepted(ws, '/ai/jobs', { action: 'debug.echo', params, ...(requestId ? { client_request_id: requestId } : {}) });
        const id = reply?.body?.job_id as unknown;
        if (reply && typeof id !== 'string') trafficProblems.push(`job ${n}: no job_id in ${JSON.stringify(reply.body)}`);
        if (reply && typeof id === 'string') {
          const job = record(id, ws, params, reply);
          if (kind >= 8) await cancelUntilAnswered(job);
        }
      }
      await pause(PACE_MS);
    }
  }

  /**
   * A reader next to the submitter: GET /ai/jobs/:id of accepted jobs, back to back on a kept-alive
   * connection (as a busy client or proxy would), through every restart. Every accepted job must
   * answer 200 in its workspace whenever an API answers at all: online means no read gap either.
   */
  const readStats = { reads: 0, unavailable: 0 };
  async function readerLoop(): Promise<void> {
    for (let n = 0; !stopTraffic && n < MAX_READS; n++) {
      if (order.length === 0) {
        await pause(PACE_MS);
        continue;
      }
      const job = order[(n * 7919) % order.length];
      const r = await call('GET', `/ai/jobs/${job.id}`, job.ws);
      if ('status' in r && r.status === 200 && r.body?.job_id === job.id) {
        readStats.reads++;
      } else if (!('status' in r) || r.status === 503) {
        readStats.unavailable++;
        await pause(RETRY_PAUSE_MS);
      } else {
        trafficProblems.push(`reader (${current}): ${job.ws}/${job.id} answered ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      }
    }
  }

  /** 202s answered by the given phase's API. */
  const createdIn = (phase: PhaseName, ws?: Ws) => [...jobs.values()].filter((j) => j.phase === phase && (ws === undefined || j.ws === ws));

  /** Lets the phase's API take traffic: at least PHASE_MIN_ACCEPTED jobs created by it, from both workspaces. */
  async function letTrafficRun(phase: PhaseName): Promise<void> {
    await expectEventually(
      () => {
        expect(createdIn(phase).length).toBeGreaterThanOrEqual(PHASE_MIN_ACCEPTED);
        for (const ws of WORKSPACES) expect(createdIn(phase, ws).length).toBeGreaterThanOrEqual(PHASE_MIN_ACCEPTED / 4);
      },
      20_000,
      50,
    );
  }

  // -------------------------------------------------------------------------
  // Processes

  async function startBoth(phase: PhaseName): Promise<void> {
    switches.push({ at: Date.now() + 500, phase }); // the new API cannot answer within 0.5 s of its spawn
    current = phase;
    api = spawnApp('api', { ...env(phase), PORT: String(apiPort) });
    worker = spawnApp('worker', { ...env(phase), WORKER_PORT: String(workerPort) });
    await Promise.all([waitAppReady(api, 30_000), waitAppReady(worker, 30_000)]);
  }

  /** The restart a flag change means: SIGTERM both, wait for their exits, start both with the new flags. */
  async function restartInto(phase: PhaseName): Promise<void> {
    const stopping = current;
    const [apiExit, workerExit] = await Promise.all([api ? stopApp(api, STOP_TIMEOUT_MS) : undefined, worker ? stopApp(worker, STOP_TIMEOUT_MS) : undefined]);
    if (apiExit) exits.push({ phase: `${stopping} → ${phase}`, app: 'api', exit: apiExit });
    if (workerExit) exits.push({ phase: `${stopping} → ${phase}`, app: 'worker', exit: workerExit });
    await startBoth(phase);
  }

  // -------------------------------------------------------------------------
  // Checks

  /** Everything a reader must find right now: jobs accepted so far, and the predecessor records. */
  const snapshot = (): { id: string; ws: Ws }[] => [...seeded.map((p) => ({ id: p.id, ws: p.ws })), ...[...jobs.values()].map((j) => ({ id: j.id, ws: j.ws }))];

  /** Every job readable by id in its own workspace, 404 in the other. Returns the failures. */
  async function readableByIdFailures(items: { id: string; ws: Ws }[]): Promise<string[]> {
    const failures: string[] = [];
    await pool(items, 16, async ({ id, ws }) => {
      const own = await call('GET', `/ai/jobs/${id}`, ws);
      if (!('status' in own) || own.status !== 200 || own.body?.job_id !== id || own.body?.workspace_id !== ws) {
        failures.push(`${ws}/${id}: ${'status' in own ? `${own.status} ${JSON.stringify(own.body).slice(0, 200)}` : own.error}`);
      }
      const foreign = await call('GET', `/ai/jobs/${id}`, other(ws));
      if (!('status' in foreign) || foreign.status !== 404) {
        failures.push(`${other(ws)} reading ${ws}/${id}: ${'status' in foreign ? foreign.status : foreign.error} (want 404)`);
      }
    });
    return failures;
  }

  /** GET /ai/jobs, every page (limit 37), of one workspace: the job ids in order. */
  async function listAll(ws: Ws): Promise<{ ids: string[]; items: any[]; errors: string[] }> {
    const ids: string[] = [];
    const items: any[] = [];
    const errors: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 500; page++) {
      const r = await call('GET', `/ai/jobs?limit=37${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, ws);
      if (!('status' in r) || r.status !== 200) {
        errors.push(`page ${page}: ${'status' in r ? `${r.status} ${JSON.stringify(r.body).slice(0, 200)}` : r.error}`);
        break;
      }
      const pageItems = r.body.items as any[];
      if (pageItems.length > 37) errors.push(`page ${page}: ${pageItems.length} items`);
      for (const item of pageItems) {
        ids.push(item.job_id);
        items.push(item);
      }
      cursor = r.body.next_cursor as string | null;
      if (!cursor) return { ids, items, errors };
    }
    errors.push('more than 500 pages');
    return { ids, items, errors };
  }

  /** A full list walk of each workspace shows every expected job exactly once, and none of the other workspace. */
  async function listingFailures(expected: { id: string; ws: Ws }[]): Promise<string[]> {
    const failures: string[] = [];
    for (const ws of WORKSPACES) {
      const { ids, items, errors } = await listAll(ws);
      failures.push(...errors.map((e) => `${ws} list: ${e}`));
      const counts = new Map<string, number>();
      for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
      const missing = expected.filter((e) => e.ws === ws && !counts.has(e.id)).map((e) => e.id);
      const duplicated = [...counts].filter(([, c]) => c > 1).map(([id, c]) => `${id}×${c}`);
      const foreign = items.filter((i) => i.workspace_id !== ws).map((i) => i.job_id as string);
      if (missing.length) failures.push(`${ws} list: ${missing.length} missing, e.g. ${missing.slice(0, 5).join(', ')}`);
      if (duplicated.length) failures.push(`${ws} list: ${duplicated.length} duplicated, e.g. ${duplicated.slice(0, 5).join(', ')}`);
      if (foreign.length) failures.push(`${ws} list: ${foreign.length} of another workspace, e.g. ${foreign.slice(0, 5).join(', ')}`);
    }
    return failures;
  }

  /** Which copies each job has: legacy (with the right workspace) and scoped. */
  async function copies(items: { id: string; ws: Ws }[]): Promise<{ legacy: boolean; scoped: boolean }[]> {
    const pipeline = db.pipeline();
    for (const { id, ws } of items) pipeline.hget(`ai:jobs:${id}`, 'workspace_id').exists(`ai:job:${ws}:${id}`);
    const replies = (await pipeline.exec()) ?? [];
    return items.map(({ ws }, i) => ({ legacy: replies[2 * i]?.[1] === ws, scoped: replies[2 * i + 1]?.[1] === 1 }));
  }

  /** The copies the jobs created by `phase`'s API must have (by job id for the canary), as failures. */
  async function copyFailures(phase: PhaseName): Promise<string[]> {
    const created = createdIn(phase);
    const found = await copies(created);
    const failures: string[] = [];
    created.forEach((job, i) => {
      const want =
        phase === 'p0'
          ? { legacy: true, scoped: false }
          : phase === 'p1-canary'
            ? { legacy: true, scoped: canaryBucket(job.id) < CANARY_PCT }
            : phase === 'p4'
              ? { legacy: false, scoped: true }
              : { legacy: true, scoped: true };
      if (found[i].legacy !== want.legacy || found[i].scoped !== want.scoped) {
        failures.push(`${phase} job ${job.ws}/${job.id}: has ${JSON.stringify(found[i])}, want ${JSON.stringify(want)}`);
      }
    });
    return failures;
  }

  /** The checks run at every phase, after its traffic: by id, by list, and the copies of its own jobs. */
  /** Sum of a counter's samples on a process's /metrics whose labels include `label` (e.g. 'path="old"'). */
  const counterValue = (exposition: string, name: string, label: string): number =>
    exposition
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) && line.slice(0, line.indexOf('}')).includes(label))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);

  /**
   * What the running processes' own metrics (counted since this phase's start) say about read routing and
   * copies, against what the phase's flags call for (README "Migration runbook": what to watch).
   */
  async function metricFailures(phase: PhaseName): Promise<string[]> {
    const failures: string[] = [];
    const [apiMetrics, workerMetrics] = await Promise.all(
      [apiPort, workerPort].map(async (port) => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        return res.text();
      }),
    );
    const read = (path: string) => counterValue(apiMetrics, 'relay_job_read_path_total', `path="${path}"`);
    const list = (path: string) => counterValue(apiMetrics, 'relay_job_list_read_path_total', `path="${path}"`);
    const want = (what: string, ok: boolean, value: unknown) => {
      if (!ok) failures.push(`${phase}: ${what} (got ${JSON.stringify(value)})`);
    };
    const readsLegacy = phase === 'p0' || phase === 'p1-canary' || phase === 'p1';
    const readsScopedOnly = phase === 'p3' || phase === 'p4';
    if (readsLegacy) {
      want('single reads served only from the legacy schema', read('new') === 0 && read('old') > 0, { new: read('new'), old: read('old') });
      want('list pages served only from the legacy schema', list('new') + list('mixed') === 0 && list('old') > 0, { new: list('new'), mixed: list('mixed'), old: list('old') });
    } else {
      want('single reads served from the scoped schema', read('new') > 0, read('new'));
    }
    if (readsScopedOnly) {
      want('no single read served from the legacy schema', read('old') === 0, read('old'));
      want('no list page served from the legacy schema', list('old') + list('mixed') === 0, { old: list('old'), mixed: list('mixed') });
    }
    const dualWrites = phase === 'p1-canary' || phase === 'p1' || phase === 'p2' || phase === 'p3';
    const dw = (result: string) => counterValue(apiMetrics, 'relay_dual_write_attempt_total', `result="${result}"`);
    want('no failed dual-write', dw('failed') === 0, dw('failed'));
    want(dualWrites ? 'dual-writes counted' : 'no dual-write counted', dualWrites ? dw('succeeded') > 0 : dw('succeeded') === 0, dw('succeeded'));
    for (const [name, text] of [['api', apiMetrics], ['worker', workerMetrics]] as const) {
      const divergences = counterValue(text, 'relay_copy_divergence_total', '');
      const updateFailures = counterValue(text, 'relay_status_update_failures_total', '');
      want(`${name}: no copy divergence, no failed status update`, divergences + updateFailures === 0, { divergences, updateFailures });
    }
    return failures;
  }

  let problemsReported = 0;
  async function phaseChecks(phase: PhaseName): Promise<void> {
    await letTrafficRun(phase);
    const expected = snapshot();
    const [byId, listed, copiesWrong] = [await readableByIdFailures(expected), await listingFailures(expected), await copyFailures(phase)];
    const metrics = await metricFailures(phase);
    // Traffic problems (an unexpected status, a submission never accepted) since the previous phase's checks.
    const traffic = trafficProblems.slice(problemsReported, problemsReported + 10);
    problemsReported = trafficProblems.length;
    expect({ phase, checked: expected.length, traffic, byId: byId.slice(0, 10), byIdFailures: byId.length, listed, copies: copiesWrong.slice(0, 10), copyFailures: copiesWrong.length, metrics }).toEqual({
      phase,
      checked: expected.length,
      traffic: [],
      byId: [],
      byIdFailures: 0,
      listed: [],
      copies: [],
      copyFailures: 0,
      metrics: [],
    });
  }

  /** `relay <argv>` in-process with the phase's environment (see cli-runner.ts). */
  async function relay(phase: PhaseName, ...argv: string[]): Promise<CliRun> {
    return runRelay(env(phase), argv);
  }

  async function scanKeys(match: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await db.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return [...new Set(found)].sort();
  }

  // -------------------------------------------------------------------------

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redisUrl = server.url;
    db = new Redis(`${redisUrl}/0`);
    [apiPort, workerPort] = [await freePort(), await freePort()];
    for (const p of seeded) {
      await db.hset(`ai:jobs:${p.id}`, p.fields);
      if (p.ttlSeconds) await db.expire(`ai:jobs:${p.id}`, p.ttlSeconds);
    }
    for (const ws of WORKSPACES) {
      const run = await relay('p0', 'keys', 'create', '--workspace', ws, '--actor', 'walker', '--scopes', 'actions:execute,actions:preview', '--json');
      expect({ code: run.code, err: run.err }).toEqual({ code: 0, err: [] });
      keys[ws] = (JSON.parse(run.out[0]) as { key: string }).key;
    }
  }, 30_000);

  afterAll(async () => {
    stopTraffic = true;
    abortTraffic = true;
    await trafficDone?.catch(() => undefined);
    // Normally stopped by the last test already; after a failure: SIGTERM, then SIGKILL whatever is left.
    await Promise.all([api, worker].map((app) => (app?.alive() ? stopApp(app, 2000) : undefined)));
    await killAllApps();
    db?.disconnect();
    await server?.stop();
    rmSync(archiveDir, { recursive: true, force: true });
  }, 30_000);

  it('phase 0 (legacy only): API and worker start, traffic flows, every job readable and listed; predecessor records too', async () => {
    await startBoth('p0');
    trafficDone = Promise.all([trafficLoop(), readerLoop()]).then(
      () => undefined,
      (error: unknown) => void trafficProblems.push(`traffic loop threw: ${String(error)}`),
    );
    await phaseChecks('p0');
  }, 60_000);

  it(`phase 1 canary (AI_JOBS_NEW_SCHEMA=on, PHASE_1_CANARY_PCT=${CANARY_PCT}): new jobs get a scoped copy exactly when their id is in the canary`, async () => {
    await restartInto('p1-canary');
    await phaseChecks('p1-canary');
    // The canary is a share, not all or nothing: with PHASE_MIN_ACCEPTED jobs both kinds occur (a check of the check).
    const inCanary = createdIn('p1-canary').filter((j) => canaryBucket(j.id) < CANARY_PCT).length;
    expect(inCanary).toBeGreaterThan(0);
    expect(inCanary).toBeLessThan(createdIn('p1-canary').length);
  }, 60_000);

  it('phase 1 (PHASE_1_CANARY_PCT=100): every new job is dual-written', async () => {
    await restartInto('p1');
    await phaseChecks('p1');
  }, 60_000);

  it('phase 2 (READ_PREFERS_NEW=on): reads prefer the scoped schema; backfill under traffic, then verify exits 0', async () => {
    await restartInto('p2');
    await phaseChecks('p2');

    const backfill = await relay('p2', 'migrate', 'backfill', '--json');
    expect({ code: backfill.code, err: backfill.err }).toEqual({ code: 0, err: [] });
    const totals = JSON.parse(backfill.out.at(-1) ?? '{}') as { copied: number; invalid: number };
    // At least the predecessor records and the phase 0 / canary jobs without a scoped copy were copied.
    expect(totals.invalid).toBe(0);
    expect(totals.copied).toBeGreaterThanOrEqual(seeded.length + createdIn('p0').length);

    const verify = await relay('p2', 'migrate', 'verify', '--json');
    expect({ code: verify.code, err: verify.err, report: JSON.parse(verify.out.at(-1) ?? '{}') }).toMatchObject({
      code: 0,
      err: [],
      report: { clean: true, missingScoped: 0, diverged: 0, invalid: 0 },
    });

    // Every job accepted so far (and every predecessor record) now has its scoped copy.
    const expected = snapshot();
    const found = await copies(expected);
    expect(expected.filter((_, i) => !found[i].scoped).map((e) => `${e.ws}/${e.id}`)).toEqual([]);
  }, 60_000);

  it('phase 3 (READ_FALLBACK_OLD=off): reads use the scoped schema only, and still find every job', async () => {
    await restartInto('p3');
    await phaseChecks('p3');
  }, 60_000);

  it('phase 4 (AI_JOBS_LEGACY_WRITES=off): scoped writes only; verify exits 0; cleanup archives and deletes every legacy record', async () => {
    await restartInto('p4');
    await phaseChecks('p4');

    const verify = await relay('p4', 'migrate', 'verify', '--json');
    expect({ code: verify.code, err: verify.err, report: JSON.parse(verify.out.at(-1) ?? '{}') }).toMatchObject({
      code: 0,
      err: [],
      report: { clean: true, missingScoped: 0, diverged: 0 },
    });

    // Phase 4 writes no legacy record, so the legacy keys stay the same while cleanup runs.
    const legacyBefore = await scanKeys('ai:jobs:*');
    const cleanup = await relay('p4', 'migrate', 'cleanup', '--archive', archiveFile, '--json');
    const report = JSON.parse(cleanup.out.at(-1) ?? '{}') as { archived: number; deleted: number; kept: string[] };
    expect({ code: cleanup.code, err: cleanup.err, kept: report.kept }).toEqual({ code: 0, err: [], kept: [] });

    const lines = readFileSync(archiveFile, 'utf8').split('\n').filter((l) => l !== '');
    const archived = lines.map((l) => JSON.parse(l) as { key: string; ttl_ms: number; fields: Record<string, string> });
    expect({ lines: lines.length, archived: report.archived }).toEqual({ lines: report.deleted, archived: report.deleted });
    expect(archived.map((a) => a.key).sort()).toEqual(legacyBefore);
    for (const a of archived) expect(a.key).toBe(`ai:jobs:${a.fields.job_id}`);
    // What must be in it: every predecessor record, field for field, and every job an API with legacy writes created.
    const byKey = new Map(archived.map((a) => [a.key, a]));
    for (const p of seeded) expect(byKey.get(`ai:jobs:${p.id}`)?.fields).toEqual(p.fields);
    const legacyWritten = [...jobs.values()].filter((j) => j.phase !== null && j.phase !== 'p4');
    expect(legacyWritten.filter((j) => !byKey.has(`ai:jobs:${j.id}`)).map((j) => j.id)).toEqual([]);
    expect(createdIn('p4').filter((j) => byKey.has(`ai:jobs:${j.id}`)).map((j) => j.id)).toEqual([]);

    // Reads keep working after the legacy records are gone, while traffic goes on.
    const expected = snapshot();
    expect((await readableByIdFailures(expected)).slice(0, 10)).toEqual([]);
  }, 90_000);

  it('after the walk: nothing lost, duplicated or stuck; every job final, readable and listed once; no legacy key; scoped copies of all', async () => {
    stopTraffic = true;
    await trafficDone;
    expect({ trafficProblems, stats, readStats }).toEqual({ trafficProblems: [], stats, readStats });
    const all = [...jobs.values()];
    // A real walk: hundreds of jobs, submitted across every phase and restart.
    expect(all.length).toBeGreaterThan(6 * PHASE_MIN_ACCEPTED);
    expect(stats.refused).toBeGreaterThan(0); // traffic did hit the restarts
    expect(readStats.reads).toBeGreaterThan(all.length);

    // The worker drains: every job final (echo and sleep never fail), nothing queued, leased or retrying.
    await expectEventually(
      async () => {
        const pipeline = db.pipeline();
        for (const j of all) pipeline.hget(`ai:job:${j.ws}:${j.id}`, 'status');
        const statuses = ((await pipeline.exec()) ?? []).map((r) => r[1] as string | null);
        const notFinal = all.map((j, i) => `${j.ws}/${j.id}:${statuses[i]}`).filter((_, i) => !FINAL_STATUSES.has(String(statuses[i])));
        expect(notFinal.slice(0, 10)).toEqual([]);
        const queues = {
          pending: await db.llen('ai:queue:pending'),
          active: await db.llen('ai:queue:active'),
          leases: await db.zcard('ai:queue:leases'),
          retry: await db.zcard('ai:queue:retry'),
          dead: await db.llen('ai:queue:dead'),
        };
        expect(queues).toEqual({ pending: 0, active: 0, leases: 0, retry: 0, dead: 0 });
      },
      30_000,
      100,
    );

    // Through the API (phase 4: scoped reads only): final, own workspace, params and the echoed result intact; 404 elsewhere.
    const wrong: string[] = [];
    await pool(all, 16, async (job) => {
      const r = await call('GET', `/ai/jobs/${job.id}`, job.ws);
      if (!('status' in r) || r.status !== 200) return void wrong.push(`${job.ws}/${job.id}: ${'status' in r ? r.status : r.error}`);
      const v = r.body;
      if (v.workspace_id !== job.ws || !FINAL_STATUSES.has(v.status)) wrong.push(`${job.ws}/${job.id}: ${v.workspace_id} ${v.status}`);
      if (JSON.stringify(v.params) !== JSON.stringify(job.params)) wrong.push(`${job.id}: params ${JSON.stringify(v.params)}`);
      if (v.status === 'succeeded' && JSON.stringify(v.result) !== JSON.stringify(job.result ?? job.params)) wrong.push(`${job.id}: result ${JSON.stringify(v.result)}`);
      if (job.cancel === 'cancelled' && v.status !== 'cancelled') wrong.push(`${job.id}: cancelled (200) but ${v.status}`);
      const foreign = await call('GET', `/ai/jobs/${job.id}`, other(job.ws));
      if (!('status' in foreign) || foreign.status !== 404) wrong.push(`${other(job.ws)} reading ${job.ws}/${job.id}: ${'status' in foreign ? foreign.status : foreign.error}`);
    });
    expect({ wrong: wrong.slice(0, 10), count: wrong.length }).toEqual({ wrong: [], count: 0 });
    expect(all.some((j) => j.cancel === 'cancelled')).toBe(true); // cancels did happen

    // A full list walk (limit 37) of each workspace: every job exactly once, the predecessor records too,
    // and nothing else but jobs a request without client_request_id may have created before its answer was lost.
    expect(await listingFailures(snapshot())).toEqual([]);
    const known = new Set(snapshot().map((e) => e.id));
    const unknown: string[] = [];
    for (const ws of WORKSPACES) unknown.push(...(await listAll(ws)).ids.filter((id) => !known.has(id)));
    expect({ unknown: unknown.length <= stats.jobsMaybeCreatedUnseen ? [] : unknown.slice(0, 10), stats }).toEqual({ unknown: [], stats });

    // No legacy key remains; every job and predecessor record has its scoped copy; a predecessor's TTL was kept.
    expect(await scanKeys('ai:jobs:*')).toEqual([]);
    const found = await copies(snapshot());
    expect(snapshot().filter((_, i) => !found[i].scoped).map((e) => `${e.ws}/${e.id}`)).toEqual([]);
    for (const p of seeded.filter((s) => s.ttlSeconds)) expect(await db.ttl(`ai:job:${p.ws}:${p.id}`)).toBeGreaterThan(0);
    for (const p of seeded) expect(await db.hgetall(`ai:job:${p.ws}:${p.id}`)).toEqual(p.fields);
  }, 90_000);

  // The reader keeps a kept-alive connection busy through each SIGTERM, as real clients and proxies do:
  // an API whose shutdown waits for such connections to go idle never exits on its own.
  it('every restart was a graceful stop: SIGTERM → exit code 0, within the grace period', async () => {
    const [apiExit, workerExit] = await Promise.all([api ? stopApp(api, STOP_TIMEOUT_MS) : undefined, worker ? stopApp(worker, STOP_TIMEOUT_MS) : undefined]);
    if (apiExit) exits.push({ phase: `${current} → stopped`, app: 'api', exit: apiExit });
    if (workerExit) exits.push({ phase: `${current} → stopped`, app: 'worker', exit: workerExit });
    expect(exits.length).toBe(12); // 5 restarts and the final stop, two processes each
    const how = (e: (typeof exits)[number]) =>
      `${e.app} at ${e.phase}: ${
        e.exit.killed ? `no exit within ${STOP_TIMEOUT_MS} ms of SIGTERM (SIGKILLed)` : e.exit.signal ? `ended by signal ${e.exit.signal}` : `exit code ${e.exit.code}`
      }`;
    expect(exits.map(how)).toEqual(exits.map((e) => `${e.app} at ${e.phase}: exit code 0`));
  }, 30_000);
});
