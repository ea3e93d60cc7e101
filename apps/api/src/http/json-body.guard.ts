import {
  BadRequestException,
  CanActivate,
  ExecutionContext,
  HttpException,
  Injectable,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { RelayConfig } from '@relay/config';
import { jsonBodyMiddlewares } from './json-body.middleware.js';

/** What body parsing fails with (http-errors from express.json, or Relay's own shape checks). */
interface BodyError {
  status?: number;
  type?: string;
  message?: string;
}

/** Relay's own texts for body refusals; the parser's message is never echoed. */
function bodyRefusal(error: BodyError): HttpException | BodyError {
  if (error.status === 413 || error.type === 'entity.too.large') return new PayloadTooLargeException('request body too large');
  if (error.status === 415) return new UnsupportedMediaTypeException('Content-Type must be application/json');
  if (error.type === 'encoding.unsupported' || error.type === 'charset.unsupported') return new UnsupportedMediaTypeException('unsupported body encoding');
  if (error.type === 'relay.too.deep' || error.type === 'relay.forbidden.key') return new BadRequestException(error.message ?? 'invalid body');
  if (error.status === 400) return new BadRequestException('request body is not valid JSON');
  return error;
}

/**
 * Reads the JSON body, after the API key guard and the rate limit have let
 * the request through (global guards run in the order ApiModule lists
 * them). Nothing of a body is buffered for a caller without a valid key or
 * over its limit: those are answered before the body is read, and the
 * connection is then closed (ApiExceptionFilter). Refusals here (400, 413,
 * 415) are answered by the exception filter, so they are counted in
 * http_requests_total like every other answer.
 */
@Injectable()
export class JsonBodyGuard implements CanActivate {
  private readonly steps: ReturnType<typeof jsonBodyMiddlewares>;

  constructor(config: RelayConfig) {
    // Body depth bound: params' own limit plus the envelope ({steps: [{params}]}).
    this.steps = jsonBodyMiddlewares(config.BODY_MAX_BYTES, config.PARAMS_MAX_DEPTH + 3);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    for (const step of this.steps) {
      await new Promise<void>((resolve, reject) => {
        const next: NextFunction = (error?: unknown) => (error ? reject(bodyRefusal(error as BodyError)) : resolve());
        step(req, res, next);
      });
    }
    return true;
  }
}
