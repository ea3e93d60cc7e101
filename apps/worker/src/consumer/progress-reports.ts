import { Injectable } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { WorkQueue, type ClaimedJob } from '@relay/queue';
import { RelayMetrics } from '@relay/telemetry';
import type { Counter } from 'prom-client';
import { ProgressThrottle, type ProgressReportFate } from './progress-throttle.js';

/**
 * Where an attempt's progress reports go: a ProgressThrottle per attempt
 * (made when its action first reports), writing through reportProgress.lua
 * at most once per PROGRESS_MIN_INTERVAL_MS, and counting what became of
 * each report in relay_job_progress_reports_total{result}.
 */
@Injectable()
export class ProgressReports {
  private readonly fates: Record<ProgressReportFate, Counter.Internal>;

  constructor(
    private readonly config: RelayConfig,
    private readonly queue: WorkQueue,
    metrics: RelayMetrics,
  ) {
    const child = (result: ProgressReportFate) => metrics.progressReports.labels({ result });
    this.fates = { written: child('written'), superseded: child('superseded'), lost: child('lost'), failed: child('failed') };
  }

  forAttempt(job: ClaimedJob): ProgressThrottle {
    return new ProgressThrottle(
      (progress, message) => this.queue.reportProgress(job, progress, message),
      this.config.PROGRESS_MIN_INTERVAL_MS,
      (fate) => this.fates[fate].inc(),
    );
  }
}
