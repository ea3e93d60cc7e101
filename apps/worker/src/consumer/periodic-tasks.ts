/**
 * The consumer's timers (lease renewal, recovery, depth reports): each task
 * runs every `ms`, never overlapping itself (a tick while it runs is
 * skipped), and no more once the worker is stopping unless it must run on
 * through the shutdown. The timers never keep the process alive.
 */
export class PeriodicTasks {
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly stopping: () => boolean) {}

  every(ms: number, task: () => Promise<void>, duringShutdown = false): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || (this.stopping() && !duringShutdown)) return;
      busy = true;
      void task().finally(() => (busy = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  clear(): void {
    for (const timer of this.timers) clearInterval(timer);
  }
}
