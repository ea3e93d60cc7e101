import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { RelayConfig } from '@relay/config';
import { Redis } from '@relay/redis';

/**
 * Terminus indicator: Redis answers PING. Shared by API and worker
 * readiness. Balancers and orchestrators call readiness often, from many
 * places, so Redis is probed at most once per
 * HEALTH_READY_PROBE_INTERVAL_MS: callers in between get the last answer,
 * and callers during a probe wait for that probe. A connection that is not
 * up is reported at once, without a probe.
 */
@Injectable()
export class RedisHealthIndicator {
  private lastProbe?: { startedAt: number; answered: Promise<boolean> };

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    private readonly indicators: HealthIndicatorService,
    private readonly config: RelayConfig,
  ) {}

  async check(key = 'redis') {
    const indicator = this.indicators.check(key);
    return (await this.redisAnswers()) ? indicator.up() : indicator.down({ message: 'Redis did not answer' });
  }

  private redisAnswers(): Promise<boolean> {
    if (this.redis.status !== 'ready') return Promise.resolve(false);
    const now = Date.now();
    if (this.lastProbe === undefined || now - this.lastProbe.startedAt >= this.config.HEALTH_READY_PROBE_INTERVAL_MS) {
      this.lastProbe = {
        startedAt: now,
        answered: this.redis.ping().then(
          () => true,
          () => false,
        ),
      };
    }
    return this.lastProbe.answered;
  }
}
