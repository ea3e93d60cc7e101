import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { ErrorCode, RelayError } from '@relay/errors';
import { isRedisUnavailableError, unavailabilityReason } from '@relay/redis';
import { AggregatedWarnings, RelayMetrics } from '@relay/telemetry';
import { sendError } from './error-body.js';
import type { RequestWithId } from './request-id.middleware.js';

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  [ErrorCode.InvalidInput]: 400,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.IdempotencyMismatch]: 422,
  [ErrorCode.Gone]: 410,
  [ErrorCode.QuotaExceeded]: 429,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.Overloaded]: 503,
  // Server-side faults: logged, answered as a bare 500.
  [ErrorCode.InvalidConfiguration]: 500,
  [ErrorCode.CheckFailed]: 500,
  [ErrorCode.StorageRefused]: 500,
};
export const RETRY_AFTER_SECONDS = '1';

/** What a 503 says, per reason; never a Redis error text. */
const UNAVAILABLE_MESSAGES = {
  redis_unavailable: 'storage temporarily unavailable; retry shortly',
  redis_oom: 'storage is full and refuses writes; retry later',
  submit_overload: 'the API is overloaded: too many submits are waiting for storage; retry shortly',
} as const;
type UnavailableReason = keyof typeof UNAVAILABLE_MESSAGES;

/**
 * The only place that maps errors to HTTP. Domain errors carry a code;
 * Nest's HttpExceptions keep their status and message; Redis being away,
 * Redis refusing writes (OOM) and the API's own submit queue overflowing are
 * 503 with Retry-After, each with its own reason in the answer, the metric
 * relay_unavailable_responses_total{reason} and the log (aggregated: a flood
 * of them is a few lines); anything else is logged with the request id and
 * answered as a bare 500. No stack, Redis error text or secret reaches a client.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');
  private readonly warnings = new AggregatedWarnings(this.logger);

  constructor(private readonly metrics: RelayMetrics) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<RequestWithId>();
    const requestId = req.requestId ?? '';
    // Refused before its body was read (no valid key, over a limit, too large):
    // close the connection after the answer instead of draining a body nobody wants.
    if (!req.complete) res.setHeader('Connection', 'close');

    if (exception instanceof RelayError && STATUS_BY_CODE[exception.code] < 500) {
      const message = exception.details.length > 0 ? exception.details : exception.message;
      return sendError(res, STATUS_BY_CODE[exception.code], message, requestId, {}, exception.fields);
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const message =
        typeof response === 'object' && response !== null && 'message' in response
          ? (response as { message: string | string[] }).message
          : (failedHealthChecks(response) ?? exception.message);
      return sendError(res, status, message, requestId);
    }
    const overloaded = exception instanceof RelayError && exception.code === ErrorCode.Overloaded;
    if (overloaded || isRedisUnavailableError(exception)) {
      const reason: UnavailableReason = overloaded ? 'submit_overload' : unavailabilityReason(exception);
      this.metrics.unavailableResponses.inc({ reason });
      this.warnings.warn(reason, `request ${requestId} answered 503 (${reason}): ${(exception as Error).message}`);
      // A Relay error's details are safe for the client (e.g. the job ids of a submit written but not yet on replicas).
      const message = exception instanceof RelayError && exception.details.length > 0 ? exception.details.join('; ') : UNAVAILABLE_MESSAGES[reason];
      return sendError(res, HttpStatus.SERVICE_UNAVAILABLE, message, requestId, { 'Retry-After': RETRY_AFTER_SECONDS });
    }
    const error = exception as Error;
    this.logger.error(`request ${requestId} failed: ${error?.name}: ${error?.message}`, error?.stack);
    return sendError(res, 500, 'internal error', requestId);
  }
}

/**
 * A failed readiness check (Terminus answers 503 with each indicator's state
 * under `error`) keeps its reasons in our error shape: `redis: <why>`.
 */
function failedHealthChecks(response: unknown): string[] | undefined {
  const failed = (response as { error?: Record<string, { message?: unknown }> } | null)?.error;
  if (typeof failed !== 'object' || failed === null) return undefined;
  const reasons = Object.entries(failed).map(([name, state]) => `${name}: ${typeof state?.message === 'string' ? state.message : 'down'}`);
  return reasons.length > 0 ? reasons : undefined;
}
