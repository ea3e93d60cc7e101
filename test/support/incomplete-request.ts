import { connect } from 'node:net';
import type { RealResponse } from './openapi-responses.js';

/**
 * Sends a request whose body never completes (`head` declares a longer
 * Content-Length than `partialBody`) on a raw socket, and returns the
 * answer the server gives before closing the connection: what a client
 * whose upload stalls gets (408 once HTTP_REQUEST_TIMEOUT_MS has passed).
 * Bounded by `timeoutMs`.
 */
export function sendIncompleteRequest(port: number, head: string, partialBody: string, timeoutMs = 10_000): Promise<RealResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk) => (raw += chunk.toString('utf8')));
    // The server closing a connection the client still writes to is expected here.
    socket.on('error', () => undefined);
    socket.once('connect', () => socket.write(`${head}\r\n\r\n${partialBody}`));
    socket.once('close', () => {
      clearTimeout(timer);
      const [headText, bodyText = ''] = raw.split('\r\n\r\n');
      const [statusLine, ...lines] = headText.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
      resolve({ status, headers, body: bodyText === '' ? undefined : JSON.parse(bodyText) });
    });
  });
}
