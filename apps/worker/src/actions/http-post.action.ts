import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { RelayConfig } from '@relay/config';
import { ActionError, RelayAction, type ActionContext, type ActionHandler } from './action.js';
import { canonicalAddress } from './address-class.js';
import { checkedLookup } from './checked-lookup.js';
import { OutboundPolicy } from './outbound-policy.js';

/**
 * POSTs `body` (JSON) to `url`: only hosts on HTTP_ACTION_ALLOWED_HOSTS, with
 * a timeout and a response-size cap. The address check runs inside the
 * socket's DNS lookup, so the address connected to is the address checked.
 * Result: {status, body} (body parsed as JSON when it is JSON). 5xx and 429
 * are retryable failures; other non-2xx answers fail the job.
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
    const refused = this.policy.refuseUrl(url);
    if (refused) throw new ActionError(`http.post: ${refused}`, false);
    // The socket skips the DNS lookup for an IP host, so an IP is checked here.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (canonicalAddress(host) !== undefined) {
      const refusedAddress = this.policy.refuseAddress(host, host);
      if (refusedAddress) throw new ActionError(`http.post: ${refusedAddress}`, false);
    }
    const payload = JSON.stringify(params.body ?? {});
    const response = await this.send(url, payload, context.signal);
    if (response.status >= 500 || response.status === 429) throw new ActionError(`http.post: upstream answered ${response.status}`);
    if (response.status < 200 || response.status >= 300) throw new ActionError(`http.post: upstream answered ${response.status}`, false);
    return response;
  }

  private send(url: URL, payload: string, jobSignal: AbortSignal): Promise<{ status: number; body: unknown }> {
    const signal = AbortSignal.any([jobSignal, AbortSignal.timeout(this.config.HTTP_ACTION_TIMEOUT_MS)]);
    const cap = this.config.HTTP_ACTION_MAX_RESPONSE_BYTES;
    return new Promise((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'user-agent': 'relay-worker' },
        lookup: this.lookup,
        signal,
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'RELAY_REFUSED') reject(new ActionError(`http.post: ${error.message}`, false));
        else if (signal.aborted) reject(new ActionError(`http.post: no answer within ${this.config.HTTP_ACTION_TIMEOUT_MS} ms`));
        else reject(new ActionError(`http.post: request failed (${error.code ?? 'network error'})`));
      });
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > cap) {
            req.destroy();
            reject(new ActionError(`http.post: response larger than ${cap} bytes`, false));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text === '' ? null : JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', () => reject(new ActionError('http.post: response interrupted')));
      });
      req.end(payload);
    });
  }
}
