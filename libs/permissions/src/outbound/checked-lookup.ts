import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { OutboundPolicy } from './outbound-policy.js';

/**
 * The socket's DNS lookup with the outbound policy inside it, so the address
 * checked is the address connected to (no second lookup a rebinding DNS
 * could answer differently). Every address is checked, not only the first:
 * Node 20 asks for all of them when it tries IPv4 and IPv6 in turn. A
 * refusal fails the request with code RELAY_REFUSED.
 */
export function checkedLookup(policy: OutboundPolicy): LookupFunction {
  return (hostname, options, callback) =>
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as { address: string; family: number }[];
      const refused = list.map((a) => policy.refuseAddress(hostname, a.address)).find(Boolean);
      if (refused || list.length === 0) {
        return callback(Object.assign(new Error(refused ?? `no address for ${hostname}`), { code: 'RELAY_REFUSED' }), '', 0);
      }
      if (options.all) (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      else callback(null, list[0].address, list[0].family);
    });
}
