import { RelayError } from '@relay/errors';
import { checkParamsLimits, jsonDepth } from './params-limits.js';

describe('params limits', () => {
  it('measures depth', () => {
    expect(jsonDepth(1)).toBe(0);
    expect(jsonDepth({})).toBe(1);
    expect(jsonDepth({ a: [1, { b: {} }] })).toBe(4);
  });

  it('measures a very deep value without overflowing the stack', () => {
    let deep: unknown = {};
    for (let i = 0; i < 100000; i++) deep = { a: deep };
    expect(jsonDepth(deep)).toBe(100001);
  });

  it('refuses params over the size or depth limit, naming the field', () => {
    expect(() => checkParamsLimits('params', { a: 'x'.repeat(100) }, 50, 8)).toThrow(/params must be at most 50 bytes/);
    expect(() => checkParamsLimits('steps[2].params', { a: { b: { c: {} } } }, 1000, 3)).toThrow(/steps\[2\]\.params must be nested at most 3/);
    expect(() => checkParamsLimits('params', { a: { b: 1 } }, 1000, 2)).not.toThrow();
    try {
      checkParamsLimits('params', { a: 'x'.repeat(100) }, 50, 8);
    } catch (e) {
      expect((e as RelayError).code).toBe('INVALID_INPUT');
    }
  });
});
