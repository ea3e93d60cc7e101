import { ConfigError, RelayConfig } from '@relay/config';
import { FlagCombinationError } from '@relay/queue';
import { createApiApp } from './api.app.js';

/** Starts the API; a bad setting stops it with exit code 2 and a message naming the variable. */
async function main(): Promise<void> {
  const app = await createApiApp();
  const config = app.get(RelayConfig);
  await app.listen(config.PORT);
  console.log(JSON.stringify({ level: 'log', context: 'api', message: `Relay API listening on port ${config.PORT}` }));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof FlagCombinationError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error('Relay API failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
