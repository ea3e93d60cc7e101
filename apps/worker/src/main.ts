import { configFromProcessEnv, runMain } from '@relay/config';
import { parsePermissionRules } from '@relay/permissions';
import { migrationFlags, selectStorageStrategy } from '@relay/queue';
import { createWorkerApp } from './worker.app.js';

/**
 * Starts the worker: the consumer loop, plus health and metrics on
 * WORKER_PORT. Settings are checked first (exit 2 naming the variable);
 * SIGTERM drains running jobs within WORKER_SHUTDOWN_GRACE_MS, then exits.
 */
runMain(
  'worker',
  async () => {
    const config = await configFromProcessEnv();
    selectStorageStrategy(migrationFlags(config));
    parsePermissionRules(config.ACTION_ALLOWLIST, config.ACTION_DENYLIST, config.WORKSPACE_ACTION_RULES);
    const app = await createWorkerApp();
    await app.listen(config.WORKER_PORT);
    console.log(JSON.stringify({ level: 'log', context: 'worker', message: `Relay worker health and metrics on port ${config.WORKER_PORT}` }));
  },
);
