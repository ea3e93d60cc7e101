import { createHash } from 'node:crypto';
import type { NewJob } from './job-store.js';

/** Canonical JSON: object keys sorted at every depth, so key order does not change the fingerprint. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The fingerprint stored with a job so that a repeat of a client_request_id
 * can be told apart: same payload → replay, different payload → 422. A
 * delay is part of the payload (the same instant however its zone is
 * written); a job without one has the fingerprint it had before delays
 * existed, so keys stored then still replay.
 */
export function requestFingerprint(kind: 'job' | 'plan', jobs: readonly NewJob[]): string {
  const payload = jobs.map((j) => (j.delay === undefined ? { action: j.action, params: j.params } : { action: j.action, params: j.params, delay: j.delay }));
  return createHash('sha256').update(kind).update(canonical(payload)).digest('base64url');
}
