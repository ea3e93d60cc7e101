import { existsSync } from 'node:fs';
import { RelayConfig } from './relay-config.js';
import { loadConfig } from './load-config.js';

/**
 * The one place that reads process.env. A `.env` file in the working
 * directory is loaded first; variables already set in the environment win.
 */
export function configFromProcessEnv(overrides: Record<string, string> = {}): RelayConfig {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return loadConfig({ ...process.env, ...overrides });
}
