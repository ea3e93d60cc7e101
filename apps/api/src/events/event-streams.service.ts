import { BeforeApplicationShutdown, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { Response } from 'express';
import type { Principal } from '@relay/auth';
import { RelayConfig } from '@relay/config';
import { ErrorCode, RelayError, notFound } from '@relay/errors';
import { SecretRedactor } from '@relay/permissions';
import { RelayMetrics } from '@relay/telemetry';
import { EventHub, EventLog, JobStore, compareStreamIds, isFinalEventType, positionBeforeMs, type EventSink, type EventStreamEnd, type EventSubscription, type Job, type StreamReset } from '@relay/queue';
import { matchesFilter, type EventFilter } from './event-filter.js';
import { finishedAtMs, isFinalJob, synthesizedFinalEvent } from './final-event.js';
import { HEARTBEAT_FRAME, eventFrame, resetFrame, synthesizedFrame } from './sse-frames.js';
import { SseResponse } from './sse-response.js';
import { StreamLeases, type StreamLease } from './stream-leases.js';

/** Where a workspace stream starts: after a client's last event id, from a time, or from now. */
export type StreamStart = { lastEventId: string } | { sinceMs: number } | { now: true };

const SHUTDOWN_FRAME = ': server shutting down; reconnect with Last-Event-ID\n\n';

/**
 * The two SSE routes (README "Events"): everything that can refuse a
 * request (the open-stream cap, the job's existence, Redis not answering)
 * happens before the 200 and its headers, so refusals are ordinary error
 * answers; the start position is read before the job record, so no event
 * after the read is missed. Open streams get a heartbeat every
 * SSE_HEARTBEAT_MS and end cleanly at shutdown (EventHub ends their
 * subscriptions; whatever is still open then is ended here).
 */
@Injectable()
export class EventStreams implements BeforeApplicationShutdown, OnModuleDestroy {
  private readonly open = new Set<SseResponse>();
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly hub: EventHub,
    private readonly log: EventLog,
    private readonly leases: StreamLeases,
    private readonly store: JobStore,
    private readonly redactor: SecretRedactor,
    private readonly config: RelayConfig,
    private readonly metrics: RelayMetrics,
  ) {}

  /** GET /ai/events: the workspace's events matching `filter`, from `start`, until the client leaves. */
  async workspace(principal: Principal, filter: EventFilter, start: StreamStart, res: Response): Promise<void> {
    const ws = principal.workspaceId;
    const lease = await this.lease(principal);
    let from: { after: string; reset?: StreamReset };
    try {
      from = 'lastEventId' in start ? await this.log.resume(ws, start.lastEventId) : 'sinceMs' in start ? await this.since(ws, start.sinceMs) : { after: await this.log.now(ws) };
    } catch (error) {
      lease.release();
      throw error;
    }
    this.follow(ws, from, lease, res, (sse) => ({
      // One write per batch, not per event: with many streams, writes are most of the cost.
      events: (events) => {
        let text = '';
        for (const event of events) if (matchesFilter(filter, event)) text += eventFrame(event);
        if (text !== '') sse.write(text);
      },
    }));
  }

  /**
   * GET /ai/jobs/{id}/events: the job's events, ending after its final one;
   * for a job already final, only its final event (204 when the client's
   * Last-Event-ID shows it has it: EventSource then stops reconnecting).
   */
  async job(principal: Principal, jobId: string, lastEventId: string | undefined, res: Response): Promise<void> {
    const ws = principal.workspaceId;
    const from = lastEventId !== undefined ? await this.log.resume(ws, lastEventId) : { after: await this.log.now(ws) };
    const job = await this.store.get(ws, jobId);
    if (!job) throw notFound('job');
    if (isFinalJob(job)) return this.answerFinal(ws, job, lastEventId, res);
    const lease = await this.lease(principal);
    this.follow(ws, from, lease, res, (sse) => {
      let done = false;
      const recheck = async () => {
        // The final event may have been among those trimmed: the record tells.
        const now = await this.store.get(ws, jobId).catch(() => undefined);
        if (done || !sse.isOpen || !now || !isFinalJob(now)) return;
        done = true;
        await this.answerFinal(ws, now, undefined, undefined, sse).catch(() => sse.cut());
      };
      return {
        events: (events) => {
          for (const event of events) {
            if (done || event.jobId !== jobId) continue;
            sse.write(eventFrame(event));
            if (isFinalEventType(event.type)) {
              done = true;
              sse.end();
            }
          }
        },
        reset: (reset) => {
          sse.write(resetFrame(reset));
          void recheck();
        },
      };
    });
  }

  beforeApplicationShutdown(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const sse of [...this.open]) sse.end(SHUTDOWN_FRAME);
  }

  onModuleDestroy(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
  }

  private async lease(principal: Principal): Promise<StreamLease> {
    const lease = await this.leases.acquire(principal.keyId);
    if (lease) return lease;
    throw new RelayError(
      ErrorCode.QuotaExceeded,
      `too many open event streams for this API key: at most ${this.config.SSE_MAX_STREAMS_PER_KEY} across all API replicas (SSE_MAX_STREAMS_PER_KEY); close one first`,
    );
  }

  /** From a time: the events added at or after it; a reset when the stream no longer holds them all. */
  private async since(ws: string, sinceMs: number): Promise<{ after: string; reset?: StreamReset }> {
    const from = await this.log.resume(ws, positionBeforeMs(sinceMs));
    // A time ahead of the last event is no unknown id: the stream simply starts there.
    return from.reset?.reason === 'unknown_id' ? { after: positionBeforeMs(sinceMs) } : from;
  }

  /** Opens the stream and subscribes; the sink's parts get the open stream. Releases everything when the response closes. */
  private follow(ws: string, from: { after: string; reset?: StreamReset }, lease: StreamLease, res: Response, sinkFor: (sse: SseResponse) => Partial<EventSink>): void {
    let subscription: EventSubscription | undefined;
    const sse = new SseResponse(
      res,
      () => {
        subscription?.unsubscribe();
        lease.release();
        this.open.delete(sse);
      },
      this.metrics.sseStreamsOpen,
    );
    if (!sse.isOpen) return lease.release();
    this.open.add(sse);
    this.heartbeat ??= setInterval(() => {
      for (const open of this.open) open.write(HEARTBEAT_FRAME);
    }, this.config.SSE_HEARTBEAT_MS).unref();
    sse.open(from.after);
    if (from.reset) sse.write(resetFrame(from.reset));
    const parts = sinkFor(sse);
    subscription = this.hub.subscribe(ws, from.after, {
      events: parts.events ?? (() => undefined),
      reset: parts.reset ?? ((reset) => sse.write(resetFrame(reset))),
      ended: (why: EventStreamEnd) => (why === 'shutdown' ? sse.end(SHUTDOWN_FRAME) : sse.cut()),
    });
    if (!sse.isOpen) subscription.unsubscribe();
  }

  /**
   * A final job's final event, looked up in the stream around its
   * finished_at, or made up from its record; sent on `sse` when given, else
   * as a whole response (or 204).
   */
  private async answerFinal(ws: string, job: Job, lastEventId: string | undefined, res?: Response, sse?: SseResponse): Promise<void> {
    const finishedMs = finishedAtMs(job);
    const found = await this.log.findFinal(ws, job.jobId, finishedMs);
    let frame: string;
    let id: string;
    if (found) {
      frame = eventFrame(found);
      id = found.id;
    } else {
      // Sent with an id at or after both the stream's end and the finish, so a reconnect with it is 204.
      const now = await this.log.now(ws);
      const floor = `${finishedMs}-0`;
      id = compareStreamIds(now, floor) > 0 ? now : floor;
      frame = synthesizedFrame(id, synthesizedFinalEvent(job, this.redactor));
    }
    if (sse) return sse.end(frame);
    if (!res) return;
    if (lastEventId !== undefined && compareStreamIds(lastEventId, found ? id : `${finishedMs}-0`) >= 0) {
      res.status(204).end();
      return;
    }
    const once = new SseResponse(res, () => undefined, this.metrics.sseStreamsOpen);
    once.open();
    once.end(frame);
  }
}
