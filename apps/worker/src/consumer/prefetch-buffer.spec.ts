import fc from 'fast-check';
import type { ClaimedJob } from '@relay/queue';
import { PrefetchBuffer } from './prefetch-buffer.js';

const job = (id: string): ClaimedJob => ({ entry: `acme:${id}`, token: 't', workspaceId: 'acme', jobId: id, attempts: 1, action: 'debug.echo', params: {}, actorId: 'a', createdAt: '', startedAt: '', runAt: '', deferrals: 0 });
const ids = (jobs: readonly ClaimedJob[]) => jobs.map((j) => j.jobId);

describe('PrefetchBuffer', () => {
  it('wants WORKER_PREFETCH less the jobs held and those asked for by calls still out', () => {
    const buffer = new PrefetchBuffer(5);
    expect(buffer.wanted()).toBe(5);
    buffer.asked(3);
    expect(buffer.wanted()).toBe(2);
    buffer.hold(job('a'), 0);
    expect(buffer.wanted()).toBe(1);
    // The call brought one of the three it asked for.
    buffer.answered(3);
    expect(buffer.wanted()).toBe(4);
    expect(new PrefetchBuffer(0).wanted()).toBe(0);
  });

  it('never has more held and asked for than WORKER_PREFETCH, however calls are answered, whatever starts', () => {
    type Op = { kind: 'call' } | { kind: 'answer'; call: number; brought: number } | { kind: 'start' } | { kind: 'cancel'; at: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant({ kind: 'call' as const }),
      fc.record({ kind: fc.constant('answer' as const), call: fc.nat(), brought: fc.nat() }),
      fc.constant({ kind: 'start' as const }),
      fc.record({ kind: fc.constant('cancel' as const), at: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.array(op, { maxLength: 60 }), (size, ops) => {
        const buffer = new PrefetchBuffer(size);
        const out: number[] = [];
        const held: string[] = [];
        let next = 0;
        for (const o of ops) {
          if (o.kind === 'call') {
            const n = buffer.wanted();
            buffer.asked(n);
            out.push(n);
          } else if (o.kind === 'answer' && out.length > 0) {
            const [asked] = out.splice(o.call % out.length, 1);
            // A call brings at most what it asked for.
            for (let i = 0; i < Math.min(asked, o.brought); i++) {
              const id = String(next++);
              buffer.hold(job(id), 0);
              held.push(id);
            }
            buffer.answered(asked);
          } else if (o.kind === 'start') {
            expect(buffer.takeOldest()?.job.jobId).toBe(held.shift());
          } else if (o.kind === 'cancel' && held.length > 0) {
            const [id] = held.splice(o.at % held.length, 1);
            expect(buffer.take(`acme:${id}`)?.job.jobId).toBe(id);
          }
          const asked = out.reduce((a, b) => a + b, 0);
          expect(buffer.length).toBe(held.length);
          expect(buffer.length + asked).toBeLessThanOrEqual(size);
          expect(buffer.wanted()).toBe(size - buffer.length - asked);
        }
      }),
    );
  });

  it('starts jobs oldest first', () => {
    const buffer = new PrefetchBuffer(3);
    buffer.hold(job('a'), 10);
    buffer.hold(job('b'), 20);
    buffer.hold(job('c'), 30);
    expect([buffer.takeOldest(), buffer.takeOldest()]).toEqual([
      { job: job('a'), leaseHeldAt: 10 },
      { job: job('b'), leaseHeldAt: 20 },
    ]);
    buffer.hold(job('d'), 40);
    expect(buffer.takeOldest()?.job.jobId).toBe('c');
    expect(buffer.takeOldest()?.job.jobId).toBe('d');
    expect(buffer.takeOldest()).toBeUndefined();
  });

  it('release takes every job held, in order, and leaves none', () => {
    const buffer = new PrefetchBuffer(3);
    for (const id of ['a', 'b', 'c']) buffer.hold(job(id), 0);
    expect(ids(buffer.takeAll())).toEqual(['a', 'b', 'c']);
    expect(buffer.length).toBe(0);
    expect(buffer.takeAll()).toEqual([]);
    expect(buffer.wanted()).toBe(3);
  });

  it('takes one job out by its entry (a cancel), keeping the others in order', () => {
    const buffer = new PrefetchBuffer(3);
    for (const id of ['a', 'b', 'c']) buffer.hold(job(id), 0);
    expect(buffer.take('acme:b')?.job.jobId).toBe('b');
    expect(buffer.take('acme:b')).toBeUndefined();
    expect(buffer.take('other:a')).toBeUndefined();
    expect(ids(buffer.takeAll())).toEqual(['a', 'c']);
  });

  it('after a renewal: kept leases are held as of the attempt, lost ones are dropped if still held', () => {
    const buffer = new PrefetchBuffer(4);
    for (const id of ['a', 'b', 'c', 'd']) buffer.hold(job(id), 0);
    const renewed = buffer.snapshot();
    // While the renewal is out: c starts, and e comes (not part of it).
    buffer.take('acme:c');
    buffer.hold(job('e'), 5);
    buffer.renewed(renewed, new Set(['acme:b', 'acme:c']), 100);
    const left = buffer.snapshot();
    expect(left.map((p) => [p.job.jobId, p.leaseHeldAt])).toEqual([
      ['a', 100],
      ['d', 100],
      ['e', 5],
    ]);
  });
});
