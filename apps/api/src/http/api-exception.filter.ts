import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { ErrorCode, RelayError } from '@relay/errors';
import { isRedisUnavailableError } from '@relay/redis';
import { InvalidWorkspaceIdError } from '@relay/workspace';
import { sendError } from './error-body.js';
import type { RequestWithId } from './request-id.middleware.js';

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  [ErrorCode.InvalidInput]: 400,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.IdempotencyMismatch]: 422,
  [ErrorCode.Unavailable]: 503,
};
export const RETRY_AFTER_SECONDS = '1';

/**
 * The only place that maps errors to HTTP. Domain errors carry a code;
 * Nest's HttpExceptions keep their status and message; Redis being away is
 * 503 with Retry-After; anything else is logged with the request id and
 * answered as a bare 500. No stack, Redis error text or secret reaches a client.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<RequestWithId>();
    const requestId = req.requestId ?? '';
    // Refused before its body was read (no valid key, over a limit, too large):
    // close the connection after the answer instead of draining a body nobody wants.
    if (!req.complete) res.setHeader('Connection', 'close');

    if (exception instanceof RelayError) {
      const status = STATUS_BY_CODE[exception.code];
      const headers: Record<string, string> = status === 503 ? { 'Retry-After': RETRY_AFTER_SECONDS } : {};
      return sendError(res, status, exception.details.length > 0 ? exception.details : exception.message, requestId, headers);
    }
    if (exception instanceof InvalidWorkspaceIdError) return sendError(res, 400, exception.message, requestId);
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const message =
        typeof response === 'object' && response !== null && 'message' in response
          ? (response as { message: string | string[] }).message
          : exception.message;
      return sendError(res, status, message, requestId);
    }
    if (isRedisUnavailableError(exception)) {
      this.logger.warn(`request ${requestId}: Redis unavailable (${(exception as Error).message})`);
      return sendError(res, HttpStatus.SERVICE_UNAVAILABLE, 'storage temporarily unavailable; retry shortly', requestId, {
        'Retry-After': RETRY_AFTER_SECONDS,
      });
    }
    const error = exception as Error;
    this.logger.error(`request ${requestId} failed: ${error?.name}: ${error?.message}`, error?.stack);
    return sendError(res, 500, 'internal error', requestId);
  }
}
