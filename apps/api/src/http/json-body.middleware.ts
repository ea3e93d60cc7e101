import express, { type NextFunction, type Request, type Response } from 'express';

/**
 * JSON bodies only, up to a size limit. A request that carries a body of any
 * other media type is 415 before it reaches a route; an oversized body is 413
 * and a malformed one 400 (both raised by express.json and answered by the
 * error middleware below in Relay's error shape).
 */
export function jsonBodyMiddlewares(limitBytes: number) {
  const parse = express.json({ limit: limitBytes, strict: true, type: ['application/json', 'application/*+json'] });
  const requireJson = (req: Request, _res: Response, next: NextFunction) => {
    const hasBody = Number(req.header('content-length') ?? 0) > 0 || req.header('transfer-encoding') !== undefined;
    if (hasBody && !req.is(['application/json', 'application/*+json'])) {
      next(Object.assign(new Error('Content-Type must be application/json'), { status: 415, expose: true }));
      return;
    }
    next();
  };
  return [requireJson, parse];
}
