import express, { type NextFunction, type Request, type Response } from 'express';
import { nestedDeeperThan } from '../jobs/params-limits.js';

const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'];

/**
 * JSON bodies only, up to a size limit. A request that carries a body of any
 * other media type is 415 before it reaches a route; an oversized body is 413
 * and a malformed one 400 (both raised by express.json and answered by the
 * error middleware below in Relay's error shape).
 */
export function jsonBodyMiddlewares(limitBytes: number, maxDepth: number) {
  const parse = express.json({ limit: limitBytes, strict: true, type: ['application/json', 'application/*+json'] });
  const requireJson = (req: Request, _res: Response, next: NextFunction) => {
    const hasBody = Number(req.header('content-length') ?? 0) > 0 || req.header('transfer-encoding') !== undefined;
    if (hasBody && !req.is(['application/json', 'application/*+json'])) {
      next(Object.assign(new Error('Content-Type must be application/json'), { status: 415, expose: true }));
      return;
    }
    next();
  };
  // Checked before validation: class-transformer walks the body recursively,
  // so a deeply nested body must be refused before it gets there, and keys
  // it silently drops must be refused rather than ignored.
  const checkShape = (req: Request, _res: Response, next: NextFunction) => {
    const body: unknown = req.body;
    if (body !== null && typeof body === 'object') {
      if (nestedDeeperThan(body, maxDepth)) {
        next(Object.assign(new Error(`request body is nested more than ${maxDepth} levels deep`), { status: 400, type: 'relay.too.deep' }));
        return;
      }
      const objects = [body, ...(Array.isArray((body as { steps?: unknown }).steps) ? ((body as { steps: unknown[] }).steps) : [])];
      for (const object of objects) {
        const bad = object !== null && typeof object === 'object' ? FORBIDDEN_KEYS.find((k) => Object.hasOwn(object, k)) : undefined;
        if (bad) {
          next(Object.assign(new Error(`property ${bad} should not exist`), { status: 400, type: 'relay.forbidden.key' }));
          return;
        }
      }
    }
    next();
  };
  return [requireJson, parse, checkShape];
}
