import { IsObject, IsString, Matches, ValidateIf } from 'class-validator';
import { ACTION_ID_PATTERN } from '@relay/permissions';

export const ACTION_ID_MESSAGE = 'action must be "provider.name": lowercase letters, digits and _, each part starting with a letter';

/** One action to run: the shape of POST /ai/jobs and of each plan step. */
export class ActionStepDto {
  @IsString()
  @Matches(ACTION_ID_PATTERN, { message: ACTION_ID_MESSAGE })
  action: string;

  // Absent means {}; null is not an object and is refused.
  @ValidateIf((_dto, value) => value !== undefined)
  @IsObject({ message: 'params must be a JSON object' })
  params?: Record<string, unknown>;
}
