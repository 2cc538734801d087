// Leaf certificates as browsers check them: OpenSSL's strict verification with the host name
// or IP, curl over real HTTPS, and the fields Chrome insists on (SAN, serverAuth, short life).
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCa, type SchoolCa } from '../../src/tls/ca.js';
import { certNameFor } from '../../src/tls/cert-name.js';
import { mintLeaf } from '../../src/tls/mint.js';
import { tempDir } from '../helpers/lists.js';
import { run } from './handshake.js';

const tmp = tempDir('schoolgate-mint-');
afterAll(tmp.cleanup);
const DAY = 86_400_000;
let ca: SchoolCa;
let other: SchoolCa;
let rootFile: string;
let otherFile: string;
let n = 0;

beforeAll(() => {
  ca = initCa(join(tmp.dir, 'data'), { schoolName: 'Oak Primary' });
  other = initCa(join(tmp.dir, 'other'), { schoolName: 'Oak Primary' });
  rootFile = join(tmp.dir, 'root.pem');
  otherFile = join(tmp.dir, 'other.pem');
  writeFileSync(rootFile, ca.certPem);
  writeFileSync(otherFile, other.certPem);
});

function save(pem: string): string {
  const file = join(tmp.dir, `leaf-${++n}.pem`);
  writeFileSync(file, pem);
  return file;
}

/** openssl verify, strict, for a TLS server and the name or address given. */
function opensslVerify(leafFile: string, check: string[], caFile = rootFile): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', ...check, '-CAfile', caFile, leafFile]);
}

describe('mintLeaf', () => {
  it('makes a certificate OpenSSL accepts, strictly, for each name it covers and no other', async () => {
    const leaf = await mintLeaf(ca, certNameFor('www.example.com'));
    const file = save(leaf.certPem);
    for (const name of ['www.example.com', 'example.com', 'img.example.com']) {
      const r = await opensslVerify(file, ['-verify_hostname', name]);
      expect(r.stdout + r.stderr, name).toBe(`${file}: OK\n`);
    }
    for (const name of ['a.b.example.com', 'example.org', 'wwwexample.com']) {
      expect((await opensslVerify(file, ['-verify_hostname', name])).code, name).not.toBe(0);
    }
    // Signed by this school's root only.
    expect((await opensslVerify(file, [], otherFile)).code).not.toBe(0);
  });

  it('has the fields browsers require: SAN, serverAuth, not a CA, the root as issuer, a week of life', async () => {
    const now = new Date('2026-11-22T12:00:00Z');
    const leaf = await mintLeaf(ca, certNameFor('news.bbc.co.uk'), { now });
    const cert = new X509Certificate(leaf.certPem);
    const root = new X509Certificate(ca.certPem);
    expect(cert.subject).toBe('CN=bbc.co.uk');
    expect(cert.subjectAltName).toBe('DNS:bbc.co.uk, DNS:*.bbc.co.uk');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(root)).toBe(true);
    expect(cert.verify(root.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.publicKey.export({ type: 'spki', format: 'der' }).equals(ca.leafPublicDer)).toBe(true);
    expect(new Date(cert.validFrom).toISOString()).toBe('2026-11-22T11:00:00.000Z');
    expect(new Date(cert.validTo).toISOString()).toBe('2026-11-29T12:00:00.000Z');
    expect(leaf.notAfter.toISOString()).toBe('2026-11-29T12:00:00.000Z');

    const text = (await run('openssl', ['x509', '-noout', '-text', '-in', save(leaf.certPem)])).stdout;
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    const aki = /Authority Key Identifier:\s+(?:keyid:)?([0-9A-F:]+)/.exec(text)![1]!;
    expect(aki.replaceAll(':', '').toLowerCase()).toBe(ca.keyId.toString('hex'));
  });

  it('names IP addresses, v4 and v6, in IP subjectAltNames', async () => {
    for (const [host, address] of [['127.0.0.1', '127.0.0.1'], ['[::1]', '::1'], ['2001:db8::5', '2001:db8::5']] as const) {
      const leaf = await mintLeaf(ca, certNameFor(host));
      const cert = new X509Certificate(leaf.certPem);
      expect(cert.subjectAltName).toBe(`IP Address:${address === '::1' ? '0:0:0:0:0:0:0:1' : address === '2001:db8::5' ? '2001:DB8:0:0:0:0:0:5' : address}`);
      expect(cert.checkIP(address)).toBe(address);
      const r = await opensslVerify(save(leaf.certPem), ['-verify_ip', address]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it('puts a host name too long for a common name in subjectAltName only, marked critical', async () => {
    const long = `${'a'.repeat(60)}.example.com`;
    const leaf = await mintLeaf(ca, { key: long, names: [long], ips: [] });
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.subject ?? '').toBe('');
    expect(cert.subjectAltName).toBe(`DNS:${long}`);
    const file = save(leaf.certPem);
    expect((await run('openssl', ['x509', '-noout', '-text', '-in', file])).stdout).toMatch(/Subject Alternative Name: critical/);
    expect((await opensslVerify(file, ['-verify_hostname', long])).code).toBe(0);
  });

  it('never outlives the root, and refuses a life browsers would reject', async () => {
    const data = join(tmp.dir, 'old-root');
    const now = new Date();
    // A root made nearly ten years ago, with two days left.
    const old = initCa(data, { schoolName: 'Oak Primary', now: new Date(Date.UTC(now.getUTCFullYear() - 10, now.getUTCMonth(), now.getUTCDate() + 2, now.getUTCHours())) });
    const leaf = await mintLeaf(old, certNameFor('example.com'), { now });
    expect(leaf.notAfter.getTime()).toBe(old.notAfter.getTime());
    expect(new Date(new X509Certificate(leaf.certPem).validTo).getTime()).toBe(old.notAfter.getTime());
    await expect(mintLeaf(old, certNameFor('example.com'), { now: new Date(old.notAfter.getTime() + DAY) })).rejects.toThrow(/root CA expired/);
    await expect(mintLeaf(ca, certNameFor('example.com'), { validityDays: 398 })).rejects.toThrow(RangeError);
    await expect(mintLeaf(ca, certNameFor('example.com'), { validityDays: 0 })).rejects.toThrow(RangeError);
    const year = await mintLeaf(ca, certNameFor('example.com'), { validityDays: 397, now });
    expect(year.notAfter.getTime()).toBe(now.getTime() + 397 * DAY);
  });

  it('gives each certificate its own serial', async () => {
    const serials = new Set<string>();
    for (let i = 0; i < 5; i++) serials.add(new X509Certificate((await mintLeaf(ca, certNameFor('example.com'))).certPem).serialNumber);
    expect(serials.size).toBe(5);
  });

  it('serves HTTPS that curl trusts with the school root, by name and by IP, and only with it', async () => {
    const named = await mintLeaf(ca, certNameFor('www.example.com'));
    const ip = await mintLeaf(ca, certNameFor('127.0.0.1'));
    // The IP certificate is the default (curl sends no SNI for an address); SNI picks the named one.
    const namedContext = { key: ca.leafKeyPem, cert: named.certPem };
    const server = https.createServer({ key: ca.leafKeyPem, cert: ip.certPem, SNICallback: (_name, done) => done(null, tls.createSecureContext(namedContext)) }, (_req, res) => res.end('hello from schoolgate\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const byName = await run('curl', ['-sS', '--cacert', rootFile, '--resolve', `www.example.com:${port}:127.0.0.1`, `https://www.example.com:${port}/`]);
      expect(byName.stderr).toBe('');
      expect(byName.stdout).toBe('hello from schoolgate\n');
      const byIp = await run('curl', ['-sS', '--cacert', rootFile, `https://127.0.0.1:${port}/`]);
      expect(byIp.stderr).toBe('');
      expect(byIp.stdout).toBe('hello from schoolgate\n');
      const untrusted = await run('curl', ['-sS', '--cacert', otherFile, '--resolve', `www.example.com:${port}:127.0.0.1`, `https://www.example.com:${port}/`]);
      expect(untrusted.code).toBe(60); // peer certificate cannot be authenticated with known CA certificates
      const wrongName = await run('curl', ['-sS', '--cacert', rootFile, '--resolve', `www.example.org:${port}:127.0.0.1`, `https://www.example.org:${port}/`]);
      expect(wrongName.code).not.toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
