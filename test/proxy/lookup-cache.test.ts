// DNS answers kept for a bounded time (lookup-cache.ts) under the private-address guard
// (destinations.ts): a scripted resolver and a clock moved by hand, so nothing waits or sleeps.
import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { NetworkMap } from '../../src/net/network-map.js';
import { guardedLookup } from '../../src/proxy/destinations.js';
import { LookupCache, type AddressesCallback, type LookupOptions } from '../../src/proxy/lookup-cache.js';

const none = new NetworkMap<true>([]);
const intranet = new NetworkMap<true>([{ cidr: '10.0.5.0/24', value: true }]);

/** A resolver that answers from `zone` (the test changes it), counting the questions and holding answers while `held`. */
function scripted(zone: Record<string, string[]>) {
  const asked: { host: string; options: LookupOptions }[] = [];
  const held: (() => void)[] = [];
  let holding = false;
  const resolve = (host: string, options: LookupOptions, cb: AddressesCallback): void => {
    asked.push({ host, options });
    const answer = (): void => {
      const list = zone[host];
      if (!list) return cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
      cb(null, list.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })));
    };
    if (holding) held.push(answer);
    else answer();
  };
  return { resolve, asked, hold: () => (holding = true), release: () => { holding = false; for (const a of held.splice(0)) a(); } };
}

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, move: (ms: number) => (t += ms) };
}

const ask = (cache: LookupCache, host: string, family = 0) => new Promise<{ err: NodeJS.ErrnoException | null; addresses: string[] }>((resolve) => {
  cache.lookup(host, family, 0, (err, list) => resolve({ err, addresses: (list ?? []).map((a) => a.address) }));
});

const guarded = (fn: ReturnType<typeof guardedLookup>, host: string) => new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) => {
  fn(host, { all: true }, (err, address) => resolve({ err, address }));
});

describe('LookupCache', () => {
  it('asks the resolver once within the TTL and again once it has passed', async () => {
    const zone = { 'www.example.com': ['93.184.216.34'] };
    const dns = scripted(zone);
    const c = clock();
    const cache = new LookupCache({ ttlMs: 10_000, now: c.now, resolve: dns.resolve });
    expect(await ask(cache, 'www.example.com')).toEqual({ err: null, addresses: ['93.184.216.34'] });
    c.move(9_999);
    zone['www.example.com'] = ['93.184.216.35'];
    expect((await ask(cache, 'WWW.Example.com')).addresses).toEqual(['93.184.216.34']);
    expect(dns.asked).toHaveLength(1);
    c.move(1);
    expect((await ask(cache, 'www.example.com')).addresses).toEqual(['93.184.216.35']);
    expect(dns.asked).toHaveLength(2);
  });

  it('keeps answers apart by address family, and passes the family on', async () => {
    const dns = scripted({ 'dual.example.com': ['93.184.216.34'] });
    const cache = new LookupCache({ now: clock().now, resolve: dns.resolve });
    await ask(cache, 'dual.example.com', 4);
    await ask(cache, 'dual.example.com', 6);
    await ask(cache, 'dual.example.com', 4);
    expect(dns.asked.map((a) => a.options.family)).toEqual([4, 6]);
  });

  it('does not keep a failure', async () => {
    const zone: Record<string, string[]> = {};
    const dns = scripted(zone);
    const cache = new LookupCache({ now: clock().now, resolve: dns.resolve });
    expect((await ask(cache, 'new.example.com')).err?.code).toBe('ENOTFOUND');
    zone['new.example.com'] = ['93.184.216.34'];
    expect((await ask(cache, 'new.example.com')).addresses).toEqual(['93.184.216.34']);
    expect(dns.asked).toHaveLength(2);
  });

  it('asks once for lookups of one name made while the first is in flight', async () => {
    const dns = scripted({ 'busy.example.com': ['93.184.216.34'] });
    const cache = new LookupCache({ now: clock().now, resolve: dns.resolve });
    dns.hold();
    const both = Promise.all([ask(cache, 'busy.example.com'), ask(cache, 'busy.example.com')]);
    dns.release();
    expect((await both).map((r) => r.addresses)).toEqual([['93.184.216.34'], ['93.184.216.34']]);
    expect(dns.asked).toHaveLength(1);
  });

  it('holds at most maxNames names, dropping the oldest', async () => {
    const dns = scripted({ 'a.example.com': ['93.184.216.1'], 'b.example.com': ['93.184.216.2'], 'c.example.com': ['93.184.216.3'] });
    const cache = new LookupCache({ maxNames: 2, now: clock().now, resolve: dns.resolve });
    for (const h of ['a', 'b', 'c']) await ask(cache, `${h}.example.com`);
    expect(cache.size).toBe(2);
    await ask(cache, 'c.example.com');
    await ask(cache, 'a.example.com');
    expect(dns.asked.map((a) => a.host)).toEqual(['a.example.com', 'b.example.com', 'c.example.com', 'a.example.com']);
  });
});

describe('guardedLookup over the cache', () => {
  it('still refuses a name resolving to a private address, from the resolver and from the cache', async () => {
    const dns = scripted({ 'rebind.example.com': ['10.0.5.7'], 'www.example.com': ['93.184.216.34'] });
    const cache = new LookupCache({ now: clock().now, resolve: dns.resolve });
    const lookup = guardedLookup(none, undefined, cache);
    for (let i = 0; i < 2; i++) {
      const r = await guarded(lookup, 'rebind.example.com');
      expect(r.err?.code).toBe('ESCHOOLGATEPRIVATE');
    }
    expect(dns.asked).toHaveLength(1);
    expect((await guarded(lookup, 'www.example.com')).address).toEqual([{ address: '93.184.216.34', family: 4 }]);
  });

  it('drops the private addresses of a mixed answer, cached or not', async () => {
    const dns = scripted({ 'mixed.example.com': ['127.0.0.1', '93.184.216.34'] });
    const lookup = guardedLookup(none, undefined, new LookupCache({ now: clock().now, resolve: dns.resolve }));
    for (let i = 0; i < 2; i++) expect((await guarded(lookup, 'mixed.example.com')).address).toEqual([{ address: '93.184.216.34', family: 4 }]);
  });

  it('judges a cached answer by the configuration of the lookup that uses it', async () => {
    const dns = scripted({ 'files.school.example': ['10.0.5.20'] });
    const cache = new LookupCache({ now: clock().now, resolve: dns.resolve });
    expect((await guarded(guardedLookup(intranet, undefined, cache), 'files.school.example')).address).toEqual([{ address: '10.0.5.20', family: 4 }]);
    // A reload that no longer allows the range: the same cached answer is refused.
    expect((await guarded(guardedLookup(none, undefined, cache), 'files.school.example')).err?.code).toBe('ESCHOOLGATEPRIVATE');
    expect(dns.asked).toHaveLength(1);
  });

  it('answers a single address when net.connect asks for one', async () => {
    const dns = scripted({ 'www.example.com': ['93.184.216.34'] });
    const lookup = guardedLookup(none, undefined, new LookupCache({ now: clock().now, resolve: dns.resolve }));
    const single = await new Promise<unknown[]>((resolve) => lookup('www.example.com', { family: 4, hints: 32 }, (...args) => resolve(args)));
    expect(single).toEqual([null, '93.184.216.34', 4]);
    expect(dns.asked[0]!.options).toEqual({ all: true, family: 4, hints: 32 });
  });
});
