/**
 * Steady submits to a running API from `concurrency` loops, each one request
 * at a time, recording every answer (status, job id, times). A loop that gets
 * anything but 202 pauses briefly, so an outage is not a busy loop. Bounded
 * in count; stop() waits for the requests in flight.
 */
export interface Submission {
  status: number; // 0: no HTTP answer (connection refused, timeout)
  jobId?: string;
  message?: string;
  sentAt: number;
  answeredAt: number;
}

const PAUSE_AFTER_FAILURE_MS = 50;
const REQUEST_TIMEOUT_MS = 10_000;

export class SubmitTraffic {
  readonly submissions: Submission[] = [];
  private stopping = false;
  private loops: Promise<void>[] = [];
  private sent = 0;

  constructor(
    private readonly apiPort: number,
    private readonly apiKey: string,
    private readonly options: { concurrency: number; maxSubmissions: number; run: string },
  ) {}

  start(): void {
    this.loops = Array.from({ length: this.options.concurrency }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /** Submissions answered 202, optionally only those sent at or after `since`. */
  accepted(since = 0): Submission[] {
    return this.submissions.filter((s) => s.status === 202 && s.sentAt >= since);
  }

  private async loop(): Promise<void> {
    while (!this.stopping && this.sent < this.options.maxSubmissions) {
      const seq = this.sent++;
      const submission = await this.submit(seq);
      this.submissions.push(submission);
      if (submission.status !== 202) await new Promise((r) => setTimeout(r, PAUSE_AFTER_FAILURE_MS));
    }
  }

  private async submit(seq: number): Promise<Submission> {
    const sentAt = Date.now();
    try {
      const res = await fetch(`http://127.0.0.1:${this.apiPort}/ai/jobs`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.apiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ action: 'debug.echo', params: { seq }, client_request_id: `${this.options.run}-${seq}` }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = (await res.json().catch(() => ({}))) as { job_id?: string; message?: string };
      return { status: res.status, jobId: body.job_id, message: body.message, sentAt, answeredAt: Date.now() };
    } catch {
      return { status: 0, sentAt, answeredAt: Date.now() };
    }
  }
}
