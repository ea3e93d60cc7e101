import { IsObject, IsOptional, IsString, Matches, ValidateIf } from 'class-validator';

export const ACTION_ID_MESSAGE = 'action must be "provider.name": lowercase letters, digits and _, each part starting with a letter';
export const CLIENT_REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const CLIENT_REQUEST_ID_MESSAGE = 'client_request_id must be 1-128 characters of letters, digits, . _ : -';

/** POST /ai/jobs. Unknown fields are rejected by the global ValidationPipe. */
export class SubmitJobDto {
  @IsString()
  @Matches(/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/, { message: ACTION_ID_MESSAGE })
  action: string;

  // Absent means {}; null is not an object and is refused.
  @ValidateIf((_dto, value) => value !== undefined)
  @IsObject({ message: 'params must be a JSON object' })
  params?: Record<string, unknown>;

  @IsOptional()
  @IsString()
  @Matches(CLIENT_REQUEST_ID_PATTERN, { message: CLIENT_REQUEST_ID_MESSAGE })
  client_request_id?: string;

  /** Accepted only when equal to the key's workspace (SameWorkspaceGuard answers 403 otherwise). */
  @IsOptional()
  @IsString()
  workspace_id?: string;
}
