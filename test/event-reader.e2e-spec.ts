import { loadConfig } from '@relay/config';
import { EventHub, EventLog, QueueScripts, type EventSink, type RelayEvent, type StreamReset } from '@relay/queue';
import { createRedisClient, redisClientOptions, type Redis } from '@relay/redis';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * The event readers (libs/queue/src/events) on a real Redis, before any
 * script writes events: entries shaped as the contract says are XADDed by
 * hand. EventLog's positions, resumes and trimming verdicts; EventHub's
 * fan-out from one blocking connection, catch-up of a subscriber that
 * starts behind, resets, and its end at shutdown. The SSE routes over
 * real jobs and a real worker are in event-streams.e2e-spec.ts.
 */

/** One contract-shaped entry; returns its id. */
async function append(redis: Redis, ws: string, jobId: string, type = 'created', status = 'pending'): Promise<string> {
  return (await redis.xadd(`ai:events:${ws}`, '*', 'type', type, 'job_id', jobId, 'action', 'debug.echo', 'status', status, 'attempt', '0', 'at', new Date().toISOString()))!;
}

/** A sink that records what it is told. */
function recorder() {
  const events: RelayEvent[] = [];
  const resets: StreamReset[] = [];
  const ended: string[] = [];
  const sink: EventSink = { events: (e) => events.push(...e), reset: (r) => resets.push(r), ended: (why) => ended.push(why) };
  return { sink, events, resets, ended, ids: () => events.map((e) => e.id) };
}

describe('event readers (EventLog, EventHub) on a real Redis', () => {
  let server: FileRedis;
  let redis: Redis;
  let log: EventLog;
  let hub: EventHub;

  beforeAll(async () => {
    server = await fileRedis();
    const config = loadConfig({ REDIS_URL: server.url });
    redis = createRedisClient(redisClientOptions(config, 'relay-test'));
    await expectEventually(() => expect(redis.status).toBe('ready'));
    log = new EventLog(new QueueScripts(redis), redis);
    hub = new EventHub(log, redis, config);
  });
  afterAll(async () => {
    await hub?.beforeApplicationShutdown();
    redis?.disconnect();
    await server?.stop();
  });

  it('says where "now" is, and resumes after an id, or resets when events after it were trimmed or the id is unknown', async () => {
    expect(await log.now('fresh')).toBe('0-0');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await append(server.redis, 'trim', `j-${i}`));
    expect(await log.now('trim')).toBe(ids[5]);
    expect(await log.resume('trim', ids[1])).toEqual({ after: ids[1] });

    await server.redis.xtrim('ai:events:trim', 'MAXLEN', 3);
    // An id no later than the one before the oldest kept may have missed events in between (the stream cannot tell).
    const reset = await log.resume('trim', ids[1]);
    expect(reset.reset).toEqual({ reason: 'trimmed', lastEventId: ids[1], resumesAfter: reset.after });
    // Resuming where the reset says comes back with no second reset, and reads the oldest kept first.
    expect(await log.resume('trim', reset.after)).toEqual({ after: reset.after });
    expect((await log.read('trim', reset.after, 10)).events.map((e) => e.id)).toEqual(ids.slice(3));

    const [ms] = ids[5].split('-');
    expect((await log.resume('trim', `${Number(ms) + 1000}-0`)).reset?.reason).toBe('unknown_id');
    // A stream trimmed to nothing: whatever came after an id is gone; it goes on from its end.
    await server.redis.xtrim('ai:events:trim', 'MAXLEN', 0);
    expect(await log.resume('trim', ids[4])).toEqual({ after: ids[5], reset: { reason: 'trimmed', lastEventId: ids[4], resumesAfter: ids[5] } });
  });

  it('reads in batches, skipping an entry without the fixed fields, and finds a finished job\'s final event', async () => {
    const first = await append(server.redis, 'batch', 'a');
    await server.redis.xadd('ai:events:batch', '*', 'type', 'created');
    await append(server.redis, 'batch', 'a', 'started', 'running');
    const final = await append(server.redis, 'batch', 'a', 'succeeded', 'succeeded');
    const batch = await log.read('batch', '0-0', 2);
    expect({ ids: batch.events.map((e) => e.id), full: batch.full }).toEqual({ ids: [first], full: true });
    const rest = await log.read('batch', batch.position, 10);
    expect(rest.events.map((e) => e.type)).toEqual(['started', 'succeeded']);
    expect((await log.findFinal('batch', 'a', Number(final.split('-')[0])))?.id).toBe(final);
    expect(await log.findFinal('batch', 'other', Number(final.split('-')[0]))).toBeUndefined();
  });

  it('fans one workspace out to 100 subscribers from one blocking connection: every event, in order, once', async () => {
    const start = await log.now('many');
    const subscribers = Array.from({ length: 100 }, () => recorder());
    const subscriptions = subscribers.map((r) => hub.subscribe('many', start, r.sink));
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(await append(server.redis, 'many', `j-${i}`));
    await expectEventually(() => {
      for (const r of subscribers) expect(r.ids()).toEqual(ids);
    }, 10_000);
    const clients = (await server.redis.client('LIST')) as string;
    expect(clients.split('\n').filter((line) => / name=relay-events /.test(line))).toHaveLength(1);
    for (const s of subscriptions) s.unsubscribe();
    expect(hub.subscribers).toBe(0);
  });

  it('brings a subscriber that starts behind up to date while events keep coming, then hands on live ones, none twice', async () => {
    const early: string[] = [];
    for (let i = 0; i < 1200; i++) early.push(await append(server.redis, 'behind', `e-${i}`));
    const live = recorder();
    const liveSubscription = hub.subscribe('behind', early[early.length - 1], live.sink);
    const behind = recorder();
    const behindSubscription = hub.subscribe('behind', early[9], behind.sink);
    const late: string[] = [];
    for (let i = 0; i < 200; i++) late.push(await append(server.redis, 'behind', `l-${i}`));
    await expectEventually(() => {
      expect(behind.ids()).toEqual([...early.slice(10), ...late]);
      expect(live.ids()).toEqual(late);
    }, 10_000);
    liveSubscription.unsubscribe();
    behindSubscription.unsubscribe();
  });

  it('tells a subscriber whose position was trimmed away (reset), then hands on the events from the oldest kept', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await append(server.redis, 'reset', `j-${i}`));
    await server.redis.xtrim('ai:events:reset', 'MAXLEN', 4);
    const r = recorder();
    const subscription = hub.subscribe('reset', ids[2], r.sink);
    const next = await append(server.redis, 'reset', 'after');
    await expectEventually(() => expect(r.ids()).toEqual([...ids.slice(6), next]));
    expect(r.resets).toEqual([{ reason: 'trimmed', lastEventId: ids[2], resumesAfter: expect.any(String) }]);
    subscription.unsubscribe();
  });

  it('adds a workspace to the wait under way without waiting for its bound, and keeps workspaces apart', async () => {
    const a = recorder();
    const subA = hub.subscribe('ws-a', await log.now('ws-a'), a.sink);
    // Let the hub block on ws-a alone, then follow ws-b.
    await expectEventually(async () => expect(((await server.redis.client('LIST')) as string)).toMatch(/name=relay-events .*cmd=xread/));
    const b = recorder();
    const subB = hub.subscribe('ws-b', await log.now('ws-b'), b.sink);
    const idB = await append(server.redis, 'ws-b', 'b-1');
    const idA = await append(server.redis, 'ws-a', 'a-1');
    await expectEventually(() => expect({ a: a.ids(), b: b.ids() }).toEqual({ a: [idA], b: [idB] }));
    // The wait that left ws-b out was interrupted, not waited out.
    expect(await server.redis.info('commandstats')).toMatch(/cmdstat_client\|unblock:calls=[1-9]/);
    subA.unsubscribe();
    subB.unsubscribe();
  });

  it('ends every subscription at shutdown, and one made after it at once', async () => {
    const own = new EventHub(log, redis, loadConfig({ REDIS_URL: server.url }));
    const r = recorder();
    own.subscribe('closing', '0-0', r.sink);
    await own.beforeApplicationShutdown();
    expect(r.ended).toEqual(['shutdown']);
    const late = recorder();
    own.subscribe('closing', '0-0', late.sink);
    await expectEventually(() => expect(late.ended).toEqual(['shutdown']));
  });
});
