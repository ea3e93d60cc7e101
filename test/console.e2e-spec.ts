import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ApiKeyStore } from '@relay/auth';
import { RedisKeys } from '@relay/redis';
import { createWorkerApp } from '../apps/worker/src/worker.app.js';
import { BUILT_INS, CapturingLogger, startApi, type ApiHarness } from './support/api-harness.js';
import { ROOT } from './support/child-main.js';
import { runRelay } from './support/cli-runner.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * The operator console end to end in a real headless Chromium (Debian's
 * /usr/bin/chromium, driven by playwright-core): the real API listening on
 * a spare loopback port, real workers in-process, a real Redis. Screenshots
 * go to test-artifacts/console/ (gitignored).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');
const SECRET = 'sk-console-SECRET-1';

describe('operator console in headless Chromium', () => {
  let server: FileRedis;
  let api: ApiHarness;
  let browser: Browser;
  let page: Page;
  let base: string;
  let tenantKey: string;
  let operatorKey: string;
  const workers: INestApplication[] = [];
  const auth = () => ({ Authorization: `Bearer ${tenantKey}` });

  async function startWorker(env: Record<string, string>): Promise<INestApplication> {
    const app = await createWorkerApp({ REDIS_URL: server.url, ACTION_ALLOWLIST: BUILT_INS, WORKER_LEASE_MS: '2000', WORKER_SHUTDOWN_GRACE_MS: '0', ...env }, new CapturingLogger());
    workers.push(app);
    await app.init();
    return app;
  }

  async function submit(workspaceKey: string, action: string, params: Record<string, unknown>): Promise<string> {
    const res = await api.http.post('/ai/jobs').set({ Authorization: `Bearer ${workspaceKey}` }).send({ action, params });
    expect(res.status).toBe(202);
    return res.body.job_id;
  }

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  /** The queue table's row of a workspace: [pending, running, delayed, retrying, dead]. */
  async function queueRow(workspace: string): Promise<number[]> {
    const row = page.locator('#queues-table tbody tr').filter({ has: page.getByRole('rowheader', { name: workspace, exact: true }) });
    return (await row.locator('td.number').allTextContents()).map(Number);
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await fileRedis();
    api = await startApi(server.url, { RATE_LIMIT_MAX: '0' });
    await api.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${((api.app.getHttpServer() as Server).address() as AddressInfo).port}`;
    tenantKey = await api.key('alpha');
    operatorKey = (await api.app.get(ApiKeyStore).createOperator('ops-ann')).key;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'], timeout: 20_000 });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(10_000);
  });
  afterAll(async () => {
    await browser?.close();
    for (const w of workers.splice(0).reverse()) await w.close();
    await api?.close();
    await server?.stop();
  });

  it('signs in with an operator key only, shows queues per workspace, filters and pages jobs, opens one redacted, requeues a dead letter, updates live, counts the migration', async () => {
    const betaKey = await api.key('beta');
    // A dead letter in alpha: its only attempt fails (JOB_MAX_ATTEMPTS=1).
    const worker1 = await startWorker({ JOB_MAX_ATTEMPTS: '1' });
    const deadId = await submit(tenantKey, 'debug.fail', { times: 1, api_key: SECRET });
    await expectEventually(async () => expect(await server.redis.lrange(RedisKeys.deadLetters, 0, -1)).toEqual([`alpha:${deadId}`]), 10_000);
    await worker1.close();
    workers.splice(workers.indexOf(worker1), 1);
    // One slot, held by a long job: a retrying job in beta (a day of backoff), a running one in alpha, then pending ones.
    await startWorker({ JOB_MAX_ATTEMPTS: '3', JOB_RETRY_BASE_MS: '3600000', JOB_RETRY_MAX_MS: '3600000', WORKER_CONCURRENCY: '1', JOB_TIMEOUT_MS: '120000' });
    const retryingId = await submit(betaKey, 'debug.fail', {});
    await expectEventually(async () => expect(await server.redis.zcard(RedisKeys.retryQueue)).toBe(1), 10_000);
    // Its backoff is a random share of an hour (full jitter): pushed a day out, so it cannot come due during the test.
    await server.redis.zadd(RedisKeys.retryQueue, 'XX', Date.now() + 86_400_000, `beta:${retryingId}`);
    const runningId = await submit(tenantKey, 'debug.sleep', { ms: 60_000 });
    await expectEventually(async () => expect(await server.redis.hget(RedisKeys.legacyJob(runningId), 'status')).toBe('running'), 10_000);
    const plan = await api.http.post('/ai/plans').set(auth()).send({ steps: Array.from({ length: 21 }, (_, i) => ({ action: 'debug.echo', params: { n: i, password: SECRET } })) });
    expect(plan.status).toBe(202);

    await page.goto(`${base}/console`);
    // A tenant key is refused at sign-in.
    await page.getByLabel('Operator API key').fill(tenantKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectEventually(async () => expect(await page.getByRole('alert').textContent()).toBe('Not signed in: This key is not an operator key.'));
    await shot('01-tenant-key-refused');

    // Keyboard only: type the key and press Enter.
    await page.getByLabel('Operator API key').fill('');
    await page.getByLabel('Operator API key').focus();
    await page.keyboard.type(operatorKey);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Queues' }).waitFor();
    // The key is never put in the URL, and stays in this tab's sessionStorage only.
    expect(page.url()).toBe(`${base}/console`);
    expect(await page.evaluate<number>('localStorage.length')).toBe(0);
    expect(await queueRow('alpha')).toEqual([21, 1, 0, 0, 1]);
    expect(await queueRow('beta')).toEqual([0, 0, 0, 1, 0]);
    expect(await page.locator('[data-total]').allTextContents()).toEqual(['21', '1', '0', '1', '1']);
    await shot('02-queues');

    // A workspace's jobs, filtered by status, in pages of 20.
    await page.getByRole('button', { name: 'Show jobs of alpha' }).click();
    await page.getByLabel('Status').selectOption('pending');
    await page.getByRole('button', { name: 'Show jobs', exact: true }).click();
    await expectEventually(async () => expect(await page.locator('#jobs-table tbody tr').count()).toBe(20));
    expect(new Set(await page.locator('#jobs-table tbody tr td:nth-child(3)').allTextContents())).toEqual(new Set(['pending']));
    await page.getByRole('button', { name: 'Next page' }).click();
    await expectEventually(async () => expect(await page.locator('#jobs-table tbody tr').count()).toBe(1));
    await page.getByRole('button', { name: 'First page' }).click();
    await expectEventually(async () => expect(await page.locator('#jobs-table tbody tr').count()).toBe(20));
    await page.getByLabel('Status').selectOption('running');
    await page.getByRole('button', { name: 'Show jobs', exact: true }).click();
    await expectEventually(async () => expect(await page.locator('#jobs-table tbody tr td:nth-child(1)').allTextContents()).toEqual([runningId]));
    await shot('03-jobs-filtered');

    // One job: params redacted, focus moved to its heading.
    await page.getByRole('button', { name: `Open job ${deadId} of workspace alpha` }).click();
    await expectEventually(async () => expect(await page.locator('#job-heading').textContent()).toBe(`Job ${deadId}`));
    expect(await page.evaluate<string>('document.activeElement?.id')).toBe('job-heading');
    const params = JSON.parse((await page.locator('#job-params').textContent()) ?? '');
    expect(params).toEqual({ times: 1, api_key: '[REDACTED]' });
    expect(await page.content()).not.toContain(SECRET);
    await shot('04-job-redacted');

    // Requeue the dead letter with the keyboard: it leaves the dead-letter list and waits in alpha's pending jobs.
    await page.getByRole('button', { name: `Requeue job ${deadId} of workspace alpha` }).focus();
    await page.keyboard.press('Enter');
    await expectEventually(async () => expect(await page.getByRole('status').textContent()).toBe(`Requeued job ${deadId} of workspace alpha.`));
    expect(await server.redis.lrange(RedisKeys.deadLetters, 0, -1)).toEqual([]);
    expect(await server.redis.hget(RedisKeys.legacyJob(deadId), 'status')).toBe('pending');
    await expectEventually(async () => expect(await queueRow('alpha')).toEqual([22, 1, 0, 0, 0]), 10_000);
    expect(await page.locator('#dead-table tbody tr').count()).toBe(0);
    // The job still shown in detail follows: pending again, no attempt used.
    await expectEventually(async () => expect(await page.locator('#job-fields dd').nth(4).textContent()).toBe('pending'), 10_000, 200);
    expect(await page.locator('#job-fields dd').nth(5).textContent()).toBe('0');
    await shot('05-requeued');

    // Live: a job submitted elsewhere shows up without anything done in the page, and is announced.
    await submit(betaKey, 'debug.echo', {});
    await expectEventually(async () => expect(await queueRow('beta')).toEqual([1, 0, 0, 1, 0]), 15_000, 200);
    await expectEventually(async () => expect(await page.getByRole('status').textContent()).toBe('Queues updated: 23 pending, 1 running, 0 delayed, 1 retrying, 0 dead.'), 5000, 200);
    await shot('06-live-update');

    // Migration status: the counts of `relay migrate status`.
    await page.getByRole('button', { name: 'Count migration status' }).click();
    await expectEventually(async () => expect(await page.locator('#migration-fields dd').first().textContent()).toBe('0'));
    const cli = await runRelay({ REDIS_URL: server.url }, ['migrate', 'status', '--json']);
    const status = JSON.parse(cli.out[0]);
    expect(await page.locator('#migration-fields dd').nth(3).textContent()).toBe(`${status.legacyRecords} (${status.legacyOnly} only in legacy)`);
    expect(status.legacyRecords).toBe(25);
    await shot('07-migration');
  }, 90_000);

  it('is operable and labelled: every control has a name, tables have captions and headers, Tab reaches every button; signing out forgets the key', async () => {
    // In-page code is passed as text: this file is typechecked without the DOM library.
    const unnamed = await page.evaluate<string[]>(`[...document.querySelectorAll('input, select, button, a')]
      .filter((el) => !el.closest('[hidden]'))
      .filter((el) => (el.tagName === 'INPUT' || el.tagName === 'SELECT' ? el.labels.length === 0 : (el.getAttribute('aria-label') ?? el.textContent ?? '').trim() === ''))
      .map((el) => el.outerHTML)`);
    expect(unnamed).toEqual([]);
    const tables = await page.evaluate<{ caption: boolean; headers: number }[]>(
      `[...document.querySelectorAll('table')].map((t) => ({ caption: !!t.caption?.textContent, headers: t.querySelectorAll('thead th[scope=col]').length }))`,
    );
    for (const t of tables) expect(t.caption && t.headers > 0).toBe(true);
    expect(await page.locator('#status').getAttribute('aria-live')).toBe('polite');

    // Tab from the top reaches the migration button (the last control) in at most 120 presses, through every job button on the way.
    await page.locator('body').focus();
    const reached: string[] = [];
    for (let i = 0; i < 120 && !reached.includes('Count migration status'); i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate<string>(`document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent?.trim() ?? ''`));
    }
    expect(reached).toContain('Skip to content');
    expect(reached).toContain('Show jobs of beta');
    expect(reached).toContain('Count migration status');

    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    await page.reload();
    expect(await page.getByLabel('Operator API key').isVisible()).toBe(true);
    expect(await page.locator('#console').isHidden()).toBe(true);
    await shot('08-signed-out');
  }, 30_000);
});
