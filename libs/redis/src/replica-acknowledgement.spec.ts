import { isRedisUnavailableError } from './redis-unavailable.js';
import { ReplicaAcknowledgement, ReplicasBehindError } from './replica-acknowledgement.js';

// The sharing logic alone, against a WAIT whose answers the test releases
// (WAIT itself runs on real Redis replicas in test/sentinel-failover.e2e-spec.ts).
function harness(replicas = 1, timeoutMs = 200) {
  const waits: { args: [number, number]; answer: (acknowledged: number | Error) => void }[] = [];
  const acks = new ReplicaAcknowledgement(
    (n, t) =>
      new Promise((resolve, reject) => {
        waits.push({ args: [n, t], answer: (a) => (a instanceof Error ? reject(a) : resolve(a)) });
      }),
    replicas,
    timeoutMs,
  );
  const turn = () => new Promise((r) => setImmediate(r));
  return { acks, waits, turn };
}

/** 'resolved', 'pending' or the rejection, after the pending callbacks ran. */
async function state(promise: Promise<void>): Promise<unknown> {
  return Promise.race([promise.then(() => 'resolved', (e: unknown) => e), new Promise((r) => setImmediate(() => r('pending')))]);
}

describe('ReplicaAcknowledgement', () => {
  it('does not wait at all when no replica is required', async () => {
    const { acks, waits, turn } = harness(0);
    await acks.confirm();
    await turn();
    expect(waits).toEqual([]);
  });

  it('sends one WAIT for every caller of a turn, with the required count and timeout', async () => {
    const { acks, waits, turn } = harness(2, 300);
    const confirms = [acks.confirm(), acks.confirm(), acks.confirm()];
    await turn();
    expect(waits.map((w) => w.args)).toEqual([[2, 300]]);
    waits[0].answer(2);
    await expect(Promise.all(confirms)).resolves.toEqual([undefined, undefined, undefined]);
  });

  it('never lets a caller join a WAIT sent before it came: it gets the next one, sent when that one returns', async () => {
    const { acks, waits, turn } = harness();
    const first = acks.confirm();
    await turn();
    const late = [acks.confirm(), acks.confirm()];
    await turn();
    expect(waits).toHaveLength(1); // one WAIT out at a time: it holds the connection
    waits[0].answer(1);
    expect(await state(first)).toBe('resolved');
    expect(await state(late[0])).toBe('pending');
    await turn();
    expect(waits).toHaveLength(2);
    waits[1].answer(1);
    await expect(Promise.all(late)).resolves.toEqual([undefined, undefined]);
  });

  it('fails every caller of a WAIT that saw too few replicas with ReplicasBehindError (503-class), and the next callers start afresh', async () => {
    const { acks, waits, turn } = harness(2, 250);
    const confirms = [acks.confirm(), acks.confirm()];
    await turn();
    waits[0].answer(1);
    for (const c of confirms) {
      const error = await state(c);
      expect(error).toBeInstanceOf(ReplicasBehindError);
      expect((error as ReplicasBehindError).message).toBe('1 of 2 required Redis replicas acknowledged within 250 ms');
      expect(isRedisUnavailableError(error)).toBe(true);
    }
    const next = acks.confirm();
    await turn();
    waits[1].answer(2);
    expect(await state(next)).toBe('resolved');
  });

  it('passes a failed WAIT (connection lost) to its callers', async () => {
    const { acks, waits, turn } = harness();
    const confirm = acks.confirm();
    await turn();
    const lost = new Error('Connection is closed.');
    waits[0].answer(lost);
    expect(await state(confirm)).toBe(lost);
  });
});
