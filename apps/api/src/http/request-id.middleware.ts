import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { withLogContext } from '@relay/telemetry';

export interface RequestWithId extends Request {
  requestId?: string;
}

/**
 * Gives every request an id: the caller's `X-Request-Id` when it is a sane
 * token, a fresh UUID otherwise. It is echoed in the response header and in
 * every error body, and the rest of the request runs in a log context
 * holding it, so every line logged while serving it carries `request_id`.
 */
export function requestIdMiddleware(req: RequestWithId, res: Response, next: NextFunction): void {
  const given = req.header('x-request-id');
  const requestId = given && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
  req.requestId = requestId;
  res.setHeader('X-Request-Id', requestId);
  withLogContext({ request_id: requestId }, next);
}
