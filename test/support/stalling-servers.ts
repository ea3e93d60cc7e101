import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * Real local servers that never finish answering, for timeout tests. Each
 * listens on 127.0.0.1 and counts what its clients did, so a test can tell
 * that the client gave up (closed its connection) rather than the server.
 */
export interface StallingServer {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections the client has closed so far. */
  readonly closedByClient: number;
  /** Bytes of answer written so far (trickling server). */
  readonly bytesSent: number;
  close(): Promise<void>;
}

function track(server: Server, state: { accepted: number; closedByClient: number; bytesSent: number }, sockets: Set<Socket>, stop: () => void): Promise<StallingServer> {
  server.on('connection', (socket: Socket) => {
    state.accepted++;
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      state.closedByClient++;
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        get accepted() {
          return state.accepted;
        },
        get closedByClient() {
          return state.closedByClient;
        },
        get bytesSent() {
          return state.bytesSent;
        },
        close: () =>
          new Promise<void>((done) => {
            stop();
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      }),
    ),
  );
}

/** Accepts connections and reads requests, and never writes a byte back. */
export function startSilentServer(): Promise<StallingServer> {
  const state = { accepted: 0, closedByClient: 0, bytesSent: 0 };
  const server = createTcpServer((socket) => socket.resume());
  return track(server, state, new Set(), () => undefined);
}

/**
 * Answers 200 with a Content-Length of `length` bytes, then sends them one
 * at a time every `intervalMs`: bytes keep coming (no idle timeout ever
 * fires) but the answer takes `length` × `intervalMs` to complete.
 */
export function startTricklingServer(intervalMs: number, length: number): Promise<StallingServer> {
  const state = { accepted: 0, closedByClient: 0, bytesSent: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const server = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': length });
    res.flushHeaders();
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed || sent >= length) {
        clearInterval(timer);
        timers.delete(timer);
        if (!res.destroyed) res.end();
        return;
      }
      res.write(' ');
      sent++;
      state.bytesSent++;
    }, intervalMs);
    timers.add(timer);
  });
  return track(server, state, new Set(), () => {
    for (const timer of timers) clearInterval(timer);
  });
}
