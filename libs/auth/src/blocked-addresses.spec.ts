import { BlockedAddresses } from './blocked-addresses.js';

describe('BlockedAddresses', () => {
  it('refuses an address until its window ends, in whole seconds rounded up', () => {
    const blocked = new BlockedAddresses(10);
    blocked.block('203.0.113.7', 2500, 1000);
    expect(blocked.secondsLeft('203.0.113.7', 1000)).toBe(3);
    expect(blocked.secondsLeft('203.0.113.7', 3000)).toBe(1);
    expect(blocked.secondsLeft('203.0.113.8', 1000)).toBeUndefined();
    expect(blocked.secondsLeft('203.0.113.7', 3500)).toBeUndefined();
    expect(blocked.size).toBe(0);
  });

  it('stays within its capacity: expired entries go first, then the oldest', () => {
    const blocked = new BlockedAddresses(3);
    blocked.block('a', 100, 0);
    blocked.block('b', 10_000, 0);
    blocked.block('c', 10_000, 0);
    blocked.block('d', 10_000, 500);
    expect(blocked.size).toBe(3);
    expect(blocked.secondsLeft('a', 500)).toBeUndefined();
    expect(blocked.secondsLeft('b', 500)).toBe(10);
    blocked.block('e', 10_000, 600);
    expect(blocked.size).toBe(3);
    expect(blocked.secondsLeft('b', 600)).toBeUndefined();
    expect([blocked.secondsLeft('c', 600), blocked.secondsLeft('d', 600), blocked.secondsLeft('e', 600)]).toEqual([10, 10, 10]);
  });

  it('re-blocking an address moves its end, and does not count it twice', () => {
    const blocked = new BlockedAddresses(2);
    blocked.block('a', 1000, 0);
    blocked.block('a', 5000, 0);
    blocked.block('b', 1000, 0);
    expect(blocked.size).toBe(2);
    expect(blocked.secondsLeft('a', 2000)).toBe(3);
  });
});
