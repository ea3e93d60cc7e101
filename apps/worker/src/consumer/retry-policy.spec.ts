import fc from 'fast-check';
import { retryDelayMs } from './retry-policy.js';

describe('retryDelayMs', () => {
  it('stays within [0, min(max, base * 2^(attempt-1))]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 10000 }), fc.integer({ min: 1, max: 10 ** 7 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, base, max, r) => {
        const delay = retryDelayMs(attempt, base, max, () => r);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(Math.min(max, base * 2 ** (attempt - 1)));
      }),
    );
  });

  it('doubles the ceiling per attempt until the cap', () => {
    const top = (attempt: number) => retryDelayMs(attempt, 100, 1000, () => 0.999999);
    expect([top(1), top(2), top(3), top(4), top(5)]).toEqual([99, 199, 399, 799, 999]);
  });

  it('is jittered: different random draws give different delays', () => {
    expect(retryDelayMs(3, 100, 10000, () => 0.1)).not.toBe(retryDelayMs(3, 100, 10000, () => 0.9));
  });
});
