import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { JOB_STATUSES, type JobStatus } from '@relay/queue';

const EXAMPLE_JOB_ID = '0f8e5c1a-3b1d-4c1e-9a55-2a7d0c4b9e11';
const EXAMPLE_TIME = '2026-11-29T10:15:00.000Z';

/** Any JSON value (null included): what an action returns, or params as stored. */
const ANY_JSON = {
  oneOf: [{ type: 'object', additionalProperties: true }, { type: 'array', items: {} }, { type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }],
};

/**
 * The answers of the job routes, as classes: job.view.ts builds them (so
 * the compiler holds the views to these fields) and the OpenAPI document
 * is generated from their decorators.
 */
export class JobSummaryView {
  @ApiProperty({ example: EXAMPLE_JOB_ID })
  job_id: string;

  @ApiProperty({ description: "The key's workspace.", example: 'acme' })
  workspace_id: string;

  @ApiProperty({ description: 'The actor of the API key that submitted the job.', example: 'agent-7' })
  actor_id: string;

  @ApiProperty({ example: 'debug.echo' })
  action: string;

  @ApiProperty({ enum: JOB_STATUSES, example: 'succeeded' })
  status: JobStatus;

  @ApiProperty({ description: 'Attempts started so far.', type: 'integer', minimum: 0, example: 1 })
  attempts: number;

  @ApiProperty({ ...ANY_JSON, description: 'What the action returned (null until it succeeds), secrets replaced by "[REDACTED]".', example: { text: 'hello' } })
  result: unknown;

  @ApiProperty({ type: 'string', nullable: true, description: 'Why the last attempt failed (a safe message), or null.', example: null })
  error: string | null;

  @ApiProperty({ type: 'string', nullable: true, example: 'order-4711-confirm' })
  client_request_id: string | null;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  created_at: string;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  updated_at: string;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: EXAMPLE_TIME })
  started_at: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: EXAMPLE_TIME })
  finished_at: string | null;

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    description:
      'When the job was asked to run, in UTC: its `run_at`, or the time it was stored plus its `delay_ms` (by Redis\'s clock). ' +
      'A job waiting for this time is `pending`; null when it was submitted with neither (or with `delay_ms` 0).',
    example: '2026-11-29T12:00:00.000Z',
  })
  run_at: string | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: 100,
    description:
      "How far the action says its attempt has got, 0-100 (README \"Progress\"): written at most once per PROGRESS_MIN_INTERVAL_MS (default 1 s), the latest report winning. " +
      'Kept when the job ends; cleared when it goes back to `pending` to run again. null when the action reported none.',
    example: 40,
  })
  progress: number | null;

  @ApiProperty({ type: 'string', nullable: true, maxLength: 200, description: 'The short text the action reported with its progress (at most 200 characters), or null.', example: 'uploaded 4 of 10 files' })
  progress_message: string | null;

  @ApiPropertyOptional({
    type: 'boolean',
    enum: [true],
    description: 'List items only: present when the result is larger than LIST_RESULT_MAX_BYTES (default 4 KiB); `result` is then null, and GET /ai/jobs/{id} has it.',
  })
  result_omitted?: true;
}

export class JobView extends JobSummaryView {
  @ApiProperty({
    ...ANY_JSON,
    description: 'The params as submitted (a JSON object), every secret replaced by "[REDACTED]"; params that cannot be redacted field by field read "[REDACTED]" whole.',
    example: { text: 'hello', api_key: '[REDACTED]' },
  })
  params: unknown;
}

/** The answer to a cancel: the job, and what the cancel came to. */
export class CancelledJobView extends JobView {
  @ApiProperty({
    enum: ['cancelled', 'finished_first', 'requested'],
    description:
      '`cancelled`: the job is cancelled (it had not started, or its running attempt was stopped: 200). `finished_first`: it was running and succeeded or failed ' +
      'before the cancel reached it, and keeps that outcome (200). `requested`: it is still running after the wait (CANCEL_WAIT_MS, default 5 s): ' +
      'its worker stops it within WORKER_LEASE_MS / 3, unless it finishes first; read the job to see which (202).',
    example: 'cancelled',
  })
  cancel: 'cancelled' | 'finished_first' | 'requested';
}

export class JobPageView {
  @ApiProperty({ type: [JobSummaryView], description: 'Newest first; no params.' })
  items: JobSummaryView[];

  @ApiProperty({ type: 'string', nullable: true, description: 'Pass as `cursor` for the next page; null on the last page.', example: null })
  next_cursor: string | null;
}

export class SubmittedJobView {
  @ApiProperty({ example: EXAMPLE_JOB_ID })
  job_id: string;

  @ApiProperty({ enum: JOB_STATUSES, description: "`pending` when created; a replay shows the job's status now.", example: 'pending' })
  status: JobStatus;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  created_at: string;
}

export class SubmittedPlanView {
  @ApiProperty({ type: [String], description: 'One job per step, in step order: `<plan uuid>_<step>`.', example: [`${EXAMPLE_JOB_ID}_0`, `${EXAMPLE_JOB_ID}_1`] })
  job_ids: string[];

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  created_at: string;
}
