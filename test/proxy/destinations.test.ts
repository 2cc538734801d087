// Where the proxy may connect: special-purpose ranges refused, including IPv4 addresses hidden
// inside IPv6 ones, unless the configuration allows them or names a fixed address.
import { describe, expect, it } from 'vitest';
import { NetworkMap } from '../../src/net/network-map.js';
import { destinationAllowed, embeddedIpv4, guardedLookup, literalRefused, ResolveOverrides } from '../../src/proxy/destinations.js';

const none = new NetworkMap<true>([]);
const intranet = new NetworkMap<true>([{ cidr: '10.0.5.0/24', value: true }]);

describe('destinationAllowed', () => {
  it.each([
    ['10.1.2.3'], ['172.16.0.1'], ['192.168.1.1'], ['127.0.0.1'], ['169.254.169.254'], ['100.64.0.1'], ['0.0.0.0'],
    ['224.0.0.1'], ['255.255.255.255'], ['198.18.0.1'], ['::1'], ['::'], ['fd00::1'], ['fe80::1'], ['ff02::1'],
    ['::ffff:10.0.0.1'], ['::ffff:127.0.0.1'], ['::10.0.0.1'],
    // NAT64 and 6to4 addresses that carry a private IPv4 address.
    ['64:ff9b::10.0.0.1'], ['64:ff9b::a9fe:a9fe'], ['2002:7f00:1::1'], ['2002:c0a8:101::'], ['64:ff9b:1::1'],
  ])('refuses %s', (address) => {
    expect(destinationAllowed(address, none)).toBe(false);
  });

  it.each([['93.184.216.34'], ['2606:2800:220:1::1'], ['::ffff:93.184.216.34'], ['64:ff9b::93.184.216.34'], ['2002:5db8:d822::1']])('lets %s through', (address) => {
    expect(destinationAllowed(address, none)).toBe(true);
  });

  it('lets an allowed private range through, however it is written', () => {
    expect(destinationAllowed('10.0.5.7', intranet)).toBe(true);
    expect(destinationAllowed('::ffff:10.0.5.7', intranet)).toBe(true);
    expect(destinationAllowed('64:ff9b::10.0.5.7', intranet)).toBe(true);
    expect(destinationAllowed('10.0.6.7', intranet)).toBe(false);
  });

  it('finds the IPv4 address inside NAT64 and 6to4 addresses only', () => {
    expect(embeddedIpv4('64:ff9b::c000:221')).toBe('192.0.2.33');
    expect(embeddedIpv4('2002:c000:0221::1')).toBe('192.0.2.33');
    expect(embeddedIpv4('2001:db8::1')).toBeNull();
    expect(embeddedIpv4('10.0.0.1')).toBeNull();
  });

  it('refuses literal private hosts and localhost names before any lookup', () => {
    expect(literalRefused('[::1]', none)).toBe(true);
    expect(literalRefused('app.localhost', none)).toBe(true);
    expect(literalRefused('10.0.5.1', intranet)).toBe(false);
    expect(literalRefused('example.com', none)).toBe(false);
  });
});

describe('guardedLookup', () => {
  const lookup = (fn: ReturnType<typeof guardedLookup>, host: string) => new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) => {
    fn(host, { all: true }, (err, address) => resolve({ err, address }));
  });

  it('refuses a name that resolves to loopback', async () => {
    const r = await lookup(guardedLookup(none), 'localhost');
    expect(r.err?.code).toBe('ESCHOOLGATEPRIVATE');
    expect(r.err?.message).toMatch(/localhost resolves to a private address/);
  });

  it('sends names with a fixed address there without asking DNS, private or not', async () => {
    const fixed = new ResolveOverrides([['intranet.school.invalid', '10.0.5.10'], ['*.lab.invalid', '::1']]);
    expect(await lookup(guardedLookup(none, fixed), 'intranet.school.invalid')).toEqual({ err: null, address: [{ address: '10.0.5.10', family: 4 }] });
    expect(await lookup(guardedLookup(none, fixed), 'x.lab.invalid')).toEqual({ err: null, address: [{ address: '::1', family: 6 }] });
    const single = await new Promise<unknown[]>((resolve) => guardedLookup(none, fixed)('intranet.school.invalid', {}, (...args) => resolve(args)));
    expect(single).toEqual([null, '10.0.5.10', 4]);
    // Names without one still go to DNS and the guard.
    expect((await lookup(guardedLookup(none, fixed), 'localhost')).err?.code).toBe('ESCHOOLGATEPRIVATE');
  });
});
