import { ErrorCode, RelayError } from '@relay/errors';
import { isRedisUnavailableError } from '@relay/redis';
import type { CreateScriptReply, CreateScriptRequest } from '../scripts/script-types.js';

interface Waiting {
  request: CreateScriptRequest;
  resolve: (reply: CreateScriptReply) => void;
  reject: (error: unknown) => void;
  queuedAt: number;
}

/**
 * A submit this process could not hand to Redis in time: it waited for a
 * call slot longer than the command timeout ('wait_timeout'), or too many
 * submits were already waiting ('queue_full'). The API's own overload, not
 * Redis being away: code Overloaded (503 with Retry-After, its own reason).
 */
export class SubmitWaitError extends RelayError {
  constructor(
    message: string,
    readonly reason: 'wait_timeout' | 'queue_full',
  ) {
    super(ErrorCode.Overloaded, message);
    this.name = 'SubmitWaitError';
  }
}

/**
 * Limits of one createJobs call: a plan at its maximum (100 steps) can still
 * share a call with a few others. Chosen with `npm run bench` (enqueue, API
 * submit, API batch): 4 calls in flight beat 8 on plans and matched it on
 * single jobs; 10–20 requests per call were alike.
 */
export const MAX_JOBS_PER_CALL = 500;
export const MAX_REQUESTS_PER_CALL = 16;
export const MAX_CALLS_IN_FLIGHT = 4;
/** Submits that may wait for a call slot; more are refused at once (backpressure, not an unbounded queue). */
export const MAX_WAITING_REQUESTS = 10_000;

/**
 * Group commit for submits. A request goes to Redis at once while fewer than
 * MAX_CALLS_IN_FLIGHT createJobs calls are out; beyond that it waits, and
 * when a call comes back the requests that waited go as one call (up to
 * MAX_REQUESTS_PER_CALL requests or MAX_JOBS_PER_CALL jobs each), which
 * answers each request on its own. So a quiet API adds no wait to a
 * submit, and a busy one spends one round trip and one script start per
 * batch instead of per request, with several calls still in flight so Redis
 * runs one while this process prepares the next.
 *
 * Each request stays atomic by itself (createJobs checks a request's
 * preconditions before its first write), and one request's refusal does not
 * touch the others; a failed call (Redis away, a timeout) fails every
 * request of it, exactly as it would have failed each alone. A submit waits
 * for a slot at most `maxWaitMs` (the command timeout), and when a call
 * fails because Redis did not answer, the submits still waiting fail with
 * it rather than wait for another timeout: a submit is answered within two
 * command timeouts at worst (a wait for a slot, then its own call).
 */
export class CreateBatcher {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private expiry?: NodeJS.Timeout;

  constructor(
    private readonly call: (requests: CreateScriptRequest[]) => Promise<CreateScriptReply[]>,
    private readonly maxWaitMs: number,
  ) {}

  submit(request: CreateScriptRequest): Promise<CreateScriptReply> {
    return new Promise((resolve, reject) => {
      if (this.queue.length >= MAX_WAITING_REQUESTS) {
        reject(new SubmitWaitError(`${MAX_WAITING_REQUESTS} submits are already waiting for Redis`, 'queue_full'));
        return;
      }
      this.queue.push({ request, resolve, reject, queuedAt: Date.now() });
      this.sendWhileRoom();
      this.armExpiry();
    });
  }

  /** One timer, for the oldest waiting submit. */
  private armExpiry(): void {
    if (this.expiry || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0].queuedAt + this.maxWaitMs - Date.now());
    this.expiry = setTimeout(() => {
      this.expiry = undefined;
      const now = Date.now();
      let expired = 0;
      while (expired < this.queue.length && now - this.queue[expired].queuedAt >= this.maxWaitMs) expired++;
      this.failWaiting(this.queue.splice(0, expired), new SubmitWaitError(`waited ${this.maxWaitMs} ms for a Redis call slot`, 'wait_timeout'));
      this.armExpiry();
    }, wait);
    this.expiry.unref();
  }

  private failWaiting(requests: Waiting[], error: unknown): void {
    for (const request of requests) request.reject(error);
  }

  private sendWhileRoom(): void {
    while (this.queue.length > 0 && this.inFlight < MAX_CALLS_IN_FLIGHT) void this.send(this.takeBatch());
  }

  /** The longest run of waiting requests, oldest first, that fits one call (a request over the job limit goes alone). */
  private takeBatch(): Waiting[] {
    let count = 0;
    let jobs = 0;
    while (count < this.queue.length && count < MAX_REQUESTS_PER_CALL) {
      const next = this.queue[count].request.jobs.length;
      if (count > 0 && jobs + next > MAX_JOBS_PER_CALL) break;
      jobs += next;
      count++;
    }
    return this.queue.splice(0, count);
  }

  private async send(batch: Waiting[]): Promise<void> {
    this.inFlight++;
    try {
      const replies = await this.call(batch.map((waiting) => waiting.request));
      if (replies.length !== batch.length) throw new Error(`createJobs answered ${replies.length} replies for ${batch.length} requests`);
      batch.forEach((request, i) => request.resolve(replies[i]));
    } catch (error) {
      for (const request of batch) request.reject(error);
      // Redis did not answer this call: the waiting ones would only wait out another timeout.
      if (isRedisUnavailableError(error)) this.failWaiting(this.queue.splice(0), error);
    } finally {
      this.inFlight--;
      this.sendWhileRoom();
    }
  }
}
