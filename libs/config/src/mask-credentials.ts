/** `scheme://`, the start of a URL's authority. */
const SCHEME = /[a-z][a-z0-9+.-]*:\/\//i;
/** Where an authority without `@` ends in running text. */
const AUTHORITY_END = /[/?#\s"'`,;<>)}]/;

/**
 * Masks the credentials of every URL in a text, user name and password
 * both: `redis://user:secret@host:6379/0` → `redis://***@host:6379/0`.
 *
 * It must hold for URLs that do not parse, so it trusts no delimiter inside
 * the credentials: a password may hold `/`, `@`, `:`, spaces, anything. The
 * one thing known is that they end at an `@` before the host, so everything
 * from the first `scheme://` to the last `@` of the text is masked. That can
 * mask more than the credentials (a second URL, an address after them),
 * never less. Without any `@`, a non-numeric "port" (`redis://:secret`,
 * `redis://user:secret/0`) is taken for a password and masked too.
 */
export function maskCredentials(text: string): string {
  const scheme = SCHEME.exec(text);
  if (!scheme) return text;
  const start = scheme.index + scheme[0].length;
  const at = text.lastIndexOf('@');
  if (at >= start) return `${text.slice(0, start)}***${text.slice(at)}`;
  const rest = text.slice(start);
  const end = AUTHORITY_END.exec(rest)?.index ?? rest.length;
  const authority = rest.slice(0, end);
  const colon = authority.startsWith('[') ? authority.indexOf(':', authority.indexOf(']')) : authority.indexOf(':');
  const port = colon === -1 ? '' : authority.slice(colon + 1);
  const masked = /^\d*$/.test(port) ? authority : `${authority.slice(0, colon)}:***`;
  return `${text.slice(0, start)}${masked}${maskCredentials(rest.slice(end))}`;
}
