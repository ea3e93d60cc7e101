import { BlockList, isIP } from 'node:net';
import { ConfigError } from '@relay/config';

/** Loopback, private, link-local, CGNAT, multicast and unspecified ranges. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3],
] as const) PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) PRIVATE.addSubnet(net, prefix, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1], 'ipv4');
  const family = isIP(address);
  return family === 4 ? PRIVATE.check(address, 'ipv4') : family === 6 ? PRIVATE.check(address, 'ipv6') : true;
}

interface AllowedHost {
  host: string;
  port?: number;
}

/**
 * Where http.post may go: hosts on HTTP_ACTION_ALLOWED_HOSTS (`host` or
 * `host:port`). A host that resolves to a loopback or private address is
 * refused unless the allowlist entry is that literal IP, so an allowlisted
 * name cannot be pointed (or DNS-rebound) at internal services.
 */
export class OutboundPolicy {
  private readonly allowed: AllowedHost[];

  constructor(allowlist: string) {
    this.allowed = allowlist
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean)
      .map((entry) => {
        const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
        if (!m) throw new ConfigError([`HTTP_ACTION_ALLOWED_HOSTS: invalid entry ${entry}`]);
        return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : undefined };
      });
  }

  /** The reason a URL is refused, or undefined when its host and port are allowlisted. */
  refuseUrl(url: URL): string | undefined {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs are allowed';
    if (url.username || url.password) return 'credentials in the URL are not allowed';
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    if (!this.allowed.some((a) => a.host === host && (a.port === undefined || a.port === port))) return `host ${host}:${port} is not on HTTP_ACTION_ALLOWED_HOSTS`;
    return undefined;
  }

  /** The reason a resolved address is refused for a host, or undefined. */
  refuseAddress(host: string, address: string): string | undefined {
    if (!isPrivateAddress(address)) return undefined;
    const literal = host.replace(/^\[|\]$/g, '').toLowerCase();
    if (isIP(literal) && literal === address.toLowerCase() && this.allowed.some((a) => a.host === literal)) return undefined;
    return `host ${host} resolves to a private or loopback address, allowed only when that IP itself is allowlisted`;
  }
}
