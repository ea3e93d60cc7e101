import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LostAnswerProxy {
  url: string;
  /** Requests forwarded so far, as `METHOD path`. */
  forwarded: string[];
  close(): Promise<void>;
}

/**
 * A real HTTP proxy on 127.0.0.1 in front of the API that forwards every
 * request, but for the first request matching each of `loseOnce` (tested
 * against `METHOD path`) throws the API's answer away and answers 503 with
 * Retry-After: 1 instead: what a client sees when a gateway times out after
 * the API did the work.
 */
export async function startLostAnswerProxy(targetPort: number, loseOnce: RegExp[]): Promise<LostAnswerProxy> {
  const forwarded: string[] = [];
  const pending = [...loseOnce];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const label = `${req.method} ${req.url}`;
      forwarded.push(label);
      const upstream = request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        const lose = pending.findIndex((pattern) => pattern.test(label));
        if (lose >= 0) {
          pending.splice(lose, 1);
          answer.resume();
          res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' });
          res.end(JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message: 'gateway timeout (test proxy)', request_id: 'proxy' }));
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
