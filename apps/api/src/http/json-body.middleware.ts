import express, { type NextFunction, type Request, type Response } from 'express';
import { bodyShapeProblem } from '../jobs/params-limits.js';

/**
 * A top-level or step field named after an Object.prototype member
 * (`hasOwnProperty`, `toString`, …). None is a Relay field, and
 * class-validator's whitelist takes such names for declared properties, so
 * they would slip past "unknown fields are rejected"; they are refused here.
 */
function inheritedNameField(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const steps = (body as { steps?: unknown }).steps;
  for (const object of [body, ...(Array.isArray(steps) ? steps : [])]) {
    if (object === null || typeof object !== 'object') continue;
    const field = Object.keys(object).find((key) => key in Object.prototype);
    if (field) return field;
  }
  return undefined;
}

/**
 * JSON bodies only, up to a size limit: the steps JsonBodyGuard runs once the
 * caller is authenticated. A request that carries a body of any other media
 * type is 415; an oversized body is 413 and a malformed one 400 (both raised
 * by express.json; the guard turns them into Relay's answers).
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
  // Checked before validation, in one walk of the parsed body: class-transformer
  // walks the body recursively, so a deeply nested body must be refused before
  // it gets there; and keys that name a prototype are refused at any depth
  // (the global ValidationPipe would silently drop them, the plan pipe keeps
  // params as sent), so both routes answer them the same way.
  const checkShape = (req: Request, _res: Response, next: NextFunction) => {
    const problem = bodyShapeProblem(req.body, maxDepth);
    const field = problem ? undefined : inheritedNameField(req.body);
    if (problem === 'too-deep') {
      next(Object.assign(new Error(`request body is nested more than ${maxDepth} levels deep`), { status: 400, type: 'relay.too.deep' }));
    } else if (problem || field) {
      next(Object.assign(new Error(`property ${problem ? problem.key : field} should not exist`), { status: 400, type: 'relay.forbidden.key' }));
    } else {
      next();
    }
  };
  return [requireJson, parse, checkShape];
}
