import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { maskCredentials } from '@relay/config';

export interface RedisClientOptions {
  url: string;
  commandTimeoutMs: number;
  /** Name shown in CLIENT LIST, to tell Relay's connections apart. */
  connectionName: string;
}

/**
 * A client that fails fast while Redis is away instead of queueing commands:
 * with the offline queue off, a command sent while disconnected is rejected at
 * once (the API answers 503) and is never replayed later behind the caller's
 * back. Reconnection goes on forever with a capped backoff, so the process
 * serves again as soon as Redis returns, without a restart.
 */
export function createRedisClient(options: RedisClientOptions): Redis {
  const client = withMaskedUrl(options.url, () =>
    new Redis(options.url, {
      connectionName: options.connectionName,
      enableOfflineQueue: false,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(options.commandTimeoutMs, 1000),
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1000),
      lazyConnect: false,
    }),
  );
  // Without a listener ioredis prints every failed reconnect. Log the first
  // error of each outage, and the recovery, instead.
  const logger = new Logger(`Redis:${options.connectionName}`);
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) logger.warn(`connection error: ${error.message}; reconnecting`);
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.log('connection restored');
    down = false;
  });
  return client;
}

/**
 * ioredis rejects a URL it cannot parse with the parser's TypeError, whose
 * `input` holds the URL in clear and is printed by loggers that print error
 * properties (Nest's does). RelayConfig refuses such a REDIS_URL first; this
 * covers callers that pass a URL of their own.
 */
function withMaskedUrl(url: string, create: () => Redis): Redis {
  try {
    return create();
  } catch (error) {
    throw new Error(`Redis URL ${maskCredentials(url)} cannot be used: ${error instanceof Error ? maskCredentials(error.message) : 'invalid'}`);
  }
}
