import { runCli } from '../../apps/cli/src/run-cli.js';

export interface CliRun {
  code: number;
  out: string[];
  err: string[];
}

/**
 * Runs `relay <argv>` in-process with `env` as its settings. runCli must
 * return its exit code, never end the process: a process.exit() from inside
 * it would kill the test runner, so it is turned into an error for the
 * duration of the call, which runCli then reports (and assertions on code
 * and err show).
 */
export async function runRelay(env: Record<string, string>, argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const realExit = process.exit;
  process.exit = ((code?: number | string | null) => {
    throw new Error(`runCli called process.exit(${code}) instead of returning an exit code`);
  }) as typeof process.exit;
  try {
    const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
    return { code, out, err };
  } finally {
    process.exit = realExit;
  }
}
