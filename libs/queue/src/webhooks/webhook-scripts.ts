import { readFileSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import { Redis, RedisKeys } from '@relay/redis';
import { inlineIncludes } from '../scripts/script-source.js';

/**
 * The webhook scripts (Lua in ../scripts/webhooks/, sharing the includes of
 * ../scripts/includes/), one typed method each: the only place that packs
 * their KEYS and ARGV and decodes their replies, as QueueScripts does for
 * the job scripts.
 */
export const WEBHOOK_SCRIPT_NAMES = [
  'addWebhook',
  'removeWebhook',
  'rotateWebhookSecret',
  'fanOutWebhookEvents',
  'claimWebhookDeliveries',
  'finishWebhookDeliveries',
] as const;
export type WebhookScriptName = (typeof WEBHOOK_SCRIPT_NAMES)[number];

/** A webhook script's source as written (includes not inlined). */
export const webhookScriptFile = (name: WebhookScriptName) => readFileSync(new URL(`../scripts/webhooks/${name}.lua`, import.meta.url), 'utf8');
export const webhookScriptSource = (name: WebhookScriptName) => inlineIncludes(webhookScriptFile(name));

export interface AddWebhookCall {
  endpointId: string;
  workspaceId: string;
  url: string;
  /** Comma-separated event types; '' for all. */
  events: string;
  secret: string;
  maxPerWorkspace: number;
}

export type AddWebhookReply = { outcome: 'added'; createdAt: string; fromEvent: string } | { outcome: 'limit'; count: number } | { outcome: 'exists' };

export type RotateReply = { outcome: 'rotated'; workspaceId: string; rotatedAt: string; previousValidUntil: string | null } | { outcome: 'missing' };

export interface FanOutCall {
  /** The poll interval: at most one pass per interval across workers. */
  lockMs: number;
  batch: number;
  maxPending: number;
  deadLetterMax: number;
  deadLetterTtlMs: number;
}

export type FanOutReply =
  | { busy: true }
  | { busy: false; read: number; created: number; more: boolean; deadLettered: { workspaceId: string; count: number }[] };

/** A delivery leased to this worker, with what it needs to sign and send it. */
export interface ClaimedDelivery {
  deliveryId: string;
  endpointId: string;
  workspaceId: string;
  jobId: string;
  eventId: string;
  /** The stream entry's fields: [name, value, ...]. */
  fields: string[];
  attempt: number;
  token: string;
  url: string;
  secret: string;
  /** The previous secret while a rotation's grace period lasts; '' otherwise. */
  previousSecret: string;
}

export type DeliveryOutcome = 'delivered' | 'failed' | 'refused' | 'released';
export type DeliveryResult = 'delivered' | 'retrying' | 'dead_lettered' | 'released' | 'lost' | 'dropped';

export interface DeliveryFinish {
  delivery: Pick<ClaimedDelivery, 'deliveryId' | 'token'>;
  outcome: DeliveryOutcome;
  /** For 'failed': when to try again, unless that is past the retry period. */
  delayMs?: number;
  error?: string;
  status?: number;
}

export interface FinishCall {
  retryPeriodMs: number;
  deadLetterMax: number;
  deadLetterTtlMs: number;
  failuresKept: number;
}

type Arg = string | number;
type Caller = (keys: readonly string[], args: readonly Arg[]) => Promise<unknown>;

@Injectable()
export class WebhookScripts {
  private readonly call: Record<WebhookScriptName, Caller>;

  constructor(@Inject(Redis) private readonly redis: Redis) {
    const callers = {} as Record<WebhookScriptName, Caller>;
    for (const name of WEBHOOK_SCRIPT_NAMES) {
      const command = `relay_${name}`;
      if (!(command in redis)) redis.defineCommand(command, { lua: webhookScriptSource(name) });
      const defined = (redis as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[command].bind(redis);
      callers[name] = (keys, args) => defined(keys.length, ...keys, ...args);
    }
    this.call = callers;
  }

  async addWebhook(c: AddWebhookCall): Promise<AddWebhookReply> {
    const reply = (await this.call.addWebhook([RedisKeys.webhookCursors], [c.endpointId, c.workspaceId, c.url, c.events, c.secret, c.maxPerWorkspace])) as (string | number)[];
    if (reply[0] === 'added') return { outcome: 'added', createdAt: String(reply[1]), fromEvent: String(reply[2]) };
    if (reply[0] === 'limit') return { outcome: 'limit', count: Number(reply[1]) };
    return { outcome: 'exists' };
  }

  /** The removed endpoint's workspace, or undefined when there was no such endpoint. */
  async removeWebhook(endpointId: string): Promise<string | undefined> {
    const reply = (await this.call.removeWebhook([RedisKeys.webhookCursors], [endpointId])) as string[];
    return reply[0] === 'removed' ? reply[1] : undefined;
  }

  async rotateWebhookSecret(endpointId: string, secret: string, graceMs: number): Promise<RotateReply> {
    const reply = (await this.call.rotateWebhookSecret([], [endpointId, secret, graceMs])) as string[];
    if (reply[0] !== 'rotated') return { outcome: 'missing' };
    return { outcome: 'rotated', workspaceId: reply[1], rotatedAt: reply[2], previousValidUntil: reply[3] || null };
  }

  async fanOut(c: FanOutCall): Promise<FanOutReply> {
    const keys = [RedisKeys.webhookCursors, RedisKeys.webhookDue, RedisKeys.webhookFanoutLock];
    const reply = (await this.call.fanOutWebhookEvents(keys, [c.lockMs, c.batch, c.maxPending, c.deadLetterMax, c.deadLetterTtlMs])) as [string, number, number, number, (string | number)[]];
    if (reply[0] === 'busy') return { busy: true };
    const dead = reply[4];
    const deadLettered: { workspaceId: string; count: number }[] = [];
    for (let i = 0; i + 1 < dead.length; i += 2) deadLettered.push({ workspaceId: String(dead[i]), count: Number(dead[i + 1]) });
    return { busy: false, read: reply[1], created: reply[2], more: reply[3] === 1, deadLettered };
  }

  async claimDeliveries(max: number, leaseMs: number, workerId: string): Promise<{ recovered: number; claimed: ClaimedDelivery[] }> {
    const [recovered, rows] = (await this.call.claimWebhookDeliveries([RedisKeys.webhookDue, RedisKeys.webhookLeases], [max, leaseMs, workerId])) as [number, (string | number)[][]];
    return {
      recovered,
      claimed: rows.map(([deliveryId, endpointId, workspaceId, jobId, eventId, event, attempt, token, url, secret, previousSecret]) => ({
        deliveryId: String(deliveryId),
        endpointId: String(endpointId),
        workspaceId: String(workspaceId),
        jobId: String(jobId),
        eventId: String(eventId),
        fields: parseFields(String(event)),
        attempt: Number(attempt),
        token: String(token),
        url: String(url),
        secret: String(secret),
        previousSecret: String(previousSecret),
      })),
    };
  }

  async finishDeliveries(items: readonly DeliveryFinish[], c: FinishCall): Promise<DeliveryResult[]> {
    const args: Arg[] = [c.retryPeriodMs, c.deadLetterMax, c.deadLetterTtlMs, c.failuresKept];
    for (const item of items) args.push(item.delivery.deliveryId, item.delivery.token, item.outcome, item.delayMs ?? 0, item.error ?? '', item.status ?? '');
    return (await this.call.finishWebhookDeliveries([RedisKeys.webhookDue, RedisKeys.webhookLeases], args)) as DeliveryResult[];
  }
}

/** The fan-out's cjson array of the entry's fields; cjson writes an empty table as {}. */
function parseFields(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}
