import { SecretKeyRule } from './secret-key-rule.js';
import { isCredentialValue } from './secret-values.js';

export const REDACTED = '[REDACTED]';

/** Beyond this nesting a value is hidden whole: walking it could overflow the stack, and hiding is the safe side. */
const MAX_DEPTH = 64;
/** Fields of a `{name, value}` entry (HAR, Postman, AWS `{Name, Value}`, Kubernetes env), compared lower-cased. */
const ENTRY_NAME_FIELDS: ReadonlySet<string> = new Set(['name', 'key', 'header', 'field', 'param']);
const ENTRY_VALUE_FIELDS: ReadonlySet<string> = new Set(['value', 'values']);
/** JSON Schema keywords that describe a parameter without holding a value of it (`default`, `examples`, `enum` do). */
const SCHEMA_DESCRIBING_FIELDS: ReadonlySet<string> = new Set([
  'type', 'title', 'description', 'format', 'pattern', 'minLength', 'maxLength', 'nullable', 'deprecated', 'readOnly', 'writeOnly',
]);

/**
 * The one redaction of params (and of results, which may echo them) on their
 * way out of Relay; only the operator's archive holds them in clear. Hidden,
 * at any depth and inside arrays:
 *  - the value of a key that names a secret (SecretKeyRule), also when only
 *    its parent names the secret with it (`card: {number}`, `api: {key}`),
 *    unless it is a boolean or null, or a tool's JSON Schema of a parameter;
 *  - the value of a name/value entry naming a secret: `["Authorization", …]`
 *    in a list of pairs, `{name: "X-Api-Key", value: …}`;
 *  - a string shaped like a credential whatever its key (secret-values.ts).
 * Everything else is returned as it is: parts without a secret are shared
 * with the input rather than copied (it runs on every GET), and the input is
 * never changed.
 */
export class SecretRedactor {
  private readonly namesSecret = (name: string) => this.keys.isSecret(name);

  constructor(private readonly keys: SecretKeyRule = new SecretKeyRule()) {}

  /** Built from the REDACT_KEYS setting; throws a ConfigError naming it when malformed. */
  static fromSetting(redactKeys: string): SecretRedactor {
    return new SecretRedactor(SecretKeyRule.fromSetting(redactKeys));
  }

  redact(value: unknown): unknown {
    return this.node(value, undefined, 0);
  }

  private node(value: unknown, parentKey: string | undefined, depth: number): unknown {
    if (typeof value === 'string') return isCredentialValue(value, this.namesSecret) ? REDACTED : value;
    if (value === null || typeof value !== 'object') return value;
    if (depth >= MAX_DEPTH) return REDACTED;
    return Array.isArray(value) ? this.array(value, parentKey, depth + 1) : this.object(value as Record<string, unknown>, parentKey, depth + 1);
  }

  private array(items: unknown[], parentKey: string | undefined, depth: number): unknown[] {
    let out: unknown[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const next = this.isSecretPair(item) ? [item[0], REDACTED] : this.node(item, parentKey, depth);
      if (next !== item) {
        out ??= items.slice();
        out[i] = next;
      }
    }
    return out ?? items;
  }

  private object(entries: Record<string, unknown>, parentKey: string | undefined, depth: number): Record<string, unknown> {
    let out: Record<string, unknown> | undefined;
    const secretEntry = this.isSecretEntry(entries);
    for (const key of Object.keys(entries)) {
      const inner = entries[key];
      const named = this.isSecretKey(key, parentKey);
      const hide = (named || (secretEntry && ENTRY_VALUE_FIELDS.has(key.toLowerCase()))) && !carriesNoSecret(inner);
      const next = !hide ? this.node(inner, key, depth) : isPropertySchema(parentKey, inner) ? this.secretSchema(inner, depth) : REDACTED;
      if (next !== inner) {
        out ??= { ...entries };
        // defineProperty: a key named `__proto__` (possible in a predecessor's record) stays a plain field.
        Object.defineProperty(out, key, { value: next, enumerable: true, writable: true, configurable: true });
      }
    }
    return out ?? entries;
  }

  /** A secret parameter's schema: what describes it is shown; anything else (`default`, `examples`, unknown fields) is not. */
  private secretSchema(schema: Record<string, unknown>, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(schema)) {
      const next = SCHEMA_DESCRIBING_FIELDS.has(key) ? this.node(value, key, depth + 1) : REDACTED;
      Object.defineProperty(out, key, { value: next, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  private isSecretKey(key: string, parentKey: string | undefined): boolean {
    return this.keys.isSecret(key) || (parentKey !== undefined && this.keys.isSecret(`${parentKey} ${key}`));
  }

  /** `[name, value]` inside a list (header lists, `Object.entries` output) whose name is a secret's. */
  private isSecretPair(item: unknown): item is [string, unknown] {
    return Array.isArray(item) && item.length === 2 && typeof item[0] === 'string' && this.keys.isSecret(item[0]);
  }

  /** `{name: "Authorization", value: …}` and its spellings. */
  private isSecretEntry(entries: Record<string, unknown>): boolean {
    for (const key of Object.keys(entries)) {
      if (key.length > 6 || !ENTRY_NAME_FIELDS.has(key.toLowerCase())) continue;
      const name = entries[key];
      if (typeof name === 'string' && this.keys.isSecret(name)) return true;
    }
    return false;
  }
}

/** A boolean or null holds no secret: `pin: true` or `password: null` are shown as they are. */
function carriesNoSecret(value: unknown): boolean {
  return value === null || typeof value === 'boolean';
}

/**
 * A JSON Schema property (`properties: {password: {type: "string", …}}` in an
 * LLM tool definition) describes a parameter rather than holding it, so it is
 * walked like any other value instead of hidden.
 */
function isPropertySchema(parentKey: string | undefined, value: unknown): value is Record<string, unknown> {
  return parentKey === 'properties' && value !== null && typeof value === 'object' && typeof (value as Record<string, unknown>).type === 'string';
}
