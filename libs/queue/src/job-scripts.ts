import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** The Lua scripts of scripts/, each one atomic operation (see each file's header). */
const SCRIPT_NAMES = [
  'createJobs',
  'readJob',
  'listJobs',
  'cancelJob',
  'indexLegacyJobs',
  'claimJobs',
  'finishJobs',
  'renewLeases',
  'releaseJobs',
  'recoverStalled',
  'requeueDead',
  'backfillJobs',
  'compareJobs',
  'countScopedOnly',
  'deleteLegacy',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export type JobScripts = Record<ScriptName, (keys: string[], args: (string | number)[]) => Promise<unknown>>;

const read = (path: string) => readFileSync(new URL(`./scripts/${path}`, import.meta.url), 'utf8');

/** Inlines `-- @include <name>` lines with scripts/includes/<name>.lua (shared Lua helpers). */
function withIncludes(source: string): string {
  return source.replace(/^-- @include (\w+)$/gm, (_, name: string) => read(`includes/${name}.lua`));
}

const sources = new Map<ScriptName, string>(SCRIPT_NAMES.map((name) => [name, withIncludes(read(`${name}.lua`))]));

/**
 * Registers the scripts on a connection (ioredis sends EVALSHA and falls back
 * to EVAL once per connection) and returns typed callers.
 */
export function jobScripts(redis: Redis): JobScripts {
  const out = {} as JobScripts;
  for (const name of SCRIPT_NAMES) {
    const command = `relay_${name}`;
    if (!(command in redis)) redis.defineCommand(command, { lua: sources.get(name)! });
    const call = (redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[command].bind(redis);
    out[name] = (keys, args) => call(keys.length, ...keys, ...args);
  }
  return out;
}
