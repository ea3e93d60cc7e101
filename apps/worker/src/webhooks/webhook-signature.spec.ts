import { createHmac, timingSafeEqual } from 'node:crypto';
import { signatureHeader } from './webhook-signature.js';

/** The receiver's side, as README "Webhooks" writes it. */
function verify(header: string, body: string, secret: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = header.split(',').map((p) => p.split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return parts.filter(([k]) => k === 'v1').some(([, hex]) => /^[0-9a-f]{64}$/.test(hex) && timingSafeEqual(Buffer.from(hex, 'hex'), expected));
}

describe('signatureHeader', () => {
  const body = '{"id":"1700000000000-0","type":"created"}';

  it('is t=<seconds>,v1=HMAC-SHA256(secret, "t.body") in hex', () => {
    const expected = createHmac('sha256', 'whsec_a').update(`1700000000.${body}`).digest('hex');
    expect(signatureHeader(['whsec_a'], 1700000000, body)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies with its secret only, for that body and within the tolerance', () => {
    const header = signatureHeader(['whsec_a'], 1700000000, body);
    expect(verify(header, body, 'whsec_a', 1700000100)).toBe(true);
    expect(verify(header, body, 'whsec_b', 1700000100)).toBe(false);
    expect(verify(header, body.replace('created', 'started'), 'whsec_a', 1700000100)).toBe(false);
    expect(verify(header, body, 'whsec_a', 1700000301)).toBe(false);
    // A signature moved to another timestamp does not verify.
    expect(verify(header.replace('t=1700000000', 't=1700000200'), body, 'whsec_a', 1700000200)).toBe(false);
  });

  it('carries one signature per secret, the new one first, each verifying on its own', () => {
    const header = signatureHeader(['whsec_new', 'whsec_old'], 1700000000, body);
    expect(header.split(',').filter((p) => p.startsWith('v1='))).toHaveLength(2);
    expect(header.split(',')[1]).toBe(signatureHeader(['whsec_new'], 1700000000, body).split(',')[1]);
    expect(verify(header, body, 'whsec_new', 1700000000)).toBe(true);
    expect(verify(header, body, 'whsec_old', 1700000000)).toBe(true);
    expect(verify(header, body, 'whsec_other', 1700000000)).toBe(false);
  });
});
