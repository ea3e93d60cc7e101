import { Controller, Get, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { Response } from 'express';
import { Public } from '@relay/access';

/**
 * The Prometheus exposition, public like health: operators bind the port to
 * a private network or put it behind their proxy (README "Metrics").
 */
@Controller()
@Public()
export class MetricsController extends PrometheusController {
  @Get()
  override index(@Res({ passthrough: true }) response: Response) {
    return super.index(response);
  }
}
