import { isTrustProxySetting, trustProxyValue } from './trust-proxy.js';

describe('TRUST_PROXY', () => {
  it.each(['off', '1', '2', 'loopback', '10.0.0.0/8', '10.0.0.1, 192.168.0.0/16', 'loopback,uniquelocal', '::1', 'fd00::/8'])('accepts %s', (value) => {
    expect(isTrustProxySetting(value)).toBe(true);
  });

  it.each(['', 'on', 'true', '0', '100', 'abc', '10.0.0.0/33', '10.0.0.0/8/1', '::1/129', '10.0.0.1,', 'loopback, nope'])('refuses %j', (value) => {
    expect(isTrustProxySetting(value)).toBe(false);
  });

  it('turns the setting into what Express takes: false, a hop count, or the list', () => {
    expect(trustProxyValue('off')).toBe(false);
    expect(trustProxyValue('2')).toBe(2);
    expect(trustProxyValue('loopback, 10.0.0.0/8')).toBe('loopback, 10.0.0.0/8');
  });
});
