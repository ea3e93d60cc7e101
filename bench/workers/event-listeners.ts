import { request } from 'node:http';
import { QueueEvents } from 'bullmq';

/**
 * The listeners of the notification-latency scenario, as a child process
 * (so they do not share the submitting process's event loop), the same for
 * both sides: BENCH_LISTENERS listeners of
 * - relay: `GET /ai/events?status=succeeded` on the Relay API
 *   (BENCH_API_PORT, BENCH_API_KEY), one HTTP connection each, frames
 *   read for their `id:` line only;
 * - bullmq: a `QueueEvents` of BENCH_QUEUE (BENCH_REDIS_PORT, database 0),
 *   each with its own blocking connection, listening to 'completed'.
 * For every notification it records receive time (Date.now()) minus the
 * millisecond part of the event's stream id: the Redis time at which the
 * finish script appended the event (Relay's finishJobs, BullMQ's
 * moveToFinished), one machine clock, the same definition for both sides.
 *
 * IPC: {ready: true} once every listener is connected; {cmd: 'count'} →
 * {count: fewest notifications any listener has had}; {cmd: 'report',
 * expected, lostMs} → {report: percentiles over every (listener, job)
 * sample, a notification never received counted as lostMs}.
 */
const side = process.env.BENCH_SIDE;
const listeners = Number(process.env.BENCH_LISTENERS ?? 100);
const samples: number[] = [];
const counts = new Array<number>(listeners).fill(0);

const record = (listener: number, id: string, now: number) => {
  counts[listener]++;
  samples.push(now - Number(id.slice(0, id.indexOf('-'))));
};

/** One SSE connection; resolves once the 200 and its headers are in. */
function relayListener(i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: Number(process.env.BENCH_API_PORT),
        path: '/ai/events?status=succeeded',
        headers: { Authorization: `Bearer ${process.env.BENCH_API_KEY}`, Accept: 'text/event-stream' },
        agent: false,
      },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`GET /ai/events answered ${res.statusCode}`));
        res.setEncoding('utf8');
        let pending = '';
        res.on('data', (chunk: string) => {
          const now = Date.now();
          pending += chunk;
          const end = pending.lastIndexOf('\n');
          if (end < 0) return;
          for (const line of pending.slice(0, end).split('\n')) if (line.startsWith('id: ')) record(i, line.slice(4), now);
          pending = pending.slice(end + 1);
        });
        res.on('error', () => undefined);
        resolve();
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const queueEvents: QueueEvents[] = [];
async function bullmqListener(i: number): Promise<void> {
  const events = new QueueEvents(process.env.BENCH_QUEUE ?? 'bench', { connection: { host: '127.0.0.1', port: Number(process.env.BENCH_REDIS_PORT), db: 0 } });
  events.on('completed', (_args, id) => record(i, id, Date.now()));
  events.on('error', () => undefined);
  await events.waitUntilReady();
  queueEvents.push(events);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

await Promise.all(Array.from({ length: listeners }, (_, i) => (side === 'relay' ? relayListener(i) : bullmqListener(i))));
// A QueueEvents reads from '$' once its first XREAD runs: give the blocking reads a moment to be in place.
if (side !== 'relay') await new Promise((r) => setTimeout(r, 500));
process.send?.({ ready: true });

process.on('message', (message: { cmd?: string; expected?: number; lostMs?: number }) => {
  if (message.cmd === 'count') process.send?.({ count: Math.min(...counts) });
  if (message.cmd === 'report') {
    // A notification a listener never got counts as `lostMs` (how long the run waited for it, at least).
    const lost = counts.reduce((sum, n) => sum + Math.max(0, (message.expected ?? n) - n), 0);
    for (let i = 0; i < lost; i++) samples.push(message.lostMs ?? Infinity);
    const sorted = Float64Array.from(samples).sort();
    const list = Array.from(sorted);
    process.send?.({
      report: {
        samples: list.length,
        p50: percentile(list, 50),
        p90: percentile(list, 90),
        p99: percentile(list, 99),
        max: list.at(-1) ?? NaN,
        mean: list.reduce((a, b) => a + b, 0) / Math.max(1, list.length),
        lost,
        perListener: { min: Math.min(...counts), max: Math.max(...counts) },
      },
    });
  }
});

const close = async () => {
  await Promise.all(queueEvents.map((e) => e.close().catch(() => undefined)));
  process.exit(0);
};
process.once('SIGTERM', () => void close());
process.once('SIGINT', () => void close());
