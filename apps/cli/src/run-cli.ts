import { Command, CommanderError } from 'commander';
import { maskCredentials } from '@relay/config';
import { ExitCode, exitCodeFor } from '@relay/errors';
import { isRedisUnavailableError, unavailabilityReason } from '@relay/redis';
import { CliContext } from './cli-context.js';
import { deadCommand } from './dead.command.js';
import { keysCommand } from './keys.command.js';
import { migrateCommand } from './migrate.command.js';
import { queueCommand } from './queue.command.js';
import { webhooksCommand } from './webhooks.command.js';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * Runs `relay <args>` and returns the exit code: 0 success, 1 a check failed,
 * 2 bad usage or configuration. Tests call this directly; bin/relay.js wraps it.
 */
export async function runCli(argv: string[], io: CliIo, env?: Record<string, string>): Promise<number> {
  const context = new CliContext(env, io.out);
  const program = new Command('relay').description('Relay operator commands');
  program.addCommand(keysCommand(context));
  program.addCommand(deadCommand(context));
  program.addCommand(migrateCommand(context));
  program.addCommand(queueCommand(context));
  program.addCommand(webhooksCommand(context));
  // Every level, subcommands included: commander must throw (never exit the
  // process) and write through io.
  const configure = (command: Command): void => {
    command.exitOverride().configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
    command.commands.forEach(configure);
  };
  configure(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.BadUsage;
    const code = exitCodeFor(error);
    // A configuration error masked the values it quotes itself (masking again, up to the last '@', could eat the message).
    if (code === ExitCode.BadUsage) io.err((error as Error).message);
    else if (isRedisUnavailableError(error)) io.err(unavailabilityReason(error) === 'redis_oom' ? 'relay: Redis refuses writes (memory full: maxmemory reached)' : 'relay: Redis did not answer at REDIS_URL');
    else io.err(`relay: ${maskCredentials(error instanceof Error ? error.message : String(error))}`);
    return code;
  } finally {
    await context.close();
  }
}
