import type { NextFunction, Response } from 'express';
import { sendError } from './error-body.js';
import type { RequestWithId } from './request-id.middleware.js';

/**
 * Express error handler for what fails before Nest routing: body parsing
 * (400 malformed JSON, 413 too large, 415 wrong media type). Texts are
 * Relay's own; the parser's message is never echoed.
 */
export function bodyErrorHandler(err: { status?: number; type?: string; message?: string }, req: RequestWithId, res: Response, next: NextFunction): void {
  const requestId = req.requestId ?? '';
  if (err.status === 413 || err.type === 'entity.too.large') return sendError(res, 413, 'request body too large', requestId);
  if (err.status === 415) return sendError(res, 415, 'Content-Type must be application/json', requestId);
  if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') return sendError(res, 415, 'unsupported body encoding', requestId);
  if (err.type === 'relay.too.deep' || err.type === 'relay.forbidden.key') return sendError(res, 400, err.message ?? 'invalid body', requestId);
  if (err.status === 400) return sendError(res, 400, 'request body is not valid JSON', requestId);
  next(err);
}
