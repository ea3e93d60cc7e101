import { RedisKeys } from '@relay/redis';

/**
 * The `keys` include of the Lua scripts, generated from RedisKeys so that no
 * script spells a key name: `Keys.scopedJob(ws, id)` in Lua builds exactly
 * what `RedisKeys.scopedJob(ws, id)` builds in TypeScript. Functions are
 * turned into Lua by calling them with placeholders and splitting the
 * result, so a change to a key's shape in redis-keys.ts reaches every script.
 */
const PLACEHOLDER = /\u0000(\d+)\u0000/;
const placeholder = (i: number) => `\u0000${i}\u0000`;

function luaString(text: string): string {
  // Key names are plain ASCII; anything else would need escaping rules we do not want to own.
  if (!/^[\x20-\x7e]*$/.test(text) || /['\\]/.test(text)) throw new Error(`key name not safe to inline in Lua: ${JSON.stringify(text)}`);
  return `'${text}'`;
}

function luaFunction(build: (...args: string[]) => string): string {
  const params = Array.from({ length: build.length }, (_, i) => `a${i + 1}`);
  const parts = build(...params.map((_, i) => placeholder(i + 1))).split(PLACEHOLDER);
  // split() with a capture group alternates literal text and placeholder numbers.
  const pieces = parts.map((part, i) => (i % 2 === 0 ? (part === '' ? null : luaString(part)) : `a${part}`)).filter((p) => p !== null);
  return `function(${params.join(', ')}) return ${pieces.join(' .. ')} end`;
}

/**
 * The include, with every key, or only those named in `only` (a script's
 * inlined text: building the table is part of every call's cost, so a
 * script carries the keys it uses, not the ~40 of RedisKeys).
 */
export function luaKeysInclude(only?: string): string {
  const lines = ['-- keys: every key name, generated from libs/redis/src/redis-keys.ts (lua-keys.ts).', 'local Keys = {}'];
  const used = only === undefined ? undefined : new Set([...only.matchAll(/\bKeys\.(\w+)/g)].map((m) => m[1]));
  for (const [name, value] of Object.entries(RedisKeys)) {
    if (used && !used.has(name)) continue;
    lines.push(`Keys.${name} = ${typeof value === 'string' ? luaString(value) : luaFunction(value as (...args: string[]) => string)}`);
  }
  return lines.join('\n');
}
