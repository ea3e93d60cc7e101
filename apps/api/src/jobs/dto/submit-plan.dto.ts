import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, IsObject, IsOptional, IsString, Matches, ValidateIf, ValidateNested } from 'class-validator';
import { ACTION_ID_MESSAGE, CLIENT_REQUEST_ID_MESSAGE, CLIENT_REQUEST_ID_PATTERN } from './submit-job.dto.js';

export class PlanStepDto {
  @IsString()
  @Matches(/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/, { message: ACTION_ID_MESSAGE })
  action: string;

  // Absent means {}; null is not an object and is refused.
  @ValidateIf((_dto, value) => value !== undefined)
  @IsObject({ message: 'params must be a JSON object' })
  params?: Record<string, unknown>;
}

/** POST /ai/plans: several steps enqueued atomically (PLAN_MAX_STEPS at most, checked in JobsService). */
export class SubmitPlanDto {
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => PlanStepDto)
  steps: PlanStepDto[];

  @IsOptional()
  @IsString()
  @Matches(CLIENT_REQUEST_ID_PATTERN, { message: CLIENT_REQUEST_ID_MESSAGE })
  client_request_id?: string;

  @IsOptional()
  @IsString()
  workspace_id?: string;
}
