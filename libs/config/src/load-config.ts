import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ErrorCode, RelayError } from '@relay/errors';
import { maskCredentials } from './mask-credentials.js';
import { RelayConfig } from './relay-config.js';

/** Thrown when a setting is invalid; the message names every offending variable. */
export class ConfigError extends RelayError {
  constructor(readonly problems: string[]) {
    super(ErrorCode.InvalidConfiguration, `Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const SETTING_NAMES = new Set(Object.keys(new RelayConfig()));

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
      // A value is masked before it is quoted: a URL's credentials never reach the message.
      errors.map((e) => `${e.property}=${JSON.stringify(maskCredentials(given[e.property]))}: ${Object.values(e.constraints ?? {}).join(', ')}`),
    );
  }
  return Object.freeze(config);
}

/** The names of every setting, in declaration order (for .env.example checks and docs). */
export function settingNames(): string[] {
  return [...SETTING_NAMES];
}
