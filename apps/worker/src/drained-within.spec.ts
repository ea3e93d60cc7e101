import { drainedWithin } from './drained-within.js';

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('drainedWithin', () => {
  it('answers true for work that settles in time, and leaves no timer behind', async () => {
    const before = timeouts();
    await expect(drainedWithin(new Promise((r) => setTimeout(r, 10)), 60_000)).resolves.toBe(true);
    expect(timeouts()).toBe(before);
  });

  it('answers false for work still running when the time is up', async () => {
    await expect(drainedWithin(new Promise(() => undefined), 20)).resolves.toBe(false);
  });

  it('counts work that failed as settled: it no longer runs', async () => {
    await expect(drainedWithin(Promise.reject(new Error('failed')), 60_000)).resolves.toBe(true);
  });
});
