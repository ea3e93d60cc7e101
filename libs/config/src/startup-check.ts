import { ExitCode, exitCodeFor } from '@relay/errors';
import { maskCredentials } from './mask-credentials.js';

/**
 * Runs a process's start-up: a configuration error (a RelayError whose code
 * exitCodeFor reads as bad usage: invalid settings, refused flag
 * combinations) ends it with exit code 2 and one line naming the variable
 * or flags; anything else with exit code 1. Neither line carries the
 * credentials of a URL.
 */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (exitCodeFor(error) === ExitCode.BadUsage) {
      // loadConfig masked the values it quotes (masking the whole line again could eat the message:
      // it masks up to the last '@'); other configuration errors quote no URL.
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(ExitCode.BadUsage);
    }
    // Any message may quote a URL (a library's error about REDIS_URL, say): its credentials are masked.
    process.stderr.write(`Relay ${name} failed to start: ${maskCredentials(error instanceof Error ? error.message : String(error))}\n`);
    process.exit(ExitCode.CheckFailed);
  });
}
