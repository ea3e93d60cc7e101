/**
 * Values that are credentials whatever key holds them. Only whole values of
 * a credential's shape count, never text that merely contains one, so a
 * prompt or a message is never altered: `Bearer <token>`, `Basic
 * <base64 of user:password>`, a JWT, a header line (`X-Api-Key: …`), a URL
 * with a password or a secret parameter (`?access_token=…`, `#id_token=…`,
 * `;jsessionid=…`, Google's `?key=…`), and a `name=value` list naming a
 * secret (a connection string `Server=…;Password=…`, a form body).
 */

/** Credentials are short; longer strings (pages, documents) are not looked at. */
const MAX_CHECKED_LENGTH = 8192;
const BEARER = /^\s*bearer\s+\S+\s*$/i;
const BASIC = /^\s*basic\s+([A-Za-z0-9+/]+=*)\s*$/i;
const JWT = /^eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*$/;
/** `Name: value` or `Name: Scheme value`: one line, one credential, not a sentence. */
const HEADER_LINE = /^([A-Za-z][\w-]*)\s*:\s*(?:[A-Za-z]+\s+)?\S+\s*$/;
/** A setting's name may hold single spaces (`User Id=`); written so that no input makes it backtrack. */
const SETTING = /^([A-Za-z_][\w.-]*(?: [\w.-]+)*)\s*=/;
/** URL parameters that carry a key though the word alone is too common to be secret in a params key. */
const URL_ONLY_SECRET_PARAMS: ReadonlySet<string> = new Set(['key']);

export type NamesSecret = (name: string) => boolean;

export function isCredentialValue(value: string, namesSecret: NamesSecret): boolean {
  if (value.length < 4 || value.length > MAX_CHECKED_LENGTH) return false;
  if (BEARER.test(value) || isBasicCredential(value)) return true;
  if (value.startsWith('eyJ') && JWT.test(value)) return true;
  if (value.includes('://')) return !/\s/.test(value) && urlCarriesCredential(value, namesSecret);
  const header = HEADER_LINE.exec(value);
  if (header && namesSecret(header[1])) return true;
  return value.includes('=') && settingsNameSecret(value, namesSecret);
}

/** `Basic` followed by base64 that decodes to `user:password` (so `Basic plan` is kept). */
function isBasicCredential(value: string): boolean {
  const match = BASIC.exec(value);
  return match !== null && Buffer.from(match[1], 'base64').toString('latin1').includes(':');
}

function urlCarriesCredential(url: string, namesSecret: NamesSecret): boolean {
  const rest = url.slice(url.indexOf('://') + 3);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const at = authority.lastIndexOf('@');
  if (at >= 0 && authority.slice(0, at).includes(':')) return true;
  for (const part of rest.split(/[?&#;]/).slice(1)) {
    const equals = part.indexOf('=');
    if (equals <= 0) continue;
    const name = decodeName(part.slice(0, equals));
    if (namesSecret(name) || URL_ONLY_SECRET_PARAMS.has(name.toLowerCase())) return true;
  }
  return false;
}

function decodeName(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    return encoded;
  }
}

/**
 * A `;`- or `&`-separated list of settings with a secret among them. A list
 * of one setting counts only without spaces (`password=x`), so a sentence
 * such as `set token=abc` is text, not a setting.
 */
function settingsNameSecret(value: string, namesSecret: NamesSecret): boolean {
  const segments = value.split(/[;&]/).map((s) => s.trim()).filter(Boolean);
  const names = segments.map((segment) => SETTING.exec(segment)?.[1]);
  if (names[0] === undefined) return false;
  const settings = names.filter((name) => name !== undefined);
  if (settings.length < 2 && /\s/.test(value.trim())) return false;
  return settings.some((name) => namesSecret(name));
}
