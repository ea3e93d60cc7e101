import { ConfigError } from '@relay/config';
import { interfaceAddresses, OutboundPolicy } from './outbound-policy.js';

/** A policy for a machine with loopback and one public address of its own (given explicitly, not this machine's). */
const OWN_PUBLIC = '93.184.216.34';
const policy = (allowlist: string, own: string[] = ['127.0.0.1', '::1', OWN_PUBLIC]) => new OutboundPolicy(allowlist, () => own);

describe('outbound policy for http.post', () => {
  it('allows only allowlisted hosts and ports over http(s)', () => {
    const p = policy('api.example.com, hooks.example.com:8443');
    expect(p.refuseUrl(new URL('https://api.example.com/x'))).toBeUndefined();
    expect(p.refuseUrl(new URL('http://api.example.com:8080/x'))).toBeUndefined();
    expect(p.refuseUrl(new URL('https://hooks.example.com:8443/'))).toBeUndefined();
    expect(p.refuseUrl(new URL('https://HOOKS.example.com:8443/'))).toBeUndefined();
    expect(p.refuseUrl(new URL('https://hooks.example.com/'))).toMatch(/not on HTTP_ACTION_ALLOWED_HOSTS/);
    expect(p.refuseUrl(new URL('https://evil.example.com/'))).toMatch(/not on/);
    expect(p.refuseUrl(new URL('ftp://api.example.com/'))).toMatch(/only http/);
    expect(p.refuseUrl(new URL('https://u:p@api.example.com/'))).toMatch(/credentials/);
  });

  it('refuses everything when the allowlist is empty', () => {
    expect(policy('').refuseUrl(new URL('https://api.example.com/'))).toMatch(/not on/);
  });

  describe('an allowlist entry for the unspecified address is a configuration error naming HTTP_ACTION_ALLOWED_HOSTS', () => {
    it.each(['0.0.0.0', '0.0.0.0:6379', '0', '::', '[::]', '[::]:6379', '0:0:0:0:0:0:0:0', '[::ffff:0.0.0.0]:80', 'api.example.com,0.0.0.0'])('%s', (entry) => {
      expect(() => policy(entry)).toThrow(ConfigError);
      expect(() => policy(entry)).toThrow(/HTTP_ACTION_ALLOWED_HOSTS: .* is not a host/);
    });
  });

  it('refuses malformed entries, and accepts a bare or bracketed IPv6 literal', () => {
    expect(() => policy('a:b:c')).toThrow(/HTTP_ACTION_ALLOWED_HOSTS: invalid entry a:b:c/);
    expect(() => policy('ex[ample')).toThrow(/invalid entry/);
    expect(policy('::1').refuseUrl(new URL('http://[::1]:9000/'))).toBeUndefined();
    expect(policy('[::1]:9000').refuseUrl(new URL('http://[0:0::1]:9000/'))).toBeUndefined();
    expect(policy('[::1]:9000').refuseUrl(new URL('http://[::1]:9001/'))).toMatch(/not on/);
  });

  it('never takes an unspecified URL host for an allowlisted one', () => {
    const p = policy('127.0.0.1,api.example.com');
    for (const url of ['http://0.0.0.0/', 'http://0/', 'http://[::]/', 'http://[::ffff:0.0.0.0]/']) {
      expect([url, p.refuseUrl(new URL(url))]).toEqual([url, expect.stringMatching(/is not a host/)]);
    }
    expect(p.refuseAddress('api.example.com', '0.0.0.0')).toMatch(/unspecified address .* never called/);
    expect(p.refuseAddress('api.example.com', '::')).toMatch(/unspecified/);
  });

  /** [allowlist, host in the URL, address it resolves to (the host itself for an IP), allowed?] */
  const addressTable: [string, string, string, boolean][] = [
    // a name resolving to a public address
    ['api.example.com', 'api.example.com', '8.8.8.8', true],
    ['api.example.com', 'api.example.com', '2606:4700::1111', true],
    ['api.example.com', 'api.example.com', '::ffff:8.8.8.8', true],
    // a name resolving to anything that is not public is refused
    ['api.example.com', 'api.example.com', '127.0.0.1', false],
    ['api.example.com', 'api.example.com', '::1', false],
    ['api.example.com', 'api.example.com', '10.0.0.5', false],
    ['api.example.com', 'api.example.com', '169.254.169.254', false],
    ['api.example.com', 'api.example.com', '100.64.1.1', false],
    ['api.example.com', 'api.example.com', '224.0.0.1', false],
    ['api.example.com', 'api.example.com', '240.0.0.1', false],
    ['api.example.com', 'api.example.com', 'fd12::1', false],
    ['api.example.com', 'api.example.com', 'fe80::1%eth0', false],
    ['api.example.com', 'api.example.com', '::ffff:127.0.0.1', false],
    ['api.example.com', 'api.example.com', '64:ff9b::7f00:1', false],
    ['api.example.com', 'api.example.com', '64:ff9b::808:808', false],
    ['api.example.com', 'api.example.com', '2002:7f00:1::1', false],
    ['api.example.com', 'api.example.com', '2001:0:4136:e378:8000:63bf:3fff:fdd2', false],
    ['api.example.com', 'api.example.com', '::127.0.0.1', false],
    ['api.example.com', 'api.example.com', 'not-an-ip', false],
    // this machine's own addresses, even public ones, in any spelling
    ['api.example.com', 'api.example.com', OWN_PUBLIC, false],
    ['api.example.com', 'api.example.com', `::ffff:${OWN_PUBLIC}`, false],
    ['localhost', 'localhost', '127.0.0.1', false],
    // a literal-IP entry allows exactly that address, whatever its class
    ['127.0.0.1:9000', '127.0.0.1', '127.0.0.1', true],
    ['10.0.0.5', '10.0.0.5', '10.0.0.5', true],
    ['[::1]:9000', '::1', '::1', true],
    ['[64:ff9b::7f00:1]', '64:ff9b::7f00:1', '64:ff9b::7f00:1', true],
    ['[2002:7f00:1::1]', '2002:7f00:1::1', '2002:7f00:1::1', true],
    [OWN_PUBLIC, OWN_PUBLIC, OWN_PUBLIC, true],
    // ... and no other spelling or neighbour of it
    ['127.0.0.1', '::ffff:7f00:1', '::ffff:7f00:1', false],
    ['127.0.0.1', '127.0.0.2', '127.0.0.2', false],
    ['10.0.0.5', 'api.example.com', '10.0.0.5', false],
  ];

  it.each(addressTable)('allowlist %s: %s at %s allowed=%s', (allowlist, host, address, allowed) => {
    const reason = policy(allowlist).refuseAddress(host, address);
    if (allowed) expect(reason).toBeUndefined();
    else expect(reason).toMatch(/resolve/);
  });

  it('names the kind of address a host was refused for', () => {
    const p = policy('api.example.com');
    expect(p.refuseAddress('api.example.com', '10.0.0.5')).toMatch(/a private address/);
    expect(p.refuseAddress('api.example.com', '64:ff9b::7f00:1')).toMatch(/a NAT64 address/);
    expect(p.refuseAddress('api.example.com', OWN_PUBLIC)).toMatch(/this machine's own address/);
  });

  it('asks for the machine\'s addresses on every check (interfaces change while the worker runs)', () => {
    let own: string[] = [];
    const p = new OutboundPolicy('api.example.com', () => own);
    expect(p.refuseAddress('api.example.com', OWN_PUBLIC)).toBeUndefined();
    own = [OWN_PUBLIC];
    expect(p.refuseAddress('api.example.com', OWN_PUBLIC)).toMatch(/own address/);
  });

  it('by default refuses every address of this machine\'s real interfaces for an allowlisted name', () => {
    const addresses = interfaceAddresses();
    expect(addresses).toEqual(expect.arrayContaining(['127.0.0.1']));
    const p = new OutboundPolicy('api.example.com');
    for (const address of addresses) expect([address, p.refuseAddress('api.example.com', address)]).toEqual([address, expect.stringMatching(/resolves to/)]);
  });
});
