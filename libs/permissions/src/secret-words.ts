/**
 * The vocabulary of params redaction (README "Privacy" lists it). A key is
 * read as words, not as characters: `max_tokens` is (max, tokens), so the
 * secret word `token` inside it means nothing, while `x-auth` ends with the
 * secret word `auth`. Terms are written with spaces here and matched against
 * the key's last words joined without them, so `api key` matches `api_key`,
 * `apiKey`, `X-API-KEY` and `apikey` alike.
 */

/** A key whose last word(s) are one of these holds a secret. */
export const SECRET_TERMS = [
  // passwords, PINs, phrases
  'password', 'passwords', 'passwd', 'pwd', 'pass', 'passphrase', 'passcode', 'pin', 'pin code', 'seed phrase', 'recovery phrase',
  // generic secrets and credentials
  'secret', 'secrets', 'credential', 'credentials', 'creds',
  // tokens, sessions, HTTP authentication
  'token', 'bearer', 'jwt', 'auth', 'authorization', 'cookie', 'cookies', 'session', 'sessions', 'session id', 'sessid', 'session key',
  // compounds of `token` listed so that their plurals count (`access_tokens`; `max_tokens` stays ordinary)
  'access token', 'refresh token', 'id token', 'auth token', 'api token', 'bearer token', 'session token',
  // keys that are secrets (a bare `key`, a `public key`, a `key id` or an `idempotency key` is not)
  'api key', 'access key', 'secret key', 'private key', 'ssh key', 'signing key', 'encryption key', 'master key', 'account key',
  'app key', 'license key', 'client key', 'hmac key', 'shared key', 'stream key', 'auth key', 'deploy key',
  // one-time codes and signatures
  'otp', 'totp', 'hotp', 'otp code', 'mfa code', '2fa code', 'auth code', 'authorization code', 'verification code',
  'recovery code', 'backup code', 'signature', 'sig',
  // payment cards
  'cvc', 'cvv', 'card number', 'security code',
  // strings that embed credentials
  'dsn', 'connection string', 'connection uri', 'connection url', 'conn string', 'conn str', 'webhook url', 'webhook uri',
] as const;

/**
 * Terms that end with a secret word but name no secret: pagination cursors
 * and a tokenizer's special tokens. Checked before SECRET_TERMS, so
 * `next_page_token` is kept while `token` alone is redacted.
 */
export const ORDINARY_TERMS = [
  'page token', 'next token', 'continuation token', 'pagination token', 'sync token', 'max token',
  'stop token', 'eos token', 'bos token', 'pad token', 'unk token', 'sep token', 'cls token', 'mask token',
] as const;

/**
 * Secret words that also count at the end of a one-word key written without
 * separators (`dbpassword`, `xapikey`, `jsessionid`, `csrftoken`). Only long,
 * unambiguous words: `pass` or `pin` at the end of `bypass` or `spin` mean nothing.
 */
export const SECRET_ENDINGS = [
  'password', 'passwd', 'passphrase', 'passcode', 'secret', 'secrets', 'credential', 'credentials', 'token',
  'apikey', 'accesskey', 'secretkey', 'privatekey', 'sessionid', 'sessid', 'cookie', 'signature',
] as const;

/**
 * Words that say how a secret is carried, not what it is: `token_value`,
 * `password_hash`, `auth_header` and `secret_key_base` are as secret as the
 * words before them (`b64` and `base64` lose their digits and read `b`, `base`).
 */
export const CARRIER_WORDS = [
  'value', 'values', 'val', 'str', 'string', 'text', 'raw', 'plain', 'plaintext', 'cleartext', 'encoded', 'encrypted',
  'enc', 'b', 'base', 'hex', 'bytes', 'pem', 'der', 'header', 'hash', 'hashed', 'digest', 'data', 'json', 'confirmation',
  'confirm', 'again', 'repeat',
] as const;

// Words of a key: runs of capitals before a capitalised word (`API` in `APIKey`),
// capitalised or lower-case words, runs of capitals; digits stay with their word.
const WORD = /\d*(?:[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+)\d*|\d+/g;

/**
 * The words of a key, lower-cased: snake_case, kebab-case, camelCase,
 * dotted and bracketed (`card[number]`) keys all split. Trailing digits are
 * dropped (`password2`, `cvv2`, `x-hub-signature-256`), and so are words
 * that are only digits.
 */
export function keyWords(key: string): string[] {
  const words: string[] = [];
  for (const [match] of key.matchAll(WORD)) {
    const word = match.toLowerCase().replace(/(?<=[a-z])\d+$/, '');
    if (!/^\d+$/.test(word)) words.push(word);
  }
  return words;
}

/** A term as it is matched: its words joined (`api key` → `apikey`). */
export function flatTerm(term: string): string {
  return keyWords(term).join('');
}
