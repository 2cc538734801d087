import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalIp, clientAddress, formatV4, formatV4Groups, formatV6, groupsToBigInt, ipFamily, ipv4At, ipv6At, isDottedQuad, unbracket } from '../../src/net/ip.js';

describe('ipFamily', () => {
  it.each<[string, 0 | 4 | 6]>([
    ['10.1.1.7', 4],
    ['0.0.0.0', 4],
    ['255.255.255.255', 4],
    ['256.1.1.1', 0],
    ['010.1.1.1', 0], // leading zero: octal to inet_aton, so refused
    ['10.1.1', 0],
    ['10.1.1.1.', 0],
    ['::', 6],
    ['::1', 6],
    ['2001:DB8::1', 6],
    ['::ffff:10.1.1.5', 6],
    ['1:2:3:4:5:6:1.2.3.4', 6],
    ['1:2:3:4:5:6:7::', 6],
    ['1:2:3:4:5:6:7::8', 0], // "::" must stand for at least one group
    ['1::2::3', 0],
    [':::', 0],
    ['fe80::1%eth0', 6],
    ['fe80::1%', 0],
    ['10.1.1.1%eth0', 0],
    ['[::1]', 0], // brackets belong to URLs
    ['example.test', 0],
    ['', 0],
  ])('%j is family %i, as net.isIP says', (text, family) => {
    expect(ipFamily(text)).toBe(family);
    expect(isIP(text)).toBe(family);
  });

  it('agrees with net.isIP on generated addresses and near-misses', () => {
    const group = fc.integer({ min: 0, max: 0xffff }).map((g) => g.toString(16));
    const v6 = fc.array(group, { minLength: 8, maxLength: 8 }).chain((g) =>
      fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 8 })).map(([a, b]) => {
        const [from, to] = a <= b ? [a, b] : [b, a];
        return to - from >= 1 ? `${g.slice(0, from).join(':')}::${g.slice(to).join(':')}` : g.join(':');
      }));
    const v4 = fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 3, maxLength: 5 }).map((p) => p.join('.'));
    const noise = fc.string({ unit: fc.constantFrom('0', '1', 'a', 'f', ':', '.', '%', 'g') });
    fc.assert(fc.property(fc.oneof(v6, v4, noise), (text) => ipFamily(text) === isIP(text)), { numRuns: 3000 });
  });
});

describe('isDottedQuad and ipv4At', () => {
  it.each<[string, number]>([
    ['10.1.1.7', 0x0a010107],
    ['192.168.0.1', 0xc0a80001],
    ['255.255.255.255', 0xffffffff],
    ['1.2.3', -1],
    ['1.2.3.04', -1],
    ['1.2.3.4a', -1],
  ])('%j is %i', (text, value) => {
    expect(ipv4At(text, 0, text.length)).toBe(value);
    expect(isDottedQuad(text)).toBe(value >= 0);
  });

  it('reads an address in the middle of a longer text', () => {
    expect(ipv4At('::ffff:10.0.0.1', 7, 15)).toBe(0x0a000001);
  });
});

describe('ipv6At', () => {
  it.each<[string, number[] | undefined]>([
    ['::', [0, 0, 0, 0, 0, 0, 0, 0]],
    ['2001:db8::1', [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]],
    ['::ffff:10.1.1.5', [0, 0, 0, 0, 0, 0xffff, 0x0a01, 0x0105]],
    ['1:2:3:4:5:6:7:8', [1, 2, 3, 4, 5, 6, 7, 8]],
    ['12345::', undefined],
    [':1::', undefined],
  ])('%j is %j', (text, groups) => {
    expect(ipv6At(text, 0, text.length)).toEqual(groups);
  });
});

describe('formatting', () => {
  it.each<[number, string]>([[0, '0.0.0.0'], [0xffffff00, '255.255.255.0'], [0x0a010107, '10.1.1.7']])('formatV4(%i) is %s', (n, text) => {
    expect(formatV4(n)).toBe(text);
  });

  it.each<[number, number, string]>([[0x0a01, 0x0105, '10.1.1.5'], [0xc0a8, 0xffff, '192.168.255.255'], [0, 0, '0.0.0.0']])('formatV4Groups(%i, %i) is %s', (hi, lo, text) => {
    expect(formatV4Groups(hi, lo)).toBe(text);
  });

  it.each<[string, string]>([
    ['2001:0DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'], // the longest run
    ['1:0:0:1:1:0:0:1', '1::1:1:0:0:1'], // the first on a tie
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'], // one zero group is not compressed
  ])('formatV6(%s) is %s', (text, out) => {
    expect(formatV6(groupsToBigInt(ipv6At(text, 0, text.length)!))).toBe(out);
  });
});

describe('canonicalIp', () => {
  it.each<[string, string | null]>([
    ['127.0.0.1', '127.0.0.1'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['[2001:DB8:0:0::1]', '2001:db8::1'],
    ['::ffff:1.2.3.4', '::ffff:102:304'], // embedded IPv4 in hexadecimal, as the URL parser writes it
    ['fe80::1%eth0', 'fe80::1'], // the zone names a local interface
    ['example.test', null],
    ['10.0.0.300', null],
  ])('%j is %j', (host, out) => {
    expect(canonicalIp(host)).toBe(out);
  });

  it('writes IPv6 as the URL parser does', () => {
    const groups = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 });
    fc.assert(fc.property(groups, (g) => {
      const text = g.map((x) => x.toString(16)).join(':');
      return canonicalIp(text) === new URL(`http://[${text}]/`).hostname.slice(1, -1);
    }), { numRuns: 2000 });
  });
});

describe('clientAddress and unbracket', () => {
  it.each<[string | undefined, string]>([
    ['::ffff:10.9.8.7', '10.9.8.7'],
    ['::FFFF:10.9.8.7', '10.9.8.7'],
    ['::ffff:999.1.1.1', '::ffff:999.1.1.1'], // not an IPv4 client: left for the caller to refuse
    ['::ffff:a09:807', '::ffff:a09:807'],
    ['2001:db8::1', '2001:db8::1'],
    ['10.1.1.1', '10.1.1.1'],
    [undefined, ''],
  ])('clientAddress(%j) is %j', (address, out) => {
    expect(clientAddress(address)).toBe(out);
  });

  it.each([['[::1]', '::1'], ['::1', '::1'], ['[::1', '[::1'], ['host.test', 'host.test']])('unbracket(%j) is %j', (host, out) => {
    expect(unbracket(host)).toBe(out);
  });
});
