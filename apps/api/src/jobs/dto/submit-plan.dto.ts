import { ApiProperty } from '@nestjs/swagger';
import { ArrayMinSize, IsArray } from 'class-validator';
import { ActionStepDto } from './action-step.dto.js';
import { IsPlanSteps } from './plan-steps.validator.js';
import { ClaimedWorkspaceField, ClientRequestIdField } from './submit-job.dto.js';

/**
 * POST /ai/plans: several steps enqueued atomically (PLAN_MAX_STEPS at
 * most, checked in JobsService). Validated by PlanBodyPipe (shallowly: the
 * steps by IsPlanSteps, under ActionStepDto's rules), not by the global
 * ValidationPipe.
 */
export class SubmitPlanDto {
  @ApiProperty({
    description: 'The steps, each one job, created together or not at all; at most PLAN_MAX_STEPS (default 100).',
    type: [ActionStepDto],
    minItems: 1,
    example: [{ action: 'debug.echo', params: { step: 1 } }, { action: 'debug.sleep', params: { ms: 100 } }],
  })
  @IsArray()
  @ArrayMinSize(1)
  @IsPlanSteps()
  steps: ActionStepDto[];

  @ClientRequestIdField()
  client_request_id?: string;

  @ClaimedWorkspaceField()
  workspace_id?: string;
}

/** What the plan route receives: an interface, so the global ValidationPipe passes it through to PlanBodyPipe. */
export interface PlanBody {
  steps: ActionStepDto[];
  client_request_id?: string;
  workspace_id?: string;
}
