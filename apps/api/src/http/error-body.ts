import { STATUS_CODES } from 'node:http';
import type { Response } from 'express';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  request_id: string;
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
