import { canonicalAddress, classifyAddress, effectiveAddress, type AddressClass } from './address-class.js';

describe('classifyAddress', () => {
  const table: [string, AddressClass][] = [
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['2606:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['0:0:0:0:0:0:0:0', 'unspecified'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'reserved'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd00::1', 'private'],
    ['fc00::1', 'private'],
    ['fec0::1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.255', 'shared (CGNAT)'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.51.100.1', 'reserved'],
    ['203.0.113.1', 'reserved'],
    ['100::1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['2001:2::1', 'reserved'],
    ['3fff::1', 'reserved'],
    ['5f00::1', 'reserved'], // outside global unicast 2000::/3
    ['::ffff:0:7f00:1', 'reserved'], // IPv4-translated (SIIT), outside 2000::/3
    // NAT64, 6to4, Teredo and IPv4-compatible: refused whatever IPv4 they carry
    ['64:ff9b::7f00:1', 'NAT64'],
    ['64:ff9b::8.8.8.8', 'NAT64'],
    ['64:ff9b:1::a00:1', 'NAT64'],
    ['2002:7f00:1::1', '6to4'],
    ['2002:808:808::1', '6to4'],
    ['192.88.99.1', '6to4'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['2001::1', 'Teredo'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['::8.8.8.8', 'IPv4-compatible'],
    ['::a00:1', 'IPv4-compatible'],
    // IPv4-mapped: the IPv4 address inside decides, in every spelling
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:0001', 'loopback'],
    ['::FFFF:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:8.8.8.8', 'public'],
    // not an IP address at all
    ['localhost', 'reserved'],
    ['', 'reserved'],
    ['1.2.3', 'reserved'],
  ];

  it.each(table)('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });
});

describe('canonicalAddress', () => {
  it('writes every spelling of an address the way a URL host is written, and refuses what is not an IP', () => {
    expect(canonicalAddress('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalAddress('[::1]')).toBe('::1');
    expect(canonicalAddress('::FFFF:127.0.0.1')).toBe('::ffff:7f00:1');
    expect(canonicalAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalAddress('127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalAddress('example.com')).toBeUndefined();
    expect(canonicalAddress('0x7f.1')).toBeUndefined();
  });
});

describe('effectiveAddress', () => {
  it('is the IPv4 address inside an IPv4-mapped one, in any spelling, else the canonical address', () => {
    expect(effectiveAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(effectiveAddress('::FFFF:7f00:1')).toBe('127.0.0.1');
    expect(effectiveAddress('::ffff:0:0')).toBe('0.0.0.0');
    expect(effectiveAddress('::ffff:ffff:ffff')).toBe('255.255.255.255');
    expect(effectiveAddress('64:ff9b::7f00:1')).toBe('64:ff9b::7f00:1');
    expect(effectiveAddress('8.8.8.8')).toBe('8.8.8.8');
    expect(effectiveAddress('example.com')).toBeUndefined();
  });
});
