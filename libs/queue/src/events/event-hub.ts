import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { Redis, isRedisUnavailableError } from '@relay/redis';
import { AggregatedWarnings } from '@relay/telemetry';
import { EventLog, type EventBatch } from './event-log.js';
import { EventSubscriber, type EventSink, type EventSubscription } from './event-subscriber.js';
import { compareStreamIds } from './stream-id.js';
import { StreamWait } from './stream-wait.js';

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
 * workspace's subscribers, then waits on all those streams at once
 * (StreamWait: XREAD BLOCK, COUNT 1, a wake-up only).
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
  private readonly wait: StreamWait;
  private loopDone?: Promise<void>;
  private idle?: () => void;
  private stopped = false;

  constructor(
    private readonly log: EventLog,
    @Inject(Redis) redis: Redis,
    config: RelayConfig,
  ) {
    this.wait = new StreamWait(redis, config.REDIS_COMMAND_TIMEOUT_MS);
  }

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
    await this.wait.close();
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
    void this.wait.include(workspaceId);
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
    let backoff = 0;
    while (!this.stopped) {
      if (this.feeds.size === 0) {
        await new Promise<void>((resolve) => (this.idle = resolve));
        this.idle = undefined;
        continue;
      }
      try {
        if (await this.readAll()) continue;
        await this.wait.until([...this.feeds].map(([ws, feed]) => [ws, feed.cursor] as const));
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

  private warn(what: string, error: unknown): void {
    if (isRedisUnavailableError(error)) this.warnings.warn('redis_unavailable', `Redis unavailable while ${what} events; retrying`);
    else this.warnings.warn('read_failed', `${what} events failed: ${(error as Error).message}; retrying`);
  }
}
