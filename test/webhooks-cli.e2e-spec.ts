import { RedisKeys } from '@relay/redis';
import { runRelay, type CliRun } from './support/cli-runner.js';
import { fileRedis, type FileRedis } from './support/redis.js';
import { freePort } from './support/redis-server.js';

/**
 * `relay webhooks add|list|remove|rotate-secret|deliveries` (README Events,
 * "Webhooks") through runCli, against the file's own Redis: the secret is
 * shown once by add and rotate-secret and never listed; URLs are checked
 * against http.post's outbound policy when added; bad usage is exit 2, an
 * unknown endpoint exit 1. Deliveries themselves: webhook-deliveries.e2e-spec.ts.
 */

let server: FileRedis;
const ALLOWED = 'hooks.example.com:443,hooks.example.com:8443,203.0.113.7';

async function relay(...argv: string[]): Promise<CliRun> {
  return runRelay({ REDIS_URL: server.url, HTTP_ACTION_ALLOWED_HOSTS: ALLOWED, WEBHOOK_MAX_PER_WORKSPACE: '3' }, argv);
}

interface Added {
  webhook_id: string;
  workspace_id: string;
  url: string;
  events: string[];
  created_at: string;
  secret: string;
}

async function add(workspace: string, url: string, ...more: string[]): Promise<Added> {
  const run = await relay('webhooks', 'add', '--workspace', workspace, '--url', url, ...more, '--json');
  expect({ code: run.code, err: run.err }).toEqual({ code: 0, err: [] });
  expect(run.out).toHaveLength(1);
  return JSON.parse(run.out[0]) as Added;
}

const ALL_TYPES = ['created', 'started', 'progress', 'retrying', 'succeeded', 'failed', 'cancelled', 'dead_lettered'];

beforeAll(async () => {
  server = await fileRedis();
});
afterAll(async () => {
  await server.stop();
});

describe('relay webhooks', () => {
  it('add prints the secret once (JSON or text); list never shows it; the endpoint is stored for its workspace', async () => {
    const added = await add('acme', 'https://hooks.example.com/relay?source=relay');
    expect(added).toEqual({
      webhook_id: expect.stringMatching(/^wh_[0-9a-f]{16}$/),
      workspace_id: 'acme',
      url: 'https://hooks.example.com/relay?source=relay',
      events: ALL_TYPES,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/),
    });
    const text = await relay('webhooks', 'add', '--workspace', 'acme', '--url', 'https://hooks.example.com:8443/other', '--events', 'succeeded, failed');
    expect(text.code).toBe(0);
    expect(text.out).toEqual([
      expect.stringMatching(/^webhook wh_[0-9a-f]{16} added for workspace acme: https:\/\/hooks\.example\.com:8443\/other$/),
      'events: succeeded,failed',
      expect.stringMatching(/^signing secret \(shown once, store it now\): whsec_[A-Za-z0-9_-]{43}$/),
    ]);
    const textSecret = text.out[2].split(': ')[1];

    const listed = await relay('webhooks', 'list', '--workspace', 'acme', '--json');
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.out[0]) as Record<string, unknown>[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({
      webhook_id: added.webhook_id,
      workspace_id: 'acme',
      url: added.url,
      events: ALL_TYPES,
      created_at: added.created_at,
      pending: 0,
      last_delivered_at: null,
      last_failed_at: null,
      last_error: null,
      secret_rotated_at: null,
      previous_secret_valid_until: null,
    });
    expect(rows[1]).toMatchObject({ url: 'https://hooks.example.com:8443/other', events: ['succeeded', 'failed'] });
    const listedText = await relay('webhooks', 'list', '--workspace', 'acme');
    expect(listedText.out).toHaveLength(2);
    expect(listedText.out[0]).toContain(added.webhook_id);
    for (const output of [listed.out.join('\n'), listedText.out.join('\n')]) {
      expect(output).not.toContain(added.secret);
      expect(output).not.toContain(textSecret);
      expect(output).not.toContain('whsec_');
    }
    // The secret signs deliveries, so it is stored as is, in the endpoint's hash only.
    expect(await server.redis.hget(RedisKeys.webhook(added.webhook_id), 'secret')).toBe(added.secret);
    expect(await server.redis.smembers(RedisKeys.workspaceWebhooks('acme'))).toHaveLength(2);
    expect(await server.redis.hget(RedisKeys.webhookCursors, 'acme')).toBe('0-0');
    // Another workspace sees none of them.
    expect((await relay('webhooks', 'list', '--workspace', 'beta')).out).toEqual(['no webhooks for workspace beta']);
  });

  it('rotate-secret shows a new secret once; list shows when, and until when the previous one still signs, never either secret', async () => {
    const added = await add('rot', 'https://hooks.example.com/rot');
    const rotated = await relay('webhooks', 'rotate-secret', added.webhook_id, '--json');
    expect(rotated.code).toBe(0);
    const body = JSON.parse(rotated.out[0]) as Record<string, string>;
    expect(body).toEqual({
      webhook_id: added.webhook_id,
      workspace_id: 'rot',
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/),
      rotated_at: expect.any(String),
      previous_secret_valid_until: expect.any(String),
    });
    expect(body.secret).not.toBe(added.secret);
    // The default grace: 24 h from the rotation.
    expect(Date.parse(body.previous_secret_valid_until) - Date.parse(body.rotated_at)).toBe(86_400_000);
    expect(await server.redis.hmget(RedisKeys.webhook(added.webhook_id), 'secret', 'previous_secret')).toEqual([body.secret, added.secret]);

    const text = await relay('webhooks', 'rotate-secret', added.webhook_id);
    expect(text.out[0]).toMatch(new RegExp(`^new signing secret for ${added.webhook_id} \\(shown once, store it now\\): whsec_`));
    expect(text.out[1]).toMatch(/retries of earlier events included, is signed with it; until \S+ each also carries a second v1 signature made with the previous secret$/);

    const listed = await relay('webhooks', 'list', '--workspace', 'rot', '--json');
    expect(JSON.parse(listed.out[0])).toEqual([expect.objectContaining({ secret_rotated_at: expect.any(String), previous_secret_valid_until: expect.any(String) })]);
    expect(listed.out[0]).not.toContain('whsec_');

    const noGrace = await runRelay({ REDIS_URL: server.url, WEBHOOK_SECRET_GRACE_MS: '0' }, ['webhooks', 'rotate-secret', added.webhook_id, '--json']);
    expect(JSON.parse(noGrace.out[0])).toMatchObject({ previous_secret_valid_until: null });
    expect(await server.redis.hexists(RedisKeys.webhook(added.webhook_id), 'previous_secret')).toBe(0);
  });

  it('remove deletes the endpoint (exit 1 for one that does not exist); the last one takes its workspace off the fan-out', async () => {
    const one = await add('gone', 'https://hooks.example.com/1');
    const two = await add('gone', 'https://hooks.example.com/2');
    expect(await relay('webhooks', 'remove', one.webhook_id)).toMatchObject({ code: 0, out: [`removed ${one.webhook_id} (workspace gone)`] });
    expect(await server.redis.hexists(RedisKeys.webhookCursors, 'gone')).toBe(1);
    expect(await relay('webhooks', 'remove', two.webhook_id, '--json')).toMatchObject({ code: 0, out: [JSON.stringify({ webhook_id: two.webhook_id, removed: true })] });
    expect(await server.redis.hexists(RedisKeys.webhookCursors, 'gone')).toBe(0);
    expect(await server.redis.exists(RedisKeys.webhook(one.webhook_id), RedisKeys.webhook(two.webhook_id), RedisKeys.workspaceWebhooks('gone'))).toBe(0);
    expect((await relay('webhooks', 'list', '--workspace', 'gone', '--json')).out).toEqual(['[]']);

    for (const id of [one.webhook_id, 'wh_0000000000000000', 'not-an-id']) {
      expect(await relay('webhooks', 'remove', id)).toMatchObject({ code: 1, out: [`no such webhook: ${id}`] });
      expect(await relay('webhooks', 'rotate-secret', id)).toMatchObject({ code: 1, out: [`no such webhook: ${id}`] });
    }
  });

  it('refuses URLs outside the outbound policy of http.post, bad event types and invalid workspace ids: exit 2, nothing stored', async () => {
    const refused: [string, RegExp][] = [
      ['https://elsewhere.example.com/x', /^url: host elsewhere\.example\.com:443 is not on HTTP_ACTION_ALLOWED_HOSTS$/],
      ['https://hooks.example.com:9443/x', /is not on HTTP_ACTION_ALLOWED_HOSTS/],
      ['https://user:pass@hooks.example.com/x', /^url: credentials in the URL are not allowed$/],
      ['ftp://hooks.example.com/x', /^url: only http and https URLs are allowed$/],
      ['http://[::]:8080/x', /^url: :: is not a host$/],
      ['https://hooks.example.com/x#part', /^url: a fragment/],
      ['hooks.example.com/x', /^url: not a valid absolute URL$/],
      [`https://hooks.example.com/${'a'.repeat(2048)}`, /^url: at most 2048 characters$/],
    ];
    for (const [url, message] of refused) {
      const run = await relay('webhooks', 'add', '--workspace', 'bad', '--url', url);
      expect({ url, code: run.code, out: run.out }).toEqual({ url, code: 2, out: [] });
      expect(run.err.join('\n')).toMatch(message);
    }
    for (const events of ['nope', 'created,finished', ',']) {
      const run = await relay('webhooks', 'add', '--workspace', 'bad', '--url', 'https://hooks.example.com/x', '--events', events);
      expect({ events, code: run.code }).toEqual({ events, code: 2 });
      expect(run.err.join('\n')).toMatch(/^events: one or more of created, started, progress, retrying, succeeded, failed, cancelled, dead_lettered/);
    }
    // A literal IP that is on the allowlist is accepted (whatever its class, as for http.post).
    expect((await add('bad', 'https://203.0.113.7/x')).url).toBe('https://203.0.113.7/x');
    expect(await server.redis.scard(RedisKeys.workspaceWebhooks('bad'))).toBe(1);

    // Invalid workspace ids are refused before Redis is touched: nothing answers at this REDIS_URL.
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    for (const workspace of ['Acme', 'acme:x', 'a'.repeat(33), '']) {
      for (const command of [['add', '--url', 'https://hooks.example.com/x'], ['list'], ['deliveries']]) {
        const run = await runRelay({ REDIS_URL: nowhere }, ['webhooks', command[0], '--workspace', workspace, ...command.slice(1)]);
        expect({ workspace, command: command[0], code: run.code, err: run.err }).toEqual({ workspace, command: command[0], code: 2, err: [`invalid workspace id ${JSON.stringify(workspace)}`] });
      }
    }
    expect((await relay('webhooks', 'deliveries', '--workspace', 'bad', '--limit', '0')).code).toBe(2);
    expect((await relay('webhooks', 'add', '--workspace', 'bad')).code).toBe(2);
  });

  it('a workspace has at most WEBHOOK_MAX_PER_WORKSPACE endpoints: exit 1 beyond, nothing stored', async () => {
    for (let i = 0; i < 3; i++) await add('full', `https://hooks.example.com/${i}`);
    const run = await relay('webhooks', 'add', '--workspace', 'full', '--url', 'https://hooks.example.com/3');
    expect(run).toMatchObject({ code: 1, err: ['relay: workspace full has 3 webhooks, the most WEBHOOK_MAX_PER_WORKSPACE allows'] });
    expect(await server.redis.scard(RedisKeys.workspaceWebhooks('full'))).toBe(3);
  });

  it('deliveries of a workspace without any: says so, and --json is {dead_letters: [], recent_failures: []}', async () => {
    expect(await relay('webhooks', 'deliveries', '--workspace', 'acme')).toMatchObject({ code: 0, out: ['no dead-lettered deliveries', 'no recent failed attempts'] });
    expect(await relay('webhooks', 'deliveries', '--workspace', 'acme', '--json')).toMatchObject({ code: 0, out: ['{"dead_letters":[],"recent_failures":[]}'] });
  });
});
