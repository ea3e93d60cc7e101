import { RedisKeys } from '@relay/redis';
import { spawnApp, waitAppReady, type AppProcess } from './app-process.js';
import { httpStatus } from './child-main.js';
import { runRelay } from './cli-runner.js';
import { expectEventually } from './expect-eventually.js';
import { freePort } from './redis-server.js';
import { MASTER_NAME, SentinelTopology } from './sentinel-topology.js';
import { SubmitTraffic, type Submission } from './submit-traffic.js';

/**
 * One Redis Sentinel failover under submit traffic, for
 * test/sentinel-failover.e2e-spec.ts: a topology whose replica lags
 * REPLICA_LAG_MS, a key made with `relay keys create` through the
 * sentinels, the real API and worker as child processes with
 * REDIS_SENTINELS, steady submits, then the primary SIGKILLed. It asserts
 * that readiness says so while there is no primary, that API and worker
 * serve again without a restart (jobs accepted afterwards run to the end),
 * and reports which accepted jobs the new primary lacks.
 */

export const REPLICA_LAG_MS = 400;
const CONCURRENCY = 6;
/** Steady traffic before the kill: long enough that most jobs accepted by then are on the replica, and the loss window shows. */
export const TRAFFIC_BEFORE_KILL_MS = 4000;
export const ACCEPTED_BEFORE_KILL = 40;
/** What may be lost is what the replica had not received: jobs accepted within its lag of the kill, plus this margin for a loaded machine. */
export const LOSS_WINDOW_MARGIN_MS = 1500;
const ACCEPTED_AFTER_FAILOVER = 20;
const MAX_SUBMISSIONS = 20_000;
/** Relay's processes never talk to REDIS_URL's host when sentinels are set: nothing listens on port 9. */
export const UNUSED_URL = 'redis://127.0.0.1:9/0';

/** Polls /health/ready of each app every 100 ms, keeping (time, status) samples. */
function watchReadiness(apps: AppProcess[]) {
  const samples = new Map<AppProcess, { at: number; status: number }[]>(apps.map((a) => [a, []]));
  let running = true;
  const done = Promise.all(
    apps.map(async (app) => {
      while (running) {
        samples.get(app)!.push({ at: Date.now(), status: await httpStatus(app.port, '/health/ready') });
        await new Promise((r) => setTimeout(r, 100));
      }
    }),
  );
  return { samples, stop: async () => ((running = false), await done) };
}

export interface FailoverRun {
  accepted: Submission[];
  lost: Submission[];
  killedAt: number;
  /** From the kill until API and worker were both ready again. */
  recoveredInMs: number;
  /** Submits sent before the kill and answered 503 naming a written job, and how many of those jobs the new primary lacks. */
  unconfirmed: number;
  unconfirmedGone: number;
}

/** The message of a submit written but not confirmed by replicas; group 1 = its job ids. */
export const NOT_CONFIRMED = /^accepted as jobs? ([0-9a-f-]{36}(?:_\d+)?(?:, [0-9a-f-]{36}_\d+)*), but not yet confirmed by Redis replicas; retry with the same client_request_id$/;

/**
 * One whole failover under traffic; asserts that API and worker serve again
 * without a restart, and returns what was accepted and lost. `untilServing`
 * runs once the sentinels named the new primary and both are ready again.
 */
export async function failoverUnderTraffic(
  topologies: SentinelTopology[],
  run: string,
  env: Record<string, string>,
  untilServing: (redis: SentinelTopology, traffic: SubmitTraffic, since: number) => Promise<void> = async () => undefined,
): Promise<FailoverRun> {
  const redis = await SentinelTopology.start({ replicaLagMs: REPLICA_LAG_MS });
  topologies.push(redis);
  const settings = { REDIS_URL: UNUSED_URL, REDIS_SENTINELS: redis.sentinelList, REDIS_SENTINEL_MASTER: MASTER_NAME, ACTION_ALLOWLIST: 'debug.*', RATE_LIMIT_MAX: '0', LOG_LEVEL: 'warn', ...env };
  const created = await runRelay(settings, ['keys', 'create', '--workspace', 'acme', '--scopes', 'actions:execute,actions:preview', '--json']);
  expect({ code: created.code, err: created.err }).toEqual({ code: 0, err: [] });
  const key = (JSON.parse(created.out[0]) as { key: string }).key;

  const api = spawnApp('api', { ...settings, PORT: String(await freePort()) });
  const worker = spawnApp('worker', { ...settings, WORKER_PORT: String(await freePort()) });
  await Promise.all([waitAppReady(api, 60_000), waitAppReady(worker, 60_000)]);
  const traffic = new SubmitTraffic(api.port, key, { concurrency: CONCURRENCY, maxSubmissions: MAX_SUBMISSIONS, run });
  traffic.start();
  const trafficStarted = Date.now();
  let readiness: ReturnType<typeof watchReadiness> | undefined;
  try {
    await expectEventually(() => {
      expect(Date.now() - trafficStarted).toBeGreaterThanOrEqual(TRAFFIC_BEFORE_KILL_MS);
      expect(traffic.accepted().length).toBeGreaterThanOrEqual(ACCEPTED_BEFORE_KILL);
    }, 30_000, 10);
    readiness = watchReadiness([api, worker]);
    const killedAt = Date.now();
    redis.killPrimary();

    // Readiness says so while there is no primary, and recovers once the sentinels name the new one.
    await expectEventually(() => {
      for (const [, samples] of readiness!.samples) expect(samples.some((s) => s.at >= killedAt && s.status === 503)).toBe(true);
    }, 15_000, 50);
    await redis.waitForFailover(30_000);
    await expectEventually(async () => {
      for (const app of [api, worker]) expect(await httpStatus(app.port, '/health/ready')).toBe(200);
    }, 30_000, 100);
    const recoveredInMs = Date.now() - killedAt;
    await untilServing(redis, traffic, Date.now());
    const back = Date.now();
    await expectEventually(() => expect(traffic.accepted(back).length).toBeGreaterThanOrEqual(ACCEPTED_AFTER_FAILOVER), 40_000, 20);
    await traffic.stop();

    // The worker, too, took up the new primary: jobs accepted after the failover run to the end.
    const after = traffic.accepted(back).slice(0, ACCEPTED_AFTER_FAILOVER);
    await expectEventually(async () => {
      for (const s of after) {
        const res = await fetch(`http://127.0.0.1:${api.port}/ai/jobs/${s.jobId}`, { headers: { Authorization: `Bearer ${key}` } });
        expect([s.jobId, res.status, ((await res.json()) as { status?: string }).status]).toEqual([s.jobId, 200, 'succeeded']);
      }
    }, 30_000, 200);
    // Without a restart: the same processes served before and after.
    expect([api.alive(), worker.alive()]).toEqual([true, true]);

    const accepted = traffic.accepted();
    const missing = await redis.ask(redis.replicaPort, async (r) => {
      const held = await Promise.all(accepted.map((s) => r.exists(RedisKeys.legacyJob(s.jobId!))));
      return new Set(accepted.filter((_, i) => held[i] === 0).map((s) => s.jobId));
    });
    // Submits in flight at the kill that were answered 503 naming their job (written, not confirmed): how many of those jobs are gone.
    const unconfirmed = traffic.submissions.filter((s) => s.status === 503 && s.sentAt < killedAt).map((s) => NOT_CONFIRMED.exec(s.message ?? '')?.[1]);
    const unconfirmedIds = unconfirmed.filter((id): id is string => id !== undefined);
    const unconfirmedHeld = await redis.ask(redis.replicaPort, (r) => Promise.all(unconfirmedIds.map((id) => r.exists(RedisKeys.legacyJob(id)))));
    return {
      accepted,
      lost: accepted.filter((s) => missing.has(s.jobId)),
      killedAt,
      recoveredInMs,
      unconfirmed: unconfirmedIds.length,
      unconfirmedGone: unconfirmedHeld.filter((n) => n === 0).length,
    };
  } finally {
    await traffic.stop();
    await readiness?.stop();
  }
}
