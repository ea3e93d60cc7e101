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

/** Throws a 400 naming the field when params exceed the configured size or depth. */
export function checkParamsLimits(field: string, params: unknown, maxBytes: number, maxDepth: number): void {
  // Depth first: JSON.stringify recurses, so it only ever sees bounded input.
  const depth = jsonDepth(params);
  if (depth > maxDepth) throw invalidInput(`${field} must be nested at most ${maxDepth} levels deep (got ${depth})`);
  const bytes = Buffer.byteLength(JSON.stringify(params), 'utf8');
  if (bytes > maxBytes) throw invalidInput(`${field} must be at most ${maxBytes} bytes of JSON (got ${bytes})`);
}
