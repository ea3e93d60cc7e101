import { NO_SCHEDULING_LIMITS, type ClaimedJob } from '@relay/queue';
import { ClaimRequests } from './claim-requests.js';
import { PrefetchBuffer } from './prefetch-buffer.js';
import { RunningJobs } from './running-jobs.js';

const job = (id: string): ClaimedJob => ({ entry: `acme:${id}`, token: 't', workspaceId: 'acme', jobId: id, attempts: 1, action: 'debug.echo', params: {}, actorId: 'a', createdAt: '', startedAt: '', runAt: '', deferrals: 0 });

function harness(prefetch: number) {
  const state = { stopping: false };
  const running = new RunningJobs(4, prefetch > 0);
  const prefetched = new PrefetchBuffer(prefetch);
  const claims = new ClaimRequests({ workerId: 'w1', leaseMs: 3000, maxAttempts: 3, retentionSeconds: 60, scheduling: NO_SCHEDULING_LIMITS, running, prefetched, stopping: () => state.stopping });
  return { state, running, prefetched, claims };
}

describe('ClaimRequests', () => {
  it('asks for the jobs to start now and those to hold, with the settings every claim carries', () => {
    const { claims } = harness(2);
    expect(claims.options(3, 2)).toEqual({ max: 5, startNow: 3, workerId: 'w1', leaseMs: 3000, maxAttempts: 3, retentionSeconds: 60, scheduling: NO_SCHEDULING_LIMITS });
    expect(claims.options(1)).toMatchObject({ max: 1, startNow: 1 });
  });

  it('a call out holds its slots and its prefetch until answered, so a second call asks for no more than is left', () => {
    const { claims, running, prefetched } = harness(3);
    prefetched.hold(job('a'), 0);
    const first = claims.callOut(3);
    expect(first.options).toMatchObject({ max: 5, startNow: 3 });
    expect(running.free()).toBe(1);
    const second = claims.callOut(running.free());
    expect(second.options).toMatchObject({ max: 1, startNow: 1 });
    first.answered();
    second.answered();
    expect(running.free()).toBe(4);
    expect(prefetched.wanted()).toBe(2);
  });

  it('asks for nothing to prefetch once the worker is stopping', () => {
    const { claims, state } = harness(3);
    state.stopping = true;
    expect(claims.callOut(2).options).toMatchObject({ max: 2, startNow: 2 });
  });
});
