/**
 * A child process for test/config-loading.e2e-spec.ts: builds a Nest
 * application context holding only RelayConfigModule, the way the apps do
 * (`process` mode: `.env` and the environment) or the way tests do
 * (`record` mode: the JSON record in argv[3]), and prints one line
 * `PROBE <json>`: some settings, whether ConfigService holds the same
 * object, and which variables loading added to process.env; or the error.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { RELAY_SETTINGS, RelayConfig, RelayConfigModule, type RelaySettings } from '@relay/config';

const [mode, record] = process.argv.slice(2);
const variablesBefore = new Set(Object.keys(process.env));
const print = (result: object) => process.stdout.write(`PROBE ${JSON.stringify(result)}\n`);

try {
  @Module({ imports: [RelayConfigModule.forRoot(mode === 'record' ? (JSON.parse(record) as Record<string, string>) : undefined)] })
  class ProbeModule {}
  const app = await NestFactory.createApplicationContext(ProbeModule, { logger: false, abortOnError: false });
  const config = app.get(RelayConfig);
  const service = app.get<ConfigService<RelaySettings, true>>(ConfigService);
  print({
    PORT: config.PORT,
    PHASE_1_CANARY_PCT: config.PHASE_1_CANARY_PCT,
    WORKER_CONCURRENCY: config.WORKER_CONCURRENCY,
    sameObjectInConfigService: service.get(RELAY_SETTINGS, { infer: true }) === config,
    addedToProcessEnv: Object.keys(process.env).filter((name) => !variablesBefore.has(name)),
  });
  await app.close();
} catch (error) {
  print({ error: (error as Error).name, message: (error as Error).message });
}
