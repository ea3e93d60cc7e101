import { RedisKeys } from '@relay/redis';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { runRelay } from './support/cli-runner.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';
import { readmeVerifier, startWebhookReceiver, type Received, type WebhookReceiver } from './support/webhook-receiver.js';
import { killAllWorkers, startWorker, type WorkerProcess } from './support/worker-process.js';

/**
 * Webhook deliveries end to end (README Events, "Webhooks"): jobs submitted
 * through the real API (in-process) and run by real worker processes, whose
 * delivery loops POST their events to a real HTTP receiver in this file,
 * which verifies every signature with README's own snippet. Endpoints are
 * registered with the real `relay webhooks` commands. Short retry settings:
 * 50 ms base, 300 ms cap, a 3 s retry period.
 */

const RETRY_PERIOD_MS = 3000;
const SETTLE_MS = 30_000;
const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'dead_lettered']);

let server: FileRedis;
let api: ApiHarness;
let receiver: WebhookReceiver;
let verify: Awaited<ReturnType<typeof readmeVerifier>>;
let worker: WorkerProcess;
const keys = new Map<string, string>();

const allowedHosts = () => `127.0.0.1:${receiver.port},localhost:${receiver.port}`;
const workerEnv = () => ({
  REDIS_URL: server.url,
  ACTION_ALLOWLIST: 'debug.*',
  HTTP_ACTION_ALLOWED_HOSTS: allowedHosts(),
  HTTP_ACTION_TIMEOUT_MS: '2000',
  JOB_MAX_ATTEMPTS: '3',
  JOB_RETRY_BASE_MS: '20',
  JOB_RETRY_MAX_MS: '50',
  WORKER_LEASE_MS: '2000',
  WEBHOOK_POLL_INTERVAL_MS: '50',
  WEBHOOK_RETRY_BASE_MS: '50',
  WEBHOOK_RETRY_MAX_MS: '300',
  WEBHOOK_RETRY_PERIOD_MS: String(RETRY_PERIOD_MS),
});

async function relay(...argv: string[]) {
  return runRelay({ REDIS_URL: server.url, HTTP_ACTION_ALLOWED_HOSTS: allowedHosts() }, argv);
}

/** `relay webhooks add`; returns the endpoint id and its secret. */
async function addWebhook(workspace: string, path: string, ...more: string[]): Promise<{ id: string; secret: string }> {
  const run = await relay('webhooks', 'add', '--workspace', workspace, '--url', path.startsWith('http') ? path : receiver.url(path), ...more, '--json');
  expect({ code: run.code, err: run.err }).toEqual({ code: 0, err: [] });
  const added = JSON.parse(run.out[0]) as { webhook_id: string; secret: string };
  return { id: added.webhook_id, secret: added.secret };
}

async function submit(workspace: string, action: string, params: Record<string, unknown> = {}): Promise<string> {
  if (!keys.has(workspace)) keys.set(workspace, await api.key(workspace));
  const res = await api.http.post('/ai/jobs').set('Authorization', `Bearer ${keys.get(workspace)}`).send({ action, params });
  expect(res.status).toBe(202);
  return res.body.job_id as string;
}

/** A job's events as its workspace stream holds them: [event id, type]. */
async function streamEvents(workspace: string, jobId: string): Promise<[string, string][]> {
  const entries = await server.redis.xrange(RedisKeys.workspaceEvents(workspace), '-', '+');
  return entries.filter(([, f]) => f[f.indexOf('job_id') + 1] === jobId).map(([id, f]) => [id, f[f.indexOf('type') + 1]]);
}

/** Requests to `path` for `jobId` answered 2xx, in the order they were answered. */
const acceptedFor = (path: string, jobId: string) => receiver.accepted(path).filter((r) => r.event.job_id === jobId);

/** Waits until the endpoint at `path` has accepted a final event of every job. */
async function untilFinalAccepted(path: string, jobIds: string[], timeoutMs = SETTLE_MS): Promise<void> {
  await expectEventually(() => {
    for (const jobId of jobIds) expect({ jobId, final: acceptedFor(path, jobId).some((r) => FINAL.has(r.type)) }).toEqual({ jobId, final: true });
  }, timeoutMs, 50);
}

/** Every event of the job (from its stream) accepted at `path` exactly once, in stream order, each as the contract says. */
async function expectEveryEventInOrder(path: string, workspace: string, jobId: string, webhookId: string): Promise<Received[]> {
  const accepted = acceptedFor(path, jobId);
  const events = await streamEvents(workspace, jobId);
  expect(events.length).toBeGreaterThanOrEqual(3);
  expect(accepted.map((r) => [r.eventId, r.type])).toEqual(events);
  for (const r of accepted) {
    expect(r.deliveryId).toBe(`${webhookId}-${r.eventId}`);
    expect(r.webhookId).toBe(webhookId);
    expect(r.event).toMatchObject({ id: r.eventId, type: r.type, job_id: jobId, attempt: expect.any(Number), at: expect.any(String) });
    expect(Object.keys(r.event).slice(0, 7)).toEqual(['id', 'type', 'job_id', 'action', 'status', 'attempt', 'at']);
  }
  return accepted;
}

/** A counter's value on a worker's /metrics. */
async function metric(w: WorkerProcess, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && wanted.every((w) => line.includes(w)))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

beforeAll(async () => {
  server = await fileRedis();
  receiver = await startWebhookReceiver();
  verify = await readmeVerifier();
  api = await startApi(server.url);
  worker = await startWorker(workerEnv());
}, 60_000);

afterAll(async () => {
  await killAllWorkers();
  await api?.close();
  await receiver?.close();
  await server?.stop();
});

describe('webhook deliveries (real jobs, worker processes and receiver)', () => {
  it('a receiver that fails its first 3 deliveries and verifies every signature gets every event of each job, in order per job', async () => {
    const hook = await addWebhook('acme', '/acme');
    receiver.answer('/acme', (nth) => (nth <= 3 ? 500 : 200));
    const jobs = [
      await submit('acme', 'debug.echo', { password: 'hunter2', note: 'plain' }),
      await submit('acme', 'debug.fail', { times: 1 }),
      await submit('acme', 'debug.fail', {}),
    ];
    await untilFinalAccepted('/acme', jobs);

    const failed = receiver.at('/acme').filter((r) => r.status === 500);
    expect(failed).toHaveLength(3);
    // Each failed delivery was retried and accepted later, with a higher attempt number.
    for (const f of failed) expect(receiver.accepted('/acme').find((r) => r.deliveryId === f.deliveryId)?.attempt).toBeGreaterThan(f.attempt);

    const [echo, retried, spent] = await Promise.all(jobs.map((jobId) => expectEveryEventInOrder('/acme', 'acme', jobId, hook.id)));
    expect(echo.map((r) => r.type)).toEqual(['created', 'started', 'succeeded']);
    expect(echo[2].event).toMatchObject({ status: 'succeeded', result: { password: '[REDACTED]', note: 'plain' } });
    expect(retried.map((r) => r.type)).toEqual(['created', 'started', 'retrying', 'started', 'succeeded']);
    expect(spent.map((r) => r.type).slice(0, 6)).toEqual(['created', 'started', 'retrying', 'started', 'retrying', 'started']);
    expect(FINAL.has(spent[6].type)).toBe(true);
    // Each delivery was accepted once (no duplicate in the normal case), and signed with the endpoint's secret.
    const accepted = receiver.accepted('/acme');
    expect(new Set(accepted.map((r) => r.deliveryId)).size).toBe(accepted.length);
    for (const r of receiver.at('/acme')) expect({ delivery: r.deliveryId, verified: verify(r.signature, r.raw, hook.secret) }).toEqual({ delivery: r.deliveryId, verified: true });
    expect(verify(accepted[0].signature, accepted[0].raw, 'whsec_someone-else')).toBe(false);
    // Never params.
    expect(receiver.at('/acme').some((r) => r.raw.includes('hunter2'))).toBe(false);

    expect(await metric(worker, 'relay_webhook_deliveries_total', { result: 'failed_attempt' })).toBeGreaterThanOrEqual(3);
    expect(await metric(worker, 'relay_webhook_deliveries_total', { result: 'delivered' })).toBeGreaterThanOrEqual(accepted.length);
    const listed = JSON.parse((await relay('webhooks', 'list', '--workspace', 'acme', '--json')).out[0]) as Record<string, unknown>[];
    expect(listed[0]).toMatchObject({ pending: 0, last_delivered_at: expect.any(String), last_error: 'webhook: the endpoint answered 500' });
  });

  it('after rotate-secret, deliveries carry signatures of the new and the previous secret; each verifies alone', async () => {
    const hook = await addWebhook('rot', '/rot');
    const rotated = JSON.parse((await relay('webhooks', 'rotate-secret', hook.id, '--json')).out[0]) as { secret: string };
    const jobId = await submit('rot', 'debug.echo');
    await untilFinalAccepted('/rot', [jobId]);
    for (const r of receiver.at('/rot')) {
      expect(r.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
      expect([verify(r.signature, r.raw, rotated.secret), verify(r.signature, r.raw, hook.secret), verify(r.signature, r.raw, 'whsec_other')]).toEqual([true, true, false]);
    }
  });

  it('--events: an endpoint gets only the types it asked for, in order, beside one that gets them all', async () => {
    const all = await addWebhook('filt', '/filt-all');
    const some = await addWebhook('filt', '/filt-some', '--events', 'started,succeeded');
    const jobId = await submit('filt', 'debug.fail', { times: 1 });
    await untilFinalAccepted('/filt-all', [jobId]);
    await untilFinalAccepted('/filt-some', [jobId]);
    expect((await expectEveryEventInOrder('/filt-all', 'filt', jobId, all.id)).map((r) => r.type)).toEqual(['created', 'started', 'retrying', 'started', 'succeeded']);
    expect(receiver.at('/filt-some').map((r) => r.type)).toEqual(['started', 'started', 'succeeded']);
    expect(receiver.at('/filt-some').every((r) => r.webhookId === some.id && verify(r.signature, r.raw, some.secret))).toBe(true);
  });

  it("workspace isolation: an endpoint gets its own workspace's events only; a workspace without endpoints is never read", async () => {
    await addWebhook('iso-a', '/iso-a');
    await addWebhook('iso-b', '/iso-b');
    const a = [await submit('iso-a', 'debug.echo'), await submit('iso-a', 'debug.echo')];
    const b = [await submit('iso-b', 'debug.echo')];
    const c = [await submit('iso-c', 'debug.echo')];
    await untilFinalAccepted('/iso-a', a);
    await untilFinalAccepted('/iso-b', b);
    expect(new Set(receiver.at('/iso-a').map((r) => r.event.job_id))).toEqual(new Set(a));
    expect(new Set(receiver.at('/iso-b').map((r) => r.event.job_id))).toEqual(new Set(b));
    // iso-c's job ran and has its events, which nothing read for webhooks.
    await expectEventually(async () => expect((await streamEvents('iso-c', c[0])).map(([, t]) => t)).toContain('succeeded'));
    expect(receiver.requests.some((r) => c.includes(r.event.job_id as string))).toBe(false);
    expect(await server.redis.hkeys(RedisKeys.webhookCursors)).not.toContain('iso-c');
    expect(await server.redis.keys('ai:webhook*iso-c*')).toEqual([]);
  });

  it('a failing endpoint: retried for the retry period, then dead-lettered and listed by relay webhooks deliveries; the next event of the job is sent only after', async () => {
    const hook = await addWebhook('dead', '/dead', '--events', 'created,succeeded');
    receiver.answer('/dead', () => 500);
    const jobId = await submit('dead', 'debug.echo');
    type Deliveries = { dead_letters: Record<string, unknown>[]; recent_failures: Record<string, unknown>[] };
    const deliveries = async (): Promise<Deliveries> => JSON.parse((await relay('webhooks', 'deliveries', '--workspace', 'dead', '--json')).out[0]) as Deliveries;
    const listed = await expectEventually(async () => {
      const d = await deliveries();
      expect(d.dead_letters.map((l) => l.type)).toEqual(['succeeded', 'created']);
      return d;
    }, 4 * RETRY_PERIOD_MS + SETTLE_MS, 200);

    const [succeeded, created] = listed.dead_letters;
    const createdRequests = receiver.at('/dead').filter((r) => r.type === 'created');
    expect(created).toEqual({
      delivery_id: createdRequests[0].deliveryId,
      webhook_id: hook.id,
      event_id: createdRequests[0].eventId,
      job_id: jobId,
      type: 'created',
      attempts: createdRequests.length,
      dead_at: expect.any(String),
      error: 'webhook: the endpoint answered 500',
      status: '500',
    });
    expect(createdRequests.length).toBeGreaterThanOrEqual(3);
    expect(createdRequests.map((r) => r.attempt)).toEqual(createdRequests.map((_, i) => i + 1));
    // Retried for the period (counted from the fan-out, just before the first attempt; the last retry delay is at most 300 ms).
    const firstFailure = listed.recent_failures.filter((f) => f.type === 'created').at(-1)!;
    expect(Date.parse(created.dead_at as string) - Date.parse(firstFailure.at as string)).toBeGreaterThanOrEqual(RETRY_PERIOD_MS - 300 - 1000);
    // The succeeded event was sent only once created was dead-lettered. Its period counts from its own
    // fan-out, about when created's did: it was dead-lettered soon after, not a whole period later.
    const order = receiver.at('/dead').map((r) => r.type);
    const succeededRequests = receiver.at('/dead').filter((r) => r.type === 'succeeded');
    expect(order.indexOf('succeeded')).toBe(createdRequests.length);
    expect(succeeded).toMatchObject({ job_id: jobId, type: 'succeeded', attempts: succeededRequests.length, status: '500' });
    expect(Date.parse(succeeded.dead_at as string) - Date.parse(created.dead_at as string)).toBeLessThan(RETRY_PERIOD_MS / 2);
    expect(listed.recent_failures[0]).toMatchObject({ type: 'succeeded', attempt: succeededRequests.length, error: 'webhook: the endpoint answered 500', status: '500' });
    expect(listed.recent_failures).toHaveLength(createdRequests.length + succeededRequests.length);

    const text = await relay('webhooks', 'deliveries', '--workspace', 'dead');
    expect(text.out[0]).toBe('dead-lettered deliveries (newest first):');
    expect(text.out[2]).toMatch(new RegExp(`^  \\S+  ${created.delivery_id}  created  job ${jobId}  attempts ${createdRequests.length}  webhook: the endpoint answered 500$`));
    expect(await metric(worker, 'relay_webhook_deliveries_total', { result: 'dead_lettered' })).toBeGreaterThanOrEqual(2);
    expect(JSON.parse((await relay('webhooks', 'list', '--workspace', 'dead', '--json')).out[0])).toEqual([expect.objectContaining({ pending: 0 })]);
  });

  it('a URL whose name resolves to a loopback address is refused at connect time: nothing sent, counted, dead-lettered at once', async () => {
    const refusedBefore = await metric(worker, 'relay_webhook_deliveries_total', { result: 'refused' });
    await addWebhook('priv', `http://localhost:${receiver.port}/private`, '--events', 'created');
    const jobId = await submit('priv', 'debug.echo');
    const dead = await expectEventually(async () => {
      const d = JSON.parse((await relay('webhooks', 'deliveries', '--workspace', 'priv', '--json')).out[0]) as { dead_letters: Record<string, unknown>[] };
      expect(d.dead_letters).toHaveLength(1);
      return d.dead_letters[0];
    }, SETTLE_MS, 100);
    expect(dead).toMatchObject({ job_id: jobId, type: 'created', attempts: 1, status: '' });
    expect(dead.error).toMatch(/^webhook: host localhost resolves to a loopback address/);
    expect(receiver.at('/private')).toEqual([]);
    expect(await metric(worker, 'relay_webhook_deliveries_total', { result: 'refused' })).toBe(refusedBefore + 1);
  });

  it('two workers share the deliveries: each is sent once, and every job keeps its order', async () => {
    const second = await startWorker(workerEnv());
    const hook = await addWebhook('pair', '/pair');
    const jobs: string[] = [];
    for (let i = 0; i < 20; i++) jobs.push(await submit('pair', 'debug.echo', { i }));
    await untilFinalAccepted('/pair', jobs);
    for (const jobId of jobs) await expectEveryEventInOrder('/pair', 'pair', jobId, hook.id);
    const ids = receiver.at('/pair').map((r) => r.deliveryId);
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(60);
    second.child.kill('SIGTERM');
    await second.exited;
  });

  it('a worker SIGKILLed mid-send: after its lease another worker sends the delivery again, and the later events follow in order', async () => {
    await killAllWorkers();
    const first = await startWorker(workerEnv());
    const hook = await addWebhook('kill', '/kill');
    receiver.answer('/kill', (nth) => (nth === 1 ? 'hold' : 200));
    const jobId = await submit('kill', 'debug.echo');
    await expectEventually(() => expect(receiver.at('/kill')).toHaveLength(1), SETTLE_MS, 20);
    const held = receiver.at('/kill')[0];
    first.child.kill('SIGKILL');
    await first.exited;
    worker = await startWorker(workerEnv());
    // The lease (HTTP_ACTION_TIMEOUT_MS 2 s + 5 s) expires, and the new worker sends it again.
    await untilFinalAccepted('/kill', [jobId]);
    const accepted = await expectEveryEventInOrder('/kill', 'kill', jobId, hook.id);
    expect(accepted[0]).toMatchObject({ deliveryId: held.deliveryId, attempt: 2 });
    expect(receiver.at('/kill').map((r) => r.deliveryId)).toEqual([held.deliveryId, ...accepted.map((r) => r.deliveryId)]);
    receiver.release(200);
  }, 60_000);
});
