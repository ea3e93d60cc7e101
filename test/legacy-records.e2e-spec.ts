import type { Redis } from 'ioredis';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/** Records of the predecessor system that do not look like Relay's own. */
describe('odd predecessor records', () => {
  let redis: Redis;
  let server: FileRedis;
  let api: ApiHarness;
  let auth: Record<string, string>;

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    const base = { workspace_id: 'acme', action_provider: 'gmail', action_name: 'send', status: 'pending', attempts: '0' };
    await redis.hset('ai:jobs:plain-text', { ...base, job_id: 'plain-text', params: 'password=hunter2', created_at: '2025-10-17T10:15:00.000Z' });
    await redis.hset('ai:jobs:no-created', { ...base, job_id: 'no-created', params: '{}' });
    await redis.hset('ai:jobs:expiring', { ...base, job_id: 'expiring', status: 'succeeded', params: '{}', created_at: '2025-10-17T10:16:00.000Z' });
    await redis.pexpire('ai:jobs:expiring', 600000);
    api = await startApi(server.url);
    auth = { Authorization: `Bearer ${await api.key('acme')}` };
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  it('never shows params that are not JSON (they cannot be redacted field by field)', async () => {
    const res = await api.http.get('/ai/jobs/plain-text').set(auth);
    expect(res.status).toBe(200);
    expect(res.body.params).toBe('[REDACTED]');
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
  });

  it('refuses to cancel a record without created_at, and changes nothing', async () => {
    const res = await api.http.post('/ai/jobs/no-created/cancel').set(auth);
    expect(res.status).toBe(409);
    expect(await redis.hget('ai:jobs:no-created', 'status')).toBe('pending');
    expect(await redis.ttl('ai:jobs:no-created')).toBe(-1);
  });

  it('answers cancel exactly like a read: a job the phase cannot read is 404 and stays untouched', async () => {
    // Phase 3 reads the scoped schema only; this legacy-only job is invisible there (backfill has not run).
    await redis.hset('ai:jobs:legacy-only', {
      job_id: 'legacy-only', workspace_id: 'acme', action_provider: 'debug', action_name: 'echo', params: '{}',
      status: 'pending', attempts: '0', created_at: '2025-10-17T10:17:00.000Z',
    });
    const phase3 = await startApi(server.url, { AI_JOBS_NEW_SCHEMA: 'on', READ_PREFERS_NEW: 'on', READ_FALLBACK_OLD: 'off' });
    try {
      const key = { Authorization: `Bearer ${await phase3.key('acme')}` };
      expect((await phase3.http.get('/ai/jobs/legacy-only').set(key)).status).toBe(404);
      expect((await phase3.http.post('/ai/jobs/legacy-only/cancel').set(key)).status).toBe(404);
      expect(await redis.hget('ai:jobs:legacy-only', 'status')).toBe('pending');
      // The phase that reads it can cancel it.
      expect((await api.http.post('/ai/jobs/legacy-only/cancel').set(auth)).status).toBe(200);
    } finally {
      await phase3.close();
    }
  });

  it('gives an expiring predecessor record a retention entry when it indexes it, so its index entry goes with it', async () => {
    expect((await api.http.get('/ai/jobs').set(auth)).status).toBe(200);
    const retention = await redis.zrange('ai:queue:retention', '0', '-1', 'WITHSCORES');
    expect(retention[0]).toBe('acme|succeeded|2025-10-17T10:16:00.000Z/expiring');
    const dueIn = Number(retention[1]) - Date.now();
    expect(dueIn).toBeGreaterThan(500000);
    expect(dueIn).toBeLessThanOrEqual(600000);
  });
});
