import { Inject, Injectable } from '@nestjs/common';
import { Redis, RedisKeys } from '@relay/redis';
import { assertWorkspaceId } from '@relay/workspace';
import { invalidInput } from '@relay/errors';
import { hashApiKey, keyMatchesHash, mintApiKey, parseKeyId } from './api-key.format.js';
import { OPERATOR_WORKSPACE } from './operator-key.js';
import type { Principal } from './principal.js';
import { OPERATOR_SCOPE, TENANT_SCOPES, isScope, type Scope } from './scopes.js';

export const ACTOR_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export interface ApiKeyRecord {
  keyId: string;
  workspaceId: string;
  actorId: string;
  scopes: Scope[];
  createdAt: string;
}

/** The failure counter of the caller's address: where it lives and what it allows. */
export interface FailureWindow {
  counterKey: string;
  windowMs: number;
  limit: number;
}

/** A verification that also counted failures: the principal, or the failure count and the ms left in its window. */
export type CountedVerification =
  | { outcome: 'verified'; principal: Principal }
  | { outcome: 'failed' | 'blocked'; failures: number; msLeft: number };

/**
 * Verifies a key and counts a failure against the caller's address in one
 * round trip. An address that used up its failures is refused without its
 * key being looked at. The hashes are compared here rather than in constant
 * time in Node: they are SHA-256 digests of 192-bit secrets, so learning how
 * much of a digest matched does not help anyone find a key.
 *
 * KEYS[1] the address's failure counter (string, expires with its window)
 * KEYS[2] the presented key's record (hash); not read when ARGV[1] is ''
 * ARGV[1] SHA-256 (hex) of the presented key, '' when there is none or it is malformed
 * ARGV[2] window (ms); ARGV[3] failures allowed per window
 * Returns {'blocked', failures, ms left} | {'verified', workspace_id, actor_id, scopes} | {'failed', failures, ms left}
 */
const VERIFY_COUNTING_FAILURES = `
local failures = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if failures >= tonumber(ARGV[3]) then return {'blocked', failures, redis.call('PTTL', KEYS[1])} end
if ARGV[1] ~= '' then
  local record = redis.call('HMGET', KEYS[2], 'hash', 'workspace_id', 'actor_id', 'scopes')
  if record[1] == ARGV[1] and record[2] then return {'verified', record[2], record[3] or '', record[4] or ''} end
end
failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {'failed', failures, redis.call('PTTL', KEYS[1])}
`;

export interface CreateApiKeyInput {
  workspaceId: string;
  actorId?: string;
  scopes: string[];
}

/** API keys in Redis: created, listed, revoked (operator commands) and verified (every request). */
@Injectable()
export class ApiKeyStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {
    if (!('relay_verifyCountingFailures' in redis)) redis.defineCommand('relay_verifyCountingFailures', { numberOfKeys: 2, lua: VERIFY_COUNTING_FAILURES });
  }

  /** A tenant's key; returns the key in clear once; only its hash is stored. The operator scope is refused here (createOperator). */
  async create(input: CreateApiKeyInput): Promise<ApiKeyRecord & { key: string }> {
    const workspaceId = assertWorkspaceId(input.workspaceId);
    const unknown = input.scopes.filter((s) => !(TENANT_SCOPES as readonly string[]).includes(s));
    if (input.scopes.length === 0 || unknown.length > 0) {
      const operator = input.scopes.includes(OPERATOR_SCOPE) ? ` (${OPERATOR_SCOPE} is only given by keys create --operator)` : '';
      throw invalidInput(`scopes: expected one or more of ${TENANT_SCOPES.join(', ')}; got ${JSON.stringify(input.scopes)}${operator}`);
    }
    return this.store(workspaceId, input.actorId, input.scopes as Scope[]);
  }

  /** An operator key (the console's): scope relay:operator only, under the reserved workspace OPERATOR_WORKSPACE. */
  createOperator(actorId?: string): Promise<ApiKeyRecord & { key: string }> {
    return this.store(OPERATOR_WORKSPACE, actorId, [OPERATOR_SCOPE]);
  }

  private async store(workspaceId: string, requestedActorId: string | undefined, scopes: Scope[]): Promise<ApiKeyRecord & { key: string }> {
    const minted = mintApiKey();
    const actorId = requestedActorId ?? `key-${minted.keyId}`;
    if (!ACTOR_ID_PATTERN.test(actorId)) throw invalidInput('actor: 1-64 characters of letters, digits, . _ @ -');
    const record: ApiKeyRecord = {
      keyId: minted.keyId,
      workspaceId,
      actorId,
      scopes: [...new Set(scopes)],
      createdAt: new Date().toISOString(),
    };
    await this.redis
      .multi()
      .hset(RedisKeys.apiKey(minted.keyId), {
        hash: minted.hash,
        workspace_id: record.workspaceId,
        actor_id: record.actorId,
        scopes: record.scopes.join(','),
        created_at: record.createdAt,
      })
      .sadd(RedisKeys.workspaceApiKeys(workspaceId), minted.keyId)
      .exec();
    return { ...record, key: minted.key };
  }

  /** A workspace's keys; OPERATOR_WORKSPACE lists the operator keys. */
  async list(workspaceId: string): Promise<ApiKeyRecord[]> {
    const realm = workspaceId === OPERATOR_WORKSPACE ? workspaceId : assertWorkspaceId(workspaceId);
    const ids = await this.redis.smembers(RedisKeys.workspaceApiKeys(realm));
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(RedisKeys.apiKey(id));
    const replies = (await pipeline.exec()) ?? [];
    return replies
      .map(([, fields], i) => toRecord(ids[i], fields as Record<string, string>))
      .filter((r): r is ApiKeyRecord => r !== undefined)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Deletes the key; returns false when no such key exists. Takes effect on the next request. */
  async revoke(keyId: string): Promise<boolean> {
    if (!/^[a-f0-9]{16}$/.test(keyId)) return false;
    const workspaceId = await this.redis.hget(RedisKeys.apiKey(keyId), 'workspace_id');
    if (workspaceId === null) return false;
    await this.redis.multi().del(RedisKeys.apiKey(keyId)).srem(RedisKeys.workspaceApiKeys(workspaceId), keyId).exec();
    return true;
  }

  /** The principal for a presented key, or undefined when the key is unknown, malformed or revoked. */
  async verify(presentedKey: string): Promise<Principal | undefined> {
    const keyId = parseKeyId(presentedKey);
    if (!keyId) return undefined;
    const fields = await this.redis.hgetall(RedisKeys.apiKey(keyId));
    if (!fields.hash || !keyMatchesHash(presentedKey, fields.hash)) return undefined;
    const record = toRecord(keyId, fields);
    return record && { keyId, workspaceId: record.workspaceId, actorId: record.actorId, scopes: record.scopes };
  }

  /** verify(), and a failure counted against `failures` when it does not verify, in one round trip. */
  async verifyCountingFailures(presentedKey: string | undefined, failures: FailureWindow): Promise<CountedVerification> {
    const keyId = presentedKey === undefined ? undefined : parseKeyId(presentedKey);
    const call = (this.redis as unknown as Record<string, (...args: (string | number)[]) => Promise<(string | number)[]>>).relay_verifyCountingFailures;
    // A malformed key is not looked up: KEYS[2] then only has to be some key name.
    const recordKey = keyId ? RedisKeys.apiKey(keyId) : failures.counterKey;
    const reply = await call.call(this.redis, failures.counterKey, recordKey, keyId ? hashApiKey(presentedKey!) : '', failures.windowMs, failures.limit);
    if (reply[0] === 'verified') {
      const [, workspaceId, actorId, scopes] = reply.map(String);
      return { outcome: 'verified', principal: { keyId: keyId!, workspaceId, actorId, scopes: scopes.split(',').filter(isScope) } };
    }
    return { outcome: reply[0] === 'blocked' ? 'blocked' : 'failed', failures: Number(reply[1]), msLeft: Number(reply[2]) };
  }
}

function toRecord(keyId: string, fields: Record<string, string> | null): ApiKeyRecord | undefined {
  if (!fields || !fields.workspace_id) return undefined;
  return {
    keyId,
    workspaceId: fields.workspace_id,
    actorId: fields.actor_id,
    scopes: (fields.scopes ?? '').split(',').filter(isScope),
    createdAt: fields.created_at,
  };
}
