import type { LookupFunction } from 'node:net';
import { RelayConfig } from '@relay/config';
import { checkedLookup, OutboundPolicy } from '@relay/permissions';
import { ActionDeferred, ActionError, RelayAction, type ActionContext, type ActionHandler } from './action.js';
import { postJson } from './json-post.js';
import { retryAfterMs } from './retry-after.js';

/**
 * POSTs `body` (JSON) to `url`: only hosts on HTTP_ACTION_ALLOWED_HOSTS
 * (OutboundPolicy), within HTTP_ACTION_TIMEOUT_MS for the whole exchange and
 * HTTP_ACTION_MAX_RESPONSE_BYTES (postJson). Result: {status, body} (body
 * parsed as JSON when it is JSON). A 429 defers the job by its Retry-After
 * (retryAfterMs: 1 s when absent, at most an hour) without using an attempt;
 * 5xx are retryable failures; other non-2xx answers fail the job.
 */
@RelayAction('http.post')
export class HttpPostAction implements ActionHandler {
  private readonly policy: OutboundPolicy;
  private readonly lookup: LookupFunction;

  constructor(private readonly config: RelayConfig) {
    this.policy = new OutboundPolicy(config.HTTP_ACTION_ALLOWED_HOSTS);
    this.lookup = checkedLookup(this.policy);
  }

  async run(params: Record<string, unknown>, context: ActionContext) {
    if (typeof params.url !== 'string') throw new ActionError('http.post: url must be a string', false);
    let url: URL;
    try {
      url = new URL(params.url);
    } catch {
      throw new ActionError('http.post: url is not a valid URL', false);
    }
    const refused = this.policy.refuseTarget(url);
    if (refused) throw new ActionError(`http.post: ${refused}`, false);
    const { status, body, retryAfter } = await postJson(url, JSON.stringify(params.body ?? {}), {
      timeoutMs: this.config.HTTP_ACTION_TIMEOUT_MS,
      maxResponseBytes: this.config.HTTP_ACTION_MAX_RESPONSE_BYTES,
      signal: context.signal,
      lookup: this.lookup,
    });
    if (status === 429) {
      // An HTTP date is read against this worker's clock, as the answer arrives.
      const wait = retryAfterMs(retryAfter, Date.now());
      throw new ActionDeferred(`http.post: upstream answered 429, retry after ${wait} ms`, wait);
    }
    if (status >= 500) throw new ActionError(`http.post: upstream answered ${status}`);
    if (status < 200 || status >= 300) throw new ActionError(`http.post: upstream answered ${status}`, false);
    // Only these two: the result must not grow with headers read for other purposes.
    return { status, body };
  }
}
