import { ShortCache } from './short-cache.js';

describe('ShortCache', () => {
  it('computes once per interval, shares one computation between concurrent callers, and keeps no failure', async () => {
    let now = 1000;
    let calls = 0;
    let fail = false;
    const cache = new ShortCache(
      2000,
      async () => {
        calls += 1;
        await new Promise((r) => setTimeout(r, 5));
        if (fail) throw new Error('redis away');
        return calls;
      },
      () => now,
    );
    expect(await Promise.all([cache.get(), cache.get(), cache.get()])).toEqual([1, 1, 1]);
    now += 1999;
    expect(await cache.get()).toBe(1);
    now += 1;
    fail = true;
    await expect(cache.get()).rejects.toThrow('redis away');
    fail = false;
    // The failure was not kept: the next caller computes again.
    expect(await cache.get()).toBe(3);
    expect(calls).toBe(3);
  });
});
