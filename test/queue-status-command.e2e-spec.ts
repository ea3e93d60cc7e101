import { QUEUE_ENTRIES_READ_MAX, QueueScripts, WorkQueue } from '@relay/queue';
import { RedisKeys } from '@relay/redis';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { runRelay, type CliRun } from './support/cli-runner.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * `relay queue status` (issue 14, point 5) through runCli against the file's
 * own Redis. Jobs are submitted through the real API (delayed ones with
 * delay_ms) and claimed and finished through the worker's real queue
 * scripts (running, retrying, dead). Two things a claim does are written
 * into Redis directly, standing for it, so that nothing else changes: a
 * workspace's entries drained into its queue with the workspace in the
 * rotation, and a running count in ai:queue:running.
 */

const CLAIM = { workerId: 'status-test', leaseMs: 600_000, maxAttempts: 5, retentionSeconds: 3600 };
const STATES = ['pending', 'running', 'delayed', 'retrying', 'dead'] as const;
type Counts = Record<(typeof STATES)[number], number>;

describe('relay queue status on a real Redis', () => {
  let server: FileRedis;
  let api: ApiHarness;
  let queue: WorkQueue;
  const keys: Record<string, string> = {};

  const relay = (...argv: string[]): Promise<CliRun> => runRelay({ REDIS_URL: server.url }, argv);

  async function submit(ws: string, n: number, delayMs?: number): Promise<string[]> {
    keys[ws] ??= await api.key(ws);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await api.http.post('/ai/jobs').set('Authorization', `Bearer ${keys[ws]}`).send({ action: 'debug.echo', params: { i }, delay_ms: delayMs });
      expect(res.status).toBe(202);
      ids.push(res.body.job_id);
    }
    return ids;
  }

  /** Submits and claims `running + retrying + dead` jobs of one workspace, then ends some with a retry (due in 10 minutes) or a failure. */
  async function startJobs(ws: string, want: Pick<Counts, 'running' | 'retrying' | 'dead'>): Promise<void> {
    const n = want.running + want.retrying + want.dead;
    await submit(ws, n);
    const claimed = await queue.claim({ ...CLAIM, max: n });
    expect(claimed.map((c) => c.workspaceId)).toEqual(Array(n).fill(ws));
    for (const [i, job] of claimed.entries()) {
      if (i < want.retrying) await queue.finish(job, { outcome: 'retry', error: 'again', delayMs: 600_000 }, 3600);
      else if (i < want.retrying + want.dead) await queue.finish(job, { outcome: 'failed', error: 'no' }, 3600);
    }
  }

  /** Jobs due in an hour: pending, their entries in the delayed set rather than the pending list. */
  async function submitDelayed(ws: string, n: number): Promise<void> {
    for (const id of await submit(ws, n, 3_600_000)) expect(await server.redis.zscore(RedisKeys.delayedQueue, `${ws}:${id}`)).not.toBeNull();
  }

  /** What a claim's drain leaves: the workspace's entries, oldest first, moved to its own queue, and the workspace in the rotation. */
  async function drainIntoRotation(ws: string): Promise<void> {
    const mine = (await server.redis.lrange(RedisKeys.pendingQueue, 0, -1)).filter((entry) => entry.startsWith(`${ws}:`));
    for (const entry of mine.reverse()) {
      await server.redis.lrem(RedisKeys.pendingQueue, 1, entry);
      await server.redis.lpush(RedisKeys.workspaceQueue(ws), entry);
    }
    await server.redis.zadd(RedisKeys.readyWorkspaces, 1, ws);
  }

  /** The column ends of a table line (each cell's last character), so alignment can be compared line to line. */
  const cellEnds = (line: string) => [...line.matchAll(/\S+(?: \S+)*/g)].map((m) => m.index + m[0].length);
  const cells = (line: string) => line.split(/\s{2,}/);

  const ACME: Counts = { pending: 2, running: 1, delayed: 1, retrying: 1, dead: 1 };
  const BETA: Counts = { pending: 3, running: 2, delayed: 2, retrying: 0, dead: 0 };
  const GAMMA: Counts = { pending: 2, running: 0, delayed: 0, retrying: 0, dead: 0 };
  const TOTALS: Counts = { pending: 7, running: 3, delayed: 3, retrying: 1, dead: 1 };

  beforeAll(async () => {
    server = await fileRedis();
    api = await startApi(server.url);
    queue = new WorkQueue(new QueueScripts(server.redis), server.redis);
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  describe('with jobs in every state in three workspaces', () => {
    beforeAll(async () => {
      await server.redis.flushdb();
      for (const ws of Object.keys(keys)) delete keys[ws];
      await startJobs('acme', ACME);
      await startJobs('beta', BETA);
      await submit('acme', ACME.pending);
      await submitDelayed('acme', ACME.delayed);
      await submit('beta', BETA.pending);
      await submitDelayed('beta', BETA.delayed);
      // gamma's jobs have been drained into its own queue: known only from the rotation.
      await submit('gamma', GAMMA.pending);
      await drainIntoRotation('gamma');
    });

    it('--json prints one object: the whole queue and every workspace, sorted by id, with its five counts; exit 0', async () => {
      const run = await relay('queue', 'status', '--json');
      expect({ code: run.code, err: run.err, lines: run.out.length }).toEqual({ code: 0, err: [], lines: 1 });
      expect(JSON.parse(run.out[0])).toEqual({
        totals: TOTALS,
        workspaces: [
          { workspace_id: 'acme', ...ACME },
          { workspace_id: 'beta', ...BETA },
          { workspace_id: 'gamma', ...GAMMA },
        ],
        workspaces_incomplete: false,
      });
    });

    it('the table: a header of the five states, one row per workspace sorted by id, the whole queue last, every column aligned', async () => {
      const run = await relay('queue', 'status');
      expect({ code: run.code, err: run.err }).toEqual({ code: 0, err: [] });
      expect(run.out.map(cells)).toEqual([
        ['workspace', ...STATES],
        ['acme', ...STATES.map((s) => String(ACME[s]))],
        ['beta', ...STATES.map((s) => String(BETA[s]))],
        ['gamma', ...STATES.map((s) => String(GAMMA[s]))],
        ['whole queue', ...STATES.map((s) => String(TOTALS[s]))],
      ]);
      // Numbers right-aligned under their header: every line's cells end at the same columns.
      const [header, ...rows] = run.out;
      for (const row of rows) expect(cellEnds(row).slice(1)).toEqual(cellEnds(header).slice(1));
      for (const row of rows) expect(row.indexOf(cells(row)[0])).toBe(0);
    });

    it('--workspace shows that workspace only (the totals stay the whole queue), in both forms; an idle workspace reads all zeros', async () => {
      const json = await relay('queue', 'status', '--workspace', 'beta', '--json');
      expect(json.code).toBe(0);
      expect(JSON.parse(json.out[0])).toEqual({ totals: TOTALS, workspaces: [{ workspace_id: 'beta', ...BETA }], workspaces_incomplete: false });

      const table = await relay('queue', 'status', '--workspace', 'beta');
      expect(table.code).toBe(0);
      expect(table.out.map((line) => cells(line)[0])).toEqual(['workspace', 'beta', 'whole queue']);

      const idle = await relay('queue', 'status', '--workspace', 'idle', '--json');
      expect(idle.code).toBe(0);
      expect(JSON.parse(idle.out[0]).workspaces).toEqual([{ workspace_id: 'idle', pending: 0, running: 0, delayed: 0, retrying: 0, dead: 0 }]);
    });

    it('an invalid workspace id is bad usage: exit 2, the reason on stderr, nothing on stdout', async () => {
      for (const bad of ['Bad!', 'acme:x', '', 'a'.repeat(33)]) {
        const run = await relay('queue', 'status', '--workspace', bad, '--json');
        expect({ bad, code: run.code, out: run.out }).toEqual({ bad, code: 2, out: [] });
        expect(run.err.join('\n')).toMatch(/invalid workspace id/);
      }
    });
  });

  it('a workspace is found by its leases or its running count alone; one whose count is 0 is not listed', async () => {
    await server.redis.flushdb();
    await startJobs('solo', { running: 2, retrying: 0, dead: 0 });
    // A running count as the fair claim keeps it (nothing else of this workspace is in Redis), and one back at 0.
    await server.redis.hset(RedisKeys.runningCounts, 'counted', '1', 'finished', '0');

    const run = await relay('queue', 'status', '--json');
    expect(run.code).toBe(0);
    const status = JSON.parse(run.out[0]);
    expect(status.workspaces.map((w: { workspace_id: string }) => w.workspace_id)).toEqual(['counted', 'solo']);
    expect(status.workspaces[1]).toEqual({ workspace_id: 'solo', pending: 0, running: 2, delayed: 0, retrying: 0, dead: 0 });
    expect(status.totals.running).toBe(2);
  });

  it(`reads at most ${QUEUE_ENTRIES_READ_MAX} entries of a structure to find workspaces, and says when one holds more`, async () => {
    await server.redis.flushdb();
    // The dead-letter list is read newest first: 'hidden' is past the first entries read.
    await server.redis.lpush(RedisKeys.deadLetters, 'hidden:job-0', ...Array.from({ length: QUEUE_ENTRIES_READ_MAX }, (_, i) => `crowd:job-${i}`));

    const json = await relay('queue', 'status', '--json');
    expect(json.code).toBe(0);
    const status = JSON.parse(json.out[0]);
    expect(status.workspaces.map((w: { workspace_id: string }) => w.workspace_id)).toEqual(['crowd']);
    expect(status.workspaces_incomplete).toBe(true);
    expect(status.totals.dead).toBe(QUEUE_ENTRIES_READ_MAX + 1);

    const table = await relay('queue', 'status');
    expect(table.out.at(-1)).toMatch(/more than 10,000 entries .* not listed/);
  });

  it('--help names the states and documents the bound on entries read', async () => {
    const run = await relay('queue', 'status', '--help');
    expect(run.code).toBe(0);
    const help = run.out.join('\n');
    expect(help).toContain('--workspace <id>');
    expect(help).toContain('--json');
    expect(help).toMatch(/first 10,000\s+entries/);
  });
});
