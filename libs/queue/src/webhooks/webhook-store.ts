import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { ErrorCode, invalidInput, RelayError } from '@relay/errors';
import { OutboundPolicy } from '@relay/permissions';
import { Redis, RedisKeys } from '@relay/redis';
import { assertWorkspaceId } from '@relay/workspace';
import { EVENT_TYPES, isEventType, type EventType } from '../events/relay-event.js';
import { WebhookScripts } from './webhook-scripts.js';

/** The longest webhook URL accepted. */
export const WEBHOOK_URL_MAX_LENGTH = 2048;
export const WEBHOOK_ID_PATTERN = /^wh_[0-9a-f]{16}$/;

/** An endpoint as the operator commands show it: never its secret. */
export interface WebhookEndpoint {
  webhookId: string;
  workspaceId: string;
  url: string;
  events: EventType[];
  createdAt: string;
  /** Deliveries waiting (or being sent) for it. */
  pending: number;
  lastDeliveredAt: string | null;
  lastFailedAt: string | null;
  lastError: string | null;
  secretRotatedAt: string | null;
  /** While a rotation's grace lasts, deliveries carry a second signature made with the previous secret. */
  previousSecretValidUntil: string | null;
}

/** A delivery given up (its retry period spent, refused by the outbound policy, or its endpoint's backlog full). */
export interface WebhookDeadLetter {
  delivery_id: string;
  webhook_id: string;
  event_id: string;
  job_id: string;
  type: string;
  attempts: number;
  dead_at: string;
  error: string;
  status: string;
}

/** One failed attempt, kept among the workspace's latest. */
export interface WebhookFailure {
  delivery_id: string;
  webhook_id: string;
  event_id: string;
  job_id: string;
  type: string;
  attempt: number;
  at: string;
  error: string;
  status: string;
}

/** 256 random bits; the whole string is the HMAC key. */
const mintSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

/**
 * Webhook endpoints, as the operator commands manage them: registered for a
 * workspace (URL checked against the outbound policy of http.post, event
 * types against the event contract), listed without their secrets, removed,
 * their secret rotated; and what their deliveries left behind (dead
 * letters, recent failures). The secret is stored as is (it signs every
 * delivery) and shown only by add and rotate.
 */
@Injectable()
export class WebhookStore {
  private readonly policy: OutboundPolicy;

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    private readonly scripts: WebhookScripts,
    private readonly config: RelayConfig,
  ) {
    this.policy = new OutboundPolicy(config.HTTP_ACTION_ALLOWED_HOSTS);
  }

  async add(input: { workspaceId: string; url: string; events?: string[] }): Promise<WebhookEndpoint & { secret: string }> {
    const workspaceId = assertWorkspaceId(input.workspaceId);
    const url = this.checkedUrl(input.url);
    const events = checkedEvents(input.events);
    const secret = mintSecret();
    const webhookId = `wh_${randomBytes(8).toString('hex')}`;
    const reply = await this.scripts.addWebhook({ endpointId: webhookId, workspaceId, url, events: events.join(','), secret, maxPerWorkspace: this.config.WEBHOOK_MAX_PER_WORKSPACE });
    if (reply.outcome === 'limit') {
      throw new RelayError(ErrorCode.QuotaExceeded, `workspace ${workspaceId} has ${reply.count} webhooks, the most WEBHOOK_MAX_PER_WORKSPACE allows`);
    }
    if (reply.outcome === 'exists') throw new Error(`webhook id ${webhookId} is taken; try again`);
    return { ...emptyEndpoint(webhookId, workspaceId, url, events, reply.createdAt), secret };
  }

  async list(workspaceId: string): Promise<WebhookEndpoint[]> {
    const ids = await this.redis.smembers(RedisKeys.workspaceWebhooks(assertWorkspaceId(workspaceId)));
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(RedisKeys.webhook(id));
    const replies = (await pipeline.exec()) ?? [];
    return replies
      .map(([, fields]) => toEndpoint(fields as Record<string, string>))
      .filter((e): e is WebhookEndpoint => e !== undefined)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.webhookId.localeCompare(b.webhookId));
  }

  /** The removed endpoint's workspace; undefined when there is no such endpoint. */
  async remove(webhookId: string): Promise<string | undefined> {
    if (!WEBHOOK_ID_PATTERN.test(webhookId)) return undefined;
    return this.scripts.removeWebhook(webhookId);
  }

  /** The new secret (shown once), or undefined when there is no such endpoint. */
  async rotateSecret(webhookId: string): Promise<{ workspaceId: string; secret: string; rotatedAt: string; previousValidUntil: string | null } | undefined> {
    if (!WEBHOOK_ID_PATTERN.test(webhookId)) return undefined;
    const secret = mintSecret();
    const reply = await this.scripts.rotateWebhookSecret(webhookId, secret, this.config.WEBHOOK_SECRET_GRACE_MS);
    if (reply.outcome === 'missing') return undefined;
    return { workspaceId: reply.workspaceId, secret, rotatedAt: reply.rotatedAt, previousValidUntil: reply.previousValidUntil };
  }

  /** The workspace's dead-lettered deliveries, newest first, none older than WEBHOOK_DEAD_LETTER_TTL_SECONDS. */
  async deadLetters(workspaceId: string, limit: number): Promise<WebhookDeadLetter[]> {
    const key = RedisKeys.webhookDeadLetters(assertWorkspaceId(workspaceId));
    const [seconds, micros] = await this.redis.time();
    const oldest = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - this.config.WEBHOOK_DEAD_LETTER_TTL_SECONDS * 1000;
    const members = await this.redis.zrevrangebyscore(key, '+inf', oldest, 'LIMIT', 0, limit);
    return members.map((m) => JSON.parse(m) as WebhookDeadLetter);
  }

  /** The workspace's latest failed attempts, newest first. */
  async recentFailures(workspaceId: string, limit: number): Promise<WebhookFailure[]> {
    const members = await this.redis.lrange(RedisKeys.webhookFailures(assertWorkspaceId(workspaceId)), 0, limit - 1);
    return members.map((m) => JSON.parse(m) as WebhookFailure);
  }

  /**
   * An absolute http(s) URL within WEBHOOK_URL_MAX_LENGTH, without
   * credentials or fragment, that the outbound policy allows before
   * connecting (host and port allowlisted; an IP host a public one unless
   * allowlisted as that IP). Where a name resolves is checked on every
   * delivery, at connect time.
   */
  private checkedUrl(text: string): string {
    if (text.length > WEBHOOK_URL_MAX_LENGTH) throw invalidInput(`url: at most ${WEBHOOK_URL_MAX_LENGTH} characters`);
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw invalidInput('url: not a valid absolute URL');
    }
    if (url.hash) throw invalidInput('url: a fragment (#...) is never sent; leave it out');
    const refused = this.policy.refuseTarget(url);
    if (refused) throw invalidInput(`url: ${refused}`);
    return url.href;
  }
}

/** The event types asked for, each once, in lifecycle order; all of them when none is given. */
function checkedEvents(requested: string[] | undefined): EventType[] {
  if (requested === undefined) return [...EVENT_TYPES];
  const unknown = requested.filter((t) => !isEventType(t));
  if (requested.length === 0 || unknown.length > 0) throw invalidInput(`events: one or more of ${EVENT_TYPES.join(', ')}; got ${JSON.stringify(requested)}`);
  return EVENT_TYPES.filter((t) => requested.includes(t));
}

function emptyEndpoint(webhookId: string, workspaceId: string, url: string, events: EventType[], createdAt: string): WebhookEndpoint {
  return { webhookId, workspaceId, url, events, createdAt, pending: 0, lastDeliveredAt: null, lastFailedAt: null, lastError: null, secretRotatedAt: null, previousSecretValidUntil: null };
}

function toEndpoint(f: Record<string, string> | null): WebhookEndpoint | undefined {
  if (!f || !f.endpoint_id || !f.url) return undefined;
  const stillValid = f.previous_until_ms && Number(f.previous_until_ms) > Date.now() ? f.previous_until : null;
  return {
    ...emptyEndpoint(f.endpoint_id, f.workspace_id, f.url, (f.events ?? '').split(',').filter(isEventType), f.created_at),
    pending: Number(f.pending ?? 0) || 0,
    lastDeliveredAt: f.last_delivered_at || null,
    lastFailedAt: f.last_failed_at || null,
    lastError: f.last_error || null,
    secretRotatedAt: f.rotated_at || null,
    previousSecretValidUntil: stillValid || null,
  };
}
