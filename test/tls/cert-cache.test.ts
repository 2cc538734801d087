// The certificate cache as the proxy uses it: real handshakes on loopback with the context it
// returns, one mint for a site however many ask at once, nothing remembered from a failed
// mint, entries gone before their certificate expires, and a rotation's grace period seen by
// a device that trusts only the old root.
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCa, loadCa, rotateCa, type SchoolCa } from '../../src/tls/ca.js';
import { CertificateCache } from '../../src/tls/cert-cache.js';
import { certNameFor, CertNameError } from '../../src/tls/cert-name.js';
import { mintLeaf } from '../../src/tls/mint.js';
import { tempDir } from '../helpers/lists.js';
import { run, tlsClient, tlsServer, type TestServer } from './handshake.js';

const tmp = tempDir('schoolgate-cert-cache-');
afterAll(tmp.cleanup);
const DAY = 86_400_000;
let ca: SchoolCa;
let stranger: SchoolCa;
let n = 0;
const freshData = (): string => join(tmp.dir, `data-${++n}`);

beforeAll(() => {
  ca = initCa(freshData(), { schoolName: 'Oak Primary' });
  stranger = initCa(freshData(), { schoolName: 'Another School' });
});

/** A server presenting the cache's contexts, closed after `body`. */
async function withServer<T>(cache: CertificateCache, body: (server: TestServer) => Promise<T>, fallbackHost?: string): Promise<T> {
  const fallback = fallbackHost === undefined ? undefined : await cache.context(fallbackHost);
  const server = await tlsServer((name) => cache.context(name), fallback);
  try {
    return await body(server);
  } finally {
    await server.close();
  }
}

function leafOf(context: tls.SecureContext): X509Certificate {
  // The certificate a context presents, read back through a throwaway server-side socket.
  const socket = new tls.TLSSocket(null as never, { isServer: true, secureContext: context });
  try {
    return new X509Certificate(socket.getX509Certificate()!.raw);
  } finally {
    socket.destroy();
  }
}

describe('CertificateCache', () => {
  it('serves handshakes a client trusting the school root accepts, and one trusting another root refuses', async () => {
    const cache = new CertificateCache(ca);
    await withServer(cache, async ({ port }) => {
      expect(await tlsClient(port, { caPem: ca.certPem, servername: 'www.example.com' })).toEqual({ ok: true });
      expect(await tlsClient(port, { caPem: ca.certPem, servername: 'example.com' })).toEqual({ ok: true });
      expect(await tlsClient(port, { caPem: stranger.certPem, servername: 'www.example.com' })).toEqual({ ok: false, code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    });
    // www.example.com and example.com share one certificate.
    expect(cache.stats).toEqual({ mints: 1, hits: 2, waits: 0 });
  });

  it('answers a site it has from the cache synchronously, and shares a site\'s certificate among its hosts', async () => {
    const cache = new CertificateCache(ca);
    const first = cache.context('a.example.net');
    expect(first).toBeInstanceOf(Promise);
    const context = await first;
    for (const host of ['a.example.net', 'b.example.net', 'example.net', 'WWW.EXAMPLE.NET']) {
      const again = cache.context(host);
      expect(again, host).not.toBeInstanceOf(Promise);
      expect(again, host).toBe(context);
    }
    expect(cache.stats).toEqual({ mints: 1, hits: 4, waits: 0 });
    expect(leafOf(context).subjectAltName).toBe('DNS:example.net, DNS:*.example.net');
    // Another site is another certificate.
    expect(leafOf(await cache.context('example.org')).subjectAltName).toBe('DNS:example.org, DNS:*.example.org');
    expect(cache.stats.mints).toBe(2);
    expect(cache.size).toBe(2);
  });

  it('mints once for 50 handshakes asking for a new site at the same moment', async () => {
    const cache = new CertificateCache(ca);
    const asks = Array.from({ length: 50 }, (_, i) => cache.context(i % 2 === 0 ? 'www.school-news.org' : `img${i}.school-news.org`));
    const contexts = await Promise.all(asks);
    expect(cache.stats).toEqual({ mints: 1, hits: 0, waits: 49 });
    expect(new Set(contexts).size).toBe(1);
    // And the real thing: 50 concurrent handshakes on loopback for a site not yet cached.
    await withServer(cache, async ({ port }) => {
      const results = await Promise.all(Array.from({ length: 50 }, () => tlsClient(port, { caPem: ca.certPem, servername: 'www.lessons.example' })));
      expect(results.every((r) => r.ok)).toBe(true);
    });
    expect(cache.stats.mints).toBe(2);
    expect(cache.stats.waits + cache.stats.hits).toBe(49 + 49);
  });

  it('does not remember a failed mint: the next handshake tries again', async () => {
    let now = ca.notAfter.getTime() + DAY; // the root has expired: minting fails
    const cache = new CertificateCache(ca, { now: () => now });
    const failing = [cache.context('example.com'), cache.context('www.example.com')];
    for (const f of failing) await expect(f).rejects.toThrow(/root CA expired/);
    expect(cache.stats).toEqual({ mints: 1, hits: 0, waits: 1 });
    expect(cache.size).toBe(0);
    now = Date.now();
    const context = await cache.context('example.com');
    expect(leafOf(context).subjectAltName).toContain('DNS:example.com');
    expect(cache.stats.mints).toBe(2);
  });

  it('logs a failed mint with the site, not a key', async () => {
    const logged: { obj: object; msg: string }[] = [];
    const log = { warn: (obj: object, msg: string) => logged.push({ obj, msg }), debug: () => {} };
    const cache = new CertificateCache(ca, { now: () => ca.notAfter.getTime() + DAY, log });
    await expect(cache.context('example.com')).rejects.toThrow();
    expect(logged).toHaveLength(1);
    expect(logged[0]!.msg).toBe('could not mint a certificate');
    expect(logged[0]!.obj).toMatchObject({ certificate: '*.example.com' });
    expect(JSON.stringify(logged)).not.toContain('PRIVATE KEY');
  });

  it('throws for a host no certificate can name', () => {
    const cache = new CertificateCache(ca);
    expect(() => cache.context('bad host')).toThrow(CertNameError);
    expect(cache.stats.mints).toBe(0);
  });

  it('lets an entry go a day before its certificate expires, and mints a new one', async () => {
    const t0 = Date.now();
    let now = t0;
    const cache = new CertificateCache(ca, { now: () => now, validityDays: 7 });
    const first = await cache.context('example.com');
    expect(new Date(leafOf(first).validTo).getTime()).toBe(Math.floor((t0 + 7 * DAY) / 1000) * 1000);
    now = t0 + 6 * DAY - 60_000;
    expect(cache.context('example.com')).toBe(first);
    now = t0 + 6 * DAY + 1;
    const second = cache.context('example.com');
    expect(second).toBeInstanceOf(Promise);
    const renewed = await second;
    expect(renewed).not.toBe(first);
    expect(new Date(leafOf(renewed).validTo).getTime()).toBeGreaterThan(new Date(leafOf(first).validTo).getTime());
    expect(cache.stats.mints).toBe(2);
  });

  it('keeps at most `max` sites, dropping the least recently used', async () => {
    const cache = new CertificateCache(ca, { max: 2 });
    await cache.context('one.example');
    await cache.context('two.example');
    cache.context('one.example');
    await cache.context('three.example');
    expect(cache.size).toBe(2);
    expect(cache.context('one.example')).not.toBeInstanceOf(Promise);
    expect(cache.context('two.example')).toBeInstanceOf(Promise);
    await cache.context('two.example');
    expect(cache.stats.mints).toBe(4);
  });

  it('serves an IP address a client checks against its IP subjectAltName', async () => {
    const cache = new CertificateCache(ca);
    // A client connecting to an address sends no SNI: the proxy picks the context by the CONNECT host.
    await withServer(cache, async ({ port }) => {
      expect(await tlsClient(port, { caPem: ca.certPem })).toEqual({ ok: true });
      expect(await tlsClient(port, { caPem: ca.certPem, host: '127.0.0.2' })).toEqual({ ok: false, code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    }, '127.0.0.1');
    expect(cache.context('127.0.0.1')).not.toBeInstanceOf(Promise);
  });

  it('presents a name only for its own site: a client asking for another name refuses it', async () => {
    const cache = new CertificateCache(ca);
    const server = await tlsServer(() => cache.context('example.com'));
    try {
      expect(await tlsClient(server.port, { caPem: ca.certPem, servername: 'example.org' })).toEqual({ ok: false, code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      expect(await tlsClient(server.port, { caPem: ca.certPem, servername: 'a.b.example.com' })).toEqual({ ok: false, code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    } finally {
      await server.close();
    }
  });
});

describe('a rotation seen from devices', () => {
  it('during the grace period, devices trusting either root connect; after it, only the new root works', async () => {
    const data = freshData();
    const old = initCa(data, { schoolName: 'Oak Primary' });
    const rotated = rotateCa(data, { schoolName: 'Oak Primary', graceDays: 30 });
    expect(rotated.chainPem).toHaveLength(1);

    const during = new CertificateCache(rotated);
    await withServer(during, async ({ port }) => {
      expect(await tlsClient(port, { caPem: old.certPem, servername: 'www.example.com' }), 'old root only, through the cross-certificate').toEqual({ ok: true });
      expect(await tlsClient(port, { caPem: rotated.certPem, servername: 'www.example.com' }), 'new root').toEqual({ ok: true });
      expect(await tlsClient(port, { caPem: [old.certPem, rotated.certPem], servername: 'www.example.com' }), 'both').toEqual({ ok: true });
      expect((await tlsClient(port, { caPem: stranger.certPem, servername: 'www.example.com' })).ok, 'another root').toBe(false);
    });

    // Loaded after the grace period, the CA no longer sends the cross-certificate.
    const later = loadCa(data, new Date(rotated.previous!.graceUntil.getTime() + 1))!;
    expect(later.previous).toBeNull();
    const after = new CertificateCache(later);
    await withServer(after, async ({ port }) => {
      expect(await tlsClient(port, { caPem: old.certPem, servername: 'www.example.com' })).toEqual({ ok: false, code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
      expect(await tlsClient(port, { caPem: rotated.certPem, servername: 'www.example.com' })).toEqual({ ok: true });
    });
  });

  it('the cross-certificate itself expires with the grace period, should a proxy still send it', async () => {
    const data = freshData();
    const old = initCa(data, { schoolName: 'Oak Primary' });
    const rotated = rotateCa(data, { schoolName: 'Oak Primary', graceDays: 1 });
    const leaf = await mintLeaf(rotated, certNameFor('example.com'));
    const file = (name: string, text: string): string => (writeFileSync(join(tmp.dir, name), text), join(tmp.dir, name));
    const args = ['verify', '-CAfile', file('old.pem', old.certPem), '-untrusted', file('cross.pem', rotated.chainPem[0]!), file('leaf.pem', leaf.certPem)];
    const at = (ms: number): string[] => ['-attime', String(Math.floor(ms / 1000))];
    const graceUntil = rotated.previous!.graceUntil.getTime();
    expect((await run('openssl', [...args.slice(0, 1), ...at(graceUntil - 3_600_000), ...args.slice(1)])).code).toBe(0);
    const expired = await run('openssl', [...args.slice(0, 1), ...at(graceUntil + 3_600_000), ...args.slice(1)]);
    expect(expired.code).not.toBe(0);
    expect(expired.stdout + expired.stderr).toMatch(/certificate has expired/);
  });
});
