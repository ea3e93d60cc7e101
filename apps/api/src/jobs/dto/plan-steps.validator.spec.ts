import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import fc from 'fast-check';
import { ActionStepDto } from './action-step.dto.js';
import { stepProblems } from './plan-steps.validator.js';
import { SubmitPlanDto } from './submit-plan.dto.js';

/** class-validator's verdict on one step, as the global ValidationPipe would reach it (nested ActionStepDto). */
function libraryAccepts(step: unknown): boolean {
  if (step === null || typeof step !== 'object' || Array.isArray(step)) return false;
  const dto = plainToInstance(ActionStepDto, step);
  return validateSync(dto, { whitelist: true, forbidNonWhitelisted: true }).length === 0;
}

const value = fc.oneof(
  fc.constantFrom('debug.echo', 'http.post', 'a_1.b_2', 'Debug.echo', 'debug', 'debug.', '.echo', 'debug.echo.x', '1a.b', ''),
  fc.string(),
  fc.integer(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);
// Delay values: valid and invalid run_at texts and delay_ms numbers, and anything else.
const delayValue = fc.oneof(
  fc.constantFrom('2026-11-29T12:00:00.000Z', '2026-11-29T14:00:00+02:00', '2026-11-29T12:00Z', '2026-02-30T12:00:00Z', '2026-11-29T12:00:00', '2026-11-29', ''),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(0, 1, 60000, -1, 1.5, Number.MAX_SAFE_INTEGER + 2),
  value,
);
const step = fc.oneof(
  fc.record({ action: value, params: value }, { requiredKeys: [] }),
  fc.dictionary(fc.constantFrom('action', 'params', 'extra', 'steps'), value, { maxKeys: 3 }),
  fc.record({ action: fc.constant('debug.echo'), run_at: delayValue, delay_ms: delayValue }, { requiredKeys: ['action'] }),
  value,
);

describe('plan steps (hand-checked) agree with ActionStepDto (class-validator)', () => {
  it('gives the same verdict on any step', () => {
    fc.assert(
      fc.property(step, (s) => {
        expect(stepProblems(s, 0).length === 0).toBe(libraryAccepts(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('names the step and the field of each problem', () => {
    expect(stepProblems({ action: 'debug.echo', params: { a: 1 } }, 0)).toEqual([]);
    expect(stepProblems({ action: 'debug.echo' }, 0)).toEqual([]);
    expect(stepProblems({ action: 'Nope', params: [], x: 1 }, 3)).toEqual([
      'steps.3.property x should not exist',
      expect.stringMatching(/^steps\.3\.action must be "provider\.name"/),
      'steps.3.params must be a JSON object',
    ]);
    expect(stepProblems('debug.echo', 7)).toEqual(['nested property steps.7 must be either object or array']);
    expect(stepProblems({ action: 'debug.echo', run_at: '2026-11-29T12:00:00Z' }, 0)).toEqual([]);
    expect(stepProblems({ action: 'debug.echo', delay_ms: 0 }, 0)).toEqual([]);
    expect(stepProblems({ action: 'debug.echo', run_at: 'tomorrow', delay_ms: -1 }, 2)).toEqual([
      expect.stringMatching(/^steps\.2\.run_at must be an ISO 8601 date-time with a time zone/),
      'steps.2.delay_ms must be a whole number of milliseconds, 0 or more',
      'steps.2.delay_ms must not be sent together with run_at: send one of them',
    ]);
  });

  it('SubmitPlanDto reports step problems under steps, at most 10', () => {
    const dto = Object.assign(new SubmitPlanDto(), { steps: Array.from({ length: 30 }, () => ({ action: 'bad' })) });
    const [error] = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
    expect(error.property).toBe('steps');
    const message = Object.values(error.constraints ?? {}).join('; ');
    expect(message.split('; ')).toHaveLength(10);
    expect(message).toMatch(/^steps\.0\.action must be "provider\.name"/);
  });
});
