import { readFileSync } from 'node:fs';
import { loadConfig, settingNames } from './load-config.js';
import { RelayConfig } from './relay-config.js';

const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
const entries = Object.fromEntries(
  example
    .split('\n')
    .filter((line) => /^[A-Z0-9_]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);

describe('.env.example', () => {
  it('lists every setting, and nothing else', () => {
    expect(Object.keys(entries).sort()).toEqual(settingNames().sort());
  });

  it('shows the built-in default of every setting except the documented allowlist example', () => {
    const defaults = new RelayConfig() as unknown as Record<string, unknown>;
    for (const [name, value] of Object.entries(entries)) {
      if (name === 'ACTION_ALLOWLIST') continue;
      expect([name, value]).toEqual([name, String(defaults[name])]);
    }
  });

  it('validates as a whole', () => {
    expect(loadConfig(entries).ACTION_ALLOWLIST).toBe('debug.*,http.post');
  });
});
