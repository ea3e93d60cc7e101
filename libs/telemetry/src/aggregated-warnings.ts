import type { Logger } from '@nestjs/common';

/**
 * Warnings that can come once per request (Redis away, the API overloaded)
 * are aggregated per reason: the first is logged at once, the rest of the
 * window are counted and logged as one line when it ends. A flood of
 * refusals then costs a few log lines, not one per request, while the
 * metric beside each warning still counts every one.
 */
export class AggregatedWarnings {
  private readonly windows = new Map<string, { suppressed: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly windowMs = 10_000,
  ) {}

  warn(reason: string, message: string): void {
    const open = this.windows.get(reason);
    if (open) {
      open.suppressed++;
      return;
    }
    this.logger.warn(message);
    const timer = setTimeout(() => {
      const ended = this.windows.get(reason);
      this.windows.delete(reason);
      if (ended && ended.suppressed > 0) this.logger.warn(`${ended.suppressed} more like this in the last ${this.windowMs / 1000} s (${reason}): ${message}`);
    }, this.windowMs);
    timer.unref();
    this.windows.set(reason, { suppressed: 0, timer });
  }
}
