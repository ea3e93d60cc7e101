import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './child-main.js';

/** One request the receiver got. */
export interface Received {
  path: string;
  deliveryId: string;
  eventId: string;
  type: string;
  webhookId: string;
  attempt: number;
  signature: string;
  /** The body exactly as received. */
  raw: string;
  event: Record<string, unknown>;
  /** What the receiver answered; 'held' while the request is held open (or was dropped by the sender). */
  status: number | 'held';
}

/** How a path answers its nth request (1-based): a status, or 'hold' (no answer until released). */
export type Answer = (nth: number, request: Received) => number | 'hold';

export interface WebhookReceiver {
  readonly port: number;
  url(path: string): string;
  readonly requests: Received[];
  /** Requests to `path`, in arrival order. */
  at(path: string): Received[];
  /** Requests to `path` answered 2xx, in the order they were answered. */
  accepted(path: string): Received[];
  answer(path: string, how: Answer): void;
  /** Answers every held request with `status`. */
  release(status: number): void;
  close(): Promise<void>;
}

/**
 * README "Webhooks" has a verification snippet for receivers; the tests run
 * that very code (taken from the README's first ```js block after the
 * heading), so the snippet a reader copies is known to verify real deliveries.
 */
export async function readmeVerifier(): Promise<(header: string, body: string, secret: string, toleranceSeconds?: number) => boolean> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Webhooks'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  if (!code) throw new Error('README "### Webhooks" has no ```js block');
  const file = join(mkdtempSync(join(tmpdir(), 'relay-verify-')), 'verify.mjs');
  writeFileSync(file, code);
  const module = (await import(pathToFileURL(file).href)) as { verifyRelaySignature: (h: string, b: string, s: string, t?: number) => boolean };
  return module.verifyRelaySignature;
}

/** A local HTTP server standing for customers' webhook endpoints: records every request, answers as told per path (200 by default). */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: Received[] = [];
  const answered: Received[] = [];
  const answers = new Map<string, Answer>();
  const counts = new Map<string, number>();
  const held = new Map<Received, ServerResponse>();

  const respond = (r: Received, res: ServerResponse, status: number) => {
    r.status = status;
    if (status >= 200 && status < 300) answered.push(r);
    res.writeHead(status, { 'content-type': 'application/json' }).end(status < 300 ? '{"ok":true}' : '{"ok":false}');
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let event: Record<string, unknown> = {};
      try {
        event = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        // recorded as is; the test sees an empty event
      }
      const header = (name: string) => String(req.headers[name] ?? '');
      const path = (req.url ?? '/').split('?')[0];
      const r: Received = {
        path,
        deliveryId: header('relay-delivery-id'),
        eventId: header('relay-event-id'),
        type: header('relay-event-type'),
        webhookId: header('relay-webhook-id'),
        attempt: Number(header('relay-delivery-attempt')),
        signature: header('relay-signature'),
        raw,
        event,
        status: 'held',
      };
      requests.push(r);
      const nth = (counts.get(path) ?? 0) + 1;
      counts.set(path, nth);
      const how = answers.get(path)?.(nth, r) ?? 200;
      if (how === 'hold') {
        held.set(r, res);
        res.on('close', () => held.delete(r));
      } else respond(r, res, how);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    at: (path) => requests.filter((r) => r.path === path),
    accepted: (path) => answered.filter((r) => r.path === path),
    answer: (path, how) => answers.set(path, how),
    release: (status) => {
      for (const [r, res] of held) if (!res.destroyed) respond(r, res, status);
      held.clear();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
