import { hashApiKey, keyMatchesHash, mintApiKey, parseKeyId } from './api-key.format.js';

describe('API key format', () => {
  it('mints distinct keys with the rly_ prefix and a parsable key id', () => {
    const a = mintApiKey();
    const b = mintApiKey();
    expect(a.key).toMatch(/^rly_[a-f0-9]{16}_[A-Za-z0-9_-]{32}$/);
    expect(a.key).not.toBe(b.key);
    expect(parseKeyId(a.key)).toBe(a.keyId);
  });

  it('carries at least 128 bits of randomness in the secret', () => {
    const secret = mintApiKey().key.split('_').slice(2).join('_');
    expect(Buffer.from(secret, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
  });

  it('matches only the key it was hashed from', () => {
    const { key, hash } = mintApiKey();
    expect(hash).toBe(hashApiKey(key));
    expect(keyMatchesHash(key, hash)).toBe(true);
    expect(keyMatchesHash(mintApiKey().key, hash)).toBe(false);
    expect(keyMatchesHash(key, 'abcd')).toBe(false);
  });

  it('rejects malformed keys', () => {
    for (const bad of ['', 'rly_', 'rly_zz_secret', 'Bearer x', `xly_${'a'.repeat(16)}_${'b'.repeat(32)}`]) {
      expect(parseKeyId(bad)).toBeUndefined();
    }
  });
});
