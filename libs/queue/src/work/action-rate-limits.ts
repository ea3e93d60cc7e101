import { Injectable } from '@nestjs/common';
import { ConfigError, RelayConfig } from '@relay/config';
import { ACTION_PATTERN_PATTERN } from '@relay/permissions';

/** One ACTION_RATE_LIMITS entry: at most `limit` starts per `windowMs`, per workspace, of the actions `rule` names. */
export interface ActionRateRule {
  /** An action id (`http.post`) or `provider.*`; also the tail of the rule's window key (RedisKeys.actionRateWindow). */
  rule: string;
  limit: number;
  windowMs: number;
}

/** Each field of a rule, with its bounds: a window up to a day, since a longer one would keep a day's starts in Redis per workspace. */
const FIELDS: Record<string, { field: 'limit' | 'windowMs'; min: number; max: number }> = {
  limit: { field: 'limit', min: 1, max: 1_000_000 },
  window_ms: { field: 'windowMs', min: 1, max: 86_400_000 },
};

const SHAPE = '{"<action or provider.*>": {"limit": N, "window_ms": M}}';

/**
 * Parses ACTION_RATE_LIMITS (JSON: {"http.post": {"limit": 5, "window_ms":
 * 1000}, "gmail.*": {...}}), keeping the order given; throws a ConfigError
 * naming the variable on anything malformed. Both fields are required, and
 * an unknown field is refused: a typo would otherwise leave an action
 * unlimited without a word.
 */
export function parseActionRateLimits(json: string): ActionRateRule[] {
  if (json.trim() === '') return [];
  const invalid = (why: string) => new ConfigError([`ACTION_RATE_LIMITS: ${why}`]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw invalid('not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid(`expected ${SHAPE}`);
  const rules: ActionRateRule[] = [];
  for (const [rule, given] of Object.entries(parsed)) {
    if (!ACTION_PATTERN_PATTERN.test(rule)) throw invalid(`${JSON.stringify(rule)} is not an action id or provider.* (expected ${SHAPE})`);
    if (given === null || typeof given !== 'object' || Array.isArray(given)) throw invalid(`${rule} must be an object {"limit": N, "window_ms": M}`);
    const values: Partial<Record<'limit' | 'windowMs', number>> = {};
    for (const [key, value] of Object.entries(given)) {
      const known = FIELDS[key];
      if (!known) throw invalid(`${rule}.${key} is not a field (known: ${Object.keys(FIELDS).join(', ')})`);
      if (!Number.isSafeInteger(value) || (value as number) < known.min || (value as number) > known.max) {
        throw invalid(`${rule}.${key} must be a whole number from ${known.min} to ${known.max}`);
      }
      values[known.field] = value as number;
    }
    for (const [key, { field }] of Object.entries(FIELDS)) if (values[field] === undefined) throw invalid(`${rule}.${key} is missing`);
    rules.push({ rule, limit: values.limit!, windowMs: values.windowMs! });
  }
  return rules;
}

/**
 * The rules as the claim script takes them, in one ARGV:
 * `<rule> <limit> <window_ms>` entries joined by `;` (`http.post 5 1000;gmail.* 100 60000`),
 * '' when there are none. Rule names hold neither spaces nor `;` (the action pattern), so the form needs no escaping.
 */
export function encodeRateRules(rules: readonly ActionRateRule[]): string {
  return rules.map(({ rule, limit, windowMs }) => `${rule} ${limit} ${windowMs}`).join(';');
}

/**
 * ACTION_RATE_LIMITS, parsed once when the worker starts: a bad value stops
 * start-up (exit 2, naming the variable), as WORKSPACE_LIMITS does through
 * WorkspaceLimits. Provided by the worker only: the API and the CLI never
 * start jobs, so a mistake in it must not stop them.
 */
@Injectable()
export class ActionRateLimits {
  readonly rules: readonly ActionRateRule[];
  /** encodeRateRules(rules), computed once: the claim script gets it on every call. */
  readonly encoded: string;

  constructor(config: RelayConfig) {
    this.rules = Object.freeze(parseActionRateLimits(config.ACTION_RATE_LIMITS).map((rule) => Object.freeze(rule)));
    this.encoded = encodeRateRules(this.rules);
  }
}
