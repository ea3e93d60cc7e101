import { settledWithin } from './settled-within.js';

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('settledWithin', () => {
  it('answers true for work that settles in time, and leaves no timer behind', async () => {
    const before = timeouts();
    await expect(settledWithin(new Promise((r) => setTimeout(r, 10)), 60_000)).resolves.toBe(true);
    expect(timeouts()).toBe(before);
  });

  it('answers false for work still running when the time is up', async () => {
    await expect(settledWithin(new Promise(() => undefined), 20)).resolves.toBe(false);
  });

  it('counts work that failed as settled: it no longer runs', async () => {
    await expect(settledWithin(Promise.reject(new Error('failed')), 60_000)).resolves.toBe(true);
  });
});
