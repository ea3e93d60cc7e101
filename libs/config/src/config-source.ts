import type { DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { loadConfig } from './load-config.js';
import type { RelayConfig } from './relay-config.js';

/** The key ConfigService holds the validated settings under: `config.get(RELAY_SETTINGS, { infer: true })`. */
export const RELAY_SETTINGS = 'relay';

/** What ConfigService holds, for typed access: `ConfigService<RelaySettings, true>`. */
export interface RelaySettings {
  [RELAY_SETTINGS]: RelayConfig;
}

export interface LoadedSettings {
  /** @nestjs/config's ConfigModule, holding the settings. */
  module: DynamicModule;
  config: RelayConfig;
}

/**
 * The one place that reads the process environment, through @nestjs/config:
 * `.env` in the working directory, then process.env over it (the
 * environment wins), checked by loadConfig in ConfigModule's `validate`
 * hook (class-validator), which throws ConfigError naming the variable.
 * With an explicit record (tests, the CLI under test) neither is read: the
 * record is all there is.
 */
export async function loadSettings(env?: Record<string, string>): Promise<LoadedSettings> {
  let config: RelayConfig | undefined;
  const module = await ConfigModule.forRoot({
    envFilePath: '.env',
    ignoreEnvFile: env !== undefined,
    validatePredefined: env === undefined,
    // ConfigService answers from the validated settings only, never from process.env directly.
    skipProcessEnv: true,
    validate: (raw) => {
      config = loadConfig(env ?? raw);
      // ConfigModule copies the validated values that are strings or numbers into process.env;
      // under one key whose value is an object, nothing is copied. Loading must not change the
      // environment: a test process builds many applications and hands its environment to children.
      return { [RELAY_SETTINGS]: config } satisfies RelaySettings;
    },
  });
  if (config === undefined) throw new Error('@nestjs/config did not call the validate hook');
  return { module, config };
}

/** The settings of this process (`.env` and environment), validated; rejects with ConfigError. */
export async function configFromProcessEnv(): Promise<RelayConfig> {
  return (await loadSettings()).config;
}
