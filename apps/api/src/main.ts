import { configFromProcessEnv, runMain } from '@relay/config';
import { parsePermissionRules } from '@relay/permissions';
import { migrationFlags, selectStorageStrategy } from '@relay/queue';
import { createApiApp } from './api.app.js';

/**
 * Starts the API. Settings are checked before Nest starts, so a bad value
 * stops the process (exit 2) with one line naming the variable or flags.
 */
runMain(
  'API',
  async () => {
    const config = await configFromProcessEnv();
    selectStorageStrategy(migrationFlags(config));
    parsePermissionRules(config.ACTION_ALLOWLIST, config.ACTION_DENYLIST, config.WORKSPACE_ACTION_RULES);
    const app = await createApiApp();
    await app.listen(config.PORT);
    console.log(JSON.stringify({ level: 'log', context: 'api', message: `Relay API listening on port ${config.PORT}` }));
  },
);
