import type { EventBatch, StreamReset } from './event-log.js';
import type { RelayEvent } from './relay-event.js';
import { compareStreamIds } from './stream-id.js';

/** Why a subscription ended without being asked to: the process shuts down, or the subscriber fell too far behind. */
export type EventStreamEnd = 'shutdown' | 'overflow';

/** What a subscriber is told, always in stream order and from one call at a time. */
export interface EventSink {
  /** Events after the subscription's position, each once. */
  events(events: readonly RelayEvent[]): void;
  /** Events after the position were trimmed before they could be read; events from the oldest kept follow. */
  reset(reset: StreamReset): void;
  /** Nothing more will come. */
  ended(why: EventStreamEnd): void;
}

export interface EventSubscription {
  unsubscribe(): void;
}

/** Events a subscriber still catching up may hold back from the shared read; past it, it is ended ('overflow'). */
export const CATCH_UP_BUFFER_MAX = 10_000;

/**
 * One subscription's state in the hub: its position (every event up to it
 * was handed on or filtered) and, until it has caught up with its
 * workspace's shared read, the batches that read brought meanwhile.
 */
export class EventSubscriber implements EventSubscription {
  live = false;
  ended = false;
  private held: EventBatch[] = [];
  private heldEvents = 0;

  constructor(
    readonly workspaceId: string,
    public position: string,
    private readonly sink: EventSink,
    private readonly onUnsubscribe: (subscriber: EventSubscriber) => void,
  ) {}

  unsubscribe(): void {
    if (this.ended) return;
    this.ended = true;
    this.held = [];
    this.onUnsubscribe(this);
  }

  /** A batch of the shared read: handed on when live, held until caught up otherwise. */
  take(batch: EventBatch): void {
    if (this.ended) return;
    if (this.live) return this.apply(batch);
    this.held.push(batch);
    this.heldEvents += batch.events.length;
    if (this.heldEvents > CATCH_UP_BUFFER_MAX) this.end('overflow');
  }

  /** Caught up with the shared read: what it held back, then live. */
  goLive(): void {
    if (this.ended) return;
    const held = this.held;
    this.held = [];
    this.heldEvents = 0;
    for (const batch of held) this.apply(batch);
    this.live = true;
  }

  /** Hands on what is after the position, the reset first when it concerns this position. */
  apply(batch: EventBatch): void {
    if (this.ended) return;
    if (batch.reset && compareStreamIds(batch.reset.resumesAfter, this.position) > 0) {
      this.sink.reset({ ...batch.reset, lastEventId: this.position });
      this.position = batch.reset.resumesAfter;
      if (this.ended) return;
    }
    let fresh = batch.events;
    if (fresh.length > 0 && compareStreamIds(fresh[0].id, this.position) <= 0) fresh = fresh.filter((e) => compareStreamIds(e.id, this.position) > 0);
    if (fresh.length > 0) {
      this.position = fresh[fresh.length - 1].id;
      this.sink.events(fresh);
    }
    if (compareStreamIds(batch.position, this.position) > 0) this.position = batch.position;
  }

  /** Ends the subscription from the hub's side. */
  end(why: EventStreamEnd): void {
    if (this.ended) return;
    this.unsubscribe();
    this.sink.ended(why);
  }
}
