import { request, type ClientRequest, type IncomingHttpHeaders } from 'node:http';

/** One Server-Sent Events frame as a client sees it (fields per the HTML spec's event stream format). */
export interface SseFrame {
  id?: string;
  event: string;
  data: string;
  /** When the frame's last byte arrived (Date.now()). */
  receivedAt: number;
}

export interface SseConnection {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Every frame so far, in order. */
  readonly frames: SseFrame[];
  /** Comment lines so far (`: heartbeat` → 'heartbeat'). */
  readonly comments: string[];
  /** The body of a non-SSE answer (an error's JSON), once it has ended. */
  body(): string;
  /** Resolves when the server ended the response ('end') or the connection broke ('aborted'). */
  readonly closed: Promise<'end' | 'aborted'>;
  /** The `data:` of the frames of these types, parsed. */
  data<T = Record<string, unknown>>(...types: string[]): T[];
  /** Drops the connection from the client's side. */
  close(): void;
}

/**
 * A minimal EventSource for tests and the benchmark: GET with the given
 * headers, resolves once the status and headers are in, then parses frames
 * as they arrive (`id:`, `event:`, `data:` lines, comments, blank-line
 * ends). Not a reconnecting client: tests reconnect explicitly, with the
 * Last-Event-ID they choose.
 */
export function openSse(port: number, path: string, headers: Record<string, string> = {}, onFrame?: (frame: SseFrame) => void): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false, headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      const frames: SseFrame[] = [];
      const comments: string[] = [];
      let raw = '';
      let pending = '';
      let settle!: (how: 'end' | 'aborted') => void;
      const closed = new Promise<'end' | 'aborted'>((r) => (settle = r));
      const sse = (res.headers['content-type'] ?? '').startsWith('text/event-stream');
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (!sse) {
          raw += chunk;
          return;
        }
        pending += chunk;
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          const frame: SseFrame = { event: 'message', data: '', receivedAt: Date.now() };
          const data: string[] = [];
          let isFrame = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) {
              comments.push(line.slice(1).trim());
              continue;
            }
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            isFrame = true;
            if (field === 'id') frame.id = value;
            else if (field === 'event') frame.event = value;
            else if (field === 'data') data.push(value);
          }
          if (!isFrame) continue;
          frame.data = data.join('\n');
          frames.push(frame);
          onFrame?.(frame);
        }
      });
      res.on('end', () => settle('end'));
      res.on('aborted', () => settle('aborted'));
      res.on('error', () => settle('aborted'));
      res.on('close', () => settle(res.complete ? 'end' : 'aborted'));
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        frames,
        comments,
        body: () => raw,
        closed,
        data: <T>(...types: string[]) => frames.filter((f) => types.length === 0 || types.includes(f.event)).map((f) => JSON.parse(f.data) as T),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
