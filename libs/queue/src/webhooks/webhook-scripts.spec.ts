import { webhookScriptFile, webhookScriptSource, WEBHOOK_SCRIPT_NAMES } from './webhook-scripts.js';

// Lua code without comments or string literals: what a script actually names.
const code = (lua: string) =>
  lua
    .replace(/--\[\[[\s\S]*?\]\]/g, '')
    .replace(/--.*$/gm, '')
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''");

describe('webhook Lua scripts', () => {
  it.each([...WEBHOOK_SCRIPT_NAMES])('%s opens with a comment block documenting its input and output', (name) => {
    expect(webhookScriptFile(name)).toMatch(new RegExp(`^--\\[\\[\\n  ${name}: [\\s\\S]*Input:[\\s\\S]*Output[\\s\\S]*?\\]\\]`));
  });

  it.each([...WEBHOOK_SCRIPT_NAMES])('%s has its includes inlined and defines every key it names, and only those', (name) => {
    const source = webhookScriptSource(name);
    expect(source).not.toMatch(/^-- @include /m);
    const defined = [...source.matchAll(/^Keys\.(\w+) = /gm)].map((m) => m[1]);
    const named = new Set([...code(source.replace(/^Keys\.\w+ = .*$/gm, '')).matchAll(/\bKeys\.(\w+)/g)].map((m) => m[1]));
    expect(defined.sort()).toEqual([...named].sort());
  });
});
