import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { ConfigError } from '@relay/config';
import { canonicalAddress, classifyAddress, effectiveAddress } from './address-class.js';

interface AllowedHost {
  /** Canonical: lower case, an IP in its URL form without brackets. */
  host: string;
  port?: number;
}

/** Every address of this machine's interfaces (what it would reach by calling itself). */
export function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/** The URL parser's form of a host, so an entry and a URL's host compare alike (`0x7f.1` is 127.0.0.1). */
function canonicalHost(host: string): string {
  const bare = host.replace(/^\[|\]$/g, '');
  return new URL(`http://${isIP(bare) === 6 ? `[${bare}]` : bare}/`).hostname.replace(/^\[|\]$/g, '');
}

function parseEntry(entry: string): AllowedHost {
  const invalid = () => new ConfigError([`HTTP_ACTION_ALLOWED_HOSTS: invalid entry ${entry}`]);
  const m = isIP(entry) === 6 ? [entry, entry] : /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
  if (!m) throw invalid();
  let host: string;
  try {
    host = canonicalHost(m[1]);
  } catch {
    throw invalid();
  }
  if (classifyAddress(host) === 'unspecified') {
    throw new ConfigError([`HTTP_ACTION_ALLOWED_HOSTS: ${entry} is not a host (it stands for every address of this machine); list the address to call`]);
  }
  return { host, port: m[2] ? Number(m[2]) : undefined };
}

/**
 * Where Relay's outbound calls (http.post, webhook deliveries) may go: hosts on HTTP_ACTION_ALLOWED_HOSTS (`host`,
 * `host:port`, `[v6]:port`). An address that is not public (loopback,
 * private, link-local, CGNAT, multicast, reserved, the IPv6 transition
 * ranges, or one of this machine's own addresses) is refused unless the
 * allowlist entry is that literal IP, so an allowlisted name cannot be
 * pointed (or DNS-rebound) at internal services. The unspecified addresses
 * (0.0.0.0, ::) reach every local port and are never a host: an entry of
 * them is a configuration error, and a URL or a name resolving to them is
 * refused.
 */
export class OutboundPolicy {
  private readonly allowed: AllowedHost[];

  /** `ownAddresses` is asked on every check: interfaces come and go while the worker runs. */
  constructor(
    allowlist: string,
    private readonly ownAddresses: () => string[] = interfaceAddresses,
  ) {
    this.allowed = allowlist
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean)
      .map(parseEntry);
  }

  /** The reason a URL is refused, or undefined when its host and port are allowlisted. */
  refuseUrl(url: URL): string | undefined {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs are allowed';
    if (url.username || url.password) return 'credentials in the URL are not allowed';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (classifyAddress(host) === 'unspecified') return `${host} is not a host`;
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    if (!this.allowed.some((a) => a.host === host && (a.port === undefined || a.port === port))) return `host ${host}:${port} is not on HTTP_ACTION_ALLOWED_HOSTS`;
    return undefined;
  }

  /**
   * Everything that can be checked before connecting: refuseUrl, and for a
   * host written as an IP the address itself (the socket skips the DNS
   * lookup for an IP host, so checkedLookup never sees it). A name's
   * addresses are checked at connect time by checkedLookup.
   */
  refuseTarget(url: URL): string | undefined {
    const refused = this.refuseUrl(url);
    if (refused) return refused;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return canonicalAddress(host) === undefined ? undefined : this.refuseAddress(host, host);
  }

  /** The reason `host` may not be reached at `address` (one it resolved to, or the host itself when an IP), or undefined. */
  refuseAddress(host: string, address: string): string | undefined {
    const canonical = canonicalAddress(address);
    if (canonical === undefined) return `host ${host} resolved to something that is not an IP address`;
    let kind: string = classifyAddress(canonical);
    if (kind === 'unspecified') return `host ${host} resolves to an unspecified address (0.0.0.0 or ::), which is never called`;
    if (kind === 'public' && this.isOwnAddress(canonical)) kind = "this machine's own";
    if (kind === 'public') return undefined;
    if (this.isListedLiteral(host, canonical)) return undefined;
    return `host ${host} resolves to a ${kind} address; private or loopback and other special-purpose addresses are allowed only when that IP itself is on HTTP_ACTION_ALLOWED_HOSTS`;
  }

  private isOwnAddress(address: string): boolean {
    const effective = effectiveAddress(address);
    return this.ownAddresses().some((own) => effectiveAddress(own) === effective);
  }

  /** The URL's host is this very IP, written as an IP, and an allowlist entry names it. */
  private isListedLiteral(host: string, canonical: string): boolean {
    const literal = canonicalAddress(host);
    return literal === canonical && this.allowed.some((a) => a.host === literal);
  }
}
