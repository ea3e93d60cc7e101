import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * An API key reads `rly_<key id>_<secret>`: the recognisable prefix lets
 * secret scanners find leaked keys, the key id locates the stored record in
 * one lookup, and the 192-bit secret is what is checked. Only the SHA-256 of
 * the whole key is stored; a fast hash suffices for a high-entropy secret.
 */
export const API_KEY_PREFIX = 'rly_';
const KEY_PATTERN = /^rly_([a-f0-9]{16})_([A-Za-z0-9_-]{32})$/;

export interface MintedKey {
  key: string;
  keyId: string;
  hash: string;
}

export function mintApiKey(): MintedKey {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(24).toString('base64url');
  const key = `${API_KEY_PREFIX}${keyId}_${secret}`;
  return { key, keyId, hash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The key id of a well-formed key, or undefined. */
export function parseKeyId(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

export function keyMatchesHash(key: string, storedHash: string): boolean {
  const a = Buffer.from(hashApiKey(key), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
