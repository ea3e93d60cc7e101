import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export interface RequestWithId extends Request {
  requestId?: string;
}

/**
 * Gives every request an id: the caller's `X-Request-Id` when it is a sane
 * token, a fresh UUID otherwise. It is echoed in the response header and in
 * every error body, and logged with unexpected errors.
 */
export function requestIdMiddleware(req: RequestWithId, res: Response, next: NextFunction): void {
  const given = req.header('x-request-id');
  req.requestId = given && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', req.requestId);
  next();
}
