import { ConfigError } from './load-config.js';
import { maskCredentials } from './mask-credentials.js';

/**
 * Runs a process's start-up: a configuration error (or any error whose class
 * the caller names as a configuration problem) ends it with exit code 2 and
 * one line naming the variable; anything else with exit code 1. Neither
 * line carries the credentials of a URL.
 */
export function runMain(name: string, main: () => Promise<void>, configErrors: (new (...args: never[]) => Error)[] = []): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError || configErrors.some((type) => error instanceof type)) {
      // loadConfig masked the values it quotes.
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(2);
    }
    // Any message may quote a URL (a library's error about REDIS_URL, say): its credentials are masked.
    process.stderr.write(`Relay ${name} failed to start: ${maskCredentials(error instanceof Error ? error.message : String(error))}\n`);
    process.exit(1);
  });
}
