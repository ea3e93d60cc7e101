import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, IsOptional, IsString, Matches, ValidateNested } from 'class-validator';
import { ActionStepDto } from './action-step.dto.js';
import { CLIENT_REQUEST_ID_MESSAGE, CLIENT_REQUEST_ID_PATTERN } from './submit-job.dto.js';

/** POST /ai/plans: several steps enqueued atomically (PLAN_MAX_STEPS at most, checked in JobsService). */
export class SubmitPlanDto {
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => ActionStepDto)
  steps: ActionStepDto[];

  @IsOptional()
  @IsString()
  @Matches(CLIENT_REQUEST_ID_PATTERN, { message: CLIENT_REQUEST_ID_MESSAGE })
  client_request_id?: string;

  @IsOptional()
  @IsString()
  workspace_id?: string;
}
