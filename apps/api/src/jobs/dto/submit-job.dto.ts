import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { ActionStepDto } from './action-step.dto.js';

export const CLIENT_REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const CLIENT_REQUEST_ID_MESSAGE = 'client_request_id must be 1-128 characters of letters, digits, . _ : -';

/** Optional client_request_id, shared by jobs and plans. */
export const ClientRequestIdField = () =>
  applyDecorators(
    ApiPropertyOptional({
      description:
        'Makes the submit idempotent for 24 h within the workspace: a repeat with the same payload answers 200 with the original job(s) and ' +
        '`Idempotent-Replayed: true`, a different payload 422, a repeat whose job has expired 410. The `Idempotency-Key` header is an alias.',
      pattern: CLIENT_REQUEST_ID_PATTERN.source,
      example: 'order-4711-confirm',
    }),
    IsOptional(),
    IsString(),
    Matches(CLIENT_REQUEST_ID_PATTERN, { message: CLIENT_REQUEST_ID_MESSAGE }),
  );

/** Optional workspace_id: accepted only when equal to the key's workspace (SameWorkspaceGuard answers 403 otherwise). */
export const ClaimedWorkspaceField = () =>
  applyDecorators(
    ApiPropertyOptional({ description: "Optional; the workspace always comes from the API key, and any other value than the key's is 403.", example: 'acme' }),
    IsOptional(),
    IsString(),
  );

/** POST /ai/jobs. Unknown fields are rejected by the global ValidationPipe. */
export class SubmitJobDto extends ActionStepDto {
  @ClientRequestIdField()
  client_request_id?: string;

  @ClaimedWorkspaceField()
  workspace_id?: string;
}
