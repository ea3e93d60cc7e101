/** Key names whose values are secrets wherever they appear (case-insensitive, `-`/`_` ignored). */
const SECRET_KEY = /(password|passwd|secret|token|authorization|apikey|api_key|accesskey|privatekey|credential|cookie|sessionid|clientsecret)/;
export const REDACTED = '[REDACTED]';

function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.toLowerCase().replace(/-/g, '_')) || SECRET_KEY.test(key.toLowerCase().replace(/[-_]/g, ''));
}

/**
 * A deep copy of a JSON value with the values of secret-looking keys
 * replaced, at any depth and inside arrays. Used on every output of params
 * except the operator's archive.
 */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = isSecretKey(key) ? REDACTED : redactSecrets(inner);
    return out;
  }
  return value;
}
