import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The fields every log line written on behalf of one unit of work carries:
 * the request id while the API serves a request, the job id and workspace
 * while the worker runs an attempt. Kept in AsyncLocalStorage so that code
 * deep inside a request or an action logs with them without passing them
 * around (README "Logs"). Values are ids only: never params or secrets.
 */
export type LogFields = Readonly<Record<string, string | number>>;

const storage = new AsyncLocalStorage<LogFields>();

/** Runs `work` with `fields` (added to the enclosing context's) on every line it logs, sync or async. */
export function withLogContext<T>(fields: LogFields, work: () => T): T {
  const outer = storage.getStore();
  return storage.run(outer ? { ...outer, ...fields } : fields, work);
}

/** The fields of the unit of work running now, if any. */
export function currentLogFields(): LogFields | undefined {
  return storage.getStore();
}
