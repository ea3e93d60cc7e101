/**
 * Redis stream entry ids (`<ms>-<seq>`, two unsigned 64-bit integers), the
 * event ids of Relay's event streams. Ids from Redis are canonical (no
 * leading zeros), so two of them compare by the length, then the text, of
 * each part: no BigInt on the hot path. Ids from clients go through
 * parseStreamId first, which makes them canonical.
 */

const MAX_U64 = (1n << 64n) - 1n;
const ID = /^(\d{1,20})-(\d{1,20})$/;

/** The position before every entry: reading after it reads the whole stream. */
export const STREAM_START = '0-0';

/** The canonical form of a client's `<ms>-<seq>`, or undefined when it is not one (either part beyond 2^64 - 1 included). */
export function parseStreamId(text: string): string | undefined {
  const m = ID.exec(text);
  if (!m) return undefined;
  const ms = BigInt(m[1]);
  const seq = BigInt(m[2]);
  if (ms > MAX_U64 || seq > MAX_U64) return undefined;
  return `${ms}-${seq}`;
}

function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Negative, zero or positive as canonical id `a` is before, equal to or after `b`. */
export function compareStreamIds(a: string, b: string): number {
  if (a === b) return 0;
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  return compareDigits(a.slice(0, da), b.slice(0, db)) || compareDigits(a.slice(da + 1), b.slice(db + 1));
}

const split = (id: string): [bigint, bigint] => {
  const dash = id.indexOf('-');
  return [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
};

/** The greatest id before `id` ('0-0' stays '0-0'): reading after it starts at `id`. */
export function previousStreamId(id: string): string {
  const [ms, seq] = split(id);
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0n ? `${ms - 1n}-${MAX_U64}` : STREAM_START;
}

/** The least id after `id` (the largest id stays itself). */
export function nextStreamId(id: string): string {
  const [ms, seq] = split(id);
  if (seq < MAX_U64) return `${ms}-${seq + 1n}`;
  return ms < MAX_U64 ? `${ms + 1n}-0` : id;
}

/** The position just before the first id of millisecond `ms`: reading after it reads entries added at `ms` or later. */
export function positionBeforeMs(ms: number): string {
  return ms <= 0 ? STREAM_START : previousStreamId(`${Math.floor(ms)}-0`);
}

/** The millisecond part of an id. */
export function streamIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}
