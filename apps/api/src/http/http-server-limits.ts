import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import type { RelayConfig } from '@relay/config';

/** How often a refused-connections warning may be logged. */
const REFUSED_LOG_EVERY_MS = 60_000;

/**
 * Bounds what slow and idle clients can hold, with Node's own server
 * settings: the headers and then the whole request must arrive in time
 * (else 408, see client-error.handler.ts), idle kept-alive connections are
 * closed, and connections beyond the cap are closed as soon as they are
 * accepted. Node checks the two request timeouts on a timer that runs every
 * 30 s by default, which would add up to 30 s to each of them; here it runs
 * at a quarter of the headers timeout, at most once a second.
 */
export function applyHttpServerLimits(server: Server, config: RelayConfig): void {
  server.headersTimeout = config.HTTP_HEADERS_TIMEOUT_MS;
  server.requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = config.HTTP_KEEP_ALIVE_TIMEOUT_MS;
  server.maxConnections = config.HTTP_MAX_CONNECTIONS;
  // Read by Node when the server starts listening (typed only as a createServer option).
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(
    1000,
    Math.max(25, Math.floor(config.HTTP_HEADERS_TIMEOUT_MS / 4)),
  );
  reportRefusedConnections(server, config.HTTP_MAX_CONNECTIONS);
}

/**
 * Node closes connections beyond maxConnections without a word. This says
 * so in the log: the first refusal at once, then at most one line a minute
 * with the count, so an operator sees the cap being hit and an attack does
 * not flood the log.
 */
function reportRefusedConnections(server: Server, cap: number): void {
  const logger = new Logger('HttpServer');
  let refused = 0;
  let quiet: NodeJS.Timeout | undefined;
  const report = () => {
    quiet = undefined;
    if (refused === 0) return;
    logger.warn(`refused ${refused} connection(s): ${cap} open already (HTTP_MAX_CONNECTIONS)`);
    refused = 0;
    quiet = setTimeout(report, REFUSED_LOG_EVERY_MS).unref();
  };
  server.on('drop', () => {
    refused += 1;
    if (quiet === undefined) report();
  });
}
