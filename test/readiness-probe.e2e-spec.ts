import { Redis } from 'ioredis';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { clientCommands } from './support/client-commands.js';
import { expectEventually } from './support/expect-eventually.js';
import { PrivateRedis } from './support/redis-server.js';

/**
 * Issue 12, point 8 (second half): /health/ready is served from a cached
 * Redis probe, at most one INFO per HEALTH_READY_PROBE_INTERVAL_MS however
 * often it is asked, yet it still turns 503 when the connection drops (at
 * once) or Redis stops answering (within an interval and a command
 * timeout). On a private redis-server, paused and stopped here.
 */

const SHORT_INTERVAL_MS = 300;

describe('readiness from a cached Redis probe', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let slow: ApiHarness; // a long interval: one probe for the whole file
  let fast: ApiHarness; // a short interval
  const ready = async (api: ApiHarness) => (await api.http.get('/health/ready')).status;
  // A probe is one INFO (memory) read: whether Redis answers, accepts writes, and cannot evict.
  const pings = (commands: string[]) => commands.filter((command) => command === 'info').length;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    slow = await startApi(server.url, { HEALTH_READY_PROBE_INTERVAL_MS: '60000' });
    fast = await startApi(server.url, { HEALTH_READY_PROBE_INTERVAL_MS: String(SHORT_INTERVAL_MS) });
  });
  afterAll(async () => {
    await Promise.all([slow?.close(), fast?.close()]);
    redis?.disconnect();
    await server?.stop();
  });

  it('probes Redis once for any number of readiness calls within the interval, concurrent ones included', async () => {
    const commands = await clientCommands(redis, async () => {
      expect(await Promise.all(Array.from({ length: 20 }, () => ready(slow)))).toEqual(Array(20).fill(200));
      for (let i = 0; i < 20; i++) expect(await ready(slow)).toBe(200);
    });
    expect(pings(commands)).toBe(1);
  });

  it('probes again once the interval has passed, never more often than once per interval', async () => {
    let elapsed = 0;
    const commands = await clientCommands(redis, async () => {
      const started = Date.now();
      while (Date.now() - started < SHORT_INTERVAL_MS * 5) expect(await ready(fast)).toBe(200);
      elapsed = Date.now() - started;
    });
    expect(pings(commands)).toBeGreaterThanOrEqual(2);
    expect(pings(commands)).toBeLessThanOrEqual(Math.floor(elapsed / SHORT_INTERVAL_MS) + 1);
  });

  it('turns 503 when Redis stops answering (connected, paused) and 200 when it answers again', async () => {
    const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
    process.kill(pid, 'SIGSTOP');
    try {
      // Within an interval plus the command timeout (1 s) of the probe that notices.
      await expectEventually(async () => expect(await ready(fast)).toBe(503), 5000, 50);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await expectEventually(async () => expect(await ready(fast)).toBe(200), 10000, 50);
  });

  it('turns 503 as soon as the connection is down, without waiting for the interval, and 200 once it is back', async () => {
    expect(await ready(slow)).toBe(200);
    await server.stop();
    try {
      // Its last probe answered and is good for 60 s: only the connection's state can say 503 this soon.
      await expectEventually(async () => expect(await ready(slow)).toBe(503), 5000, 50);
    } finally {
      await server.start();
    }
    await expectEventually(async () => expect(await ready(slow)).toBe(200), 10000, 50);
  });
});
