import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Redis } from '@relay/redis';

/** Terminus indicator: Redis answers PING within the command timeout. Shared by API and worker readiness. */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(key = 'redis') {
    const indicator = this.indicators.check(key);
    try {
      await this.redis.ping();
      return indicator.up();
    } catch {
      return indicator.down({ message: 'Redis did not answer' });
    }
  }
}
