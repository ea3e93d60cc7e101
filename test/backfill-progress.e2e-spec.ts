import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './support/child-main.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 16, point 6: `relay migrate backfill` shows its progress (records
 * done, estimated total, rate, time left) as a bar on a terminal, as plain
 * periodic lines when stderr is not one, and nothing but the totals with
 * --json. The real CLI as a child process on a real Redis: once with pipes,
 * once under a pseudo-terminal (`script` from util-linux).
 */

const RECORDS = 300;
const ESC = '\x1b';
const CLI_MAIN = join(ROOT, 'apps/cli/src/main.ts');
// The TypeScript hook, resolved from the checkout rather than from the child's (temporary) cwd.
const REGISTER_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(`import { register } from 'node:module'; register('@swc-node/register/esm', ${JSON.stringify(pathToFileURL(ROOT).href)});`);
/** Phase 2: reads prefer the scoped schema; the step at which the runbook runs backfill. */
const PHASE_2 = { AI_JOBS_NEW_SCHEMA: 'on', READ_PREFERS_NEW: 'on' };
/** About 1.2 s at 250 records/s in batches of 20: several batches and several 0.2 s progress lines. */
const PACED = ['--rate', '250', '--batch', '20', '--progress-interval', '0.2'];
const TOTALS_KEYS = ['copied', 'dryRun', 'invalid', 'invalidSamples', 'resumedFrom', 'scanned', 'skipped'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

describe('relay migrate backfill progress (real CLI process, real Redis)', () => {
  let redis: FileRedis;
  let cwd: string;

  beforeAll(async () => {
    redis = await fileRedis();
    cwd = mkdtempSync(join(tmpdir(), 'relay-backfill-progress-'));
    const seed = redis.redis.pipeline();
    for (let n = 0; n < RECORDS; n++) {
      const at = new Date(Date.UTC(2025, 9, 17, 10, 0, n)).toISOString();
      seed.hset(`ai:jobs:legacy-${n}`, {
        job_id: `legacy-${n}`, workspace_id: n % 2 ? 'acme' : 'globex', actor_id: 'legacy', action_provider: 'debug', action_name: 'echo',
        params: '{}', status: 'succeeded', attempts: '1', result: '{}', error: '', client_request_id: '',
        created_at: at, updated_at: at, started_at: at, finished_at: at,
      });
    }
    await seed.exec();
  });
  afterAll(async () => {
    await redis?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  /** The CLI with exactly REDIS_URL and the phase's flags; `terminal` runs it under a pseudo-terminal of 200 columns. */
  function relay(argv: string[], terminal = false): Promise<Run> {
    const command = [process.execPath, '--import', REGISTER_HOOK, CLI_MAIN, ...argv];
    const [file, args] = terminal
      ? ['script', ['-qefc', `stty cols 200 rows 50; exec ${command.map(shellQuote).join(' ')}`, '/dev/null']]
      : [command[0], command.slice(1)];
    const child = spawn(file, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), REDIS_URL: redis.url, ...PHASE_2 },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    return new Promise((resolve) =>
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      }),
    );
  }

  it('stderr not a terminal: plain lines at the start, every --progress-interval and at the end, with total, rate and ETA; stdout only the summary', async () => {
    const run = await relay(['migrate', 'backfill', '--dry-run', ...PACED]);
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 0, stdout: `dry run: would copy ${RECORDS}, skipped 0 (scoped copy as new or newer), invalid 0, scanned ${RECORDS}\n` });
    expect(run.stderr).not.toContain(ESC);
    const lines = run.stderr.trimEnd().split('\n');
    const line = /^backfill: (\d+) of (\?|~\d+) records(?: \((\d+)%\))?, copied \d+, skipped 0, invalid 0; (\?|\d+) records\/s, ETA (\?|\S+)$/;
    expect(lines.filter((l) => !line.test(l))).toEqual([]);
    // Periodic: at 0.2 s over about a second, more than the first and last lines.
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const done = lines.map((l) => Number(line.exec(l)![1]));
    expect(done).toEqual([...done].sort((a, b) => a - b));
    // Once the count is in, the total, the rate and the time left are shown.
    expect(lines.some((l) => /of ~300 records \(\d+%\), .*; \d+ records\/s, ETA \d+s$/.test(l) && !l.startsWith('backfill: 300 '))).toBe(true);
    expect(lines[lines.length - 1]).toMatch(/^backfill: 300 of ~300 records \(100%\), copied 300, skipped 0, invalid 0; \d+ records\/s, ETA 0s$/);
  });

  it('--json: no progress at all, stdout the totals object alone, as before', async () => {
    const run = await relay(['migrate', 'backfill', '--dry-run', '--json', ...PACED]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const totals = JSON.parse(lines[0]);
    expect(Object.keys(totals).sort()).toEqual(TOTALS_KEYS);
    expect(totals).toMatchObject({ scanned: RECORDS, copied: RECORDS, skipped: 0, invalid: 0, dryRun: true, resumedFrom: '0' });
  });

  it('on a terminal: a bar redrawn in place on one line, with done, total, rate and ETA; the summary after it', async () => {
    const run = await relay(['migrate', 'backfill', ...PACED], true);
    expect(run.code).toBe(0);
    const screen = run.stdout;
    // Redrawn in place: cursor to column 1, the bar, the rest of the line cleared; no log lines.
    expect(screen).toContain(`${ESC}[1Gbackfill `);
    expect(screen).toContain(`${ESC}[0K`);
    expect(screen).not.toContain('backfill: ');
    expect(screen).toMatch(/backfill █*░+ \d+% \d+\/~300 \| \d+\/s \| ETA \d+s \| copied \d+, skipped 0, invalid 0/);
    expect(screen).toContain(`backfill ${'█'.repeat(30)} 100% 300/~300 | `);
    // One bar line, ended once; then the summary.
    const afterBar = screen.slice(screen.lastIndexOf(`${ESC}[0K`));
    expect(afterBar.replace(/\x1b[78]/g, '')).toBe(`${ESC}[0K\r\ncopied ${RECORDS}, skipped 0 (scoped copy as new or newer), invalid 0, scanned ${RECORDS}\r\n`);
    expect(screen.slice(0, screen.lastIndexOf(`${ESC}[0K`))).not.toContain('\n');
  });

  it('on a terminal with --json: still only the totals object', async () => {
    const run = await relay(['migrate', 'backfill', '--dry-run', '--json', ...PACED], true);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain(ESC);
    const totals = JSON.parse(run.stdout.trim());
    expect(Object.keys(totals).sort()).toEqual(TOTALS_KEYS);
    // The terminal run above copied every record.
    expect(totals).toMatchObject({ scanned: RECORDS, copied: 0, skipped: RECORDS, dryRun: true });
  });
});
