import type { Response } from 'express';

/**
 * Bytes a stream may have queued for a client that does not read them;
 * beyond it the client is too slow, and the stream is cut (the client
 * resumes with Last-Event-ID, from Redis, losing nothing).
 */
export const SSE_MAX_QUEUED_BYTES = 1024 * 1024;

/**
 * On a stream that follows the workspace's events: the id they follow. A
 * client that must reconnect before any event arrived (a stream started
 * from now) sends it as Last-Event-ID, and so misses nothing of the gap.
 */
export const STREAM_POSITION_HEADER = 'Relay-Stream-Position';

/** The first bytes of every stream: some proxies hold a response back until its body starts. */
const OPENING = ': stream open\n\n';

/** What counts open streams (relay_sse_streams_open). */
export interface OpenStreamCount {
  inc(): void;
  dec(): void;
}

/**
 * One Server-Sent Events response: the headers, frames as they come, and
 * its end. `onClose` runs once, however the response ends (end, cut, or the
 * client going away). `openCount` counts it from open() until then.
 */
export class SseResponse {
  private closed = false;
  private counted = false;
  private lastWriteAt = Date.now();

  constructor(
    private readonly res: Response,
    onClose: () => void,
    private readonly openCount?: OpenStreamCount,
  ) {
    // The client may have gone while the stream was being set up: then it never opens.
    if (!res.socket || res.socket.destroyed) this.closed = true;
    res.once('close', () => {
      this.closed = true;
      if (this.counted) {
        this.counted = false;
        this.openCount?.dec();
      }
      onClose();
    });
  }

  get isOpen(): boolean {
    return !this.closed && !this.res.writableEnded && !this.res.destroyed;
  }

  /** Milliseconds since anything was written. */
  get idleMs(): number {
    return Date.now() - this.lastWriteAt;
  }

  /**
   * 200 and the headers, at once: a client that sees them knows its
   * position is fixed. `position`, when given, is sent as
   * Relay-Stream-Position: the id the stream's events follow (README "Events").
   */
  open(position?: string): void {
    if (!this.closed && !this.counted) {
      this.counted = true;
      this.openCount?.inc();
    }
    this.res.status(200);
    if (position !== undefined) this.res.setHeader(STREAM_POSITION_HEADER, position);
    this.res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    // No caching, no transformation (compression would hold frames back), and no buffering by nginx.
    this.res.setHeader('Cache-Control', 'no-cache, no-transform');
    this.res.setHeader('X-Accel-Buffering', 'no');
    this.res.flushHeaders();
    this.res.socket?.setNoDelay(true);
    this.write(OPENING);
  }

  /** Writes frames; cuts the stream when the client leaves too much unread. */
  write(text: string): void {
    if (!this.isOpen) return;
    this.res.write(text);
    this.lastWriteAt = Date.now();
    if (this.res.writableLength > SSE_MAX_QUEUED_BYTES) this.cut();
  }

  /** Ends the response cleanly (the last chunk is sent; the connection may be reused). */
  end(text?: string): void {
    if (!this.isOpen) return;
    this.res.end(text);
  }

  /** Drops the connection, unsent bytes included. */
  cut(): void {
    if (this.closed) return;
    this.res.destroy();
  }
}
