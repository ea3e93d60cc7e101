import { invalidInput } from '@relay/errors';
import { isIndexMember } from '../index-member.js';

/**
 * An opaque list cursor: the index member of the last job returned,
 * base64url-encoded with a version tag. It names a position in the
 * per-workspace index, which does not depend on the read flags, so a cursor
 * stays valid across a flag change. It carries no workspace: it is only ever
 * applied to the caller's own index.
 */
const VERSION = 'c1.';

export function encodeCursor(member: string): string {
  return Buffer.from(VERSION + member, 'utf8').toString('base64url');
}

/** The index member a cursor points after; InvalidInput (400) for anything malformed. */
export function decodeCursor(cursor: string): string {
  const malformed = () => invalidInput('cursor: malformed or from another version; start again without a cursor');
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw malformed();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(VERSION)) throw malformed();
  const member = text.slice(VERSION.length);
  if (!isIndexMember(member)) throw malformed();
  return member;
}
