import { ConfigError } from '@relay/config';
import { SecretKeyRule } from './secret-key-rule.js';
import { SECRET_TERMS, keyWords } from './secret-words.js';

describe('keyWords', () => {
  it.each([
    ['max_tokens', ['max', 'tokens']],
    ['maxOutputTokens', ['max', 'output', 'tokens']],
    ['X-API-KEY', ['x', 'api', 'key']],
    ['XApiKey', ['x', 'api', 'key']],
    ['APIKey', ['api', 'key']],
    ['x-hub-signature-256', ['x', 'hub', 'signature']],
    ['password2', ['password']],
    ['2fa_code', ['2fa', 'code']],
    ['card[number]', ['card', 'number']],
    ['generation_config.max_output_tokens', ['generation', 'config', 'max', 'output', 'tokens']],
    ['apikey', ['apikey']],
    ['42', []],
  ])('%s → %j', (key, words) => {
    expect(keyWords(key)).toEqual(words);
  });
});

describe('SecretKeyRule', () => {
  const rule = new SecretKeyRule();

  it('redacts every built-in term in snake, kebab, camel and upper case', () => {
    for (const term of SECRET_TERMS) {
      const words = term.split(' ');
      const spellings = [
        words.join('_'),
        words.join('-'),
        words.map((w, i) => (i === 0 ? w : w[0].toUpperCase() + w.slice(1))).join(''),
        words.join('_').toUpperCase(),
      ];
      for (const key of spellings) expect({ key, secret: rule.isSecret(key) }).toEqual({ key, secret: true });
    }
  });

  it('keeps keys where a secret word is only part of another word or not the last word', () => {
    for (const key of ['max_tokens', 'tokens', 'token_count', 'token_type', 'tokenizer', 'passage', 'bypass', 'compass', 'pass_through', 'spin', 'pinned', 'opinion',
      'author', 'oauth', 'session_timeout', 'signature_method', 'secret_name', 'password_policy', 'auth_type', 'key', 'key_id', 'public_key', 'idempotency_key', 'access_key_id', 'private_key_id']) {
      expect({ key, secret: rule.isSecret(key) }).toEqual({ key, secret: false });
    }
  });

  it('keeps pagination cursors and tokenizer tokens, which end with "token" but are no secret', () => {
    for (const key of ['page_token', 'pageToken', 'nextPageToken', 'NextToken', 'continuation_token', 'eos_token', 'pad_token', 'max_token']) {
      expect({ key, secret: rule.isSecret(key) }).toEqual({ key, secret: false });
    }
  });

  it('counts plurals of compounds, and of one-word terms only where listed', () => {
    for (const key of ['access_tokens', 'api_keys', 'refreshTokens', 'recovery_codes', 'secrets', 'passwords', 'cookies', 'credentials']) {
      expect({ key, secret: rule.isSecret(key) }).toEqual({ key, secret: true });
    }
    for (const key of ['prompt_tokens', 'completion_tokens', 'max_output_tokens', 'budget_tokens', 'pins', 'signatures_count']) {
      expect({ key, secret: rule.isSecret(key) }).toEqual({ key, secret: false });
    }
  });

  it('sees through carrier words and one-word spellings', () => {
    for (const key of ['token_value', 'password_hash', 'auth_header', 'secret_key_base', 'client_secret_b64', 'password_confirmation', 'dbpassword', 'xapikey', 'jsessionid', 'csrftoken', 'myAccesstoken']) {
      expect({ key, secret: rule.isSecret(key) }).toEqual({ key, secret: true });
    }
    // A carrier after an ordinary word changes nothing.
    for (const key of ['query_string', 'content_hash', 'header', 'value', 'raw_text']) {
      expect({ key, secret: rule.isSecret(key) }).toEqual({ key, secret: false });
    }
  });

  it('gives the same verdict from its cache as on first sight, and after the cache starts over', () => {
    const fresh = new SecretKeyRule();
    expect([fresh.isSecret('api_key'), fresh.isSecret('api_key'), fresh.isSecret('max_tokens'), fresh.isSecret('max_tokens')]).toEqual([true, true, false, false]);
    for (let i = 0; i < 10_050; i++) fresh.isSecret(`field_${i}`);
    expect([fresh.isSecret('api_key'), fresh.isSecret('max_tokens')]).toEqual([true, false]);
  });
});

describe('REDACT_KEYS', () => {
  it('adds words and compounds, matched on the words of a key like the built-ins', () => {
    const rule = SecretKeyRule.fromSetting(' ssn, account_number ,X-Tenant-Seal');
    for (const key of ['ssn', 'customer_ssn', 'SSN', 'accountNumber', 'bank-account-number', 'x_tenant_seal', 'xTenantSeal']) {
      expect({ key, secret: rule.isSecret(key) }).toEqual({ key, secret: true });
    }
    for (const key of ['ssn_country', 'account', 'number', 'lessn', 'seal']) expect({ key, secret: rule.isSecret(key) }).toEqual({ key, secret: false });
    // The built-ins still apply.
    expect(rule.isSecret('api_key')).toBe(true);
  });

  it('can make an ordinary built-in term secret', () => {
    expect(new SecretKeyRule().isSecret('page_token')).toBe(false);
    expect(SecretKeyRule.fromSetting('page_token').isSecret('nextPageToken')).toBe(true);
  });

  it('is empty by default and refuses an entry without a word, naming the variable', () => {
    expect(SecretKeyRule.fromSetting('').isSecret('ssn')).toBe(false);
    expect(() => SecretKeyRule.fromSetting('ssn,123')).toThrow(ConfigError);
    expect(() => SecretKeyRule.fromSetting('ssn,__')).toThrow(/REDACT_KEYS: entries without a word: __/);
  });
});
