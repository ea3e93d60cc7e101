import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { validate } from 'class-validator';
import { SubmitPlanDto } from './dto/submit-plan.dto.js';

/**
 * Validates a POST /ai/plans body with SubmitPlanDto's class-validator rules
 * on a shallow instance: unknown fields refused, field-level messages in the
 * global ValidationPipe's shape. The global pipe would copy the body with
 * class-transformer and walk every step and its params several times over,
 * which dominated the cost of a plan; the body middleware has already
 * bounded its depth and refused keys naming a prototype at any depth.
 */
@Injectable()
export class PlanBodyPipe implements PipeTransform<unknown, Promise<SubmitPlanDto>> {
  async transform(value: unknown): Promise<SubmitPlanDto> {
    const body = value ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequestException(['the body must be a JSON object']);
    const dto = Object.assign(new SubmitPlanDto(), body);
    const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true, validationError: { target: false, value: false } });
    if (errors.length > 0) throw new BadRequestException(errors.flatMap((error) => Object.values(error.constraints ?? {})));
    return dto;
  }
}
