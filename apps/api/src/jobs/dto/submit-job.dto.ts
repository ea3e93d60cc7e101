import { applyDecorators } from '@nestjs/common';
import { IsOptional, IsString, Matches } from 'class-validator';
import { ActionStepDto } from './action-step.dto.js';

export const CLIENT_REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const CLIENT_REQUEST_ID_MESSAGE = 'client_request_id must be 1-128 characters of letters, digits, . _ : -';

/** Optional client_request_id, shared by jobs and plans. */
export const ClientRequestIdField = () =>
  applyDecorators(IsOptional(), IsString(), Matches(CLIENT_REQUEST_ID_PATTERN, { message: CLIENT_REQUEST_ID_MESSAGE }));

/** Optional workspace_id: accepted only when equal to the key's workspace (SameWorkspaceGuard answers 403 otherwise). */
export const ClaimedWorkspaceField = () => applyDecorators(IsOptional(), IsString());

/** POST /ai/jobs. Unknown fields are rejected by the global ValidationPipe. */
export class SubmitJobDto extends ActionStepDto {
  @ClientRequestIdField()
  client_request_id?: string;

  @ClaimedWorkspaceField()
  workspace_id?: string;
}
