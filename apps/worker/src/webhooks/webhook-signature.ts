import { createHmac } from 'node:crypto';

/**
 * The `Relay-Signature` header of a delivery: `t=<unix seconds>` then one
 * `v1=<hex>` per secret, v1 = HMAC-SHA256(secret, `${t}.${body}`). Two
 * signatures while a rotation's grace period lasts (the new secret's
 * first), so a receiver that still holds the previous secret keeps
 * verifying. The timestamp is signed so a receiver can refuse a replay of
 * an old delivery (README "Webhooks" has the verification).
 */
export function signatureHeader(secrets: readonly string[], timestampSeconds: number, body: string): string {
  const signed = `${timestampSeconds}.${body}`;
  return [`t=${timestampSeconds}`, ...secrets.map((secret) => `v1=${createHmac('sha256', secret).update(signed).digest('hex')}`)].join(',');
}
