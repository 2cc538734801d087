// certNameFor decides which hosts share a certificate: a wildcard one label deep over a base that
// is never a public suffix, an IP SAN for addresses, and names that depend on the key alone.
import { describe, expect, it } from 'vitest';
import { certNameFor, CertNameError } from '../../src/tls/cert-name.js';

const wildcard = (base: string) => ({ key: `*.${base}`, names: [base, `*.${base}`], ips: [] });
const exact = (name: string) => ({ key: name, names: [name], ips: [] });
const ip = (address: string) => ({ key: address, names: [], ips: [address] });

describe('certNameFor', () => {
  it.each([
    // a registrable name and its hosts share [B, *.B]
    ['example.com', wildcard('example.com')],
    ['www.example.com', wildcard('example.com')],
    ['img.example.com', wildcard('example.com')],
    // one label deep only: a.b.example.com needs *.b.example.com
    ['a.b.example.com', wildcard('b.example.com')],
    ['x.a.b.example.com', wildcard('a.b.example.com')],
    // never a wildcard straight under a public suffix
    ['bbc.co.uk', wildcard('bbc.co.uk')],
    ['www.bbc.co.uk', wildcard('bbc.co.uk')],
    ['news.bbc.co.uk', wildcard('bbc.co.uk')],
    ['www.gov.uk', wildcard('www.gov.uk')],
    ['assets.publishing.service.gov.uk', wildcard('publishing.service.gov.uk')],
    ['ox.ac.uk', wildcard('ox.ac.uk')],
    ['www.nhs.uk', wildcard('www.nhs.uk')],
    ['abc.net.au', wildcard('abc.net.au')],
    ['www.yahoo.co.jp', wildcard('yahoo.co.jp')],
    // schools: every name under sch.uk is a local authority's registry
    ['stmarys.essex.sch.uk', wildcard('stmarys.essex.sch.uk')],
    ['www.stmarys.essex.sch.uk', wildcard('stmarys.essex.sch.uk')],
    // a public suffix itself, or a single label, gets exactly itself
    ['co.uk', exact('co.uk')],
    ['sch.uk', exact('sch.uk')],
    ['essex.sch.uk', exact('essex.sch.uk')],
    ['com', exact('com')],
    ['localhost', exact('localhost')],
    ['intranet', exact('intranet')],
    // normalised: case, a trailing dot, Unicode to A-labels
    ['WWW.Example.COM.', wildcard('example.com')],
    ['www.bücher.de', wildcard('xn--bcher-kva.de')],
    // OpenSSL never matches a label holding "_" against a wildcard: such a host gets its own name.
    ['_dmarc.example.com', exact('_dmarc.example.com')],
    ['a_b.www.example.com', exact('a_b.www.example.com')],
    // addresses: an IP SAN only, canonical text as the key
    ['127.0.0.1', ip('127.0.0.1')],
    ['::1', ip('::1')],
    ['[::1]', ip('::1')],
    ['[2001:DB8:0:0::1]', ip('2001:db8::1')],
    ['fe80::1%eth0', ip('fe80::1')],
    ['::ffff:192.0.2.1', ip('::ffff:c000:201')],
  ])('%s', (host, expected) => {
    expect(certNameFor(host)).toEqual(expected);
  });

  it('gives every host of a site the same key and the same names', () => {
    const hosts = ['example.org', 'www.example.org', 'cdn.example.org', 'EXAMPLE.ORG.'];
    const names = hosts.map(certNameFor);
    expect(new Set(names.map((n) => n.key)).size).toBe(1);
    for (const n of names) expect(n).toEqual(names[0]);
  });

  it('covers the host it was asked for, by name or by a one-label wildcard', () => {
    for (const host of ['example.com', 'www.example.com', 'a.b.c.example.com', 'bbc.co.uk', 'www.bbc.co.uk', 'co.uk', 'x.essex.sch.uk', 'localhost']) {
      const { names } = certNameFor(host);
      const covered = names.some((n) => n === host || (n.startsWith('*.') && host.slice(host.indexOf('.') + 1) === n.slice(2)));
      expect(covered, `${host} in ${names.join(', ')}`).toBe(true);
    }
  });

  it('never puts a wildcard directly under a public suffix', () => {
    for (const host of ['a.co.uk', 'a.com', 'a.org.uk', 'a.essex.sch.uk', 'a.ac.uk', 'a.com.au', 'x.y.z.co.uk']) {
      for (const n of certNameFor(host).names) expect(['*.co.uk', '*.com', '*.org.uk', '*.essex.sch.uk', '*.ac.uk', '*.com.au', '*.uk']).not.toContain(n);
    }
  });

  it('refuses what a certificate cannot name', () => {
    for (const host of ['', '.', 'a..b', 'exa mple.com', '-bad.example.com', 'bad-.example.com', `${'a'.repeat(64)}.example.com`, `${'abcdefgh.'.repeat(30)}com`, 'a/b']) {
      expect(() => certNameFor(host), host).toThrow(CertNameError);
    }
  });

  it('fits "*." into the longest names (a parent is at most 251 characters)', () => {
    const host = `x.${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(55)}.com`;
    expect(host.length).toBe(253);
    const { names } = certNameFor(host);
    expect(names[1]!.length).toBe(253);
  });
});
