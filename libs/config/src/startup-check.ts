import { ConfigError } from './load-config.js';

/**
 * Runs a process's start-up: a configuration error (or any error whose class
 * the caller names as a configuration problem) ends it with exit code 2 and
 * one line naming the variable; anything else with exit code 1.
 */
export function runMain(name: string, main: () => Promise<void>, configErrors: (new (...args: never[]) => Error)[] = []): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError || configErrors.some((type) => error instanceof type)) {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(2);
    }
    process.stderr.write(`Relay ${name} failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
