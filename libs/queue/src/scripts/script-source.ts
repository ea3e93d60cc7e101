import { readFileSync } from 'node:fs';
import { luaKeysInclude } from './lua-keys.js';

/**
 * The Lua scripts of this folder, one per atomic operation, each opening
 * with a comment block that documents KEYS, ARGV and the reply.
 */
export const SCRIPT_NAMES = [
  'createJobs',
  'readJob',
  'listJobs',
  'cancelJob',
  'indexLegacyJobs',
  'claimJobs',
  'finishJobs',
  'renewLeases',
  'reportProgress',
  'releaseJobs',
  'recoverStalled',
  'expireIndexEntries',
  'sweepFinishedIndexes',
  'retryDueIn',
  'queueDepth',
  'requeueDead',
  'backfillJobs',
  'compareJobs',
  'countScopedOnly',
  'deleteLegacy',
  'readEvents',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

const INCLUDE_LINE = /^-- @include (\w+)$/gm;
const REQUIRES_LINE = /^-- @requires ([\w ]+)$/m;

const readLua = (path: string) => readFileSync(new URL(`./${path}.lua`, import.meta.url), 'utf8');

/** A script file's text, as written (includes not inlined). */
export const scriptFile = (name: ScriptName) => readLua(name);

/** An include's text: `keys` is generated from RedisKeys, the rest live in includes/. */
export function includeText(name: string): string {
  return name === 'keys' ? luaKeysInclude() : readLua(`includes/${name}`);
}

/** The includes an include names on its `-- @requires` line. */
export function includeRequires(name: string): string[] {
  return REQUIRES_LINE.exec(includeText(name))?.[1].trim().split(/\s+/) ?? [];
}

/**
 * Includes in dependency order: each include names what it uses on a
 * `-- @requires a b` line, and comes after those, once. So no script depends
 * on the order it happens to list its includes in.
 */
export function resolveIncludes(names: string[], out: string[] = [], visiting = new Set<string>()): string[] {
  for (const name of names) {
    if (out.includes(name)) continue;
    if (visiting.has(name)) throw new Error(`Lua include cycle through ${name}`);
    visiting.add(name);
    resolveIncludes(includeRequires(name), out, visiting);
    visiting.delete(name);
    out.push(name);
  }
  return out;
}

/**
 * A script's source with its includes inlined where its first `-- @include`
 * line stands (the others are dropped: each include comes once).
 */
export function scriptSource(name: ScriptName): string {
  return inlineIncludes(readLua(name));
}

/** Lua text with its `-- @include` lines replaced by the includes they name (and those they require). */
export function inlineIncludes(source: string): string {
  const wanted = [...source.matchAll(INCLUDE_LINE)].map((m) => m[1]);
  if (wanted.length === 0) return source;
  const includes = resolveIncludes(wanted);
  // The keys include carries only the keys the script and its other includes name.
  const rest = [source, ...includes.filter((n) => n !== 'keys').map(includeText)].join('\n');
  const inlined = includes.map((n) => (n === 'keys' ? luaKeysInclude(rest) : includeText(n))).join('\n');
  let first = true;
  return source.replace(INCLUDE_LINE, () => {
    if (!first) return '';
    first = false;
    return inlined;
  });
}
