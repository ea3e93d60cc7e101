import { readdirSync, readFileSync } from 'node:fs';
import { includeRequires, includeText, resolveIncludes, scriptFile, scriptSource, SCRIPT_NAMES } from './script-source.js';

// Lua code without comments or string literals: what a script actually names.
const code = (lua: string) =>
  lua
    .replace(/--\[\[[\s\S]*?\]\]/g, '')
    .replace(/--.*$/gm, '')
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''");
const identifiers = (lua: string) => new Set(code(lua).match(/[A-Za-z_]\w*/g) ?? []);
/** What an include defines at its top level (locals and the tables its methods hang on). */
const definitions = (lua: string) => [...code(lua).matchAll(/^local (?:function )?([A-Za-z_]\w*)/gm)].map((m) => m[1]);
/** The leading comment block of an include. */
const header = (lua: string) => lua.split('\n').filter((line, i, all) => all.slice(0, i + 1).every((l) => l.startsWith('--'))).join('\n');

const luaFiles = (dir: URL): { name: string; text: string }[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? luaFiles(new URL(`${entry.name}/`, dir)) : entry.name.endsWith('.lua') ? [{ name: entry.name, text: readFileSync(new URL(entry.name, dir), 'utf8') }] : [],
  );
const INCLUDES = readdirSync(new URL('./includes/', import.meta.url)).map((f) => f.replace(/\.lua$/, ''));
const ALL_INCLUDES = ['keys', ...INCLUDES];
const definedBy = new Map(ALL_INCLUDES.flatMap((include) => definitions(includeText(include)).map((name) => [name, include] as const)));
const closure = (names: string[]) => resolveIncludes(names);

describe('Lua scripts', () => {
  it('never spell a key name: no Lua file contains "ai:" (names come from the generated Keys table)', () => {
    const files = luaFiles(new URL('./', import.meta.url));
    expect(files.length).toBeGreaterThanOrEqual(SCRIPT_NAMES.length + INCLUDES.length);
    const spelled = files.flatMap(({ name, text }) => text.split('\n').flatMap((line, i) => (/\bai:/.test(line) ? [`${name}:${i + 1}: ${line.trim()}`] : [])));
    expect(spelled).toEqual([]);
  });

  it.each([...SCRIPT_NAMES])('script %s defines every key it names, and only those', (name) => {
    const source = scriptSource(name);
    const defined = [...source.matchAll(/^Keys\.(\w+) = /gm)].map((m) => m[1]);
    const uses = code(source.replace(/^Keys\.\w+ = .*$/gm, ''));
    const named = new Set([...uses.matchAll(/\bKeys\.(\w+)/g)].map((m) => m[1]));
    expect(defined.sort()).toEqual([...named].sort());
  });

  it('the generated keys include builds every key of RedisKeys', () => {
    const keys = includeText('keys');
    expect(keys).toContain("Keys.scopedJob = function(a1, a2) return 'ai:job:' .. a1 .. ':' .. a2 end");
    expect(keys).toContain("Keys.workspaceStatusIndex = function(a1, a2) return 'ai:index:' .. a1 .. ':status:' .. a2 end");
    expect(keys).toContain("Keys.retention = 'ai:queue:retention'");
  });

  it.each(INCLUDES)('include %s defines at its top level only what its header names (no hidden shared state)', (include) => {
    const text = includeText(include);
    const defined = definitions(text);
    expect(defined.length).toBeGreaterThan(0);
    for (const name of defined) expect({ name, inHeader: header(text).includes(name) }).toEqual({ name, inHeader: true });
  });

  it.each(INCLUDES)('include %s requires every include whose names it uses (no implicit order)', (include) => {
    const reachable = new Set(closure(includeRequires(include)));
    const used = [...identifiers(includeText(include))].filter((name) => definedBy.has(name) && definedBy.get(name) !== include);
    expect(used.filter((name) => !reachable.has(definedBy.get(name)!))).toEqual([]);
  });

  it.each([...SCRIPT_NAMES])('script %s hands the stream cap to the events include before appending, when it appends', (name) => {
    const own = code(scriptFile(name));
    const included = closure([...scriptFile(name).matchAll(/^-- @include (\w+)$/gm)].map((m) => m[1]));
    // The claim include appends for claimJobs and finishJobs.
    const appends = /\bappendEvent\(/.test(own) || included.some((include) => include !== 'events' && /\bappendEvent\(/.test(code(includeText(include))));
    expect({ name, setsCap: /\buseEventStream\(ARGV\[\d+\]\)/.test(own) }).toEqual({ name, setsCap: appends });
  });

  it.each([...SCRIPT_NAMES])('script %s has every name it uses from includes, each include once, after what it requires', (name) => {
    const source = scriptSource(name);
    const included = closure([...scriptFile(name).matchAll(/^-- @include (\w+)$/gm)].map((m) => m[1]));
    const used = [...identifiers(scriptFile(name))].filter((id) => definedBy.has(id));
    expect(used.filter((id) => !included.includes(definedBy.get(id)!))).toEqual([]);
    // Each include's text appears once, in dependency order.
    // (The keys include is cut down to the keys the script names: its own header line stands for it.)
    const textOf = (include: string) => (include === 'keys' ? includeText('keys').split('\n')[0] : includeText(include));
    const positions = included.map((include) => source.indexOf(textOf(include)));
    expect(positions.every((p) => p >= 0)).toBe(true);
    for (const include of included) expect(source.split(textOf(include)).length).toBe(2);
    included.forEach((include, i) => {
      for (const required of includeRequires(include)) expect(positions[included.indexOf(required)]).toBeLessThan(positions[i]);
    });
    expect(source).not.toMatch(/^-- @include /m);
  });
});
