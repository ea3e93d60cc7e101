import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsString, Matches, ValidateIf } from 'class-validator';
import { ACTION_ID_PATTERN } from '@relay/permissions';
import { DelayMsField, RunAtField } from './delay-fields.js';

export const ACTION_ID_MESSAGE = 'action must be "provider.name": lowercase letters, digits and _, each part starting with a letter';

/** One action to run, now or delayed: the shape of POST /ai/jobs and of each plan step. */
export class ActionStepDto {
  @ApiProperty({ description: 'The action to run, `provider.name`.', pattern: ACTION_ID_PATTERN.source, example: 'debug.echo' })
  @IsString()
  @Matches(ACTION_ID_PATTERN, { message: ACTION_ID_MESSAGE })
  action: string;

  // Absent means {}; null is not an object and is refused.
  @ApiPropertyOptional({
    description:
      "The action's input, a JSON object (absent means {}): at most PARAMS_MAX_BYTES of JSON (default 16 KiB) nested at most PARAMS_MAX_DEPTH levels (default 8). " +
      'Stored as sent; every answer shows it with secrets replaced by "[REDACTED]".',
    type: 'object',
    additionalProperties: true,
    example: { text: 'hello' },
  })
  @ValidateIf((_dto, value) => value !== undefined)
  @IsObject({ message: 'params must be a JSON object' })
  params?: Record<string, unknown>;

  @RunAtField()
  run_at?: string;

  @DelayMsField()
  delay_ms?: number;
}
