import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { Redis, RedisKeys, isRedisUnavailableError } from '@relay/redis';
import { AggregatedWarnings } from '@relay/telemetry';
import { EventLog, type EventBatch } from './event-log.js';
import { EventSubscriber, type EventSink, type EventSubscription } from './event-subscriber.js';
import { compareStreamIds } from './stream-id.js';

/** The blocking wait's bound; a new workspace is also added at once (CLIENT UNBLOCK), this only bounds it if that is refused. */
const BLOCK_MS = 2000;
/** Entries per stream per read, for the shared read and a subscriber's catch-up. */
const READ_COUNT = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One workspace's shared read: read up to `cursor`, handed to every subscriber. */
interface Feed {
  cursor: string;
  subscribers: Set<EventSubscriber>;
}

/**
 * The event streams' fan-out in one process (README "Events"). However
 * many clients follow events, the process holds ONE blocking connection:
 * one loop reads every workspace that has subscribers (readEvents.lua, all
 * of them in one call, trimming detected), hands each batch to that
 * workspace's subscribers, then waits on all those streams at once (XREAD
 * BLOCK, COUNT 1: only a wake-up; the next read fetches the entries).
 *
 * A subscriber starts at its own position. At or after the workspace's
 * shared cursor it is live at once (events it has seen are filtered out);
 * behind it, it reads up to the cursor on its own (non-blocking, pages of
 * READ_COUNT) while the shared read's batches are held for it, then hands
 * those on and is live: every event after its position, in order, once.
 * Everything comes from Redis, so any API replica serves any subscriber.
 */
@Injectable()
export class EventHub implements BeforeApplicationShutdown {
  private readonly logger = new Logger('EventHub');
  /** While Redis is away every retry fails: a line per 10 s, not per retry. */
  private readonly warnings = new AggregatedWarnings(this.logger);
  private readonly feeds = new Map<string, Feed>();
  private blocking?: Redis;
  private blockingId?: number;
  /** The XREAD in flight leaves out a workspace added since: it must be interrupted. */
  private blockedOn?: Set<string>;
  private loopDone?: Promise<void>;
  private idle?: () => void;
  private stopped = false;

  constructor(
    private readonly log: EventLog,
    @Inject(Redis) private readonly redis: Redis,
    private readonly config: RelayConfig,
  ) {}

  /** Hands `sink` the workspace's events after `after` (see EventLog.now and resume for a start). */
  subscribe(workspaceId: string, after: string, sink: EventSink): EventSubscription {
    const subscriber = new EventSubscriber(workspaceId, after, sink, (s) => this.remove(s));
    if (this.stopped) {
      queueMicrotask(() => subscriber.end('shutdown'));
      return subscriber;
    }
    let feed = this.feeds.get(workspaceId);
    if (!feed) {
      feed = { cursor: after, subscribers: new Set() };
      this.feeds.set(workspaceId, feed);
      this.added(workspaceId);
    }
    feed.subscribers.add(subscriber);
    if (compareStreamIds(after, feed.cursor) >= 0) subscriber.live = true;
    else void this.catchUp(subscriber, feed.cursor);
    return subscriber;
  }

  /** Subscribers in this process now. */
  get subscribers(): number {
    let n = 0;
    for (const feed of this.feeds.values()) n += feed.subscribers.size;
    return n;
  }

  /** Ends every subscription ('shutdown') and stops reading. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const feed of [...this.feeds.values()]) for (const s of [...feed.subscribers]) s.end('shutdown');
    this.feeds.clear();
    this.idle?.();
    // The wait under way returns (UNBLOCK) rather than failing with the connection.
    if (this.blockedOn && this.blockingId !== undefined) await this.redis.client('UNBLOCK', this.blockingId).catch(() => undefined);
    this.blocking?.disconnect();
    await this.loopDone;
  }

  private remove(subscriber: EventSubscriber): void {
    const feed = this.feeds.get(subscriber.workspaceId);
    if (!feed) return;
    feed.subscribers.delete(subscriber);
    if (feed.subscribers.size === 0) this.feeds.delete(subscriber.workspaceId);
  }

  /** A workspace joined the shared read: start the loop, wake it, or interrupt a wait that leaves the workspace out. */
  private added(workspaceId: string): void {
    this.loopDone ??= this.loop();
    if (this.idle) return this.idle();
    if (this.blockedOn && !this.blockedOn.has(workspaceId)) void this.interrupt();
  }

  /** A behind subscriber reads up to the shared cursor it joined at, then takes what the shared read brought meanwhile. */
  private async catchUp(subscriber: EventSubscriber, target: string): Promise<void> {
    let backoff = 0;
    while (!subscriber.ended && compareStreamIds(subscriber.position, target) < 0) {
      try {
        subscriber.apply(await this.log.read(subscriber.workspaceId, subscriber.position, READ_COUNT, target));
        backoff = 0;
      } catch (error) {
        if (this.stopped) return;
        this.warn('catching up', error);
        await sleep((backoff = Math.min(Math.max(backoff * 2, 50), 1000)));
      }
    }
    subscriber.goLive();
  }

  private async loop(): Promise<void> {
    try {
      await this.readAndWait();
    } finally {
      // Made (or remade) while stopping: nothing uses it any more.
      this.blocking?.disconnect();
    }
  }

  private async readAndWait(): Promise<void> {
    let backoff = 0;
    while (!this.stopped) {
      if (this.feeds.size === 0) {
        await new Promise<void>((resolve) => (this.idle = resolve));
        this.idle = undefined;
        continue;
      }
      try {
        if (await this.readAll()) continue;
        await this.waitForEntries();
        backoff = 0;
      } catch (error) {
        if (this.stopped) return;
        this.warn('reading', error);
        await sleep((backoff = Math.min(Math.max(backoff * 2, 50), 1000)));
      }
    }
  }

  /** One shared read of every workspace followed; true when a stream had more than one read takes. */
  private async readAll(): Promise<boolean> {
    const feeds = [...this.feeds.entries()];
    const batches = await this.log.readMany(
      feeds.map(([workspaceId, feed]) => ({ workspaceId, after: feed.cursor })),
      READ_COUNT,
    );
    let more = false;
    batches.forEach((batch, i) => {
      const [workspaceId, feed] = feeds[i];
      // A feed dropped (or dropped and started again) during the read is left to its next read.
      if (this.feeds.get(workspaceId) !== feed) return;
      feed.cursor = batch.position;
      more ||= batch.full;
      if (batch.events.length > 0 || batch.reset) this.handOn(feed, batch);
    });
    return more;
  }

  private handOn(feed: Feed, batch: EventBatch): void {
    for (const subscriber of [...feed.subscribers]) {
      try {
        subscriber.take(batch);
      } catch (error) {
        this.logger.error(`an event subscriber failed and was ended: ${(error as Error).message}`);
        subscriber.unsubscribe();
      }
    }
  }

  /** Blocks until a followed stream has an entry after its cursor (or BLOCK_MS, or an interrupt). */
  private async waitForEntries(): Promise<void> {
    const blocking = await this.blockingConnection();
    const feeds = [...this.feeds.entries()];
    if (feeds.length === 0 || this.stopped) return;
    this.blockedOn = new Set(feeds.map(([ws]) => ws));
    try {
      await blocking.xread('COUNT', 1, 'BLOCK', BLOCK_MS, 'STREAMS', ...feeds.map(([ws]) => RedisKeys.workspaceEvents(ws)), ...feeds.map(([, f]) => f.cursor));
    } finally {
      this.blockedOn = undefined;
    }
  }

  /**
   * CLIENT UNBLOCK of the waiting connection, again until it lands: sent
   * from the other connection, it may arrive before the XREAD it is meant
   * for, and then unblocks nothing.
   */
  private async interrupt(): Promise<void> {
    const waiting = this.blockedOn;
    while (this.blockedOn === waiting && waiting && this.blockingId !== undefined && !this.stopped) {
      const unblocked = await this.redis.client('UNBLOCK', this.blockingId).catch(() => -1);
      if (unblocked !== 0) return;
      await sleep(2);
    }
  }

  /** The one blocking connection, made at first use; its client id is read at every (re)connection, for CLIENT UNBLOCK. */
  private async blockingConnection(): Promise<Redis> {
    if (this.stopped) throw new Error('event hub stopped');
    if (!this.blocking) {
      const blocking = this.redis.duplicate({ commandTimeout: BLOCK_MS + this.config.REDIS_COMMAND_TIMEOUT_MS, connectionName: 'relay-events' });
      blocking.on('error', () => undefined);
      blocking.on('ready', () => {
        this.blockingId = undefined;
        blocking.client('ID').then((id) => (this.blockingId = Number(id)), () => undefined);
      });
      this.blocking = blocking;
    }
    if (this.blocking.status !== 'ready') await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.config.REDIS_COMMAND_TIMEOUT_MS).unref();
      this.blocking!.once('ready', () => (clearTimeout(timer), resolve()));
    });
    return this.blocking;
  }

  private warn(what: string, error: unknown): void {
    if (isRedisUnavailableError(error)) this.warnings.warn('redis_unavailable', `Redis unavailable while ${what} events; retrying`);
    else this.warnings.warn('read_failed', `${what} events failed: ${(error as Error).message}; retrying`);
  }
}
