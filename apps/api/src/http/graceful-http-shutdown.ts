import type { Server } from 'node:http';
import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';

/** After this long, connections still open at shutdown are closed (requests in flight are cut). */
const FORCE_CLOSE_AFTER_MS = 10000;

/**
 * server.close() waits for every kept-alive connection, and a client that
 * keeps reusing one keeps the process alive forever. From the moment
 * shutdown starts, responses carry `Connection: close` and idle connections
 * are closed, so each connection ends after its request in flight; anything
 * still open after FORCE_CLOSE_AFTER_MS is closed outright.
 */
@Injectable()
export class GracefulHttpShutdown implements BeforeApplicationShutdown {
  private draining = false;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  readonly middleware = (_req: Request, res: Response, next: NextFunction): void => {
    if (this.draining) res.setHeader('Connection', 'close');
    next();
  };

  beforeApplicationShutdown(): void {
    this.draining = true;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server || typeof server.closeIdleConnections !== 'function') return;
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), FORCE_CLOSE_AFTER_MS).unref();
  }
}
