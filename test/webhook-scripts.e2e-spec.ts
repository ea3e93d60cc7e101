import { loadConfig } from '@relay/config';
import { WebhookScripts, WebhookStore, type ClaimedDelivery } from '@relay/queue';
import { RedisKeys } from '@relay/redis';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * The webhook scripts one by one on a real Redis (README Events,
 * "Webhooks"), fed with contract-shaped stream entries written here:
 * endpoints get only events appended after they were added; the fan-out
 * runs once per interval and moves each workspace's cursor with the
 * deliveries it writes; a job's deliveries wait in a chain (only the head
 * is due); leases are fenced and an expired one makes its delivery due
 * again; a full backlog and a removed endpoint; dead letters capped.
 * The end-to-end behaviour with real jobs: webhook-deliveries.e2e-spec.ts.
 */

let server: FileRedis;
let scripts: WebhookScripts;
const FAN_OUT = { lockMs: 60_000, batch: 100, maxPending: 100, deadLetterMax: 100, deadLetterTtlMs: 60_000 };
const FINISH = { retryPeriodMs: 60_000, deadLetterMax: 100, deadLetterTtlMs: 60_000, failuresKept: 10 };

function store(settings: Record<string, string> = {}): WebhookStore {
  return new WebhookStore(server.redis, scripts, loadConfig({ HTTP_ACTION_ALLOWED_HOSTS: 'hooks.example.com', ...settings }));
}

/** A contract-shaped event of `jobId` appended to the workspace's stream; its id. */
async function append(ws: string, jobId: string, type: string): Promise<string> {
  const id = await server.redis.xadd(RedisKeys.workspaceEvents(ws), '*', 'type', type, 'job_id', jobId, 'action', 'debug.echo', 'status', 'pending', 'attempt', '0', 'at', new Date().toISOString());
  return id!;
}

/** One fan-out pass, whatever lock an earlier one left. */
async function fanOut(options: Partial<typeof FAN_OUT> = {}) {
  await server.redis.del(RedisKeys.webhookFanoutLock);
  return scripts.fanOut({ ...FAN_OUT, ...options });
}

const claim = async (max = 100, leaseMs = 60_000) => (await scripts.claimDeliveries(max, leaseMs, 'test-worker')).claimed;
const finish = (d: ClaimedDelivery, outcome: 'delivered' | 'failed' | 'refused' | 'released', more: { delayMs?: number; error?: string; status?: number } = {}, call = FINISH) =>
  scripts.finishDeliveries([{ delivery: d, outcome, ...more }], call).then((r) => r[0]);

beforeAll(async () => {
  server = await fileRedis();
  scripts = new WebhookScripts(server.redis);
});
afterAll(async () => {
  await server.stop();
});
beforeEach(async () => {
  await server.redis.flushall();
});

describe('webhook scripts', () => {
  it('an endpoint gets the events appended after it was added, none before; a workspace without endpoints is not read', async () => {
    await append('acme', 'j1', 'created');
    const before = await append('acme', 'j1', 'started');
    await append('other', 'j9', 'created');
    const hook = await store().add({ workspaceId: 'acme', url: 'https://hooks.example.com/a' });
    expect(await server.redis.hget(RedisKeys.webhook(hook.webhookId), 'from_event')).toBe(before);
    const after = await append('acme', 'j1', 'succeeded');
    expect(await fanOut()).toEqual({ busy: false, read: 1, created: 1, more: false, deadLettered: [] });
    const [d] = await claim();
    expect(d).toMatchObject({ deliveryId: `${hook.webhookId}-${after}`, endpointId: hook.webhookId, workspaceId: 'acme', jobId: 'j1', eventId: after, attempt: 1, url: 'https://hooks.example.com/a', previousSecret: '' });
    expect(d.fields.slice(0, 4)).toEqual(['type', 'succeeded', 'job_id', 'j1']);
    expect(await server.redis.hgetall(RedisKeys.webhookCursors)).toEqual({ acme: after });
  });

  it('fans out once per interval across callers; a pass that left events behind releases the lock for the next one', async () => {
    await store().add({ workspaceId: 'acme', url: 'https://hooks.example.com/a' });
    for (let i = 0; i < 5; i++) await append('acme', `j${i}`, 'created');
    expect(await fanOut({ batch: 2 })).toMatchObject({ busy: false, read: 2, created: 2, more: true });
    expect(await scripts.fanOut({ ...FAN_OUT, batch: 2 })).toMatchObject({ busy: false, read: 2, more: true });
    expect(await scripts.fanOut({ ...FAN_OUT, batch: 2 })).toMatchObject({ busy: false, read: 1, more: false });
    expect(await scripts.fanOut(FAN_OUT)).toEqual({ busy: true });
    // Each event fanned out exactly once.
    expect((await claim()).map((d) => d.jobId).sort()).toEqual(['j0', 'j1', 'j2', 'j3', 'j4']);
  });

  it("a job's deliveries wait in a chain: only the head is due; the next is due once the head is delivered or dead-lettered", async () => {
    const hook = await store().add({ workspaceId: 'acme', url: 'https://hooks.example.com/a' });
    const ids = [await append('acme', 'j1', 'created'), await append('acme', 'j2', 'created'), await append('acme', 'j1', 'started'), await append('acme', 'j1', 'succeeded')];
    await fanOut();
    expect(await server.redis.lrange(RedisKeys.webhookChain(hook.webhookId, 'j1'), 0, -1)).toEqual([0, 2, 3].map((i) => `${hook.webhookId}-${ids[i]}`));
    const first = await claim();
    expect(first.map((d) => d.eventId).sort()).toEqual([ids[0], ids[1]].sort());
    expect(await claim()).toEqual([]);
    const j1 = first.find((d) => d.jobId === 'j1')!;
    expect(await finish(j1, 'delivered', { status: 200 })).toBe('delivered');
    const second = await claim();
    expect(second.map((d) => d.eventId)).toEqual([ids[2]]);
    expect(await finish(second[0], 'refused', { error: 'webhook: refused' })).toBe('dead_lettered');
    expect((await claim()).map((d) => d.eventId)).toEqual([ids[3]]);
    expect(await server.redis.hget(RedisKeys.webhook(hook.webhookId), 'pending')).toBe('2');
  });

  it('a failure is due again after its delay, with the attempt counted; past the retry period it is dead-lettered', async () => {
    const hook = await store().add({ workspaceId: 'acme', url: 'https://hooks.example.com/a' });
    await append('acme', 'j1', 'created');
    await fanOut();
    const [d] = await claim();
    expect(await finish(d, 'failed', { delayMs: 150, error: 'webhook: the endpoint answered 503', status: 503 })).toBe('retrying');
    expect(await claim()).toEqual([]);
    const again = await expectEventually(async () => {
      const [next] = await claim();
      expect(next).toMatchObject({ deliveryId: d.deliveryId, attempt: 2 });
      return next;
    });
    // The next retry would fall past the period: dead-lettered now.
    expect(await finish(again, 'failed', { delayMs: 60_000, error: 'webhook: request failed (ECONNRESET)' }, { ...FINISH, retryPeriodMs: 1000 })).toBe('dead_lettered');
    const dead = await store().deadLetters('acme', 10);
    expect(dead).toEqual([{ delivery_id: d.deliveryId, webhook_id: hook.webhookId, event_id: d.eventId, job_id: 'j1', type: 'created', attempts: 2, dead_at: expect.any(String), error: 'webhook: request failed (ECONNRESET)', status: '' }]);
    expect((await store().recentFailures('acme', 10)).map((f) => [f.attempt, f.status])).toEqual([[2, ''], [1, '503']]);
    expect(await server.redis.exists(RedisKeys.webhookDelivery(d.deliveryId), RedisKeys.webhookChain(hook.webhookId, 'j1'))).toBe(0);
  });

  it('leases are fenced: an expired one makes the delivery due again, and the old holder\'s finish after that claim is lost', async () => {
    await store().add({ workspaceId: 'acme', url: 'https://hooks.example.com/a' });
    await append('acme', 'j1', 'created');
    await fanOut();
    const [held] = await claim(100, 50);
    const { recovered, claimed } = await expectEventually(async () => {
      const round = await scripts.claimDeliveries(100, 60_000, 'other-worker');
      expect(round.claimed).toHaveLength(1);
      return round;
    });
    expect(recovered).toBe(1);
    expect(claimed[0]).toMatchObject({ deliveryId: held.deliveryId, attempt: 2, token: 'other-worker:2' });
    expect(await finish(held, 'delivered')).toBe('lost');
    expect(await finish(claimed[0], 'delivered')).toBe('delivered');
    expect(await finish(claimed[0], 'delivered')).toBe('lost');
  });

  it('a released delivery (its worker stopped) is due again at once without using an attempt', async () => {
    await store().add({ workspaceId: 'acme', url: 'https://hooks.example.com/a' });
    await append('acme', 'j1', 'created');
    await fanOut();
    const [d] = await claim();
    expect(await finish(d, 'released')).toBe('released');
    expect(await claim()).toEqual([expect.objectContaining({ deliveryId: d.deliveryId, attempt: 1 })]);
  });

  it('an endpoint with its maximum of deliveries waiting gets further events as dead letters at once', async () => {
    const hook = await store().add({ workspaceId: 'acme', url: 'https://hooks.example.com/a' });
    const ids = [await append('acme', 'j1', 'created'), await append('acme', 'j2', 'created'), await append('acme', 'j3', 'created')];
    expect(await fanOut({ maxPending: 2 })).toEqual({ busy: false, read: 3, created: 2, more: false, deadLettered: [{ workspaceId: 'acme', count: 1 }] });
    expect(await store().deadLetters('acme', 10)).toEqual([
      expect.objectContaining({ delivery_id: `${hook.webhookId}-${ids[2]}`, job_id: 'j3', attempts: 0, error: 'not sent: the endpoint already had WEBHOOK_MAX_PENDING deliveries waiting' }),
    ]);
    expect((await store().list('acme'))[0].pending).toBe(2);
  });

  it('a removed endpoint sends nothing more: its waiting deliveries are dropped at the next claim, and its workspace leaves the fan-out', async () => {
    const hook = await store().add({ workspaceId: 'acme', url: 'https://hooks.example.com/a' });
    await append('acme', 'j1', 'created');
    await append('acme', 'j1', 'started');
    await fanOut();
    expect(await store().remove(hook.webhookId)).toBe('acme');
    expect(await claim()).toEqual([]);
    expect(await server.redis.keys('ai:webhooks:delivery:*')).toEqual([]);
    expect(await server.redis.keys('ai:webhooks:chain:*')).toEqual([]);
    expect(await server.redis.zcard(RedisKeys.webhookDue)).toBe(0);
    expect(await server.redis.exists(RedisKeys.webhookCursors)).toBe(0);
    await append('acme', 'j1', 'succeeded');
    expect(await fanOut()).toMatchObject({ read: 0, created: 0 });
    // With no endpoint anywhere a pass writes nothing, not even its lock.
    expect(await server.redis.exists(RedisKeys.webhookFanoutLock)).toBe(0);
  });

  it('dead letters are capped per workspace (the newest kept) and expire', async () => {
    await store().add({ workspaceId: 'acme', url: 'https://hooks.example.com/a' });
    for (let i = 0; i < 3; i++) await append('acme', `j${i}`, 'created');
    await fanOut();
    const claimed = await claim();
    for (const d of claimed) expect(await finish(d, 'refused', { error: `refused ${d.jobId}` }, { ...FINISH, deadLetterMax: 2 })).toBe('dead_lettered');
    const kept = await store().deadLetters('acme', 10);
    expect(kept.map((d) => d.error)).toEqual([`refused ${claimed[2].jobId}`, `refused ${claimed[1].jobId}`]);
    const ttl = await server.redis.pttl(RedisKeys.webhookDeadLetters('acme'));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await store().deadLetters('beta', 10)).toEqual([]);
  });

  it('after a rotation, claims carry the previous secret until its grace period ends', async () => {
    const hook = await store({ WEBHOOK_SECRET_GRACE_MS: '300' }).add({ workspaceId: 'acme', url: 'https://hooks.example.com/a' });
    const rotated = await store({ WEBHOOK_SECRET_GRACE_MS: '300' }).rotateSecret(hook.webhookId);
    await append('acme', 'j1', 'created');
    await fanOut();
    const [d] = await claim();
    expect([d.secret, d.previousSecret]).toEqual([rotated!.secret, hook.secret]);
    expect(await finish(d, 'released')).toBe('released');
    await expectEventually(async () => {
      const [again] = await claim();
      expect(await finish(again, 'released')).toBe('released');
      expect([again.secret, again.previousSecret]).toEqual([rotated!.secret, '']);
    }, 5000);
  });
});
