import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

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
  const client = new Redis(options.url, {
    connectionName: options.connectionName,
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1000),
    lazyConnect: false,
  });
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
