import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorBody } from './error-body.js';

/** Labels of http_requests_total for an answer given outside Express. */
export interface ClientErrorLabels {
  method: string;
  route: string;
  status_code: string;
}

const ANSWERS: Record<string, [number, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request not received in time'],
  HPE_HEADER_OVERFLOW: [431, 'request headers too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'request too large'],
};
const MALFORMED: [number, string] = [400, 'malformed HTTP request'];

/**
 * Node answers a request that times out (HTTP_HEADERS_TIMEOUT_MS,
 * HTTP_REQUEST_TIMEOUT_MS) or cannot be parsed with a bare status line.
 * This answers in Relay's error shape instead, closes the connection, and
 * counts the answer in http_requests_total like any other. When Express
 * already had the request (its body was still arriving), its request id,
 * method and route are used.
 */
export function clientErrorHandler(count: (labels: ClientErrorLabels) => void) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    // Node's own field for the response in progress on this connection (its default handler reads it too).
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse & { req?: { method?: string; route?: { path?: unknown }; baseUrl?: string } } })
      ._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const [statusCode, message] = ANSWERS[error.code ?? ''] ?? MALFORMED;
    const requestId = String(inFlight?.getHeader('x-request-id') ?? randomUUID());
    const body: ErrorBody = { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, request_id: requestId };
    const text = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${statusCode} ${body.error}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${text}`,
      () => socket.destroy(),
    );
    const req = inFlight?.req;
    const route = req?.route?.path ? `${req.baseUrl ?? ''}${String(req.route.path)}` : 'unmatched';
    count({ method: req?.method ?? 'unknown', route, status_code: String(statusCode) });
  };
}
