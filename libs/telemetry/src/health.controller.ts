import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { Public } from '@relay/access';
import { RedisHealthIndicator } from './redis.health.js';

/**
 * /health/live answers while the process runs (no Redis call, so a Redis
 * outage never gets the process restarted); /health/ready is 503 while Redis
 * does not answer, so a balancer stops routing to it.
 */
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.redis.check()]);
  }
}
