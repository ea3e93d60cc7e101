import { connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { ApiKeyStore } from '@relay/auth';
import { killAllApps, startApp, type AppProcess } from './support/app-process.js';
import { BUILT_INS } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { freePort, PrivateRedis } from './support/redis-server.js';

/**
 * Issue 12, point 7: slow and idle clients cannot hold the API. The real
 * API entry point listens on a real port with small timeouts and a small
 * connection cap, and raw sockets trickle headers and bodies, sit idle, or
 * upload without a key. Node's defaults would hold a trickled body for
 * 300 s (+30 s), trickled headers for 60 s and an idle connection for 6 s,
 * so each bound below separates the settings from the defaults.
 */

const HEADERS_TIMEOUT_MS = 1500;
const REQUEST_TIMEOUT_MS = 3000;
const KEEP_ALIVE_TIMEOUT_MS = 1000;
/** Node keeps an idle connection this much longer than the keep-alive timeout it advertises. */
const NODE_KEEP_ALIVE_BUFFER_MS = 1000;
const MAX_CONNECTIONS = 4;
/** Time given beyond a timeout for the server's check and the close to arrive (generous: the machine is shared). */
const SLACK_MS = 2500;

/** A raw connection that records what the server sends and when it closes. */
interface RawConnection {
  socket: Socket;
  received(): string;
  /** Resolves with the ms from connecting to the server's close. */
  closed: Promise<number>;
  /** Stops a trickle (or anything else) when the connection closes. */
  onClose(stop: () => void): void;
}

function open(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const stops: (() => void)[] = [];
    const closed = new Promise<number>((done) =>
      socket.once('close', () => {
        for (const stop of stops) stop();
        done(Date.now() - started);
      }),
    );
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    // The server closing a connection the client still writes to is expected here.
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => text, closed, onClose: (stop) => stops.push(stop) }));
    socket.once('error', reject);
  });
}

/** Writes `piece()` every `everyMs` until the connection closes (bounded by the test's own timeout). */
function trickle(conn: RawConnection, piece: () => string, everyMs: number): { written(): number } {
  let written = 0;
  const timer = setInterval(() => {
    if (!conn.socket.writable) return;
    const next = piece();
    written += Buffer.byteLength(next);
    conn.socket.write(next);
  }, everyMs);
  conn.onClose(() => clearInterval(timer));
  return { written: () => written };
}

/** Status code and JSON body of the first response in `raw`. */
function parseResponse(raw: string): { status: number; headers: string; body: Record<string, unknown> } {
  const [head, body = ''] = raw.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  return { status, headers: head, body: body ? (JSON.parse(body) as Record<string, unknown>) : {} };
}

function expectErrorShape(raw: string, status: number) {
  const res = parseResponse(raw);
  expect(res.status).toBe(status);
  expect(res.body).toEqual({ statusCode: status, error: expect.any(String), message: expect.any(String), request_id: expect.any(String) });
  return res;
}

describe('slow and idle clients (real API process, raw sockets)', () => {
  let redisServer: PrivateRedis;
  let redis: Redis;
  let api: AppProcess;
  let key: string;

  beforeAll(async () => {
    redisServer = await PrivateRedis.start();
    redis = new Redis(redisServer.url);
    api = await startApp('api', {
      PORT: String(await freePort()),
      REDIS_URL: redisServer.url,
      ACTION_ALLOWLIST: BUILT_INS,
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
      HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
    });
    key = (await new ApiKeyStore(redis).create({ workspaceId: 'acme', scopes: ['actions:execute', 'actions:preview'] })).key;
  });
  afterAll(async () => {
    await killAllApps();
    redis?.disconnect();
    await redisServer?.stop();
  });

  it('answers trickled headers 408 (Relay error shape) and closes the connection after HTTP_HEADERS_TIMEOUT_MS, not 60 s', async () => {
    const conn = await open(api.port);
    conn.socket.write('GET /health/live HTTP/1.1\r\nHost: relay\r\n');
    let n = 0;
    trickle(conn, () => `X-Trickle-${n++}: y\r\n`, 200);
    const closedAfter = await conn.closed;
    expect(closedAfter).toBeLessThan(HEADERS_TIMEOUT_MS + SLACK_MS);
    expect(n).toBeGreaterThan(2); // the client really was still sending headers
    expectErrorShape(conn.received(), 408);
  });

  it('answers a trickled body 408 with the request id of its request, after HTTP_REQUEST_TIMEOUT_MS, not 300 s; no job is created', async () => {
    const conn = await open(api.port);
    const body = JSON.stringify({ action: 'debug.echo', params: { pad: 'x'.repeat(2000) } });
    conn.socket.write(
      `POST /ai/jobs HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nX-Request-Id: trickled-body-1\r\n\r\n`,
    );
    let offset = 0;
    const sender = trickle(conn, () => body[offset++] ?? '', 100);
    const closedAfter = await conn.closed;
    expect(closedAfter).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
    expect(sender.written()).toBeLessThan(body.length);
    const res = expectErrorShape(conn.received(), 408);
    expect(res.body.request_id).toBe('trickled-body-1');
    expect(await redis.llen('ai:queue:pending')).toBe(0);
    // Counted like every other answer (the process is this file's own, so the count is absolute).
    const metrics = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
    // Counted once: the body read the timeout cut short answers nothing more.
    expect(metrics.match(/^http_requests_total\{method="POST",route="\/ai\/jobs",.*$/gm)).toEqual([
      'http_requests_total{method="POST",route="/ai/jobs",status_code="408"} 1',
    ]);
  });

  it('advertises HTTP_KEEP_ALIVE_TIMEOUT_MS and closes an idle kept-alive connection after it, not after 5 s', async () => {
    const conn = await open(api.port);
    conn.socket.write('GET /health/live HTTP/1.1\r\nHost: relay\r\n\r\n');
    const res = await expectEventually(() => {
      const parsed = parseResponse(conn.received());
      expect(parsed.status).toBe(200);
      return parsed;
    });
    expect(res.headers).toMatch(/\r\nKeep-Alive: timeout=1(\r\n|$)/i);
    const closedAfter = await conn.closed;
    expect(closedAfter).toBeLessThan(KEEP_ALIVE_TIMEOUT_MS + NODE_KEEP_ALIVE_BUFFER_MS + SLACK_MS);
    expect(closedAfter).toBeLessThan(5000 + NODE_KEEP_ALIVE_BUFFER_MS);
  });

  it('answers an upload with an unknown key 401 before reading its body, and closes the connection', async () => {
    const declared = 200 * 1024; // under BODY_MAX_BYTES: only the missing key can refuse it early
    const forged = `rly_0123456789abcdef_${'A'.repeat(32)}`;
    const uploads = await Promise.all(
      [`Authorization: Bearer ${forged}\r\n`, '', `Authorization: Bearer ${forged}\r\n`].map(async (authorization) => {
        const conn = await open(api.port);
        conn.socket.write(
          `POST /ai/jobs HTTP/1.1\r\nHost: relay\r\n${authorization}Content-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n` +
            `{"action":"debug.echo","params":{"pad":"${'x'.repeat(1000)}`,
        );
        return conn;
      }),
    );
    for (const conn of uploads) {
      const closedAfter = await conn.closed;
      // Answered at once: no waiting for the 200 KiB that never come (which would end in a 408 after the request timeout).
      expect(closedAfter).toBeLessThan(REQUEST_TIMEOUT_MS);
      const res = expectErrorShape(conn.received(), 401);
      expect(res.headers).toMatch(/\r\nConnection: close/i);
    }
  });

  it('holds an authenticated upload until its body arrives (the early 401 is about the key, not the upload)', async () => {
    const uploader = (await new ApiKeyStore(redis).create({ workspaceId: 'acme', scopes: ['actions:execute'] })).key;
    const conn = await open(api.port);
    const body = JSON.stringify({ action: 'debug.echo', params: { part: 'two' } });
    conn.socket.write(
      `POST /ai/jobs HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer ${uploader}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` +
        body.slice(0, 10),
    );
    // Authentication and the rate limit have let it through (its rate-limit counter exists); nothing is answered yet.
    await expectEventually(async () => expect(await redis.exists(`ai:ratelimit:${uploader.split('_')[1]}`)).toBe(1));
    expect(conn.received()).toBe('');
    conn.socket.write(body.slice(10));
    await conn.closed;
    expect(parseResponse(conn.received()).status).toBe(202);
  });

  it(`refuses connections beyond HTTP_MAX_CONNECTIONS (${MAX_CONNECTIONS}) at once, keeps the ones it holds, and accepts again when one ends`, async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => open(api.port)));
    const refused = await open(api.port);
    refused.socket.write('GET /health/live HTTP/1.1\r\nHost: relay\r\n\r\n');
    await refused.closed;
    expect(refused.received()).toBe('');
    // The held connections still serve.
    held[0].socket.write('GET /health/live HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n');
    await held[0].closed;
    expect(parseResponse(held[0].received()).status).toBe(200);
    // One slot is free again (the headers timeout would free the others too): a new connection is served.
    await expectEventually(async () => {
      const next = await open(api.port);
      next.socket.write('GET /health/live HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n');
      await next.closed;
      expect(parseResponse(next.received()).status).toBe(200);
    }, 5000);
    for (const conn of held) conn.socket.destroy();
    await Promise.all(held.map((conn) => conn.closed));
  });
});
