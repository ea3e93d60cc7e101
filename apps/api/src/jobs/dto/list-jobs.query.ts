import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { CURSOR_RESTART_ADVICE, JOB_STATUSES, type JobStatus } from '@relay/queue';

/**
 * `limit` is decimal digits only: Number() would also take `1e2`, `0x10`
 * and ` 5`, which no client means as a page size.
 */
const decimalDigitsToNumber = ({ value }: { value: unknown }) => (typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value);

/** GET /ai/jobs query. */
export class ListJobsQuery {
  @ApiPropertyOptional({ description: 'Page size, in decimal digits.', type: 'integer', minimum: 1, maximum: 100, default: 50 })
  @IsOptional()
  @Transform(decimalDigitsToNumber)
  @IsInt({ message: 'limit must be a whole number from 1 to 100' })
  @Min(1, { message: 'limit must be a whole number from 1 to 100' })
  @Max(100, { message: 'limit must be a whole number from 1 to 100' })
  limit = 50;

  @ApiPropertyOptional({ description: '`next_cursor` of the previous page; opaque, and valid across restarts and storage migration phases.', maxLength: 400 })
  @IsOptional()
  @IsString()
  @MaxLength(400, { message: `cursor is not one this API issued (too long); ${CURSOR_RESTART_ADVICE}` })
  cursor?: string;

  @ApiPropertyOptional({ description: 'Only jobs in this status.', enum: JOB_STATUSES })
  @IsOptional()
  @IsIn(JOB_STATUSES, { message: `status must be one of ${JOB_STATUSES.join(', ')}` })
  status?: JobStatus;

  @ApiPropertyOptional({ description: "Optional; any other value than the key's workspace is 403." })
  @IsOptional()
  @IsString()
  workspace_id?: string;
}
