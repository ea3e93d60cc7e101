import type { Provider } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { RelayMetrics } from '@relay/telemetry';
import { QueueScripts } from '../scripts/queue-scripts.js';
import { JobStore } from './job-store.js';
import { RedisJobStore } from './redis-job-store.js';
import { selectStorageStrategy, type MigrationFlags } from './storage-strategy.js';

export function migrationFlags(config: RelayConfig): MigrationFlags {
  return {
    newSchema: config.AI_JOBS_NEW_SCHEMA === 'on',
    canaryPct: config.PHASE_1_CANARY_PCT,
    readPrefersNew: config.READ_PREFERS_NEW === 'on',
    readFallbackOld: config.READ_FALLBACK_OLD === 'on',
    legacyWrites: config.AI_JOBS_LEGACY_WRITES === 'on',
  };
}

/**
 * The one provider keyed on the migration flags: it turns them into a
 * storage strategy (refusing combinations that would hide jobs, which stops
 * start-up) and builds the JobStore for it. Flags are read once; changing
 * one means restarting the processes.
 */
export const jobStoreProvider: Provider = {
  provide: JobStore,
  inject: [QueueScripts, RelayConfig, RelayMetrics],
  useFactory: (scripts: QueueScripts, config: RelayConfig, metrics: RelayMetrics) =>
    new RedisJobStore(scripts, selectStorageStrategy(migrationFlags(config)), metrics, config.JOB_RETENTION_SECONDS, config.LIST_RESULT_MAX_BYTES),
};
