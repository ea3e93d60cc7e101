import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, ValidateBy } from 'class-validator';
import { ACTION_PATTERN_PATTERN } from '@relay/permissions';
import { JOB_ID_PATTERN, JOB_STATUSES, parseStreamId } from '@relay/queue';
import { runAtEpochMs } from '../../jobs/dto/delay-fields.js';

/** Entries a comma-separated filter may hold. */
export const FILTER_VALUES_MAX = 20;
export const LAST_EVENT_ID_MESSAGE = 'must be an event id as sent in `id:` (<ms>-<seq>, two whole numbers below 2^64)';
const STREAM_ID_EXAMPLE = '1795962699899-0';

const splitList = (value: string) => value.split(',').map((v) => v.trim());

/** A comma-separated list of at most FILTER_VALUES_MAX values, each passing `valid`. */
const IsList = (valid: (value: string) => boolean, message: string) =>
  ValidateBy({
    name: 'isList',
    validator: {
      validate: (value) => typeof value === 'string' && splitList(value).length <= FILTER_VALUES_MAX && splitList(value).every(valid),
      defaultMessage: () => message,
    },
  });

const IsStreamId = (name: string) =>
  ValidateBy({ name: 'isStreamId', validator: { validate: (value) => typeof value === 'string' && parseStreamId(value) !== undefined, defaultMessage: () => `${name} ${LAST_EVENT_ID_MESSAGE}` } });

const IsInstant = () =>
  ValidateBy({
    name: 'isInstant',
    validator: {
      validate: (value) => runAtEpochMs(value) !== undefined,
      defaultMessage: () => 'since must be an ISO 8601 date-time with a time zone, such as 2026-11-29T12:00:00.000Z',
    },
  });

/** What both event routes take. */
export class JobEventsQuery {
  @ApiPropertyOptional({
    description:
      'Where to resume: the `id:` of the last event received. The `Last-Event-ID` header (what EventSource sends on reconnecting) says the same and wins when both are sent.',
    example: STREAM_ID_EXAMPLE,
  })
  @IsOptional()
  @IsString()
  @IsStreamId('last_event_id')
  last_event_id?: string;

  @ApiPropertyOptional({ description: "Optional; any other value than the key's workspace is 403." })
  @IsOptional()
  @IsString()
  workspace_id?: string;
}

/** GET /ai/events query: filters (each optional; all given must hold) and where to start. */
export class EventsQuery extends JobEventsQuery {
  @ApiPropertyOptional({ description: "Only this job's events.", pattern: JOB_ID_PATTERN.source })
  @IsOptional()
  @IsString()
  @Matches(JOB_ID_PATTERN, { message: 'job_id must be 1-128 characters of letters, digits, . _ -' })
  job_id?: string;

  @ApiPropertyOptional({
    description: `Only events that leave the job in one of these statuses (comma-separated, at most ${FILTER_VALUES_MAX}; e.g. \`succeeded,failed\`).`,
    example: 'succeeded,failed',
  })
  @IsOptional()
  @IsString()
  @IsList((v) => (JOB_STATUSES as readonly string[]).includes(v), `status must be comma-separated job statuses (${JOB_STATUSES.join(', ')})`)
  status?: string;

  @ApiPropertyOptional({
    description: `Only events of these actions (comma-separated action ids or \`provider.*\`, at most ${FILTER_VALUES_MAX}).`,
    example: 'http.post,debug.*',
  })
  @IsOptional()
  @IsString()
  @IsList((v) => ACTION_PATTERN_PATTERN.test(v), 'action must be comma-separated action ids (provider.name) or provider.*')
  action?: string;

  @ApiPropertyOptional({
    description:
      'Without a Last-Event-ID: start with the events added at or after this time (ISO 8601; event ids are Redis times in ms) instead of from now. Events the stream no longer holds are announced by `event: reset`.',
    example: '2026-11-29T12:00:00.000Z',
  })
  @IsOptional()
  @IsString()
  @IsInstant()
  since?: string;
}

/** The comma-separated values of a validated list filter. */
export const listValues = (value: string | undefined): string[] | undefined => (value === undefined ? undefined : splitList(value));
