import type { ClaimedJob } from '@relay/queue';
import { RunningJobs, startingJob, type RunningJob } from './running-jobs.js';

const job = (id: string): ClaimedJob => ({ entry: `acme:${id}`, token: 't', workspaceId: 'acme', jobId: id, attempts: 1, action: 'debug.echo', params: {}, actorId: 'a', createdAt: '', startedAt: 'x', runAt: '', deferrals: 0 });
const running = (id: string, actionEnded = false): RunningJob => ({ ...startingJob(job(id), 0), actionEnded });

describe('RunningJobs', () => {
  it('without prefetch, a slot stays taken until the attempt is removed (its outcome written); reservations do not count', () => {
    const table = new RunningJobs(3, false);
    table.add(running('a'));
    table.add(running('b', true));
    table.reserve(1);
    expect(table.free()).toBe(1);
    table.remove('acme:b');
    expect(table.free()).toBe(2);
    expect(table.get('acme:b')).toBeUndefined();
    expect(table.get('acme:a')?.job.jobId).toBe('a');
  });

  it('with prefetch, a slot frees when its action ends, and slots reserved for a call out are taken', () => {
    const table = new RunningJobs(4, true);
    const a = running('a');
    table.add(a);
    table.add(running('b'));
    expect(table.free()).toBe(2);
    a.actionEnded = true;
    expect(table.free()).toBe(3);
    table.reserve(2);
    expect(table.free()).toBe(1);
    table.unreserve(2);
    expect(table.free()).toBe(3);
    expect(table.size).toBe(2);
  });

  it('wakes the claim loop waiting for a slot when an attempt is removed, or when asked to', async () => {
    const table = new RunningJobs(1, false);
    table.add(running('a'));
    let woken = false;
    const waiting = table.slotFrees().then(() => (woken = true));
    await Promise.resolve();
    expect(woken).toBe(false);
    table.remove('acme:a');
    await waiting;
    expect(woken).toBe(true);
    const stopping = table.slotFrees();
    table.wake();
    await expect(stopping).resolves.toBeUndefined();
  });

  it('all() is a copy: removing during a walk over it changes nothing walked', () => {
    const table = new RunningJobs(2, false);
    table.add(running('a'));
    table.add(running('b'));
    const all = table.all();
    for (const r of all) table.remove(r.job.entry);
    expect(all.map((r) => r.job.jobId)).toEqual(['a', 'b']);
    expect(table.size).toBe(0);
  });

  it('a job the claim started is confirmed; a prefetched one (no startedAt yet) starts unconfirmed', () => {
    const claimed = startingJob(job('a'), 7);
    expect(claimed).toMatchObject({ leaseHeldAt: 7, startUnconfirmed: false, lostLease: false, finishing: false, actionEnded: false, cancelledBeforeStart: false });
    expect(claimed.control.stopped).toBe(false);
    expect(startingJob({ ...job('b'), startedAt: '' }, 7).startUnconfirmed).toBe(true);
  });
});
