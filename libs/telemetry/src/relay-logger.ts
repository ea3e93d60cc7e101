import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { currentLogFields } from './log-context.js';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/**
 * Nest's JSON console logger with two changes: the timestamp is ISO 8601
 * (UTC) instead of epoch milliseconds, which log stores and people read
 * alike, and the current log context's fields (request_id, job_id, …;
 * log-context.ts) go on every line, so a line written anywhere while a
 * request or an attempt runs can be found by its id. Logs never carry params
 * or results.
 */
export class RelayLogger extends ConsoleLogger {
  protected override stringifyJsonLogObject(logObject: Record<string, unknown>): string {
    return super.stringifyJsonLogObject(relayLogRecord(logObject));
  }
}

/** Nest's log object as Relay prints it: level, ISO timestamp, pid, the context's fields, then the rest. */
export function relayLogRecord(logObject: Record<string, unknown>): Record<string, unknown> {
  const { level, pid, timestamp, ...rest } = logObject;
  const record: Record<string, unknown> = { level, timestamp: typeof timestamp === 'number' ? new Date(timestamp).toISOString() : timestamp, pid };
  // A context field never replaces one of the line's own (the message, its level or context).
  for (const [name, value] of Object.entries(currentLogFields() ?? {})) if (!(name in logObject)) record[name] = value;
  return Object.assign(record, rest);
}

/** JSON log lines at `level` and above, for every Relay process. */
export function relayLogger(level: string, context: string): RelayLogger {
  return new RelayLogger(context, { json: true, logLevels: levelsFrom(level) });
}

/** The levels LOG_LEVEL enables: it and every more severe one (`log` for an unknown name). */
export function levelsFrom(level: string): LogLevel[] {
  const index = LEVELS.indexOf(level as LogLevel);
  return LEVELS.slice(0, (index < 0 ? 3 : index) + 1);
}
