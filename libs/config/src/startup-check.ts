import { ExitCode, exitCodeFor } from '@relay/errors';

/**
 * Runs a process's start-up: a configuration error (a RelayError whose code
 * exitCodeFor reads as bad usage: invalid settings, refused flag
 * combinations) ends it with exit code 2 and one line naming the variable
 * or flags; anything else with exit code 1.
 */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (exitCodeFor(error) === ExitCode.BadUsage) {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(ExitCode.BadUsage);
    }
    process.stderr.write(`Relay ${name} failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(ExitCode.CheckFailed);
  });
}
