import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { runRelay, type CliRun } from './support/cli-runner.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/** `relay keys …` (SPEC section 8) through runCli, against the file's own Redis. */

/** This file's own Redis (started in beforeAll). */
let server: FileRedis;

/** `relay <argv>` in-process against this file's Redis. */
async function relay(...argv: string[]): Promise<CliRun> {
  return runRelay({ REDIS_URL: server.url }, argv);
}

interface CreatedKey {
  key: string;
  key_id: string;
  workspace_id: string;
  actor_id: string;
  scopes: string[];
}

async function createKey(workspace: string, actor = 'bot', scopes = 'actions:execute,actions:preview'): Promise<CreatedKey> {
  const run = await relay('keys', 'create', '--workspace', workspace, '--actor', actor, '--scopes', scopes, '--json');
  expect({ code: run.code, err: run.err }).toEqual({ code: 0, err: [] });
  expect(run.out).toHaveLength(1);
  return JSON.parse(run.out[0]) as CreatedKey;
}

/** Every key name and every value in the database, as text. */
async function dumpDatabase(redis: Redis): Promise<string[]> {
  const texts: string[] = [];
  let cursor = '0';
  do {
    const [next, names] = await redis.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const name of names) {
      texts.push(name);
      switch (await redis.type(name)) {
        case 'string':
          texts.push((await redis.get(name)) ?? '');
          break;
        case 'hash':
          for (const [f, v] of Object.entries(await redis.hgetall(name))) texts.push(f, v);
          break;
        case 'set':
          texts.push(...(await redis.smembers(name)));
          break;
        case 'zset':
          texts.push(...(await redis.zrange(name, '0', '-1')));
          break;
        case 'list':
          texts.push(...(await redis.lrange(name, 0, -1)));
          break;
        default:
          texts.push(`<unexpected type of ${name}>`);
      }
    }
  } while (cursor !== '0');
  return texts;
}

describe('relay keys (operator CLI) on a real Redis', () => {
  let redis: Redis;
  let api: ApiHarness;

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    api = await startApi(server.url);
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  it('keys create --json prints one JSON object with the key, its id, workspace, actor and scopes; exit 0', async () => {
    const run = await relay('keys', 'create', '--workspace', 'acme', '--actor', 'bot', '--scopes', 'actions:execute,actions:preview', '--json');
    expect(run.code).toBe(0);
    expect(run.err).toEqual([]);
    expect(run.out).toHaveLength(1);
    const created = JSON.parse(run.out[0]);
    expect(created).toEqual({
      key: expect.stringMatching(/^rly_/),
      key_id: expect.any(String),
      workspace_id: 'acme',
      actor_id: 'bot',
      scopes: ['actions:execute', 'actions:preview'],
    });
    expect(created.key).toContain(created.key_id);
    // The key works at once against the API, for the key's workspace and actor.
    const res = await api.http.post('/ai/jobs').set('Authorization', `Bearer ${created.key}`).send({ action: 'debug.echo', params: {} });
    expect(res.status).toBe(202);
    expect((await api.http.get(`/ai/jobs/${res.body.job_id}`).set('Authorization', `Bearer ${created.key}`)).body).toMatchObject({ workspace_id: 'acme', actor_id: 'bot' });
  });

  it('keys create without --json prints the key once, in clear, with its id', async () => {
    const run = await relay('keys', 'create', '--workspace', 'acme', '--scopes', 'actions:preview');
    expect(run.code).toBe(0);
    const text = run.out.join('\n');
    const key = /rly_[A-Za-z0-9_-]+/.exec(text)?.[0];
    expect(key).toBeDefined();
    expect(text.split(key!).length - 1).toBe(1);
  });

  it('stores only the SHA-256 hash: the clear key (or its secret part) appears nowhere in the database', async () => {
    const created = await createKey('acme', 'hash-check');
    // rly_<key id>_<secret>; the secret itself may contain '_'.
    expect(created.key.startsWith(`rly_${created.key_id}_`)).toBe(true);
    const secret = created.key.slice(`rly_${created.key_id}_`.length);
    expect(secret.length).toBeGreaterThanOrEqual(16);

    const everything = await dumpDatabase(redis);
    expect(everything.length).toBeGreaterThan(0);
    expect(everything.filter((t) => t.includes(created.key) || t.includes(secret))).toEqual([]);

    const sha256 = createHash('sha256').update(created.key).digest('hex');
    expect(everything).toContain(sha256);
    expect(await redis.hget(`ai:apikey:${created.key_id}`, 'hash')).toBe(sha256);
  });

  it('keys list shows the key ids but never the keys', async () => {
    const a = await createKey('listing-ws', 'one');
    const b = await createKey('listing-ws', 'two', 'actions:preview');
    await createKey('other-ws', 'three');

    const json = await relay('keys', 'list', '--workspace', 'listing-ws', '--json');
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.out.join('\n')) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.key_id).sort()).toEqual([a.key_id, b.key_id].sort());
    expect(rows.find((r) => r.key_id === b.key_id)).toMatchObject({ workspace_id: 'listing-ws', actor_id: 'two', scopes: ['actions:preview'] });
    for (const r of rows) expect(r).not.toHaveProperty('key');

    const plain = await relay('keys', 'list', '--workspace', 'listing-ws');
    expect(plain.code).toBe(0);
    for (const run of [json, plain]) {
      const text = [...run.out, ...run.err].join('\n');
      expect(text).toContain(a.key_id);
      expect(text).toContain(b.key_id);
      expect(text).not.toContain(a.key);
      expect(text).not.toContain(b.key);
      expect(text).not.toMatch(/rly_/);
    }
  });

  it('keys revoke <id>: exit 0, and the key gets 401 on the very next request', async () => {
    const created = await createKey('revoke-ws', 'doomed');
    const auth = { Authorization: `Bearer ${created.key}` };
    expect((await api.http.get('/ai/jobs').set(auth)).status).toBe(200);

    const run = await relay('keys', 'revoke', created.key_id);
    expect(run.code).toBe(0);
    expect(run.err).toEqual([]);

    const after = await api.http.get('/ai/jobs').set(auth);
    expect(after.status).toBe(401);
    expect((await api.http.post('/ai/jobs').set(auth).send({ action: 'debug.echo', params: {} })).status).toBe(401);

    const list = await relay('keys', 'list', '--workspace', 'revoke-ws', '--json');
    expect(JSON.parse(list.out.join('\n'))).toEqual([]);
    expect(await redis.exists(`ai:apikey:${created.key_id}`)).toBe(0);
  });

  it('revoking an unknown key id (or the same key twice) exits 1', async () => {
    expect((await relay('keys', 'revoke', '0123456789abcdef')).code).toBe(1);
    expect((await relay('keys', 'revoke', 'not-a-key-id')).code).toBe(1);
    const created = await createKey('twice-ws');
    expect((await relay('keys', 'revoke', created.key_id)).code).toBe(0);
    expect((await relay('keys', 'revoke', created.key_id)).code).toBe(1);
  });

  describe('bad usage exits 2 with a message on err and writes nothing', () => {
    let before: string[];
    beforeEach(async () => {
      before = (await dumpDatabase(redis)).sort();
    });
    afterEach(async () => {
      expect((await dumpDatabase(redis)).sort()).toEqual(before);
    });

    it.each([
      ['an unknown command', ['frobnicate'], /unknown command/i],
      ['an unknown keys subcommand', ['keys', 'frobnicate'], /unknown command/i],
      ['keys create without --workspace', ['keys', 'create', '--scopes', 'actions:execute'], /--workspace/],
      ['keys list without --workspace', ['keys', 'list'], /--workspace/],
      ['keys create without --scopes', ['keys', 'create', '--workspace', 'acme'], /--scopes/],
      ['keys revoke without a key id', ['keys', 'revoke'], /key_id|argument/i],
      ['an invalid workspace id', ['keys', 'create', '--workspace', 'Bad!', '--scopes', 'actions:execute'], /workspace.*Bad!/i],
      ['a workspace id with a trailing newline', ['keys', 'create', '--workspace', 'acme\n', '--scopes', 'actions:execute'], /workspace/i],
      ['an invalid workspace id on list', ['keys', 'list', '--workspace', 'Bad!'], /workspace.*Bad!/i],
      ['an unknown scope', ['keys', 'create', '--workspace', 'acme', '--scopes', 'admin'], /scope.*admin/i],
      ['one unknown scope among known ones', ['keys', 'create', '--workspace', 'acme', '--scopes', 'actions:execute,admin'], /admin/],
      ['an empty scope list', ['keys', 'create', '--workspace', 'acme', '--scopes', ','], /scope/i],
    ])('%s', async (_name, argv, message) => {
      const run = await relay(...argv);
      expect({ code: run.code, out: run.out, err: run.err.join('\n') }).toEqual({ code: 2, out: [], err: expect.stringMatching(message) });
    });
  });
});
