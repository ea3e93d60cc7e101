import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import type { NextFunction, Response } from 'express';
import type { AuthenticatedRequest } from '@relay/auth';
import { requestFacts } from '@relay/workspace';
import type { RequestWithId } from './request-id.middleware.js';

const logger = new Logger('HttpRequest');

/** Probes and scrapes, which arrive every few seconds and would drown the rest: logged at debug. */
const PROBE_ROUTES = new Set(['/health/live', '/health/ready', '/metrics']);

/** What nginx calls a request the client closed before any status was sent. */
const CLIENT_CLOSED = 499;

/**
 * One log line per HTTP request, written when the response has been sent
 * (or the client went away first): request id, method, route pattern
 * (`/ai/jobs/:id`: never the raw URL, whose path holds job ids and whose
 * query could hold anything), status, duration and, once the API key was
 * verified, its key id and workspace. Never params, bodies or headers.
 * Must run after requestIdMiddleware.
 */
export function requestLogMiddleware(req: RequestWithId & AuthenticatedRequest, res: Response, next: NextFunction): void {
  const started = performance.now();
  let logged = false;
  const write = () => {
    if (logged) return;
    logged = true;
    const aborted = !res.writableFinished;
    const facts = requestFacts(req);
    const line = {
      event: 'http_request',
      ...facts,
      status: aborted && !res.headersSent ? CLIENT_CLOSED : res.statusCode,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      ...(req.principal && { key_id: req.principal.keyId, workspace_id: req.principal.workspaceId }),
      ...(aborted && { aborted: true }),
    };
    if (PROBE_ROUTES.has(facts.route)) logger.debug(line);
    else logger.log(line);
  };
  res.once('finish', write);
  res.once('close', write);
  next();
}
