import { isPrivateAddress, OutboundPolicy } from './outbound-policy.js';

describe('outbound policy for http.post', () => {
  it('recognises private, loopback and link-local addresses', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1']) {
      expect([ip, isPrivateAddress(ip)]).toEqual([ip, true]);
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700::1111']) expect([ip, isPrivateAddress(ip)]).toEqual([ip, false]);
  });

  it('allows only allowlisted hosts and ports over http(s)', () => {
    const policy = new OutboundPolicy('api.example.com, hooks.example.com:8443');
    expect(policy.refuseUrl(new URL('https://api.example.com/x'))).toBeUndefined();
    expect(policy.refuseUrl(new URL('http://api.example.com:8080/x'))).toBeUndefined();
    expect(policy.refuseUrl(new URL('https://hooks.example.com:8443/'))).toBeUndefined();
    expect(policy.refuseUrl(new URL('https://hooks.example.com/'))).toMatch(/not on HTTP_ACTION_ALLOWED_HOSTS/);
    expect(policy.refuseUrl(new URL('https://evil.example.com/'))).toMatch(/not on/);
    expect(policy.refuseUrl(new URL('ftp://api.example.com/'))).toMatch(/only http/);
    expect(policy.refuseUrl(new URL('https://u:p@api.example.com/'))).toMatch(/credentials/);
  });

  it('refuses private addresses unless the literal IP is allowlisted', () => {
    const policy = new OutboundPolicy('internal.example.com,127.0.0.1:9000');
    expect(policy.refuseAddress('internal.example.com', '10.0.0.5')).toMatch(/private/);
    expect(policy.refuseAddress('internal.example.com', '93.184.216.34')).toBeUndefined();
    expect(policy.refuseAddress('127.0.0.1', '127.0.0.1')).toBeUndefined();
    expect(new OutboundPolicy('localhost').refuseAddress('localhost', '127.0.0.1')).toMatch(/private/);
  });

  it('refuses everything when the allowlist is empty', () => {
    expect(new OutboundPolicy('').refuseUrl(new URL('https://api.example.com/'))).toMatch(/not on/);
  });
});
