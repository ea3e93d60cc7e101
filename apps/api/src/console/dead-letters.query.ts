import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { DEAD_LETTERS_SHOWN } from './console-jobs.service.js';

const MESSAGE = `limit must be a whole number from 1 to ${DEAD_LETTERS_SHOWN}`;

/** GET /console/api/dead query: the newest `limit` dead letters. */
export class DeadLettersQuery {
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value))
  @IsInt({ message: MESSAGE })
  @Min(1, { message: MESSAGE })
  @Max(DEAD_LETTERS_SHOWN, { message: MESSAGE })
  limit = 50;
}
