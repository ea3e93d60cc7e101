import { DynamicModule, Global, Module } from '@nestjs/common';
import { RelayConfig } from './relay-config.js';
import { configFromProcessEnv } from './process-env.js';
import { loadConfig } from './load-config.js';

/**
 * Provides RelayConfig (the class is the token). Apps call forRoot() with no
 * argument and get the process environment; tests pass an explicit record so
 * they never touch process.env.
 */
@Global()
@Module({})
export class RelayConfigModule {
  static forRoot(env?: Record<string, string>): DynamicModule {
    return {
      module: RelayConfigModule,
      providers: [{ provide: RelayConfig, useFactory: () => (env ? loadConfig(env) : configFromProcessEnv()) }],
      exports: [RelayConfig],
    };
  }
}
