import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { Redis, RedisKeys } from '@relay/redis';
import { AggregatedWarnings } from '@relay/telemetry';

/** How long a stream's place is held without renewal: a replica that dies frees its streams' places within this. */
export const STREAM_LEASE_MS = 30_000;
/** Leases are renewed this often (a third of their length, so one missed renewal loses nothing). */
const RENEW_EVERY_MS = STREAM_LEASE_MS / 3;

/**
 * KEYS[1] openEventStreams(keyId). ARGV[1] stream id, ARGV[2] cap, ARGV[3] lease (ms).
 * Drops expired leases, then takes a place when fewer than the cap are held.
 * Reply: {1, held} or {0, held}. Redis TIME, so replica clocks do not matter.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[2]) then return {0, held} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, held + 1}
`;

/** KEYS[1] openEventStreams(keyId). ARGV[1] lease (ms), ARGV[2..] stream ids still open: their leases start over. */
const RENEW = `
local t = redis.call('TIME')
local deadline = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', deadline, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

type Acquire = (key: string, id: string, cap: number, leaseMs: number) => Promise<[number, number]>;
type Renew = (key: string, leaseMs: number, ...ids: string[]) => Promise<number>;

/** A place among an API key's open streams; release it when the stream ends. */
export interface StreamLease {
  release(): void;
}

/**
 * SSE_MAX_STREAMS_PER_KEY across every API replica: each open stream holds
 * a lease in the key's sorted set (`ai:sse:streams:{key id}`), taken
 * atomically below the cap, renewed by its replica every RENEW_EVERY_MS and
 * removed when the stream ends. A replica that dies without removing them
 * frees them when they expire (STREAM_LEASE_MS); the set itself expires
 * with its last lease.
 */
@Injectable()
export class StreamLeases implements OnModuleDestroy {
  private readonly warnings = new AggregatedWarnings(new Logger('StreamLeases'));
  /** Stream ids of this replica, per API key id. */
  private readonly held = new Map<string, Set<string>>();
  private readonly replica = randomBytes(6).toString('hex');
  private counter = 0;
  private timer?: NodeJS.Timeout;
  private readonly acquireCall: Acquire;
  private readonly renewCall: Renew;

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    private readonly config: RelayConfig,
  ) {
    if (!('relay_acquireStreamLease' in redis)) redis.defineCommand('relay_acquireStreamLease', { numberOfKeys: 1, lua: ACQUIRE });
    if (!('relay_renewStreamLeases' in redis)) redis.defineCommand('relay_renewStreamLeases', { numberOfKeys: 1, lua: RENEW });
    const commands = redis as unknown as { relay_acquireStreamLease: Acquire; relay_renewStreamLeases: Renew };
    this.acquireCall = commands.relay_acquireStreamLease.bind(redis);
    this.renewCall = commands.relay_renewStreamLeases.bind(redis);
  }

  /** A place for one more stream of this API key, or undefined at SSE_MAX_STREAMS_PER_KEY. */
  async acquire(keyId: string): Promise<StreamLease | undefined> {
    const id = `${this.replica}:${++this.counter}`;
    const [granted] = await this.acquireCall(RedisKeys.openEventStreams(keyId), id, this.config.SSE_MAX_STREAMS_PER_KEY, STREAM_LEASE_MS);
    if (granted !== 1) return undefined;
    let ids = this.held.get(keyId);
    if (!ids) this.held.set(keyId, (ids = new Set()));
    ids.add(id);
    this.timer ??= setInterval(() => void this.renewAll(), RENEW_EVERY_MS).unref();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        ids.delete(id);
        if (ids.size === 0 && this.held.get(keyId) === ids) this.held.delete(keyId);
        // If Redis does not take it now, the lease expires on its own.
        this.redis.zrem(RedisKeys.openEventStreams(keyId), id).catch(() => undefined);
      },
    };
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async renewAll(): Promise<void> {
    for (const [keyId, ids] of [...this.held]) {
      if (ids.size === 0) continue;
      try {
        await this.renewCall(RedisKeys.openEventStreams(keyId), STREAM_LEASE_MS, ...ids);
      } catch (error) {
        this.warnings.warn('renew_failed', `renewing open-stream leases failed: ${(error as Error).message}`);
      }
    }
  }
}
