import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { RelayConfig } from '@relay/config';
import { mayEvict, readRedisMemory, Redis, refusesWrites } from '@relay/redis';
import { RelayMetrics } from './relay-metrics.js';

/** What one probe of Redis found; `problem` is set when the process cannot serve. */
interface Probe {
  problem?: string;
}

/**
 * Terminus indicator, shared by API and worker readiness: Redis answers
 * (`INFO memory`, one read), accepts writes (used memory below maxmemory;
 * under noeviction a full Redis refuses them), and cannot evict jobs unless
 * the operator allowed it (REDIS_ALLOW_EVICTION). Each probe also sets the
 * gauges relay_redis_refusing_writes and relay_redis_may_evict.
 * Balancers and orchestrators call readiness often, from many places, so
 * Redis is probed at most once per HEALTH_READY_PROBE_INTERVAL_MS (readiness
 * and /metrics share the probe): callers in between get the last answer,
 * and callers during a probe wait for that probe. A connection that is not
 * up is reported at once, without a probe.
 */
@Injectable()
export class RedisHealthIndicator {
  private lastProbe?: { startedAt: number; result: Promise<Probe> };

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    private readonly indicators: HealthIndicatorService,
    private readonly config: RelayConfig,
    private readonly metrics: RelayMetrics,
  ) {
    metrics.onScrape(() => this.probe());
  }

  async check(key = 'redis') {
    const indicator = this.indicators.check(key);
    const { problem } = await this.probe();
    return problem === undefined ? indicator.up() : indicator.down({ message: problem });
  }

  /** The cached probe (at most one per interval); also what keeps the Redis gauges current. */
  probe(): Promise<Probe> {
    if (this.redis.status !== 'ready') return Promise.resolve({ problem: 'Redis did not answer' });
    const now = Date.now();
    if (this.lastProbe === undefined || now - this.lastProbe.startedAt >= this.config.HEALTH_READY_PROBE_INTERVAL_MS) {
      this.lastProbe = { startedAt: now, result: this.inspect() };
    }
    return this.lastProbe.result;
  }

  private async inspect(): Promise<Probe> {
    let memory;
    try {
      memory = await readRedisMemory(this.redis);
    } catch {
      return { problem: 'Redis did not answer' };
    }
    const full = refusesWrites(memory);
    const evicting = memory.policy !== '' && mayEvict(memory);
    this.metrics.redisRefusingWrites.set(full ? 1 : 0);
    this.metrics.redisMayEvict.set(evicting ? 1 : 0);
    if (full) return { problem: `Redis refuses writes: used memory (${memory.usedBytes} B) has reached maxmemory (${memory.maxBytes} B)` };
    if (evicting && this.config.REDIS_ALLOW_EVICTION !== 'on') {
      return { problem: `Redis maxmemory-policy is ${memory.policy}: it may evict jobs (set noeviction, or REDIS_ALLOW_EVICTION=on)` };
    }
    return {};
  }
}
