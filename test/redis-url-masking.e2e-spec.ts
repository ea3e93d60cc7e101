import { killAllApps, spawnApp, type AppName } from './support/app-process.js';
import { freePort } from './support/redis-server.js';

/**
 * A malformed REDIS_URL never shows its password (issue 12, point 15): the
 * real API and worker entry points, started with URLs whose password holds
 * `/`, a space or `@`, stop with exit 2 naming REDIS_URL, and nothing they
 * print (the error line, Nest's logs) contains the password. Nothing
 * listens at those addresses: configuration is refused before any
 * connection.
 */

const SHAPES: [AppName, string, string][] = [
  ['worker', 'a /', 'hun/ter2-Q7'],
  ['api', 'a /', 'hun/ter2-Q7'],
  ['worker', 'a space', 'hun ter2-Q7'],
  ['api', 'an @ (and a port out of range)', 'hun@ter2-Q7'],
];

/** Bounds a child's start-up: a process still running after this fails the test instead of hanging it. */
const EXIT_WITHIN_MS = 30_000;

describe('REDIS_URL credentials at start-up (child processes)', () => {
  afterAll(async () => {
    await killAllApps();
  });

  it.each(SHAPES)('%s, password holding %s: exit 2 naming REDIS_URL, the password nowhere in its output', async (name, shape, password) => {
    const port = shape.startsWith('an @') ? 99999 : 6379;
    const app = spawnApp(name, {
      [name === 'api' ? 'PORT' : 'WORKER_PORT']: String(await freePort()),
      REDIS_URL: `redis://relay-user:${password}@127.0.0.1:${port}/0`,
    });
    let bound: NodeJS.Timeout | undefined;
    const exit = await Promise.race([app.exited, new Promise<'still running'>((r) => (bound = setTimeout(() => r('still running'), EXIT_WITHIN_MS)))]);
    clearTimeout(bound);
    const output = app.output();
    expect(exit).toEqual({ code: 2, signal: null });
    expect(output).toContain(`Invalid configuration: REDIS_URL="redis://***@127.0.0.1:${port}/0": REDIS_URL must be a redis:// or rediss:// URL`);
    expect(output).not.toContain(password);
    expect(output).not.toContain('hun');
    expect(output).not.toContain('relay-user');
  });
});
