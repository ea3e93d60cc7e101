import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { ActionError } from './action.js';

export interface JsonPostOptions {
  /** The whole exchange (lookup, connect, request, every byte of the answer) must end within this. */
  timeoutMs: number;
  maxResponseBytes: number;
  /** The attempt's signal: a stopped attempt ends the request at once. */
  signal: AbortSignal;
  /** Resolves the host (and checks the addresses it resolves to) for the socket. */
  lookup: LookupFunction;
  /** Headers besides content-type, content-length and user-agent (a webhook's signature). */
  headers?: Record<string, string>;
  /** Who is calling, at the start of every error message; default `http.post`. */
  label?: string;
  /** Default `relay-worker`. */
  userAgent?: string;
}

export interface JsonPostAnswer {
  status: number;
  /** Parsed when it is JSON, else the text; null when empty. */
  body: unknown;
  /** The Retry-After header as sent (Node keeps the first of several), for a 429. */
  retryAfter?: string;
}

/**
 * One JSON POST, ended by whichever comes first: the complete answer, the
 * deadline, the attempt being stopped, or an answer past the size cap.
 *
 * The deadline is a plain timer, which the event loop keeps alive until it
 * is cleared. It used to be `AbortSignal.timeout()` inside `AbortSignal.any()`,
 * which on Node 20 holds the timeout signal only weakly: once a garbage
 * collection ran, the timeout could be collected and never fire, and a host
 * that never answered held the attempt until the job timeout.
 */
export function postJson(url: URL, payload: string, options: JsonPostOptions): Promise<JsonPostAnswer> {
  const { timeoutMs, maxResponseBytes, signal } = options;
  const label = options.label ?? 'http.post';
  return new Promise((resolve, reject) => {
    let answering = false;
    let settled = false;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'POST',
      headers: { ...options.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'user-agent': options.userAgent ?? 'relay-worker' },
      lookup: options.lookup,
    });

    const settle = (error: ActionError | undefined, answer?: JsonPostAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      signal.removeEventListener('abort', onStop);
      if (error) {
        req.destroy();
        reject(error);
      } else resolve(answer!);
    };
    const deadline = setTimeout(
      () =>
        settle(
          new ActionError(
            answering
              ? `${label}: timed out, the answer was not complete within ${timeoutMs} ms (HTTP_ACTION_TIMEOUT_MS)`
              : `${label}: timed out, no answer within ${timeoutMs} ms (HTTP_ACTION_TIMEOUT_MS)`,
          ),
        ),
      timeoutMs,
    );
    const onStop = () => settle(new ActionError(`${label}: the attempt was stopped`));
    if (signal.aborted) onStop();
    else signal.addEventListener('abort', onStop, { once: true });

    // After settle() destroys the request it may still emit an error; the listener stays to swallow it.
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'RELAY_REFUSED') settle(new ActionError(`${label}: ${error.message}`, false));
      else settle(new ActionError(`${label}: request failed (${error.code ?? 'network error'})`));
    });
    req.on('response', (res: IncomingMessage) => {
      answering = true;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxResponseBytes) settle(new ActionError(`${label}: response larger than ${maxResponseBytes} bytes`, false));
        else chunks.push(chunk);
      });
      res.on('end', () =>
        settle(undefined, { status: res.statusCode ?? 0, body: parseBody(Buffer.concat(chunks).toString('utf8')), retryAfter: res.headers['retry-after'] }),
      );
      // Also heard after settle() destroyed the request mid-answer; unheard, the error would end the process.
      res.on('error', () => settle(new ActionError(`${label}: response interrupted`)));
      res.on('close', () => {
        if (!res.complete) settle(new ActionError(`${label}: response interrupted`));
      });
    });
    req.end(payload);
  });
}

function parseBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
