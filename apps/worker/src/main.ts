import { ConfigError, RelayConfig } from '@relay/config';
import { createWorkerApp } from './worker.app.js';

/** Starts the worker: health and metrics on WORKER_PORT; SIGTERM closes it cleanly. */
async function main(): Promise<void> {
  const app = await createWorkerApp();
  const config = app.get(RelayConfig);
  await app.listen(config.WORKER_PORT);
  console.log(JSON.stringify({ level: 'log', context: 'worker', message: `Relay worker health and metrics on port ${config.WORKER_PORT}` }));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error('Relay worker failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
