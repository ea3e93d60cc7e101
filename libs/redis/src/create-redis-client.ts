import { Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { maskCredentials, parseHostPortList, type HostPort, type RelayConfig } from '@relay/config';

export interface RedisClientOptions {
  url: string;
  commandTimeoutMs: number;
  /** Name shown in CLIENT LIST, to tell Relay's connections apart. */
  connectionName: string;
  /** Sentinels to ask for the primary; when given, the URL's host and port are not used. */
  sentinels?: readonly HostPort[];
  /** The name the sentinels know the primary by (required with sentinels). */
  sentinelMaster?: string;
}

/** The connection settings of RelayConfig (REDIS_URL, REDIS_SENTINELS, ...), for a connection of the given name. */
export function redisClientOptions(config: RelayConfig, connectionName: string): RedisClientOptions {
  return {
    url: config.REDIS_URL,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    connectionName,
    sentinels: parseHostPortList(config.REDIS_SENTINELS) ?? [],
    sentinelMaster: config.REDIS_SENTINEL_MASTER,
  };
}

/**
 * A primary that became a replica answers writes with READONLY while the
 * connection stays open (a failover, or a replica promoted by hand): drop
 * the connection, so the reconnect asks the sentinels for the new primary.
 * The command that met READONLY fails (the API answers 503), never replayed.
 */
const reconnectOnReadonly = (error: Error): boolean => /^READONLY\b/.test(error.message);

/**
 * A client that fails fast while Redis is away instead of queueing commands:
 * with the offline queue off, a command sent while disconnected is rejected at
 * once (the API answers 503) and is never replayed later behind the caller's
 * back. Reconnection goes on forever with a capped backoff, so the process
 * serves again as soon as Redis returns, without a restart.
 *
 * With sentinels, every (re)connection asks them for the primary and ioredis
 * refuses a server whose role is not master, so a failover is followed by
 * reconnecting; sentinels' +switch-master also drops the connection at once
 * (failoverDetector), which matters when the old primary vanished without
 * closing its sockets. `duplicate()` keeps all of this.
 */
export function createRedisClient(options: RedisClientOptions): Redis {
  const sentinels = options.sentinels ?? [];
  const common: RedisOptions = {
    connectionName: options.connectionName,
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1000),
    reconnectOnError: reconnectOnReadonly,
    lazyConnect: false,
  };
  const sentinelMode: RedisOptions = {
    sentinels: sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: options.sentinelMaster,
    sentinelCommandTimeout: options.commandTimeoutMs,
    sentinelRetryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1000),
    failoverDetector: true,
    enableTLSForSentinelMode: options.url.startsWith('rediss:'),
  };
  const client = withMaskedUrl(options.url, () => new Redis(options.url, sentinels.length > 0 ? { ...common, ...sentinelMode } : common));
  logOutages(client, options.connectionName, sentinels.length > 0);
  return client;
}

/**
 * Without a listener ioredis prints every failed reconnect. Log the first
 * error of each outage, and the recovery, instead; with sentinels, also the
 * primary's address whenever it changes (a failover).
 */
function logOutages(client: Redis, connectionName: string, viaSentinels: boolean): void {
  const logger = new Logger(`Redis:${connectionName}`);
  let down = false;
  let primary: string | undefined;
  client.on('error', (error: Error) => {
    if (!down) logger.warn(`connection error: ${error.message}; reconnecting`);
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.log('connection restored');
    down = false;
    const address = client.stream ? `${client.stream.remoteAddress}:${client.stream.remotePort}` : undefined;
    if (viaSentinels && address !== primary) logger.log(`primary is ${address} (from the sentinels)`);
    primary = address;
  });
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
