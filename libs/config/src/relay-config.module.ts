import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { loadSettings, RELAY_SETTINGS, type RelaySettings } from './config-source.js';
import { RelayConfig } from './relay-config.js';

/**
 * Provides RelayConfig (the class is the token), loaded and validated by
 * @nestjs/config (config-source.ts); ConfigService is exported too, with
 * the same settings under RELAY_SETTINGS. Apps call forRoot() with no
 * argument and get `.env` plus the process environment; tests pass an
 * explicit record, so neither the test process's environment nor a `.env`
 * file can change what they run. A bad setting rejects the application's
 * creation with ConfigError.
 */
@Global()
@Module({})
export class RelayConfigModule {
  static forRoot(env?: Record<string, string>): Promise<DynamicModule> {
    const loaded = RelayConfigModule.load(env);
    // Nest awaits this promise among a module's imports, but may give up on the module before it
    // does (another import failing first): a rejection nobody awaits would end the process.
    loaded.catch(() => undefined);
    return loaded;
  }

  private static async load(env?: Record<string, string>): Promise<DynamicModule> {
    const { module } = await loadSettings(env);
    return {
      module: RelayConfigModule,
      imports: [module],
      providers: [
        {
          provide: RelayConfig,
          inject: [ConfigService],
          useFactory: (config: ConfigService<RelaySettings, true>) => config.get(RELAY_SETTINGS, { infer: true }),
        },
      ],
      exports: [RelayConfig, ConfigModule],
    };
  }
}
