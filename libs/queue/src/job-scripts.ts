import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** The Lua scripts of scripts/, each one atomic operation (see each file's header). */
const SCRIPT_NAMES = ['createJobs', 'readJob', 'listJobs', 'cancelJob', 'indexLegacyJobs'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

type ScriptReply = unknown;
export type JobScripts = Record<ScriptName, (keys: string[], args: (string | number)[]) => Promise<ScriptReply>>;

const sources = new Map<ScriptName, string>(
  SCRIPT_NAMES.map((name) => [name, readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8')]),
);

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
