import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { AuthMode } from '../../src/identity/networks.js';
import { parseCidr } from '../../src/net/cidr.js';
import { NetworkMap, NetworkRuleError, type NetworkRule } from '../../src/net/network-map.js';

// ---------------------------------------------------------------------------------------------
// parseCidr: what a technician may write, and what it means.

// [written, family, bits, normalised text]
const ACCEPTED: [string, 4 | 6, number, string][] = [
  // the school's own ranges
  ['10.1.1.0/24', 4, 24, '10.1.1.0/24'],
  ['192.168.50.0/23', 4, 23, '192.168.50.0/23'],
  ['10.2.0.0/16', 4, 16, '10.2.0.0/16'],
  ['2001:db8:10::/48', 6, 48, '2001:db8:10::/48'],
  // a bare address is one host
  ['10.1.1.7', 4, 32, '10.1.1.7/32'],
  ['10.1.1.7/32', 4, 32, '10.1.1.7/32'],
  ['2001:db8::1', 6, 128, '2001:db8::1/128'],
  ['::1', 6, 128, '::1/128'],
  ['::', 6, 128, '::/128'],
  // extremes of the IPv4 space (high octets check the arithmetic stays unsigned)
  ['0.0.0.0/0', 4, 0, '0.0.0.0/0'],
  ['0.0.0.0', 4, 32, '0.0.0.0/32'],
  ['255.255.255.255', 4, 32, '255.255.255.255/32'],
  ['128.0.0.0/1', 4, 1, '128.0.0.0/1'],
  ['255.255.255.254/31', 4, 31, '255.255.255.254/31'],
  ['224.0.0.0/4', 4, 4, '224.0.0.0/4'],
  // a prefix length with a leading zero is still unambiguous
  ['10.1.1.0/024', 4, 24, '10.1.1.0/24'],
  // IPv6 spellings normalise to RFC 5952: lower case, no leading zeros, longest zero run as "::"
  ['2001:db8::/32', 6, 32, '2001:db8::/32'],
  ['2001:DB8:10::/48', 6, 48, '2001:db8:10::/48'],
  ['2001:0db8:0010:0000::/48', 6, 48, '2001:db8:10::/48'],
  ['2001:db8:10:0:0:0:0:0/48', 6, 48, '2001:db8:10::/48'],
  ['2001:db8:0:0:1:0:0:1', 6, 128, '2001:db8::1:0:0:1/128'], // tie: the first run is compressed
  ['2001:0:0:1:0:0:0:1', 6, 128, '2001:0:0:1::1/128'], // the longer run is compressed
  ['2001:db8:0:1:1:1:1:1', 6, 128, '2001:db8:0:1:1:1:1:1/128'], // one zero group stays
  ['1:2:3:4:5:6:7::', 6, 128, '1:2:3:4:5:6:7:0/128'],
  ['::2:3:4:5:6:7:8', 6, 128, '0:2:3:4:5:6:7:8/128'],
  ['::/0', 6, 0, '::/0'],
  ['fe80::/10', 6, 10, 'fe80::/10'],
  ['FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF/128', 6, 128, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'],
  ['64:ff9b::/96', 6, 96, '64:ff9b::/96'], // NAT64 is real IPv6, not mapped
  ['2001:db8::0.0.0.1', 6, 128, '2001:db8::1/128'], // a dotted tail is just the last 32 bits
  ['::1.2.3.4', 6, 128, '::102:304/128'], // IPv4-compatible (obsolete) is not mapped
  // IPv4-mapped prefixes of /96 or longer are the IPv4 networks they cover, because lookup
  // turns mapped client addresses into IPv4 (that is how dual-stack sockets report them)
  ['::ffff:10.0.0.0/104', 4, 8, '10.0.0.0/8'],
  ['::ffff:10.1.1.7', 4, 32, '10.1.1.7/32'],
  ['::FFFF:a01:100/120', 4, 24, '10.1.1.0/24'],
  ['0:0:0:0:0:ffff:192.168.50.0/119', 4, 23, '192.168.50.0/23'],
  ['::ffff:0:0/96', 4, 0, '0.0.0.0/0'],
  // shorter than /96 it reaches beyond the mapped block, so it stays an IPv6 network
  ['::fffe:0:0/95', 6, 95, '::fffe:0:0/95'],
];

describe('parseCidr accepts', () => {
  it.each(ACCEPTED)('%s', (written, family, bits, text) => {
    expect(parseCidr(written)).toEqual({ family, bits, text });
  });

  it.each(ACCEPTED)('%s: its normalised text parses to itself', (written) => {
    const first = parseCidr(written);
    if ('error' in first) throw new Error(first.error);
    expect(parseCidr(first.text)).toEqual(first);
  });
});

// [written, part of the error, part of the fix]. One or more rows per message parseCidr can give.
const REJECTED: [string, string, string][] = [
  // empty
  ['', 'no network given', 'address/prefix-length'],
  ['   ', 'no network given', 'address/prefix-length'],
  // spaces: the fix is the closed-up form when that works, otherwise the next problem's fix
  ['10.1.1.0 /24', '"10.1.1.0 /24" contains spaces', 'write "10.1.1.0/24"'],
  ['10.1.1.0/ 24', 'contains spaces', 'write "10.1.1.0/24"'],
  [' 10.1.1.0/24', 'contains spaces', 'write "10.1.1.0/24"'],
  ['10.1.1.0/24 ', 'contains spaces', 'write "10.1.1.0/24"'],
  ['10.1.1.0\t/24', 'contains spaces', 'write "10.1.1.0/24"'],
  ['10.1.1.0\u00a0/24', 'contains spaces', 'write "10.1.1.0/24"'], // non-breaking space pasted from a document
  ['2001:db8:10:: /48', 'contains spaces', 'write "2001:db8:10::/48"'],
  ['10.1.1.7 / 24', 'contains spaces', 'remove the spaces; then: for the whole network write "10.1.1.0/24"'],
  // host bits set: say both things that might have been meant
  ['10.1.1.7/24', '"10.1.1.7/24" has host bits set: 10.1.1.7 is an address inside the network 10.1.1.0/24', 'for the whole network write "10.1.1.0/24"; for that one address write "10.1.1.7"'],
  ['192.168.51.0/23', 'inside the network 192.168.50.0/23', 'write "192.168.50.0/23"'],
  ['10.2.3.0/16', 'inside the network 10.2.0.0/16', 'write "10.2.0.0/16"'],
  ['10.0.0.0/0', 'inside the network 0.0.0.0/0', 'write "0.0.0.0/0"'],
  ['255.255.255.255/31', 'inside the network 255.255.255.254/31', 'write "255.255.255.254/31"'],
  ['2001:db8:10::1/48', 'inside the network 2001:db8:10::/48', 'for the whole network write "2001:db8:10::/48"; for that one address write "2001:db8:10::1"'],
  ['::1/0', 'inside the network ::/0', 'write "::/0"'],
  ['::ffff:10.1.1.7/120', 'inside the network 10.1.1.0/24', 'write "10.1.1.0/24"'],
  ['::ffff:0:0/95', 'inside the network ::fffe:0:0/95', 'write "::fffe:0:0/95"'],
  // prefix too long
  ['10.1.1.0/33', 'prefix length /33 in "10.1.1.0/33" is longer than 32, the number of bits in an IPv4 address', 'from 0 to 32'],
  ['10.1.1.0/999', 'longer than 32', 'from 0 to 32'],
  ['2001:db8::/129', 'prefix length /129 in "2001:db8::/129" is longer than 128, the number of bits in an IPv6 address', 'from 0 to 128'],
  ['::ffff:10.0.0.0/129', 'longer than 128', 'from 0 to 128'],
  // prefix missing or not a number
  ['10.1.1.0/', '"10.1.1.0/" has no prefix length after the "/"', 'e.g. "10.1.1.0/24"'],
  ['2001:db8::/', 'has no prefix length', 'e.g. "2001:db8::/64"'],
  ['10.1.1.0/abc', '"abc" in "10.1.1.0/abc" is not a prefix length', '0 to 32, e.g. "10.1.1.0/24"'],
  ['10.1.1.0/-1', '"-1" in "10.1.1.0/-1" is not a prefix length', '0 to 32'],
  ['10.1.1.0/24.5', 'is not a prefix length', '0 to 32'],
  ['2001:db8::/x', 'is not a prefix length', '0 to 128, e.g. "2001:db8::/64"'],
  ['10.1.1.0/24/8', '"10.1.1.0/24/8" has more than one "/"', 'address/prefix-length'],
  ['/24', '"/24" has no address before the "/"', 'address/prefix-length'],
  // netmasks where a prefix length belongs
  ['10.1.1.0/255.255.255.0', '"10.1.1.0/255.255.255.0" gives a netmask (255.255.255.0) where a prefix length belongs', 'write "10.1.1.0/24"'],
  ['192.168.50.0/255.255.254.0', 'gives a netmask', 'write "192.168.50.0/23"'],
  ['10.1.1.7/255.255.255.255', 'gives a netmask', 'write "10.1.1.7/32"'],
  ['0.0.0.0/0.0.0.0', 'gives a netmask', 'write "0.0.0.0/0"'],
  ['10.1.1.0/0.0.0.255', '"0.0.0.255" in "10.1.1.0/0.0.0.255" is not a netmask: its one bits are not all at the start', 'write a prefix length instead'],
  // bad IPv4 addresses
  ['10.1.1.256/24', '"256" in "10.1.1.256/24" is not a number from 0 to 255', 'four numbers from 0 to 255'],
  ['300.1.1.0/24', '"300" in "300.1.1.0/24" is not a number from 0 to 255', 'four numbers from 0 to 255'],
  ['10.1.1.x', '"x" in "10.1.1.x" is not a number from 0 to 255', 'four numbers from 0 to 255'],
  ['10.1.1.-1/24', 'is not a number from 0 to 255', 'four numbers'], // "-" here is not a range: one end is not an address
  ['10.1.1/24', '"10.1.1" in "10.1.1/24" has 3 parts; an IPv4 address has 4', 'write all four parts'],
  ['10.1/16', 'has 2 parts', 'write all four parts'],
  ['10.1.1.0.0/24', 'has 5 parts', 'four numbers from 0 to 255'],
  ['10..1.0/24', '"10..1.0" in "10..1.0/24" has an empty part between dots', 'four numbers'],
  ['10.1.1.', 'has an empty part between dots', 'four numbers'],
  ['010.1.1.0/24', '"010.1.1.0" in "010.1.1.0/24" has a number with a leading zero, which some systems read as octal', 'write "10.1.1.0/24" if decimal was meant'],
  ['10.01.1.0', 'leading zero', 'write "10.1.1.0" if decimal'],
  ['0x0a.1.1.0/24', '"0x0a" in "0x0a.1.1.0/24" is not a number from 0 to 255', 'four numbers'],
  // not addresses at all
  ['ks1-suite', '"ks1-suite" is not an IP address (rules match client addresses, not host names)', 'address/prefix-length'],
  ['localhost', 'is not an IP address', 'address/prefix-length'],
  ['school.example/24', '"school.example" in "school.example/24" is not an IP address', 'address/prefix-length'],
  ['10,1,1,0/24', 'is not an IP address', 'address/prefix-length'],
  ['１０.1.1.0/24', '"１０" in "１０.1.1.0/24" is not a number from 0 to 255', 'four numbers'], // full-width digits
  // bad IPv6 addresses
  ['1::2::3/64', '"1::2::3" in "1::2::3/64" uses "::" more than once', 'keep one "::"'],
  ['2001:db8::g/32', '"g" in "2001:db8::g/32" is not an IPv6 group (1 to 4 hex digits, 0-9 and a-f)', '8 groups of 1 to 4 hex digits'],
  ['2001:db8:12345::/48', '"12345" in "2001:db8:12345::/48" is not an IPv6 group', 'hex digits'],
  ['::ffff:1.2.3/120', '"1.2.3" in "::ffff:1.2.3/120" is not a valid IPv4 address to end an IPv6 address with', 'all four parts'],
  ['::ffff:1.2.3.256', 'is not a valid IPv4 address to end an IPv6 address with', 'each 0 to 255'],
  ['1:2:3:4:5:6:7:8:9', '"1:2:3:4:5:6:7:8:9" has 9 groups; an IPv6 address has 8', '8 groups'],
  ['2001:db8:1:2:3:4:5/128', 'has 7 groups; an IPv6 address has 8, or fewer with "::"', '8 groups'],
  ['1:2:3:4:5:6:7::8', 'has 8 groups and a "::", but "::" must stand for at least one zero group', 'drop the "::" or a group'],
  ['1:2:3:4:5:6::1.2.3.4', 'has 8 groups and a "::"', 'drop the "::"'],
  [':1:2:3:4:5:6:7', 'starts or ends with a single ":"', 'e.g. "::1"'],
  ['2001:db8:1:2:3:4:5:', 'starts or ends with a single ":"', 'use "::"'],
  // things that belong to other notations
  ['fe80::%eth0/64', '"fe80::%eth0/64" has a zone id ("%eth0"), which names an interface, not a network', 'leave it out: "fe80::/64"'],
  ['fe80::1%eth0', 'has a zone id ("%eth0")', 'leave it out: "fe80::1"'],
  ['[2001:db8::]/32', '"[2001:db8::]/32" has brackets, which belong in URLs, not networks', 'leave them out: "2001:db8::/32"'],
  ['10.1.1.*', '"10.1.1.*" uses "*" wildcards', 'write "10.1.1.0/24"'],
  ['10.*.*.*', 'uses "*" wildcards', 'write "10.0.0.0/8"'],
  ['10.*.1.*', 'uses "*" wildcards', 'address/prefix-length'],
  ['10.1.1.0-10.1.1.255', '"10.1.1.0-10.1.1.255" is a range written first-last; rules are networks written address/prefix-length', 'write "10.1.1.0/24"'],
  ['192.168.50.0-192.168.51.255', 'is a range', 'write "192.168.50.0/23"'],
  ['10.1.1.7-10.1.1.7', 'is a range', 'write "10.1.1.7/32"'],
  ['10.1.1.10-10.1.1.50', 'is a range', 'write it as 6 rules with the same value: "10.1.1.10/31", "10.1.1.12/30", "10.1.1.16/28", "10.1.1.32/28", "10.1.1.48/31", "10.1.1.50/32"'],
  ['10.1.1.1-10.1.2.254', 'is a range', 'write the networks that cover it as separate rules (it starts with "10.1.1.1/32")'],
  ['2001:db8::-2001:db8::ffff', 'is a range', 'write "2001:db8::/112"'],
  ['10.1.1.50-10.1.1.10', 'is a range', 'put the lower address first'],
  ['10.1.1.0-2001:db8::', 'is a range', 'same family'],
];

describe('parseCidr rejects, saying what is wrong and how to fix it', () => {
  it.each(REJECTED)('%j', (written, error, fix) => {
    const r = parseCidr(written);
    if (!('error' in r)) throw new Error(`accepted as ${r.text}`);
    expect(r.error).toContain(error);
    expect(r.fix).toContain(fix);
  });

  // Config arrives from YAML, where a number or null can slip through a schema.
  it.each([[24], [null], [undefined], [{ cidr: '10.1.1.0/24' }]])('non-text %j', (value) => {
    const r = parseCidr(value as unknown as string);
    expect(r).toMatchObject({ error: expect.stringContaining('expected the network as text'), fix: expect.stringContaining('address/prefix-length') });
  });
});

// ---------------------------------------------------------------------------------------------
// NetworkMap.lookup: the school's map, with ranges nested inside each other.

const SCHOOL: NetworkRule<string>[] = [
  { cidr: '10.0.0.0/8', value: 'school' }, // everything on site not named below
  { cidr: '10.1.1.0/24', value: 'ks1' },
  { cidr: '10.1.1.16/28', value: 'ks1-ipads' }, // inside ks1
  { cidr: '10.1.1.20', value: 'ks1-teacher' }, // inside the iPads' /28
  { cidr: '192.168.50.0/23', value: 'guest' },
  { cidr: '10.2.0.0/16', value: 'staff' },
  { cidr: '2001:db8:10::/48', value: 'ks2' },
  { cidr: '2001:DB8:10:5::/64', value: 'ks2-lab' }, // inside ks2
  { cidr: '2001:db8:10:5::1', value: 'ks2-lab-printer' }, // inside the lab
  { cidr: 'fe80::/10', value: 'link-local' },
];

// [client address as Node would report it (or worse), expected value]
const LOOKUPS: [string, string | undefined][] = [
  // KS1 /24: first, last, one outside each end (caught by the /8 around it)
  ['10.1.1.0', 'ks1'],
  ['10.1.1.255', 'ks1'],
  ['10.1.0.255', 'school'],
  ['10.1.2.0', 'school'],
  ['10.1.1.5', 'ks1'],
  // the /28 inside it: the longer prefix wins
  ['10.1.1.15', 'ks1'],
  ['10.1.1.16', 'ks1-ipads'],
  ['10.1.1.31', 'ks1-ipads'],
  ['10.1.1.32', 'ks1'],
  // the /32 inside the /28
  ['10.1.1.19', 'ks1-ipads'],
  ['10.1.1.20', 'ks1-teacher'],
  ['10.1.1.21', 'ks1-ipads'],
  // guest /23 spans an octet boundary
  ['192.168.50.0', 'guest'],
  ['192.168.50.255', 'guest'],
  ['192.168.51.0', 'guest'],
  ['192.168.51.255', 'guest'],
  ['192.168.49.255', undefined],
  ['192.168.52.0', undefined],
  // staff /16
  ['10.2.0.0', 'staff'],
  ['10.2.255.255', 'staff'],
  ['10.1.255.255', 'school'],
  ['10.3.0.0', 'school'],
  // the /8 itself
  ['10.0.0.0', 'school'],
  ['10.255.255.255', 'school'],
  ['9.255.255.255', undefined],
  ['11.0.0.0', undefined],
  ['0.0.0.0', undefined],
  ['255.255.255.255', undefined],
  // IPv4-mapped IPv6: how a dual-stack listener reports IPv4 clients; must match IPv4 rules
  ['::ffff:10.1.1.5', 'ks1'],
  ['::FFFF:10.1.1.17', 'ks1-ipads'],
  ['::ffff:10.1.1.20', 'ks1-teacher'],
  ['::ffff:192.168.51.255', 'guest'],
  ['::ffff:192.168.52.0', undefined],
  ['::ffff:10.2.0.1', 'staff'],
  ['::ffff:a01:105', 'ks1'], // the same address with the IPv4 part in hex
  ['0:0:0:0:0:ffff:10.1.1.5', 'ks1'],
  ['0000:0000:0000:0000:0000:ffff:0a01:0105', 'ks1'],
  ['::ffff:10.1.1.5%eth0', 'ks1'],
  // look-alikes that are not mapped addresses, so not IPv4
  ['::10.1.1.5', undefined], // IPv4-compatible (obsolete)
  ['::fffe:10.1.1.5', undefined],
  ['64:ff9b::10.1.1.5', undefined], // NAT64
  ['1::ffff:10.1.1.5', undefined],
  // KS2 /48: first, last, one outside each end
  ['2001:db8:10::', 'ks2'],
  ['2001:db8:10:ffff:ffff:ffff:ffff:ffff', 'ks2'],
  ['2001:db8:f:ffff:ffff:ffff:ffff:ffff', undefined],
  ['2001:db8:11::', undefined],
  // the same address written every way IPv6 allows
  ['2001:db8:10::1', 'ks2'],
  ['2001:db8:10:0::1', 'ks2'],
  ['2001:DB8:10::1', 'ks2'],
  ['2001:0db8:0010:0000:0000:0000:0000:0001', 'ks2'],
  ['2001:db8:10:0:0:0:0:1', 'ks2'],
  ['2001:db8:10::0.0.0.1', 'ks2'],
  ['2001:Db8:0010::0:1', 'ks2'],
  // the /64 inside it, and the /128 inside that
  ['2001:db8:10:4:ffff:ffff:ffff:ffff', 'ks2'],
  ['2001:db8:10:5::', 'ks2-lab'],
  ['2001:db8:10:5::2', 'ks2-lab'],
  ['2001:db8:10:5:ffff:ffff:ffff:ffff', 'ks2-lab'],
  ['2001:db8:10:6::', 'ks2'],
  ['2001:db8:10:5::1', 'ks2-lab-printer'],
  ['2001:db8:10:5:0:0:0:1', 'ks2-lab-printer'],
  // zone ids are ignored: they name the interface, not the address
  ['2001:db8:10:5::1%eth0', 'ks2-lab-printer'],
  ['fe80::1%eth0', 'link-local'],
  ['fe80::1%25', 'link-local'],
  ['FE80::ABCD%wlan0', 'link-local'],
  ['febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff%1', 'link-local'],
  ['fec0::1', undefined],
  ['fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff', undefined],
  ['::1', undefined],
  ['::', undefined],
];

// Anything that is not an address Node could report: never a match, never an exception.
const GARBAGE: string[] = [
  '', ' ', '10.1.1.5 ', ' 10.1.1.5', '10.1.1.5\n', '10.1.1', '10.1.1.256', '10.1.1.5.6', '1.2.3.4.',
  '.1.2.3', '010.1.1.5', '10.01.1.5', '0x0a.1.1.5', '10.1.1.5/32', '10.1.1.5:3128', '10.1.1.5%eth0',
  '１０.1.1.5', 'localhost', 'ks1', 'undefined', '[2001:db8:10::1]', '[::ffff:10.1.1.5]:3128',
  '2001:db8:10::1::1', '2001:db8:10::g', '2001:db8:10::12345', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7::8', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', ':::', ':', '::::', '.', '....', 'fe80::1%',
  '%eth0', '::ffff:10.1.1', '::ffff:10.1.1.5.6', '::ffff:10.1.1.256', '::ffff:010.1.1.5',
  '10.1.1.5::', '::10.1.1.5:1', '1:2:3:4:5:6:7:10.1.1.5', '2001:db8:10::/48', 'x'.repeat(100_000),
  '1.'.repeat(50_000), ':'.repeat(50_000),
];

describe('NetworkMap.lookup', () => {
  const map = new NetworkMap(SCHOOL);

  it.each(LOOKUPS)('%s → %s', (address, expected) => {
    expect(map.lookup(address)).toBe(expected);
  });

  it.each(GARBAGE.map((g) => [g.length > 60 ? `${g.slice(0, 20)}… (${g.length} chars)` : g, g]))('garbage %j gives undefined', (_label, address) => {
    expect(map.lookup(address)).toBeUndefined();
  });

  // socket.remoteAddress is undefined once a socket has gone; lookup must still not throw.
  it.each([[undefined], [null], [42], [{}], [['10.1.1.5']]])('non-string %j gives undefined', (value) => {
    expect(map.lookup(value as unknown as string)).toBeUndefined();
  });

  it('match() names the network that won', () => {
    expect(map.match('10.1.1.20')).toEqual({ network: '10.1.1.20/32', value: 'ks1-teacher' });
    expect(map.match('::ffff:10.1.1.17')).toEqual({ network: '10.1.1.16/28', value: 'ks1-ipads' });
    expect(map.match('2001:DB8:10:5::9%eth0')).toEqual({ network: '2001:db8:10:5::/64', value: 'ks2-lab' });
    expect(map.match('8.8.8.8')).toBeUndefined();
    expect(map.match('junk')).toBeUndefined();
  });

  it('size counts the rules', () => {
    expect(map.size).toBe(SCHOOL.length);
    expect(new NetworkMap([]).size).toBe(0);
  });

  it('an empty map matches nothing', () => {
    const empty = new NetworkMap<string>([]);
    for (const [address] of LOOKUPS) expect(empty.lookup(address)).toBeUndefined();
  });

  it('does not change when the rules array it was built from changes', () => {
    const rules = [{ cidr: '10.1.1.0/24', value: 'ks1' }];
    const m = new NetworkMap(rules);
    rules.push({ cidr: '10.2.0.0/16', value: 'staff' });
    rules[0] = { cidr: '10.9.9.0/24', value: 'other' };
    expect(m.lookup('10.1.1.1')).toBe('ks1');
    expect(m.lookup('10.2.0.1')).toBeUndefined();
    expect(m.size).toBe(1);
  });
});

describe('NetworkMap defaults (/0) and hosts (/32, /128)', () => {
  // IPv4 and IPv6 are separate tables: ::/0 is "any IPv6 client" and does not catch IPv4 clients
  // arriving as mapped addresses; 0.0.0.0/0 (or ::ffff:0:0/96) does.
  const map = new NetworkMap<AuthMode>([
    { cidr: '0.0.0.0/0', value: 'required' },
    { cidr: '::/0', value: 'optional' },
    { cidr: '10.1.1.0/24', value: 'off' },
    { cidr: '0.0.0.0/32', value: 'off' },
    { cidr: '255.255.255.255', value: 'off' },
    { cidr: '::/128', value: 'off' },
    { cidr: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128', value: 'off' },
  ]);
  const ROWS: [string, AuthMode][] = [
    ['8.8.8.8', 'required'],
    ['10.1.1.1', 'off'],
    ['10.1.2.1', 'required'],
    ['0.0.0.0', 'off'],
    ['0.0.0.1', 'required'],
    ['255.255.255.255', 'off'],
    ['255.255.255.254', 'required'],
    ['127.255.255.255', 'required'],
    ['128.0.0.0', 'required'],
    ['::ffff:8.8.8.8', 'required'],
    ['::ffff:10.1.1.1', 'off'],
    ['2001:db8::1', 'optional'],
    ['::', 'off'],
    ['::1', 'optional'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'off'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe', 'optional'],
    ['fe80::1%eth0', 'optional'],
  ];
  it.each(ROWS)('%s → %s', (address, expected) => {
    expect(map.lookup(address)).toBe(expected);
  });

  it.each([
    // [rules, address, expected]
    [['::/0'], '10.1.1.1', undefined],
    [['::/0'], '::ffff:10.1.1.1', undefined],
    [['0.0.0.0/0'], '2001:db8::1', undefined],
    [['0.0.0.0/0'], '::ffff:10.1.1.1', 'hit'],
    [['::ffff:0:0/96'], '10.1.1.1', 'hit'],
    [['::ffff:10.0.0.0/104'], '10.200.0.1', 'hit'],
    [['::ffff:10.0.0.0/104'], '11.0.0.0', undefined],
    [['128.0.0.0/1'], '255.255.255.255', 'hit'],
    [['128.0.0.0/1'], '127.255.255.255', undefined],
    [['0.0.0.0/1'], '127.255.255.255', 'hit'],
    [['0.0.0.0/1'], '128.0.0.0', undefined],
    [['8000::/1'], 'ffff::', 'hit'],
    [['8000::/1'], '7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', undefined],
    [['2001:db8::/127'], '2001:db8::1', 'hit'],
    [['2001:db8::/127'], '2001:db8::2', undefined],
    [['2001:db8::8000:0/97'], '2001:db8::ffff:ffff', 'hit'], // a prefix not on a 16-bit boundary
    [['2001:db8::8000:0/97'], '2001:db8::7fff:ffff', undefined],
  ] as [string[], string, string | undefined][])('%j: %s → %s', (cidrs, address, expected) => {
    expect(new NetworkMap(cidrs.map((cidr) => ({ cidr, value: 'hit' }))).lookup(address)).toBe(expected);
  });
});

describe('NetworkMap values', () => {
  // Falsy values are real answers: a nested rule whose value is 0, '' or undefined must stop the
  // search rather than fall through to the wider rule around it.
  it.each([[0], [''], [false], [null], [undefined]])('a nested rule with value %j still wins', (value) => {
    const map = new NetworkMap<unknown>([
      { cidr: '10.1.1.0/24', value: 'outer' },
      { cidr: '10.1.1.16/28', value },
      { cidr: '2001:db8::/32', value: 'outer' },
      { cidr: '2001:db8:1::/48', value },
    ]);
    expect(map.lookup('10.1.1.17')).toBe(value);
    expect(map.match('10.1.1.17')).toEqual({ network: '10.1.1.16/28', value });
    expect(map.lookup('2001:db8:1::1')).toBe(value);
    expect(map.match('2001:db8:1::1')).toEqual({ network: '2001:db8:1::/48', value });
    expect(map.lookup('10.1.1.1')).toBe('outer');
  });

  it('returns the very object given, for groups and auth settings', () => {
    const ks1 = { group: 'ks1', auth: 'off' as AuthMode };
    expect(new NetworkMap([{ cidr: '10.1.1.0/24', value: ks1 }]).lookup('10.1.1.9')).toBe(ks1);
  });
});

// ---------------------------------------------------------------------------------------------
// Constructor errors: a RangeError naming the rule.

describe('NetworkMap rejects bad rules', () => {
  // [rules, index of the bad rule, part of the message, part of the fix]
  const BAD: [string[], number, string, string][] = [
    [['10.1.1.7/24'], 0, 'rules[0]: "10.1.1.7/24" has host bits set', 'write "10.1.1.0/24"'],
    [['10.1.1.0/24', '10.2.0.0/33'], 1, 'rules[1]: prefix length /33 in "10.2.0.0/33"', 'from 0 to 32'],
    [['10.1.1.0/24', '192.168.50.0/23', 'ks1'], 2, 'rules[2]: "ks1" is not an IP address', 'address/prefix-length'],
    [['10.1.1.0/24', ''], 1, 'rules[1]: no network given', 'address/prefix-length'],
    // duplicates, including the same network spelled differently
    [['10.1.1.0/24', '10.1.1.0/24'], 1, 'rules[1]: "10.1.1.0/24" is the same network as rules[0] ("10.1.1.0/24"), so one of them could never match', 'keep one rule per network'],
    [['2001:db8:10::/48', '10.1.1.0/24', '2001:DB8:10:0::/48'], 2, 'rules[2]: "2001:DB8:10:0::/48" is the same network (2001:db8:10::/48) as rules[0] ("2001:db8:10::/48")', 'a longer prefix wins'],
    [['10.1.1.7', '10.1.1.7/32'], 1, 'is the same network (10.1.1.7/32) as rules[0] ("10.1.1.7")', 'keep one rule per network'],
    [['10.0.0.0/8', '::ffff:10.0.0.0/104'], 1, '"::ffff:10.0.0.0/104" is the same network (10.0.0.0/8) as rules[0]', 'keep one rule per network'],
    [['::ffff:0:0/96', '0.0.0.0/0'], 1, 'is the same network (0.0.0.0/0) as rules[0] ("::ffff:0:0/96")', 'keep one rule per network'],
    [['::/0', '0:0:0:0:0:0:0:0/0'], 1, 'is the same network (::/0) as rules[0]', 'keep one rule per network'],
  ];

  it.each(BAD)('%j: rules[%i]', (cidrs, index, message, fix) => {
    let thrown: unknown;
    try {
      new NetworkMap(cidrs.map((cidr, i) => ({ cidr, value: i })));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(RangeError);
    expect(thrown).toBeInstanceOf(NetworkRuleError);
    const e = thrown as NetworkRuleError;
    expect(e.index).toBe(index);
    expect(e.cidr).toBe(cidrs[index]);
    expect(e.message).toContain(message);
    expect(e.fix).toContain(fix);
    expect(e.message).toContain(`(fix: ${e.fix})`);
  });

  // Rules from untyped YAML: a missing cidr, a number, a null rule.
  it.each([
    [[{ value: 'ks1' }], 0],
    [[{ cidr: '10.1.1.0/24', value: 'ks1' }, { cidr: 24, value: 'x' }], 1],
    [[{ cidr: '10.1.1.0/24', value: 'ks1' }, null], 1],
  ])('malformed rule %j', (rules, index) => {
    expect(() => new NetworkMap(rules as unknown as NetworkRule<string>[])).toThrow(
      expect.objectContaining({ name: 'NetworkRuleError', index, message: expect.stringContaining(`rules[${index}]: expected the network as text`) }),
    );
  });

  it('an array with holes (from careless config merging) still maps each rule to its own value', () => {
    const rules = [{ cidr: '10.1.1.0/24', value: 'ks1' }, , { cidr: '10.2.0.0/16', value: 'staff' }] as NetworkRule<string>[];
    const map = new NetworkMap(rules);
    expect(map.lookup('10.1.1.1')).toBe('ks1');
    expect(map.lookup('10.2.0.1')).toBe('staff');
    expect(map.size).toBe(2);
  });

  it('a non-array is a TypeError', () => {
    expect(() => new NetworkMap('10.1.1.0/24' as unknown as NetworkRule<string>[])).toThrow(TypeError);
  });

  // Not duplicates: the same start address with different lengths is nesting, and the IPv4 and
  // IPv6 defaults are different networks.
  it.each([
    [['10.1.1.0/24', '10.1.1.0/25', '10.1.1.0/31', '10.1.1.0']],
    [['0.0.0.0/0', '::/0']],
    [['::/0', '::/128']],
    [['::fffe:0:0/95', '0.0.0.0/0']],
  ])('%j are all accepted', (cidrs) => {
    expect(new NetworkMap(cidrs.map((cidr) => ({ cidr, value: cidr }))).size).toBe(cidrs.length);
  });
});

// ---------------------------------------------------------------------------------------------
// Cross-checks against independent references.

describe('address syntax agrees with node:net isIP', () => {
  // With a default for each family every real address matches, so lookup says what the parser
  // accepts. Zone contents are left out: we accept any non-empty zone (it is ignored), while
  // isIP only accepts [0-9a-zA-Z-.:] after the "%".
  const everything = new NetworkMap([
    { cidr: '0.0.0.0/0', value: 'v4' },
    { cidr: '::/0', value: 'v6' },
  ]);
  const candidates = [
    ...LOOKUPS.map(([a]) => a),
    ...GARBAGE.filter((g) => g.length < 1000),
    '00:00::1', '00000::1', '::00000', '12345::', '1::1.2.3.4', '::1.2.3.4.5', '1:2:3:4:5:6:1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4', '::ffff:1.2.3', '1.2.3.04', '0.0.0.0', '255.255.255.255', '256.0.0.0',
    '::%x', 'a:b:c:d:e:f:a:b', 'A:B:C:D:E:F:A:B', 'g::', '::g', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8',
  ];
  it.each(candidates.map((c) => [c]))('%j', (address) => {
    expect(everything.lookup(address) !== undefined).toBe(isIP(address) !== 0);
  });
});

describe('longest-prefix match agrees with a linear scan', () => {
  // A seeded generator keeps the test deterministic while covering far more shapes than a table.
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }

  const fmt4 = (v: bigint): string => [24n, 16n, 8n, 0n].map((sh) => String((v >> sh) & 255n)).join('.');
  // Uncompressed, in random case: the parser must not care how an address is written.
  const fmt6 = (v: bigint, r: () => number): string =>
    [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n]
      .map((sh) => ((v >> sh) & 0xffffn).toString(16))
      .map((h) => (r() < 0.5 ? h.toUpperCase() : h))
      .join(':');

  it.each([[4, 1], [4, 2], [4, 3], [6, 1], [6, 2], [6, 3]] as [4 | 6, number][])('IPv%i, seed %i', (family, seed) => {
    const r = rng(seed * 7919 + family);
    const width = family === 4 ? 32n : 128n;
    const top = (1n << width) - 1n;
    const rand = (): bigint => {
      let v = 0n;
      for (let k = 0n; k < width; k += 16n) v = (v << 16n) | BigInt(Math.floor(r() * 65536));
      return v & top;
    };
    // Rules clustered under a few bases so that they nest, plus a sprinkling of short prefixes.
    const bases = [rand(), rand(), rand()];
    const rules: { net: bigint; bits: number; cidr: string; value: number }[] = [];
    const seen = new Set<string>();
    for (let k = 0; k < 80; k++) {
      const base = r() < 0.85 ? (bases[k % bases.length] ?? 0n) ^ (BigInt(Math.floor(r() * 256)) << (width - 24n)) : rand();
      const bits = Math.floor(r() * (Number(width) + 1));
      const hostMask = (1n << (width - BigInt(bits))) - 1n;
      const net = base & ~hostMask & top;
      const key = `${net}/${bits}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const text = family === 4 ? fmt4(net) : fmt6(net, r);
      rules.push({ net, bits, cidr: `${text}/${bits}`, value: rules.length });
    }
    const map = new NetworkMap(rules.map(({ cidr, value }) => ({ cidr, value })));

    const expected = (a: bigint): number | undefined => {
      let best: (typeof rules)[number] | undefined;
      for (const rule of rules) {
        const hostMask = (1n << (width - BigInt(rule.bits))) - 1n;
        if ((a & ~hostMask & top) === rule.net && (best === undefined || rule.bits > best.bits)) best = rule;
      }
      return best?.value;
    };

    // Addresses at and just beyond every rule's edges, and some random ones.
    const addresses: bigint[] = [];
    for (const { net, bits } of rules) {
      const last = net | ((1n << (width - BigInt(bits))) - 1n);
      addresses.push(net, last, net - 1n, last + 1n);
    }
    for (let k = 0; k < 200; k++) addresses.push(rand());
    let checked = 0;
    for (const a of addresses) {
      if (a < 0n || a > top) continue;
      const written = family === 4 ? fmt4(a) : fmt6(a, r);
      // Ignore IPv6 addresses that happen to be IPv4-mapped: they are looked up as IPv4 by design.
      if (family === 6 && a >> 32n === 0xffffn) continue;
      expect(map.lookup(written), written).toBe(expected(a));
      if (family === 4) expect(map.lookup(`::ffff:${written}`), `::ffff:${written}`).toBe(expected(a));
      checked++;
    }
    expect(checked).toBeGreaterThan(400);
  });
});
