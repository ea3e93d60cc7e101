import type { Logger } from '@nestjs/common';
import type { AttemptOutcome, ClaimedJob, FinishItem, FinishResult } from '@relay/queue';
import type { RelayMetrics } from '@relay/telemetry';
import type { AttemptLog } from './attempt-log.js';
import type { ConsumerMetrics } from './consumer-metrics.js';
import { OutcomeRecorder } from './outcome-recorder.js';
import { startingJob, type RunningJob } from './running-jobs.js';

// The retry loop alone, against a finish call whose replies the test scripts (the real one runs
// on Redis under the worker e2e tests).
const job: ClaimedJob = { entry: 'acme:j1', token: 't', workspaceId: 'acme', jobId: 'j1', attempts: 1, action: 'debug.echo', params: {}, actorId: 'a', createdAt: '', startedAt: 'x', runAt: '', deferrals: 0 };
const succeeded: AttemptOutcome = { outcome: 'succeeded', result: 1 };
const redisAway = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

function harness(replies: (FinishResult | Error)[], options: { stopping?: boolean; leaseMs?: number } = {}) {
  const sent: FinishItem[] = [];
  const seen = { logged: [] as string[], counted: [] as string[], ended: [] as (string | undefined)[] };
  const counter = (name: string) => ({ inc: ({ reason }: { reason: string }) => seen.counted.push(`${name}:${reason}`) });
  const recorder = new OutcomeRecorder({
    submit: async (item) => {
      sent.push(item);
      const reply = replies.shift();
      if (reply === undefined) throw new Error('no reply scripted');
      if (reply instanceof Error) throw reply;
      return reply;
    },
    leaseMs: options.leaseMs ?? 10_000,
    stopping: () => options.stopping ?? false,
    metrics: { leaseLosses: counter('lease'), statusUpdateFailures: counter('status') } as unknown as RelayMetrics,
    counts: { countOutcome: (_: ClaimedJob, o: AttemptOutcome) => seen.counted.push(`outcome:${o.outcome}`) } as unknown as ConsumerMetrics,
    attemptLog: { ended: (_: ClaimedJob, recorded: string | undefined) => seen.ended.push(recorded) } as unknown as AttemptLog,
    logger: { warn: (m: string) => seen.logged.push(m), error: (m: string) => seen.logged.push(m) } as unknown as Logger,
  });
  return { recorder, sent, seen };
}

const running = (fields: Partial<RunningJob> = {}): RunningJob => Object.assign(startingJob(job, 0), fields);

describe('OutcomeRecorder', () => {
  it('writes the outcome once, counts and logs what was recorded', async () => {
    const { recorder, sent, seen } = harness(['done']);
    const attempt = running();
    await recorder.record(attempt, succeeded);
    expect(sent).toEqual([{ job, outcome: succeeded, repeat: false, unconfirmedStart: false }]);
    expect(attempt.finishing).toBe(true);
    expect(seen).toEqual({ logged: [], counted: ['outcome:succeeded'], ended: ['succeeded'] });
  });

  it('retries while Redis is away, each later try marked repeat, until it is written', async () => {
    const { recorder, sent, seen } = harness([redisAway(), redisAway(), 'done']);
    await recorder.record(running({ startUnconfirmed: true }), succeeded);
    expect(sent.map((item) => [item.repeat, item.unconfirmedStart])).toEqual([
      [false, true],
      [true, true],
      [true, true],
    ]);
    expect(seen.ended).toEqual(['succeeded']);
  });

  it('gives up at once on an error that is not Redis being away, and past one lease on one that is', async () => {
    const broken = harness([new Error('ERR bad script')]);
    await broken.recorder.record(running(), succeeded);
    expect(broken.sent).toHaveLength(1);
    expect(broken.seen.counted).toEqual(['status:error']);
    expect(broken.seen.ended).toEqual([undefined]);
    expect(broken.seen.logged).toEqual(['job j1: outcome not recorded (ERR bad script); it will be delivered again']);
    const away = harness([redisAway(), 'done'], { leaseMs: -1 });
    await away.recorder.record(running(), succeeded);
    expect(away.sent).toHaveLength(1);
    expect(away.seen.counted).toEqual(['status:redis_unavailable']);
    expect(away.seen.ended).toEqual([undefined]);
  });

  it('a lost lease counts lost_on_finish and records nothing; a cancel is recorded as cancelled', async () => {
    const lost = harness(['lost']);
    await lost.recorder.record(running(), succeeded);
    expect(lost.seen).toEqual({ logged: ['job j1: lease lost before the outcome was written; another worker has it'], counted: ['lease:lost_on_finish'], ended: [undefined] });
    const cancelled = harness(['cancelled']);
    await cancelled.recorder.record(running(), { outcome: 'retry', error: 'x', delayMs: 5 });
    expect(cancelled.seen).toEqual({ logged: [], counted: ['outcome:cancelled'], ended: ['cancelled'] });
  });

  it('drops the outcome of a job cancelled before its start was recorded', async () => {
    const { recorder, seen } = harness(['cancelled']);
    await recorder.record(running({ startUnconfirmed: true }), succeeded);
    expect(seen).toEqual({ logged: ['job j1: cancelled before its start was recorded; outcome dropped'], counted: [], ended: [undefined] });
  });

  it('writes nothing for an attempt whose lease was lost, that was cancelled before it started, or that the shutdown stopped', async () => {
    const stopped = running();
    stopped.control.stop(new Error('worker shutting down'));
    const cancelledDuringShutdown = running();
    cancelledDuringShutdown.control.cancel();
    for (const [attempt, stopping] of [
      [running({ lostLease: true }), false],
      [running({ cancelledBeforeStart: true }), false],
      [stopped, true],
    ] as const) {
      const { recorder, sent, seen } = harness(['done'], { stopping });
      await recorder.record(attempt, succeeded);
      expect(sent).toEqual([]);
      expect(seen.ended).toEqual([undefined]);
      expect(attempt.finishing).toBe(false);
    }
    // Stopped for its cancel, even while shutting down: recorded.
    const { recorder, sent } = harness(['done'], { stopping: true });
    await recorder.record(cancelledDuringShutdown, { outcome: 'cancelled' });
    expect(sent).toHaveLength(1);
  });
});
