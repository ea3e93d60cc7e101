import { Redis, RedisKeys } from '@relay/redis';

/** The wait's bound; a workspace is also added at once (CLIENT UNBLOCK), this only bounds it where that is refused. */
export const BLOCK_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * EventHub's one blocking connection (`relay-events`), made at first use:
 * waits on every followed workspace's stream at once (XREAD BLOCK, COUNT 1:
 * a wake-up only, the hub's next read fetches the entries), and is
 * interrupted with CLIENT UNBLOCK from the shared connection when a
 * workspace the wait leaves out joins. Its client id is read at every
 * (re)connection, for that.
 */
export class StreamWait {
  private connection?: Redis;
  private clientId?: number;
  /** The workspaces of the XREAD in flight. */
  private waitingOn?: Set<string>;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly commandTimeoutMs: number,
  ) {}

  /** Resolves once a stream has an entry after its position, after BLOCK_MS, or when interrupted. */
  async until(positions: readonly (readonly [workspaceId: string, after: string])[]): Promise<void> {
    const connection = await this.ready();
    if (positions.length === 0 || this.closed) return;
    this.waitingOn = new Set(positions.map(([ws]) => ws));
    try {
      await connection.xread('COUNT', 1, 'BLOCK', BLOCK_MS, 'STREAMS', ...positions.map(([ws]) => RedisKeys.workspaceEvents(ws)), ...positions.map(([, after]) => after));
    } finally {
      this.waitingOn = undefined;
    }
  }

  /**
   * Interrupts the wait under way if it leaves `workspaceId` out: CLIENT
   * UNBLOCK, again until it lands (sent from the other connection, it may
   * arrive before the XREAD it is meant for, and then unblocks nothing).
   */
  async include(workspaceId: string): Promise<void> {
    const waiting = this.waitingOn;
    if (!waiting || waiting.has(workspaceId)) return;
    while (this.waitingOn === waiting && this.clientId !== undefined && !this.closed) {
      const unblocked = await this.redis.client('UNBLOCK', this.clientId).catch(() => -1);
      if (unblocked !== 0) return;
      await sleep(2);
    }
  }

  /** Ends the wait under way (it returns, rather than failing with its connection) and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.waitingOn && this.clientId !== undefined) await this.redis.client('UNBLOCK', this.clientId).catch(() => undefined);
    this.connection?.disconnect();
  }

  private async ready(): Promise<Redis> {
    if (this.closed) throw new Error('event wait closed');
    if (!this.connection) {
      const connection = this.redis.duplicate({ commandTimeout: BLOCK_MS + this.commandTimeoutMs, connectionName: 'relay-events' });
      connection.on('error', () => undefined);
      connection.on('ready', () => {
        this.clientId = undefined;
        connection.client('ID').then((id) => (this.clientId = Number(id)), () => undefined);
      });
      this.connection = connection;
    }
    const connection = this.connection;
    if (connection.status !== 'ready') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.commandTimeoutMs).unref();
        connection.once('ready', () => (clearTimeout(timer), resolve()));
      });
    }
    return connection;
  }
}
