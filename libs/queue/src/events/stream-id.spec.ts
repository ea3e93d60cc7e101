import fc from 'fast-check';
import { compareStreamIds, nextStreamId, parseStreamId, positionBeforeMs, previousStreamId } from './stream-id.js';

const MAX = '18446744073709551615';
const id = fc.tuple(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([ms, seq]) => `${ms}-${seq}`);
const asPair = (s: string) => s.split('-').map(BigInt) as [bigint, bigint];
const byBigInt = (a: string, b: string) => {
  const [am, as] = asPair(a);
  const [bm, bs] = asPair(b);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
};

describe('stream ids', () => {
  it('parses only <ms>-<seq> within 64 bits, into the canonical form', () => {
    expect(parseStreamId('1700000000000-3')).toBe('1700000000000-3');
    expect(parseStreamId('0001-02')).toBe('1-2');
    expect(parseStreamId(`${MAX}-${MAX}`)).toBe(`${MAX}-${MAX}`);
    for (const bad of ['', '17', '1-', '-1', '1-2-3', ' 1-2', '1-2 ', 'a-1', '1.5-2', '18446744073709551616-0', '0-18446744073709551616', '1-+2']) {
      expect({ bad, parsed: parseStreamId(bad) }).toEqual({ bad, parsed: undefined });
    }
  });

  it('compares canonical ids as the pairs of integers they are', () => {
    fc.assert(fc.property(id, id, (a, b) => Math.sign(compareStreamIds(a, b)) === byBigInt(a, b)));
    expect(compareStreamIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareStreamIds('10-9', '10-10')).toBeLessThan(0);
  });

  it('steps to the neighbouring id, across a millisecond boundary too', () => {
    expect(previousStreamId('5-3')).toBe('5-2');
    expect(previousStreamId('5-0')).toBe(`4-${MAX}`);
    expect(previousStreamId('0-0')).toBe('0-0');
    expect(nextStreamId(`4-${MAX}`)).toBe('5-0');
    fc.assert(fc.property(id, (a) => a === '0-0' || nextStreamId(previousStreamId(a)) === a));
  });

  it('puts the position for "from a time" just before that millisecond', () => {
    expect(positionBeforeMs(1000)).toBe(`999-${MAX}`);
    expect(positionBeforeMs(0)).toBe('0-0');
    expect(compareStreamIds('1000-0', positionBeforeMs(1000))).toBeGreaterThan(0);
    expect(compareStreamIds(`999-${MAX}`, positionBeforeMs(1000))).toBe(0);
  });
});
