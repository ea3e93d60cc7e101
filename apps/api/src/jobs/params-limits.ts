import { invalidInput } from '@relay/errors';

/** Nesting depth of a JSON value: a scalar is 0, `{}` is 1. Iterative, so no input can overflow the stack. */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node !== null && typeof node === 'object') {
      const inner = depth + 1;
      if (inner > max) max = inner;
      for (const child of Object.values(node as object)) stack.push([child, inner]);
    }
  }
  return max;
}

const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * One walk of a JSON value, without allocating, cut off one level past
 * `maxDepth` (so no input can overflow the stack): 'too-deep' when it nests
 * deeper than `maxDepth`, else with `refuseKeys` the first key naming a
 * prototype at any depth ({key}).
 */
function shapeProblem(value: unknown, maxDepth: number, refuseKeys: boolean): 'too-deep' | { key: string } | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (maxDepth <= 0) return 'too-deep';
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = shapeProblem(item, maxDepth - 1, refuseKeys);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (refuseKeys && PROTOTYPE_KEYS.has(key)) return { key };
    const problem = shapeProblem((value as Record<string, unknown>)[key], maxDepth - 1, refuseKeys);
    if (problem) return problem;
  }
  return undefined;
}

/** Whether a JSON value nests deeper than `max` (jsonDepth(value) > max): the hot-path check. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  return shapeProblem(value, max, false) === 'too-deep';
}

/** Why a parsed JSON body is refused before validation, if it is: too deep, or a key naming a prototype. */
export function bodyShapeProblem(value: unknown, maxDepth: number): 'too-deep' | { key: string } | undefined {
  return shapeProblem(value, maxDepth, true);
}

/**
 * Throws a 400 naming the field when params exceed the configured size or
 * depth; returns the params as JSON text (what the store writes, so it is
 * serialized once).
 */
export function checkParamsLimits(field: string, params: unknown, maxBytes: number, maxDepth: number): string {
  // Depth first: JSON.stringify recurses, so it only ever sees bounded input.
  if (nestedDeeperThan(params, maxDepth)) {
    throw invalidInput(`${field} must be nested at most ${maxDepth} levels deep (got ${jsonDepth(params)})`);
  }
  const json = JSON.stringify(params);
  // A UTF-16 code unit is at most 3 bytes of UTF-8: short text needs no count.
  const bytes = json.length * 3 <= maxBytes ? json.length : Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) throw invalidInput(`${field} must be at most ${maxBytes} bytes of JSON (got ${bytes})`);
  return json;
}
