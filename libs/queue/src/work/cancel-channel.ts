import { Redis, RedisKeys } from '@relay/redis';

/**
 * A worker's subscription to the cancel channel, on which cancelJob.lua
 * publishes the entry of a running job whose cancel was just requested
 * (README "Cancelling a running job"). Pub/sub delivers at most once and
 * nothing while the connection is down, so it is the fast path only: lease
 * renewals also read the set of requests (renewLeases.lua), and a missed
 * message costs at most one renewal interval. The subscription has a
 * connection of its own (a subscribed connection takes no other command),
 * subscribed again whenever it (re)connects.
 */
export class CancelChannel {
  private constructor(private readonly connection: Redis) {}

  /** Calls `onCancel(entry)` for every request published from now on. */
  static listen(redis: Redis, onCancel: (entry: string) => void): CancelChannel {
    const connection = redis.duplicate({ connectionName: 'relay-worker-cancels' });
    // Outages are the main connection's to report (and readiness's); this one reconnects on its own.
    connection.on('error', () => undefined);
    connection.on('message', (channel: string, entry: string) => {
      if (channel === RedisKeys.cancelChannel) onCancel(entry);
    });
    // SUBSCRIBE twice is harmless (ioredis also subscribes again on reconnect); one that fails waits for the next 'ready'.
    const subscribe = () => void connection.subscribe(RedisKeys.cancelChannel).catch(() => undefined);
    connection.on('ready', subscribe);
    if (connection.status === 'ready') subscribe();
    return new CancelChannel(connection);
  }

  close(): void {
    this.connection.disconnect();
  }
}
