import { invalidInput } from '@relay/errors';
import { isIndexMember } from '../index-member.js';

/**
 * An opaque list cursor: the index member of the last job returned,
 * base64url-encoded with a version tag. It names a position in creation
 * order, which every status index of the workspace shares (listJobs.lua
 * merges them), and which depends neither on the read flags nor on any
 * job's status, so a cursor stays valid across a flag change and across
 * status changes between pages. It carries no workspace: it is only ever
 * applied to the caller's own indexes.
 */
const VERSION = 'c1.';

/**
 * Cursors the predecessor system handed out: an offset (`"10"`) and its
 * two-schema position `new:<n>:old:<n>`. Clients that kept one across the
 * cut-over are told what it is, not only that it is malformed.
 */
const PREDECESSOR_CURSOR = /^(?:\d+|new:[^:]*:old:[^:]*)$/;

/** What every refused cursor tells the client to do. */
export const CURSOR_RESTART_ADVICE = 'start again from the first page (repeat the request without cursor)';

export function encodeCursor(member: string): string {
  return Buffer.from(VERSION + member, 'utf8').toString('base64url');
}

/** The index member a cursor points after; InvalidInput (400) for anything this API did not issue. */
export function decodeCursor(cursor: string): string {
  if (PREDECESSOR_CURSOR.test(cursor)) {
    throw invalidInput(`cursor is from the previous job service, whose pages Relay does not continue; ${CURSOR_RESTART_ADVICE}`);
  }
  const malformed = () => invalidInput(`cursor is not one this API issued (malformed, altered or from another version); ${CURSOR_RESTART_ADVICE}`);
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw malformed();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(VERSION)) throw malformed();
  const member = text.slice(VERSION.length);
  if (!isIndexMember(member)) throw malformed();
  return member;
}
