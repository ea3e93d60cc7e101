import { RelayError } from '@relay/errors';
import fc from 'fast-check';
import { bodyShapeProblem, checkParamsLimits, jsonDepth, nestedDeeperThan } from './params-limits.js';

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

  it('nestedDeeperThan agrees with jsonDepth on any JSON value and limit', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 0, max: 8 }), (value, max) => {
        expect(nestedDeeperThan(value, max)).toBe(jsonDepth(value) > max);
      }),
      { numRuns: 500 },
    );
  });

  it('nestedDeeperThan stops early on a very deep value (no stack overflow)', () => {
    let deep: unknown = {};
    for (let i = 0; i < 100000; i++) deep = { a: deep };
    expect(nestedDeeperThan(deep, 8)).toBe(true);
    expect(nestedDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
  });

  it('bodyShapeProblem: too deep exactly when nestedDeeperThan, else the first prototype-named key at any depth', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 0, max: 8 }), (value, max) => {
        fc.pre(!/"(__proto__|constructor|prototype)":/.test(JSON.stringify(value)));
        const problem = bodyShapeProblem(value, max);
        if (nestedDeeperThan(value, max)) expect(problem).toBe('too-deep');
        else expect(problem).toBeUndefined();
      }),
      { numRuns: 500 },
    );
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      expect(bodyShapeProblem(JSON.parse(`{"steps":[{"params":{"a":[{"${key}":{"x":1}}]}}]}`), 10)).toEqual({ key });
    }
    expect(bodyShapeProblem(JSON.parse('{"a":{"__proto__":1}}'), 1)).toBe('too-deep');
  });

  it('returns the params as JSON text and counts multi-byte characters as UTF-8 bytes', () => {
    expect(checkParamsLimits('params', { a: [1, 'x'] }, 1000, 8)).toBe('{"a":[1,"x"]}');
    // 12 characters of JSON text, 20 bytes of UTF-8: "€" is 3 bytes.
    expect(() => checkParamsLimits('params', { e: '€€€€' }, 19, 8)).toThrow(/at most 19 bytes of JSON \(got 20\)/);
    expect(checkParamsLimits('params', { e: '€€€€' }, 20, 8)).toBe('{"e":"€€€€"}');
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
