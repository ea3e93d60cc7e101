import { ErrorCode, RelayError } from './relay-error.js';

/** Exit codes of Relay's processes and commands (SPEC section 8). */
export const ExitCode = { Ok: 0, CheckFailed: 1, BadUsage: 2 } as const;

/**
 * The one map from errors to exit codes: bad input or configuration is
 * "bad usage" (2); everything else, Redis not answering and refused checks
 * included, is a failed check (1).
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof RelayError && (error.code === ErrorCode.InvalidInput || error.code === ErrorCode.InvalidConfiguration)) return ExitCode.BadUsage;
  return ExitCode.CheckFailed;
}
