import { ConfigError } from '@relay/config';
import { CARRIER_WORDS, ORDINARY_TERMS, SECRET_ENDINGS, SECRET_TERMS, flatTerm, keyWords } from './secret-words.js';

const flatSet = (terms: readonly string[]) => new Set(terms.map(flatTerm));
const SECRET = flatSet(SECRET_TERMS);
const ORDINARY = flatSet(ORDINARY_TERMS);
const CARRIERS: ReadonlySet<string> = new Set(CARRIER_WORDS);
/** The most words a built-in term has; a term of REDACT_KEYS may raise it. */
const BUILT_IN_MAX_WORDS = Math.max(...[...SECRET_TERMS, ...ORDINARY_TERMS].map((t) => keyWords(t).length));
/** Verdicts are cached per key name; the cache starts over beyond this many names. */
const CACHE_LIMIT = 10_000;

/**
 * Whether a key names a secret, read word by word (secret-words.ts):
 *  1. a term of REDACT_KEYS ends the key → secret;
 *  2. else an ordinary term ends it (`page token`) → not secret;
 *  3. else a secret term ends it (`token`, `api key`), or its last word is a
 *     one-word spelling ending in a secret word (`dbpassword`) → secret;
 *  4. else, when the last word is a carrier (`value`, `hash`, `header`), the
 *     key without it is judged again.
 * A plural of a compound counts (`api keys`, `access tokens`); a plural of a
 * one-word term counts only where listed (`secrets`, not `tokens`).
 */
export class SecretKeyRule {
  private readonly extra: ReadonlySet<string>;
  private readonly maxWords: number;
  private readonly verdicts = new Map<string, boolean>();

  constructor(extraTerms: readonly string[] = []) {
    this.extra = flatSet(extraTerms);
    this.maxWords = Math.max(BUILT_IN_MAX_WORDS, ...extraTerms.map((t) => keyWords(t).length));
  }

  /**
   * REDACT_KEYS: comma-separated words or compounds in any spelling
   * (`ssn, account_number, X-Tenant-Secret`). An entry without a word is a
   * configuration error naming the variable.
   */
  static fromSetting(setting: string): SecretKeyRule {
    const entries = setting.split(',').map((entry) => entry.trim()).filter(Boolean);
    const empty = entries.filter((entry) => keyWords(entry).length === 0);
    if (empty.length > 0) throw new ConfigError([`REDACT_KEYS: entries without a word: ${empty.join(', ')}`]);
    return new SecretKeyRule(entries);
  }

  isSecret(key: string): boolean {
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      if (this.verdicts.size >= CACHE_LIMIT) this.verdicts.clear();
      verdict = this.judge(keyWords(key));
      this.verdicts.set(key, verdict);
    }
    return verdict;
  }

  private judge(words: string[]): boolean {
    for (let end = words.length; end > 0; end--) {
      const verdict = this.endsWithTerm(words, end);
      if (verdict !== undefined) return verdict;
      if (!CARRIERS.has(words[end - 1])) return false;
    }
    return false;
  }

  /** true/false when words[0, end) end with a secret/ordinary term; undefined when with neither. */
  private endsWithTerm(words: string[], end: number): boolean | undefined {
    const tails: string[] = [];
    let tail = '';
    for (let count = 1; count <= Math.min(end, this.maxWords); count++) {
      tail = words[end - count] + tail;
      tails.push(tail);
    }
    if (tails.some((t) => this.extra.has(t))) return true;
    if (tails.some((t) => ORDINARY.has(t))) return false;
    if (tails.some((t, i) => SECRET.has(t) || (i > 0 && t.endsWith('s') && SECRET.has(t.slice(0, -1))))) return true;
    const last = tails[0];
    if (SECRET_ENDINGS.some((ending) => last.endsWith(ending))) return true;
    return undefined;
  }
}
