import { Injectable } from '@nestjs/common';
import type { LookupFunction } from 'node:net';
import { RelayConfig } from '@relay/config';
import { checkedLookup, OutboundPolicy } from '@relay/permissions';
import { eventBody, eventField, type ClaimedDelivery } from '@relay/queue';
import { ActionError } from '../actions/action.js';
import { postJson } from '../actions/json-post.js';
import { signatureHeader } from './webhook-signature.js';

/** How one send ended: a 2xx, a failure to retry, or a refusal by the outbound policy (nothing was sent). */
export type SendOutcome = { outcome: 'delivered'; status: number } | { outcome: 'failed'; error: string; status?: number } | { outcome: 'refused'; error: string };

/**
 * Signs and POSTs one delivery, under http.post's outbound policy and
 * limits (the same OutboundPolicy, checked lookup and postJson, and the same
 * settings: HTTP_ACTION_ALLOWED_HOSTS, HTTP_ACTION_TIMEOUT_MS,
 * HTTP_ACTION_MAX_RESPONSE_BYTES). A 2xx answer is delivered; any other
 * answer, a timeout, a network error or an answer past the size cap is a
 * failed attempt; a URL the policy refuses before connecting, or a name that
 * resolves to a refused address at connect time, is refused. Error texts
 * name no URL (only a host the policy refused) and nothing of the event.
 */
@Injectable()
export class WebhookSender {
  private readonly policy: OutboundPolicy;
  private readonly lookup: LookupFunction;

  constructor(private readonly config: RelayConfig) {
    this.policy = new OutboundPolicy(config.HTTP_ACTION_ALLOWED_HOSTS);
    this.lookup = checkedLookup(this.policy);
  }

  async send(delivery: ClaimedDelivery, signal: AbortSignal): Promise<SendOutcome> {
    let url: URL;
    try {
      url = new URL(delivery.url);
    } catch {
      return { outcome: 'refused', error: 'webhook: the url is not a valid URL' };
    }
    // The allowlist may have changed since the endpoint was added.
    const refused = this.policy.refuseTarget(url);
    if (refused) return { outcome: 'refused', error: `webhook: ${refused}` };
    const body = eventBody(delivery.eventId, delivery.fields);
    const type = eventField(delivery.fields, 'type') ?? '';
    const secrets = delivery.previousSecret ? [delivery.secret, delivery.previousSecret] : [delivery.secret];
    let refusedAtConnect: string | undefined;
    try {
      const { status } = await postJson(url, body, {
        timeoutMs: this.config.HTTP_ACTION_TIMEOUT_MS,
        maxResponseBytes: this.config.HTTP_ACTION_MAX_RESPONSE_BYTES,
        signal,
        lookup: noticingRefusal(this.lookup, (reason) => (refusedAtConnect = reason)),
        label: 'webhook',
        userAgent: 'relay-webhooks',
        headers: {
          'relay-signature': signatureHeader(secrets, Math.floor(Date.now() / 1000), body),
          'relay-delivery-id': delivery.deliveryId,
          'relay-event-id': delivery.eventId,
          'relay-event-type': type,
          'relay-webhook-id': delivery.endpointId,
          'relay-delivery-attempt': String(delivery.attempt),
        },
      });
      if (status >= 200 && status < 300) return { outcome: 'delivered', status };
      return { outcome: 'failed', error: `webhook: the endpoint answered ${status}`, status };
    } catch (error) {
      if (refusedAtConnect) return { outcome: 'refused', error: `webhook: ${refusedAtConnect}` };
      return { outcome: 'failed', error: error instanceof ActionError ? error.message : 'webhook: request failed' };
    }
  }
}

/** The checked lookup, telling `onRefused` when the policy refused the address a name resolved to. */
function noticingRefusal(lookup: LookupFunction, onRefused: (reason: string) => void): LookupFunction {
  return (hostname, options, callback) =>
    lookup(hostname, options, (error, address, family) => {
      if (error?.code === 'RELAY_REFUSED') onRefused(error.message);
      callback(error, address, family);
    });
}
