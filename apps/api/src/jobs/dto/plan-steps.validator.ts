import { registerDecorator, type ValidationOptions } from 'class-validator';
import { ACTION_ID_PATTERN } from '@relay/permissions';
import { ACTION_ID_MESSAGE } from './action-step.dto.js';
import { delayProblems } from './delay-fields.js';

const STEP_KEYS: ReadonlySet<string> = new Set(['action', 'params', 'run_at', 'delay_ms']);
/** Enough to fix a bad plan; a plan of 100 bad steps would otherwise answer with 200 messages. */
const MAX_REPORTED = 10;

/**
 * The problems of one plan step under ActionStepDto's rules (an object with
 * only `action`, `params`, `run_at` and `delay_ms`; action "provider.name";
 * params absent or an object; the delay fields as delay-fields.ts checks
 * them), as field-level messages ("steps.3.action must be …").
 *
 * Checked by hand rather than by class-validator's nested validation: that
 * copies and walks every step and its params and was two thirds of the
 * API's CPU per planned job (README "Performance"). plan-steps.validator.spec.ts
 * holds the two to the same verdicts.
 */
export function stepProblems(step: unknown, index: number): string[] {
  const at = `steps.${index}`;
  if (step === null || typeof step !== 'object' || Array.isArray(step)) return [`nested property ${at} must be either object or array`];
  const problems: string[] = [];
  for (const key of Object.keys(step)) if (!STEP_KEYS.has(key)) problems.push(`${at}.property ${key} should not exist`);
  const { action, params, run_at, delay_ms } = step as { action?: unknown; params?: unknown; run_at?: unknown; delay_ms?: unknown };
  if (typeof action !== 'string') problems.push(`${at}.action must be a string`);
  if (typeof action !== 'string' || !ACTION_ID_PATTERN.test(action)) problems.push(`${at}.${ACTION_ID_MESSAGE}`);
  if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) {
    problems.push(`${at}.params must be a JSON object`);
  }
  for (const problem of delayProblems({ run_at, delay_ms })) problems.push(`${at}.${problem}`);
  return problems;
}

function planProblems(steps: unknown): string[] {
  if (!Array.isArray(steps)) return [];
  const problems: string[] = [];
  for (let i = 0; i < steps.length && problems.length < MAX_REPORTED; i++) problems.push(...stepProblems(steps[i], i));
  return problems.slice(0, MAX_REPORTED);
}

/** Every item of the array is a valid plan step (see stepProblems); the message names each problem. */
export function IsPlanSteps(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isPlanSteps',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) => Array.isArray(value) && value.every((step, i) => stepProblems(step, i).length === 0),
        defaultMessage: (args) => planProblems(args?.value).join('; ') || 'steps must be an array of steps',
      },
    });
}
