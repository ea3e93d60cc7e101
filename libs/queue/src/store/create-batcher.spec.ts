import { ErrorCode } from '@relay/errors';
import { isRedisUnavailableError } from '@relay/redis';
import type { CreateScriptReply, CreateScriptRequest } from '../scripts/script-types.js';
import { CreateBatcher, MAX_CALLS_IN_FLIGHT, MAX_JOBS_PER_CALL, MAX_REQUESTS_PER_CALL, MAX_WAITING_REQUESTS, SubmitWaitError } from './create-batcher.js';

// The batching logic alone, against a call whose replies the test releases
// (createJobs itself runs on a real Redis in test/atomicity.e2e-spec.ts and
// under every submit of the e2e suites).
// A request is named by its workspace id; its jobs only count.
const request = (name: string, jobs = 1): CreateScriptRequest => ({
  workspaceId: name,
  requestHash: '',
  jobs: Array.from({ length: jobs }, (_, i) => ({ copies: 'L', jobId: `${name}-${i}`, actorId: 'a', provider: 'debug', name: 'echo', paramsJson: '{}' })),
});
const names = (call: { requests: CreateScriptRequest[] }) => call.requests.map((r) => r.workspaceId);
const created = (name: string): CreateScriptReply => ({ outcome: 'created', createdAt: name });

function harness(maxWaitMs = 60_000) {
  const calls: { requests: CreateScriptRequest[]; answer: (reply: CreateScriptReply[] | Error) => void }[] = [];
  const batcher = new CreateBatcher(
    (requests) =>
      new Promise((resolve, reject) => {
        calls.push({ requests, answer: (reply) => (reply instanceof Error ? reject(reply) : resolve(reply)) });
      }),
    maxWaitMs,
  );
  /** Answers call i with a 'created' reply per request, carrying the request's name. */
  const release = async (i: number) => {
    calls[i].answer(names(calls[i]).map(created));
    await new Promise((r) => setImmediate(r));
  };
  return { batcher, calls, release };
}

describe('CreateBatcher', () => {
  it(`sends each request at once while fewer than ${MAX_CALLS_IN_FLIGHT} calls are out; the rest wait and go together when one comes back`, async () => {
    const { batcher, calls, release } = harness();
    const n = MAX_CALLS_IN_FLIGHT + 3;
    const replies = Array.from({ length: n }, (_, i) => batcher.submit(request(`r${i}`)));
    expect(calls.map(names)).toEqual(Array.from({ length: MAX_CALLS_IN_FLIGHT }, (_, i) => [`r${i}`]));

    await release(0);
    expect(calls.map(names).slice(MAX_CALLS_IN_FLIGHT)).toEqual([[`r${n - 3}`, `r${n - 2}`, `r${n - 1}`]]);
    expect(calls[MAX_CALLS_IN_FLIGHT].requests.map((r) => [r.workspaceId, r.jobs.length])).toEqual([[`r${n - 3}`, 1], [`r${n - 2}`, 1], [`r${n - 1}`, 1]]);

    for (let i = 1; i < calls.length; i++) await release(i);
    expect(await Promise.all(replies)).toEqual(Array.from({ length: n }, (_, i) => created(`r${i}`)));
  });

  it(`cuts waiting requests into calls of at most ${MAX_REQUESTS_PER_CALL} requests and ${MAX_JOBS_PER_CALL} jobs; a request larger than that goes alone`, async () => {
    const { batcher, calls, release } = harness();
    for (let i = 0; i < MAX_CALLS_IN_FLIGHT; i++) void batcher.submit(request(`busy${i}`));
    const sizes = [100, 100, 100, 100, 100, 1, MAX_JOBS_PER_CALL + 1, ...Array.from({ length: MAX_REQUESTS_PER_CALL + 1 }, () => 1)];
    sizes.forEach((jobs, i) => void batcher.submit(request(`w${i}`, jobs)));
    // Every call answered as soon as it is out, until all have gone.
    for (let i = 0; i < calls.length; i++) await release(i);
    const waitingCalls = calls.slice(MAX_CALLS_IN_FLIGHT);
    const jobsPerCall = waitingCalls.map((c) => c.requests.reduce((n, r) => n + r.jobs.length, 0));
    expect(jobsPerCall).toEqual([500, 1, MAX_JOBS_PER_CALL + 1, MAX_REQUESTS_PER_CALL, 1]);
    expect(waitingCalls.map((c) => c.requests.length)).toEqual([5, 1, 1, MAX_REQUESTS_PER_CALL, 1]);
  });

  it('a failed call rejects every request of it, and only those', async () => {
    const { batcher, calls, release } = harness();
    const busy = Array.from({ length: MAX_CALLS_IN_FLIGHT }, (_, i) => batcher.submit(request(`busy${i}`)));
    const sameCall = ['a', 'b', 'c'].map((n) => batcher.submit(request(n)));
    await release(0);
    // a, b and c went out together; that call fails, the busy ones still answer.
    expect(names(calls[MAX_CALLS_IN_FLIGHT])).toEqual(['a', 'b', 'c']);
    calls[MAX_CALLS_IN_FLIGHT].answer(new Error('Redis went away'));
    expect((await Promise.allSettled(sameCall)).map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const others = Array.from({ length: MAX_CALLS_IN_FLIGHT - 1 }, (_, i) => i + 1);
    for (const i of others) await release(i);
    expect(await Promise.all(busy)).toEqual(busy.map((_, i) => created(`busy${i}`)));
    const again = batcher.submit(request('c'));
    await release(calls.length - 1);
    expect(await again).toEqual(created('c'));
  });

  it("a reply that does not match the requests rejects them instead of answering one with another's reply", async () => {
    const { batcher, calls, release } = harness();
    for (let i = 0; i < MAX_CALLS_IN_FLIGHT; i++) void batcher.submit(request(`busy${i}`));
    const pair = [batcher.submit(request('a')), batcher.submit(request('b'))];
    await release(0);
    calls[MAX_CALLS_IN_FLIGHT].answer([created('a')]);
    expect((await Promise.allSettled(pair)).map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('a submit that waits longer than the command timeout for a call slot fails as the API overloaded (503, its own reason), and is never sent', async () => {
    const { batcher, calls } = harness(30);
    for (let i = 0; i < MAX_CALLS_IN_FLIGHT; i++) void batcher.submit(request(`stuck${i}`));
    const started = Date.now();
    const waiting = batcher.submit(request('late')).catch((error: unknown) => error);
    const error = await waiting;
    expect(error).toBeInstanceOf(SubmitWaitError);
    expect(error).toMatchObject({ code: ErrorCode.Overloaded, reason: 'wait_timeout' });
    expect(isRedisUnavailableError(error)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(calls.flatMap(names)).not.toContain('late');
  });

  it('when a call fails because Redis did not answer, the submits still waiting fail with it at once', async () => {
    const { batcher, calls } = harness();
    for (let i = 0; i < MAX_CALLS_IN_FLIGHT; i++) void batcher.submit(request(`stuck${i}`)).catch(() => undefined);
    const waiting = ['a', 'b'].map((n) => batcher.submit(request(n)).catch((error: unknown) => error));
    calls[0].answer(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    const errors = await Promise.all(waiting);
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['ECONNRESET', 'ECONNRESET']);
    expect(calls).toHaveLength(MAX_CALLS_IN_FLIGHT);
  });

  it(`refuses a submit at once when ${MAX_WAITING_REQUESTS} are already waiting`, async () => {
    const { batcher } = harness();
    for (let i = 0; i < MAX_CALLS_IN_FLIGHT + MAX_WAITING_REQUESTS; i++) void batcher.submit(request(`r${i}`)).catch(() => undefined);
    await expect(batcher.submit(request('one-too-many'))).rejects.toMatchObject({ name: 'SubmitWaitError', code: ErrorCode.Overloaded, reason: 'queue_full' });
  });
});
