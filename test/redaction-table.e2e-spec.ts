import { ConfigError } from '@relay/config';
import { Redis } from 'ioredis';
import { createApiApp } from '../apps/api/src/api.app.js';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { PrivateRedis } from './support/redis-server.js';

/**
 * The judge of params redaction (README "Privacy"): real parameter names and
 * shapes from LLM, mail, chat, payment and HTTP APIs, submitted through the
 * API to a real Redis and read back with GET /ai/jobs/:id, each at the top
 * of params, nested three levels down and inside a list. Secret ones are
 * hidden, ordinary ones come back unchanged. Every secret value holds the
 * marker SECRET, so a leak anywhere in a response is caught too.
 */

const R = '[REDACTED]';
type Api = 'LLM' | 'mail' | 'chat' | 'payment' | 'HTTP';
interface Case { api: Api; key: string; value: unknown; shown: unknown }
const secret = (api: Api, key: string, value: unknown, shown: unknown = R): Case => ({ api, key, value, shown });
const kept = (api: Api, key: string, value: unknown): Case => ({ api, key, value, shown: value });

const CASES: Case[] = [
  // LLM APIs (OpenAI, Anthropic, Gemini, Azure OpenAI, Hugging Face)
  kept('LLM', 'model', 'gpt-4o'),
  kept('LLM', 'messages', [{ role: 'system', content: 'You explain password policies and token limits.' }, { role: 'user', content: 'What is an API key?' }]),
  kept('LLM', 'max_tokens', 1024),
  kept('LLM', 'max_completion_tokens', 2048),
  kept('LLM', 'maxOutputTokens', 512),
  kept('LLM', 'max_output_tokens', 256),
  kept('LLM', 'usage', { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 }),
  kept('LLM', 'thinking', { type: 'enabled', budget_tokens: 1024 }),
  kept('LLM', 'temperature', 0.2),
  kept('LLM', 'top_p', 0.9),
  kept('LLM', 'stop_sequences', ['\n\nHuman:']),
  kept('LLM', 'seed', 42),
  kept('LLM', 'logit_bias', { '50256': -100 }),
  kept('LLM', 'response_format', { type: 'json_object' }),
  kept('LLM', 'tools', [{ name: 'login', input_schema: { type: 'object', properties: { username: { type: 'string' }, password: { type: 'string', description: 'The CRM password' } }, required: ['username', 'password'] } }]),
  kept('LLM', 'tool_choice', { type: 'function', function: { name: 'reset_password' } }),
  kept('LLM', 'anthropic-version', '2023-06-01'),
  kept('LLM', 'pageToken', 'CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA'),
  secret('LLM', 'api_key', 'sk-proj-SECRET-llm-1'),
  secret('LLM', 'x-api-key', 'sk-ant-SECRET-llm-2'),
  secret('LLM', 'api-key', 'SECRET-azure-llm-3'),
  secret('LLM', 'x-goog-api-key', 'AIzaSECRET-llm-4'),
  secret('LLM', 'HF_TOKEN', 'hf_SECRET-llm-5'),
  // Mail (SMTP through nodemailer, SendGrid, Mailgun, Gmail)
  kept('mail', 'to', ['ada@example.com']),
  kept('mail', 'from', 'Relay <noreply@example.com>'),
  kept('mail', 'subject', 'Your password was changed'),
  kept('mail', 'text', 'If you did not change your password, reply to this mail.'),
  kept('mail', 'attachments', [{ filename: 'invoice.pdf', content: 'JVBERi0xLjQK', contentType: 'application/pdf' }]),
  kept('mail', 'template_id', 'd-13b8f94fbcae4ec6b75270d6cb59f932'),
  kept('mail', 'smtp_host', 'smtp.example.com'),
  kept('mail', 'smtp_port', 587),
  kept('mail', 'smtp_user', 'mailer'),
  secret('mail', 'smtp_password', 'SECRET-mail-1'),
  secret('mail', 'auth', { user: 'mailer', pass: 'SECRET-mail-2' }),
  secret('mail', 'pass', 'SECRET-mail-3'),
  secret('mail', 'passphrase', 'correct horse SECRET-mail-4'),
  secret('mail', 'dkim', { domainName: 'example.com', keySelector: 's1', privateKey: '-----BEGIN PRIVATE KEY----- SECRET-mail-5' }, { domainName: 'example.com', keySelector: 's1', privateKey: R }),
  // Chat (Slack, Discord, Telegram, Twilio)
  kept('chat', 'channel', 'C024BE91L'),
  kept('chat', 'thread_ts', '1700000000.123456'),
  kept('chat', 'blocks', [{ type: 'section', text: { type: 'mrkdwn', text: '*Deploy* finished: 3 sessions, 2 tokens rotated' } }]),
  kept('chat', 'chat_id', 123456789),
  kept('chat', 'parse_mode', 'MarkdownV2'),
  kept('chat', 'embeds', [{ title: 'Build #42', color: 5814783 }]),
  secret('chat', 'bot_token', 'xoxb-SECRET-chat-1'),
  secret('chat', 'webhook_url', 'https://hooks.slack.com/services/T000/B000/SECRET-chat-2'),
  secret('chat', 'signing_secret', 'SECRET-chat-3'),
  secret('chat', 'X-Slack-Signature', 'v0=SECRET-chat-4'),
  secret('chat', 'session', 'SECRET-chat-5'),
  secret('chat', 'otp', '123456-SECRET-chat-6'),
  // Payment (Stripe, Adyen, Braintree)
  kept('payment', 'amount', 2000),
  kept('payment', 'currency', 'usd'),
  kept('payment', 'customer', 'cus_NffrFeUfNV2Hib'),
  kept('payment', 'metadata', { order_id: '6735' }),
  kept('payment', 'idempotency_key', 'order-6735'),
  kept('payment', 'statement_descriptor', 'RELAY*ORDER'),
  secret('payment', 'card', { number: '4242424242424242-SECRET', exp_month: 12, exp_year: 2030, cvc: 'SECRET-pay-1' }, { number: R, exp_month: 12, exp_year: 2030, cvc: R }),
  secret('payment', 'client_secret', 'pi_3MtwBw_secret_SECRET-pay-2'),
  secret('payment', 'Stripe-Signature', 't=1492774577,v1=SECRET-pay-3'),
  secret('payment', 'pin', '1234-SECRET-pay-4'),
  secret('payment', 'private_key', '-----BEGIN RSA PRIVATE KEY----- SECRET-pay-5'),
  // HTTP, databases, SSH, error trackers
  kept('HTTP', 'url', 'https://api.example.com/v1/items?page=2&sort=desc'),
  kept('HTTP', 'method', 'POST'),
  kept('HTTP', 'Content-Type', 'application/json'),
  kept('HTTP', 'redirect_uri', 'https://app.example.com/oauth/callback'),
  kept('HTTP', 'token_type', 'Bearer'),
  kept('HTTP', 'expires_in', 3600),
  secret('HTTP', 'headers', [['Authorization', 'Bearer SECRET-http-1'], ['Accept', 'application/json']], [['Authorization', R], ['Accept', 'application/json']]),
  secret('HTTP', 'header_list', [{ name: 'X-Api-Key', value: 'SECRET-http-2' }, { name: 'Accept', value: '*/*' }], [{ name: 'X-Api-Key', value: R }, { name: 'Accept', value: '*/*' }]),
  secret('HTTP', 'forwarded', 'Bearer eyJhbGciOiJIUzI1NiJ9.SECRET-http-3'),
  secret('HTTP', 'callback', 'https://app.example.com/cb?state=af0ifjsldkj&access_token=SECRET-http-4'),
  secret('HTTP', 'x-auth', 'SECRET-http-5'),
  secret('HTTP', 'bearer', 'SECRET-http-6'),
  secret('HTTP', 'pwd', 'SECRET-http-7'),
  secret('HTTP', 'ssh_key', '-----BEGIN OPENSSH PRIVATE KEY----- SECRET-http-8'),
  secret('HTTP', 'jwt', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.SECRET-http-9'),
  secret('HTTP', 'signature', 'SECRET-http-10'),
  secret('HTTP', 'dsn', 'https://SECRET-http-11@o0.ingest.sentry.io/0'),
  secret('HTTP', 'connection_string', 'Server=db;Database=main;User Id=app;Password=SECRET-http-12;'),
  secret('HTTP', 'refresh_token', 'SECRET-http-13'),
  secret('HTTP', 'Cookie', 'sid=SECRET-http-14'),
  secret('HTTP', 'database_url', 'postgres://app:SECRET-http-15@db.internal:5432/main'),
];

const paramsAt = {
  top: (entries: Record<string, unknown>) => entries,
  nested: (entries: Record<string, unknown>) => ({ request: { options: entries } }),
  inList: (entries: Record<string, unknown>) => ({ batch: [{ n: 1 }, entries] }),
};
const readBack: Record<keyof typeof paramsAt, (params: any) => Record<string, unknown>> = {
  top: (p) => p,
  nested: (p) => p.request.options,
  inList: (p) => p.batch[1],
};
const PLACES = Object.keys(paramsAt) as (keyof typeof paramsAt)[];

describe('redaction table: real parameter names and shapes, through the API on a real Redis', () => {
  let redis: PrivateRedis;
  let api: ApiHarness;
  let key: string;
  const shown = {} as Record<keyof typeof paramsAt, Record<string, unknown>>;
  const texts: string[] = [];
  const jobIds: string[] = [];

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    api = await startApi(redis.url);
    key = await api.key('table-ws');
    const entries = Object.fromEntries(CASES.map((c) => [c.key, c.value]));
    for (const place of PLACES) {
      const created = await api.http.post('/ai/jobs').set('Authorization', `Bearer ${key}`).send({ action: 'debug.echo', params: paramsAt[place](entries) });
      expect(created.status).toBe(202);
      jobIds.push(created.body.job_id);
      const res = await api.http.get(`/ai/jobs/${created.body.job_id}`).set('Authorization', `Bearer ${key}`);
      expect(res.status).toBe(200);
      texts.push(res.text);
      shown[place] = readBack[place](res.body.params);
    }
  });
  afterAll(async () => {
    await api?.close();
    await redis?.stop();
  });

  it('holds at least 50 cases from each kind of API, secret and ordinary, with unique keys', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(50);
    expect(new Set(CASES.map((c) => c.key)).size).toBe(CASES.length);
    for (const api of ['LLM', 'mail', 'chat', 'payment', 'HTTP']) {
      expect({ api, secret: CASES.some((c) => c.api === api && c.shown !== c.value) }).toEqual({ api, secret: true });
      expect({ api, kept: CASES.some((c) => c.api === api && c.shown === c.value) }).toEqual({ api, kept: true });
    }
    for (const c of CASES) expect({ key: c.key, marked: JSON.stringify(c.value).includes('SECRET') }).toEqual({ key: c.key, marked: c.shown !== c.value });
  });

  it.each(CASES.map((c) => [c.api, c.key, c.shown === c.value ? 'kept' : 'redacted', c] as const))('%s %s: %s, at the top, nested and in a list', (_api, _key, _verdict, c) => {
    for (const place of PLACES) expect({ place, key: c.key, shown: shown[place][c.key] }).toEqual({ place, key: c.key, shown: c.shown });
  });

  it('no response carries any secret value of the table', () => {
    expect(texts).toHaveLength(PLACES.length);
    for (const text of texts) expect(text.match(/SECRET[-\w]*/g)).toBeNull();
  });

  it('keeps the real params in the stored record, which the worker runs with', async () => {
    const client = new Redis(redis.url);
    try {
      const stored = JSON.parse((await client.hget(`ai:jobs:${jobIds[0]}`, 'params'))!);
      expect(stored).toEqual(Object.fromEntries(CASES.map((c) => [c.key, c.value])));
    } finally {
      client.disconnect();
    }
  });

  it('REDACT_KEYS adds words: customer_ssn is hidden where it is set, shown where it is not', async () => {
    const strict = await startApi(redis.url, { REDACT_KEYS: 'ssn, account_number' });
    try {
      const strictKey = await strict.key('table-ws');
      const params = { customer_ssn: '078-05-1120', accountNumber: '000123456789', max_tokens: 5, api_key: 'SECRET' };
      const created = await strict.http.post('/ai/jobs').set('Authorization', `Bearer ${strictKey}`).send({ action: 'debug.echo', params });
      expect(created.status).toBe(202);
      const viaStrict = await strict.http.get(`/ai/jobs/${created.body.job_id}`).set('Authorization', `Bearer ${strictKey}`);
      expect(viaStrict.body.params).toEqual({ customer_ssn: R, accountNumber: R, max_tokens: 5, api_key: R });
      const viaDefault = await api.http.get(`/ai/jobs/${created.body.job_id}`).set('Authorization', `Bearer ${key}`);
      expect(viaDefault.body.params).toEqual({ customer_ssn: '078-05-1120', accountNumber: '000123456789', max_tokens: 5, api_key: R });
    } finally {
      await strict.close();
    }
  });

  it.each([['a word of digits only', '123'], ['a character outside the allowed set', 'ssn;pin']])('REDACT_KEYS with %s stops start-up naming the variable', async (_what, value) => {
    const started = createApiApp({ REDIS_URL: redis.url, REDACT_KEYS: value }, false);
    await expect(started).rejects.toThrow(ConfigError);
    await expect(started).rejects.toThrow(/REDACT_KEYS/);
  });
});
