import { BlockList, isIP } from 'node:net';

/**
 * What kind of address an IP is, for the outbound policy: `public` or the
 * special-purpose kind that makes it unsafe to call on a name's say-so.
 * Ranges from the IANA special-purpose registries (RFC 6890 and later).
 */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared (CGNAT)'
  | 'multicast'
  | 'reserved'
  | 'NAT64'
  | '6to4'
  | 'Teredo'
  | 'IPv4-compatible';

function ranges(subnets: [string, number][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of subnets) list.addSubnet(network, prefix, isIP(network) === 4 ? 'ipv4' : 'ipv6');
  return list;
}

/**
 * Checked in this order, the first match wins (`::1` is loopback before it
 * is IPv4-compatible, Teredo's 2001::/32 before the rest of 2001::/23).
 * IPv4-mapped addresses never get here: their IPv4 address is classified.
 * The transition ranges (IPv4-compatible, NAT64, 6to4, Teredo) are refused
 * outright: a translator or relay forwards them to an IPv4 address that
 * could be internal, and where that address sits depends on the prefix.
 */
const CLASSES: [AddressClass, BlockList][] = [
  ['unspecified', ranges([['0.0.0.0', 32], ['::', 128]])],
  ['loopback', ranges([['127.0.0.0', 8], ['::1', 128]])],
  ['IPv4-compatible', ranges([['::', 96]])],
  ['NAT64', ranges([['64:ff9b::', 96], ['64:ff9b:1::', 48]])],
  ['Teredo', ranges([['2001::', 32]])],
  ['6to4', ranges([['2002::', 16], ['192.88.99.0', 24]])],
  ['private', ranges([['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['fc00::', 7], ['fec0::', 10]])],
  ['link-local', ranges([['169.254.0.0', 16], ['fe80::', 10]])],
  ['shared (CGNAT)', ranges([['100.64.0.0', 10]])],
  ['multicast', ranges([['224.0.0.0', 4], ['ff00::', 8]])],
  [
    'reserved',
    ranges([
      ['0.0.0.0', 8], // "this network"
      ['192.0.0.0', 24], // IETF protocol assignments
      ['192.0.2.0', 24], // documentation
      ['198.18.0.0', 15], // benchmarking
      ['198.51.100.0', 24], // documentation
      ['203.0.113.0', 24], // documentation
      ['240.0.0.0', 4], // future use, and the broadcast address
      ['100::', 64], // discard-only
      ['2001::', 23], // IETF protocol assignments
      ['2001:db8::', 32], // documentation
      ['3fff::', 20], // documentation
    ]),
  ],
];

/** Global unicast IPv6 space; everything outside it is special or unassigned. */
const GLOBAL_UNICAST_V6 = ranges([['2000::', 3]]);

/**
 * Canonical text of an IP address (the WHATWG URL host form, without
 * brackets), or undefined when it is not one. A zone id (`fe80::1%eth0`) is
 * dropped: it names an interface, not another address.
 */
export function canonicalAddress(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return undefined;
  return new URL(`http://${family === 6 ? `[${bare}]` : bare}/`).hostname.replace(/^\[|\]$/g, '');
}

/**
 * The address a socket actually talks to: the IPv4 address inside an
 * IPv4-mapped one (`::ffff:127.0.0.1` is 127.0.0.1), else the canonical
 * address; undefined when it is not an IP.
 */
export function effectiveAddress(address: string): string | undefined {
  const canonical = canonicalAddress(address);
  // The URL form of an IPv4-mapped address is always `::ffff:hhhh:hhhh`.
  const mapped = canonical && /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const [high, low] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** The class of an IP address; anything that is not an IP address is `reserved`. */
export function classifyAddress(address: string): AddressClass {
  const canonical = effectiveAddress(address);
  if (canonical === undefined) return 'reserved';
  const family = isIP(canonical) === 4 ? 'ipv4' : 'ipv6';
  for (const [kind, list] of CLASSES) if (list.check(canonical, family)) return kind;
  if (family === 'ipv6' && !GLOBAL_UNICAST_V6.check(canonical, 'ipv6')) return 'reserved';
  return 'public';
}
