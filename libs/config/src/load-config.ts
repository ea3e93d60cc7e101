import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ErrorCode, RelayError } from '@relay/errors';
import { RelayConfig } from './relay-config.js';

/** Thrown when a setting is invalid; the message names every offending variable. */
export class ConfigError extends RelayError {
  constructor(readonly problems: string[]) {
    super(ErrorCode.InvalidConfiguration, `Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const SETTING_NAMES = new Set(Object.keys(new RelayConfig()));

/** A URL's password never reaches a message: `redis://user:secret@host` → `redis://user:***@host`. */
export function maskCredentials(text: string): string {
  return text.replace(/(\/\/[^:/@\s]*):[^@/\s]*@/g, '$1:***@');
}

/**
 * Builds a validated RelayConfig from an environment-like record. Unset or
 * empty variables keep their defaults; anything else must validate.
 */
export function loadConfig(env: Record<string, string | undefined>): RelayConfig {
  const given: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (SETTING_NAMES.has(name) && value !== undefined && value !== '') given[name] = value;
  }
  const config = plainToInstance(RelayConfig, given);
  const errors = validateSync(config, { forbidUnknownValues: true });
  if (errors.length > 0) {
    throw new ConfigError(
      errors.map((e) => `${e.property}=${maskCredentials(JSON.stringify(given[e.property]))}: ${Object.values(e.constraints ?? {}).join(', ')}`),
    );
  }
  return Object.freeze(config);
}

/** The names of every setting, in declaration order (for .env.example checks and docs). */
export function settingNames(): string[] {
  return [...SETTING_NAMES];
}
