import { isIPv6 } from 'node:net';

/** IPv6 groups, with an embedded dotted IPv4 tail counted as the two groups it stands for. */
function ipv6Groups(ip: string): string[] {
  const [head, tail] = ip.split('::');
  const expand = (part: string | undefined) =>
    part ? part.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group])) : [];
  const left = expand(head);
  const right = expand(tail);
  return [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
}

/**
 * What failed authentications are counted against, from the request's
 * address (req.ip, which TRUST_PROXY decides): an IPv4 address as is (also
 * when Node shows it IPv4-mapped, `::ffff:a.b.c.d`); for IPv6 its /64
 * network, because one client is routinely handed a whole /64 and could
 * otherwise step to a fresh address for every attempt.
 */
export function clientAddressKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1];
  const bare = ip.replace(/%.*$/, '');
  if (!isIPv6(bare)) return ip;
  const network = ipv6Groups(bare)
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16));
  return `${network.join(':')}::/64`;
}
