import { Inject, Injectable } from '@nestjs/common';
import { Redis, RedisKeys } from '@relay/redis';
import { assertWorkspaceId } from '@relay/workspace';
import { invalidInput } from '@relay/errors';
import { keyMatchesHash, mintApiKey, parseKeyId } from './api-key.format.js';
import type { Principal } from './principal.js';
import { isScope, type Scope } from './scopes.js';

export const ACTOR_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export interface ApiKeyRecord {
  keyId: string;
  workspaceId: string;
  actorId: string;
  scopes: Scope[];
  createdAt: string;
}

export interface CreateApiKeyInput {
  workspaceId: string;
  actorId?: string;
  scopes: string[];
}

/** API keys in Redis: created, listed, revoked (operator commands) and verified (every request). */
@Injectable()
export class ApiKeyStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  /** Returns the key in clear once; only its hash is stored. */
  async create(input: CreateApiKeyInput): Promise<ApiKeyRecord & { key: string }> {
    const workspaceId = assertWorkspaceId(input.workspaceId);
    const unknown = input.scopes.filter((s) => !isScope(s));
    if (input.scopes.length === 0 || unknown.length > 0) {
      throw invalidInput(`scopes: expected one or more of actions:execute, actions:preview; got ${JSON.stringify(input.scopes)}`);
    }
    const minted = mintApiKey();
    const actorId = input.actorId ?? `key-${minted.keyId}`;
    if (!ACTOR_ID_PATTERN.test(actorId)) throw invalidInput('actor: 1-64 characters of letters, digits, . _ @ -');
    const record: ApiKeyRecord = {
      keyId: minted.keyId,
      workspaceId,
      actorId,
      scopes: [...new Set(input.scopes as Scope[])],
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

  async list(workspaceId: string): Promise<ApiKeyRecord[]> {
    const ids = await this.redis.smembers(RedisKeys.workspaceApiKeys(assertWorkspaceId(workspaceId)));
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
