import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { RelayMetrics } from './relay-metrics.js';

/**
 * Counts and times every HTTP request (an event stream is counted, not
 * timed). The route label is the matched route pattern (`/ai/jobs/:id`),
 * never the raw URL, so job ids stay out of labels.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: RelayMetrics) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const stop = this.metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      const labels = { method: req.method, route, status_code: String(res.statusCode) };
      this.metrics.httpRequests.inc(labels);
      // An event stream (SSE) lasts as long as its client follows it: timing it would drown every latency quantile.
      if (!String(res.getHeader('content-type') ?? '').startsWith('text/event-stream')) stop(labels);
    });
    next();
  }
}
