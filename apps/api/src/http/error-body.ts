import { STATUS_CODES } from 'node:http';
import { ApiProperty } from '@nestjs/swagger';
import type { Response } from 'express';

/** Relay's one error shape. A class so the OpenAPI document describes exactly what sendError writes. */
export class ErrorBody {
  // Examples are per answer (openapi/error-responses.ts): one here would show a 404 under every status.
  @ApiProperty({ description: 'The HTTP status, repeated in the body.', type: 'integer' })
  statusCode: number;

  @ApiProperty({ description: "The status's standard reason phrase." })
  error: string;

  @ApiProperty({
    description: 'What went wrong: one sentence, or a list of field-level messages (validation failures).',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
  })
  message: string | string[];

  @ApiProperty({ description: 'The id of this request, as in the X-Request-Id response header; quote it when reporting a problem.', example: 'req-7f3a' })
  request_id: string;
}

/** 410: the error shape plus the id of the job that expired. */
export class GoneErrorBody extends ErrorBody {
  @ApiProperty({ description: 'The job first created for this client_request_id (a plan: its first job, `<plan uuid>_0`).', example: '0f8e5c1a-3b1d-4c1e-9a55-2a7d0c4b9e11' })
  job_id: string;
}

/** Writes Relay's one error shape: {statusCode, error, message, request_id}, plus a domain error's own fields (e.g. job_id). */
export function sendError(
  res: Response,
  statusCode: number,
  message: string | string[],
  requestId: string,
  headers: Record<string, string> = {},
  fields: Record<string, string> = {},
): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  const body: ErrorBody = { ...fields, statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, request_id: requestId };
  res.status(statusCode).json(body);
}
