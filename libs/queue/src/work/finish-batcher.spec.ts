import type { ClaimedJob, FinishItem, FinishResult } from '../scripts/script-types.js';
import { FinishBatcher, finishBatchSize } from './finish-batcher.js';

// The batching logic alone, against a call whose replies the test releases
// (finishJobs itself runs on a real Redis under every worker e2e test).
const job = (id: string): ClaimedJob => ({ entry: `acme:${id}`, token: 't', workspaceId: 'acme', jobId: id, attempts: 1, action: 'debug.echo', params: {}, actorId: 'a', createdAt: '', startedAt: '', runAt: '', deferrals: 0 });
const ids = (items: FinishItem[]) => items.map((item) => item.job.jobId);
const tick = () => new Promise((r) => setImmediate(r));

function harness(maxPerCall: number, maxInFlight?: number) {
  const calls: { items: FinishItem[]; answer: (reply: FinishResult[] | Error) => void }[] = [];
  const batcher = new FinishBatcher(
    (items) => new Promise((resolve, reject) => calls.push({ items, answer: (reply) => (reply instanceof Error ? reject(reply) : resolve(reply)) })),
    maxPerCall,
    maxInFlight,
  );
  return { batcher, calls };
}

describe('FinishBatcher', () => {
  it('sends the outcomes recorded in one tick as one call, in order, and answers each with its own result', async () => {
    const { batcher, calls } = harness(10);
    const pending = ['a', 'b', 'c'].map((id) => batcher.submit({ job: job(id), outcome: { outcome: 'succeeded', result: id } }));
    expect(calls).toHaveLength(0); // gathered until the tick's microtasks run
    await tick();
    expect(calls.map((c) => ids(c.items))).toEqual([['a', 'b', 'c']]);
    expect(calls[0].items.map((i) => i.outcome)).toEqual(['a', 'b', 'c'].map((result) => ({ outcome: 'succeeded', result })));
    calls[0].answer(['done', 'lost', 'gone']);
    expect(await Promise.all(pending)).toEqual(['done', 'lost', 'gone']);
  });

  it('puts at most maxPerCall outcomes in a call; the rest go in the next call, a macrotask later', async () => {
    const { batcher, calls } = harness(2);
    const pending = ['a', 'b', 'c', 'd', 'e'].map((id) => batcher.submit({ job: job(id), outcome: { outcome: 'failed', error: 'x' } }));
    await new Promise((r) => queueMicrotask(() => r(undefined)));
    expect(calls.map((c) => ids(c.items))).toEqual([['a', 'b']]);
    await tick();
    await tick();
    expect(calls.map((c) => ids(c.items))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    for (const call of calls) call.answer(call.items.map(() => 'done'));
    expect(await Promise.all(pending)).toEqual(['done', 'done', 'done', 'done', 'done']);
  });

  it('a failed call rejects each outcome of it, and only those', async () => {
    const { batcher, calls } = harness(2);
    const first = ['a', 'b'].map((id) => batcher.submit({ job: job(id), outcome: { outcome: 'retry', error: 'x', delayMs: 5 } }).catch((e: unknown) => e));
    const second = batcher.submit({ job: job('c'), outcome: { outcome: 'succeeded', result: null } });
    await tick();
    await tick();
    calls[0].answer(new Error('Redis went away'));
    calls[1].answer(['done']);
    expect((await Promise.all(first)).map((e) => (e as Error).message)).toEqual(['Redis went away', 'Redis went away']);
    expect(await second).toBe('done');
  });

  it('a reply that does not match the outcomes rejects them instead of answering one with another\'s result', async () => {
    const { batcher, calls } = harness(10);
    const pending = ['a', 'b'].map((id) => batcher.submit({ job: job(id), outcome: { outcome: 'succeeded', result: id } }));
    await tick();
    calls[0].answer(['done']);
    expect((await Promise.allSettled(pending)).map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('splits a worker\'s outcomes over calls of half its concurrency (at least one)', () => {
    expect([1, 2, 3, 10, 100].map(finishBatchSize)).toEqual([1, 1, 2, 5, 50]);
  });

  it('with maxInFlight, what comes while calls are out gathers into one call, sent when one is answered', async () => {
    const { batcher, calls } = harness(100, 1);
    const first = batcher.submit({ job: job('a'), outcome: { outcome: 'succeeded', result: 1 } });
    await tick();
    const later = ['b', 'c', 'd'].map((id) => batcher.submit({ job: job(id), outcome: { outcome: 'failed', error: 'x' } }));
    await tick();
    await tick();
    expect(calls.map((c) => ids(c.items))).toEqual([['a']]);
    calls[0].answer(['done']);
    expect(await first).toBe('done');
    await tick();
    expect(calls.map((c) => ids(c.items))).toEqual([['a'], ['b', 'c', 'd']]);
    calls[1].answer(['done', 'lost', 'done']);
    expect(await Promise.all(later)).toEqual(['done', 'lost', 'done']);
  });

  it('an outcome whose start has not left yet goes as one item (start and outcome together); both are answered with its result', async () => {
    const { batcher, calls } = harness(100, 1);
    const other = batcher.submit({ job: job('x'), outcome: { outcome: 'succeeded', result: 0 } });
    await tick();
    const a = job('a');
    const start = batcher.submit({ job: a, outcome: { outcome: 'start' } });
    const outcome = batcher.submit({ job: a, outcome: { outcome: 'succeeded', result: 1 }, unconfirmedStart: true });
    calls[0].answer(['done']);
    await other;
    await tick();
    expect(calls[1].items).toEqual([{ job: a, outcome: { outcome: 'succeeded', result: 1 }, repeat: undefined, unconfirmedStart: true }]);
    calls[1].answer(['cancelled']);
    expect(await Promise.all([start, outcome])).toEqual(['cancelled', 'cancelled']);
  });
});
