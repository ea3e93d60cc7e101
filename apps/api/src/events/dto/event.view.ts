import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { EVENT_TYPES, JOB_STATUSES } from '@relay/queue';

const ANY_JSON = {
  oneOf: [{ type: 'object', additionalProperties: true }, { type: 'array', items: {} }, { type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }],
};
const EXAMPLE_TIME = '2026-11-29T10:15:00.000Z';

/**
 * The `data:` of an event frame (README "Events"): the fixed fields, then
 * the optional ones where the event type has them. Described for clients
 * (the typed client's `EventView`); the frames are built from the stream
 * entry by eventPayload (libs/queue/src/events/relay-event.ts).
 */
export class EventView {
  @ApiProperty({ enum: EVENT_TYPES, description: 'The same as the frame\'s `event:`.', example: 'succeeded' })
  type: string;

  @ApiProperty({ example: '0f8e5c1a-3b1d-4c1e-9a55-2a7d0c4b9e11' })
  job_id: string;

  @ApiProperty({ example: 'debug.echo' })
  action: string;

  @ApiProperty({ enum: JOB_STATUSES, description: "The job's status after the change.", example: 'succeeded' })
  status: string;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'The attempt the change belongs to (0 before the first start).', example: 1 })
  attempt: number;

  @ApiProperty({ format: 'date-time', description: 'When it happened (Redis time).', example: EXAMPLE_TIME })
  at: string;

  @ApiPropertyOptional({ ...ANY_JSON, description: 'On `succeeded`: what the action returned, secrets replaced by "[REDACTED]".', example: { text: 'hello' } })
  result?: unknown;

  @ApiPropertyOptional({
    enum: [true],
    description: 'On `succeeded`, instead of `result`: the result was over EVENT_RESULT_MAX_BYTES and is left out (GET /ai/jobs/{id} has it).',
  })
  result_omitted?: true;

  @ApiPropertyOptional({ description: 'On `retrying`, `failed`, `dead_lettered`: why (a safe message).', example: 'timed out after 60000 ms' })
  error?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'On `retrying`: when the next attempt is due.', example: EXAMPLE_TIME })
  retry_at?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'On `created` of a delayed job: when it is due.', example: EXAMPLE_TIME })
  run_at?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 100, description: 'On `progress`.', example: 40 })
  progress?: number;

  @ApiPropertyOptional({ description: 'On `progress`: what the action said.', example: 'half way' })
  message?: string;

  @ApiPropertyOptional({ description: 'On `cancelled`: why, e.g. `requested`.', example: 'requested' })
  reason?: string;

  @ApiPropertyOptional({ enum: [true], description: "Only on a job stream's final event made up from the job record, the stream no longer holding the real one." })
  synthesized?: true;
}

/** The `data:` of `event: reset`. */
export class ResetView {
  @ApiProperty({ enum: ['trimmed', 'unknown_id'], description: '`trimmed`: events after your position were removed by the length or age cap; `unknown_id`: the id is beyond any event the stream has held.', example: 'trimmed' })
  reason: string;

  @ApiProperty({ description: 'The position you asked to resume after.', example: '1795962600000-0' })
  last_event_id: string;

  @ApiProperty({ description: 'Where the stream goes on: the events after this id (the oldest kept onwards); also the frame\'s `id:`.', example: '1795962699898-18446744073709551615' })
  resumes_after: string;
}
