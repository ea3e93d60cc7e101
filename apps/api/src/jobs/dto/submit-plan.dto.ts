import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, ValidateNested } from 'class-validator';
import { ActionStepDto } from './action-step.dto.js';
import { ClaimedWorkspaceField, ClientRequestIdField } from './submit-job.dto.js';

/** POST /ai/plans: several steps enqueued atomically (PLAN_MAX_STEPS at most, checked in JobsService). */
export class SubmitPlanDto {
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => ActionStepDto)
  steps: ActionStepDto[];

  @ClientRequestIdField()
  client_request_id?: string;

  @ClaimedWorkspaceField()
  workspace_id?: string;
}
