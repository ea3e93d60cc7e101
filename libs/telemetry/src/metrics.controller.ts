import { Controller, Get, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { Response } from 'express';
import { Public } from '@relay/access';
import { RelayMetrics } from './relay-metrics.js';

/**
 * The Prometheus exposition, public like health: operators bind the port to
 * a private network or put it behind their proxy (README "Metrics"). A scrape
 * first runs what registered to refresh gauges (the Redis gauges, through
 * readiness's cached probe: at most one Redis read per
 * HEALTH_READY_PROBE_INTERVAL_MS, shared with readiness).
 */
@Controller()
@Public()
export class MetricsController extends PrometheusController {
  constructor(private readonly metrics: RelayMetrics) {
    super();
  }

  @Get()
  override async index(@Res({ passthrough: true }) response: Response) {
    await this.metrics.refreshBeforeScrape();
    return super.index(response);
  }
}
