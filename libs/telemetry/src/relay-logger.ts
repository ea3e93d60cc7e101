import { ConsoleLogger, type LogLevel } from '@nestjs/common';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** JSON log lines at `level` and above, for every Relay process. Logs never carry params or results. */
export function relayLogger(level: string, context: string): ConsoleLogger {
  const index = LEVELS.indexOf(level as LogLevel);
  return new ConsoleLogger(context, { json: true, logLevels: LEVELS.slice(0, (index < 0 ? 3 : index) + 1) });
}
