import { isIP } from 'node:net';

const PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isTrustedProxyEntry(entry: string): boolean {
  if (PRESETS.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

/**
 * TRUST_PROXY: `off`, a number of proxy hops (1–99), or a comma-separated
 * list of proxy addresses, CIDR ranges and Express's presets (loopback,
 * linklocal, uniquelocal). Checked here, so a typo stops start-up with the
 * variable named instead of failing inside Express.
 */
export function isTrustProxySetting(value: string): boolean {
  if (value === 'off' || /^[1-9]\d?$/.test(value)) return true;
  const entries = value.split(',').map((entry) => entry.trim());
  return entries.every(isTrustedProxyEntry);
}

/** The value Express's `trust proxy` takes for a valid TRUST_PROXY setting. */
export function trustProxyValue(setting: string): boolean | number | string {
  if (setting === 'off') return false;
  return /^\d+$/.test(setting) ? Number(setting) : setting;
}
