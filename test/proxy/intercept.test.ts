// HTTPS inspection end to end: a real school CA in a data folder, real curl and Node TLS clients
// through CONNECT, real HTTPS origins on loopback with certificates from a separate upstream CA.
// Covers: a decrypted allowed page, a page-level block inside an allowed site, a search term over
// HTTPS raising an alert, the block page over TLS for a blocked host, never-intercept sites
// tunnelled untouched, an upstream with a bad certificate, WebSockets, pinned-app bypass, the
// proxy's own pages over HTTPS, /ca.crt, and one mint for 50 simultaneous first connections.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertService } from '../../src/alerts/service.js';
import type { SchoolgateConfig } from '../../src/config/load.js';
import type { Proxy } from '../../src/proxy/server.js';
import { initCa, type SchoolCa } from '../../src/tls/ca.js';
import { CertificateCache } from '../../src/tls/cert-cache.js';
import type { TrafficLog } from '../../src/store/traffic-log.js';
import { makeCa, makeServerCert } from '../helpers/list-server.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startProxy, startRecordingProxy, type RecordingProxy } from '../helpers/proxy.js';
import { lastTrafficRows } from '../helpers/traffic-rows.js';
import { recordingLogger } from '../helpers/log-lines.js';
import { issuerOf, requestOver, tlsThroughProxy } from '../helpers/tls-client.js';

const run = promisify(execFile);
const tmp = tempDir();
const SCHOOL = 'Inspection Test Primary';
const SITES = ['www.google.com', 'site.example.test', 'bank.example.test', 'ws.example.test', 'pinned.example.test', 'www.fresh.test'];
/** The proxy's log, for what it announces only there (a host's inspection paused). */
const proxyLog = recordingLogger('debug');
let ca: SchoolCa;
let certs: CertificateCache;
let upstreamCaPem: string;
let origin: https.Server;
let originPort = 0;
let badOrigin: https.Server;
let badPort = 0;
const seen: string[] = [];
let proxy: Proxy;
let proxyPort = 0;
let alerts: AlertService;
let traffic: TrafficLog;
let recording: RecordingProxy;
let yaml = '';
let config: SchoolgateConfig;
const rootFile = join(tmp.dir, 'school-root.pem');

function listen(server: https.Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
}

beforeAll(async () => {
  ca = initCa(join(tmp.dir, 'data'), { schoolName: SCHOOL });
  writeFileSync(rootFile, ca.certPem);
  certs = new CertificateCache(ca);
  const upstream = makeCa('Upstream test CA');
  upstreamCaPem = upstream.certPem;
  writeFileSync(join(tmp.dir, 'upstream-ca.pem'), upstream.certPem);
  const cert = makeServerCert(upstream, SITES);
  origin = https.createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    seen.push(`${req.headers.host} ${req.url}`);
    res.setHeader('content-type', 'text/plain');
    res.end(`origin saw ${req.url}`);
  });
  // WebSocket-style upgrade: 101, then echo what follows.
  origin.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
  });
  originPort = await listen(origin);
  // A site whose certificate no trusted CA signed.
  const rogue = makeServerCert(makeCa('Rogue CA'), ['untrusted.example.test']);
  badOrigin = https.createServer({ key: rogue.keyPem, cert: rogue.certPem }, (_req, res) => res.end('should never be seen'));
  badPort = await listen(badOrigin);
  mkdirSync(join(tmp.dir, 'block-list'));
  writeFileSync(join(tmp.dir, 'block-list', 'urls'), 'site.example.test/forbidden\n');
  writeFileSync(join(tmp.dir, 'never.yaml'), 'categories: [finance]\nsites:\n  - bank.example.test\n');
  yaml = `proxy:
  networks:
    - { cidr: 127.0.0.0/8, group: ks2 }
    - { cidr: 127.0.2.0/24, group: staff }
  connectPorts: [443, ${originPort}, ${badPort}]
  allowPrivate: [127.0.0.0/8]
  resolve:
    www.google.com: 127.0.0.1
    "*.example.test": 127.0.0.1
    "*.fresh.test": 127.0.0.1
    "*.selftest.invalid": 127.0.0.1
tls:
  intercept:
    ks2:
      categories: [search-engines]
      sites: [site.example.test, bank.example.test, ws.example.test, untrusted.example.test, pinned.example.test, www.fresh.test]
    staff:
      sites: [site.example.test, pinned.example.test]
  neverIntercept: ${join(tmp.dir, 'never.yaml')}
  upstreamCAs: [${join(tmp.dir, 'upstream-ca.pem')}]
  pinning: { devices: 3, withinMinutes: 10, bypassMinutes: 60 }
lists:
  sources:
    - name: test-block
      format: list
      path: ${join(tmp.dir, 'block-list')}
      category: school-blocked
      role: block
`;
  ({ proxy, port: proxyPort, config, alerts, traffic } = recording = await startRecordingProxy(tmp.dir, yaml, { tls: { context: (h) => certs.context(h), caCertPem: ca.certPem }, log: proxyLog.log }));
});

afterAll(async () => {
  await closeAll(origin, badOrigin);
  await recording?.close();
  tmp.cleanup();
});

/** curl through the proxy trusting only the school's root: status, body, and what curl printed about the certificate. */
async function curl(url: string, cacert = rootFile): Promise<{ status: number; body: string; verbose: string }> {
  const out = await run('curl', ['-sS', '-v', '--max-time', '20', '--cacert', cacert, '-x', `http://127.0.0.1:${proxyPort}`, '-H', 'Accept: text/html', '-o', '-', '-w', '\n%{http_code}', url], { encoding: 'utf8' })
    .catch((err: { stdout: string; stderr: string }) => ({ stdout: err.stdout, stderr: err.stderr }));
  const lines = out.stdout.split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n'), verbose: out.stderr };
}

/** A real ClientHello for `servername`: the first flight of a TLS client, caught before it goes anywhere. */
function clientHello(servername: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const wire = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        resolve(chunk);
        done();
        setImmediate(() => client.destroy());
      },
    });
    const client = tls.connect({ socket: wire, servername, rejectUnauthorized: false });
    client.on('error', () => {});
  });
}

describe('HTTPS inspection', () => {
  it('decrypts an inspected site: curl trusting only the school root gets the page, relayed over verified TLS', async () => {
    const r = await curl(`https://site.example.test:${originPort}/hello?x=1`);
    expect(r.status).toBe(200);
    expect(r.body).toBe('origin saw /hello?x=1');
    expect(r.verbose).toMatch(/issuer: .*Schoolgate Root CA/);
    expect(seen).toContain(`site.example.test:${originPort} /hello?x=1`);
  });

  it('blocks a page-level entry inside an allowed site with the block page over TLS', async () => {
    const before = seen.length;
    const r = await curl(`https://site.example.test:${originPort}/forbidden/page`);
    expect(r.status).toBe(403);
    expect(r.body).toContain(config.school.name);
    expect(r.body).toContain('site.example.test');
    expect(seen.length).toBe(before);
    expect((await curl(`https://site.example.test:${originPort}/allowed`)).status).toBe(200);
  });

  it('raises an alert for a search term over HTTPS, and its traffic row names it', async () => {
    const r = await curl(`https://www.google.com:${originPort}/search?q=how+to+hide+my+cuts+from+mum`);
    expect(r.status).toBe(200);
    expect(await alerts.settle()).toBe(true);
    const [a] = alerts.store.list(config.safeguarding, { limit: 1 });
    expect(a).toMatchObject({ category: 'self-harm', searchTerm: 'how to hide my cuts from mum', group: 'ks2' });
    // Logged like a plain request: scheme https, the path and query, the search term.
    const [row] = await lastTrafficRows(traffic, join(tmp.dir, 'data'), 1);
    expect(row).toMatchObject({ method: 'GET', scheme: 1, host: 'www.google.com', path: '/search?q=how+to+hide+my+cuts+from+mum', term: 'how to hide my cuts from mum', status: 200, alert: Number(a!.id) });
  });

  it('shows the block page over TLS for a host blocked by name, and never contacts it', async () => {
    const before = seen.length;
    const r = await curl(`https://adult.selftest.invalid:${originPort}/anything`);
    expect(r.status).toBe(403);
    expect(r.verbose).toMatch(/issuer: .*Schoolgate Root CA/);
    expect(r.body).toContain(config.school.name);
    expect(r.body).toMatch(/Category: adult/);
    expect(seen.length).toBe(before);
  });

  it('shows the IWF-style splash over TLS for an illegal-list host, without the address', async () => {
    const r = await curl(`https://iwf.selftest.invalid:${originPort}/some/page`);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/Internet Watch Foundation/);
    expect(r.body).not.toContain('/some/page');
  });

  it('tunnels a never-intercept site untouched: the client sees the origin\'s own certificate', async () => {
    const socket = await tlsThroughProxy(proxyPort, 'bank.example.test', originPort, { ca: upstreamCaPem });
    expect(issuerOf(socket)).toBe('Upstream test CA');
    const answer = await requestOver(socket, 'bank.example.test', '/balance');
    expect(answer).toContain('origin saw /balance');
    // And a school-root-only client cannot read it: nothing was decrypted.
    await expect(tlsThroughProxy(proxyPort, 'bank.example.test', originPort, { ca: ca.certPem })).rejects.toThrow();
  });

  it('answers an upstream with an untrusted certificate with a page that says so, and no way on', async () => {
    const r = await curl(`https://untrusted.example.test:${badPort}/`);
    expect(r.status).toBe(502);
    expect(r.body).toMatch(/certificate/i);
    expect(r.body).not.toContain('should never be seen');
    expect(r.body).not.toMatch(/<form|continue/i);
  });

  it('relays a WebSocket upgrade inside a decrypted tunnel', async () => {
    const socket = await tlsThroughProxy(proxyPort, 'ws.example.test', originPort, { ca: ca.certPem });
    const got = await new Promise<string>((resolve, reject) => {
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => {
        text += d;
        if (text.includes('\r\n\r\n') && !text.includes('echo:')) socket.write('ping');
        if (text.includes('echo:ping')) resolve(text);
      });
      socket.on('error', reject);
      socket.write('GET /socket HTTP/1.1\r\nHost: ws.example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    });
    socket.destroy();
    expect(got).toMatch(/^HTTP\/1\.1 101/);
    expect(got).toContain('echo:ping');
  });

  it('mints one certificate for 50 simultaneous first connections to a new site', async () => {
    const before = certs.stats.mints;
    const sockets = await Promise.all(Array.from({ length: 50 }, () => tlsThroughProxy(proxyPort, 'www.fresh.test', originPort, { ca: ca.certPem })));
    expect(sockets.every((s) => s.authorized)).toBe(true);
    for (const s of sockets) s.destroy();
    expect(certs.stats.mints - before).toBe(1);
  });

  it('tunnels a site undecrypted for staff after three staff devices refuse its certificate (a pinned app)', async () => {
    // curl trusting only the upstream CA refuses the school's certificate with a TLS alert.
    const refuse = (device: string) => run('curl', ['-sS', '--max-time', '10', '--interface', device, '--cacert', join(tmp.dir, 'upstream-ca.pem'), '-x', `http://127.0.0.1:${proxyPort}`, `https://pinned.example.test:${originPort}/`])
      .then(() => 'accepted', () => 'refused');
    const from = proxyLog.lines.length;
    for (const device of ['127.0.2.31', '127.0.2.32', '127.0.2.33']) expect(await refuse(device)).toBe('refused');
    // The third refusal is noted when the proxy reads the alert, just after curl gives up.
    expect(await proxyLog.waitFor(/HTTPS inspection paused for this site/, from)).toMatchObject({ host: 'pinned.example.test', group: 'staff' });
    const socket = await tlsThroughProxy(proxyPort, 'pinned.example.test', originPort, { ca: upstreamCaPem, localAddress: '127.0.2.34' });
    expect(issuerOf(socket)).toBe('Upstream test CA');
    socket.destroy();
    // Pupils are still decrypted there: their refusals could be deliberate.
    const pupil = await tlsThroughProxy(proxyPort, 'pinned.example.test', originPort, { ca: ca.certPem, localAddress: '127.0.0.35' });
    expect(issuerOf(pupil)).toMatch(/Schoolgate Root CA/);
    pupil.destroy();
  });

  it('does not stop decrypting for pupils who refuse the certificate, or for handshakes merely abandoned', async () => {
    const refuse = (device: string) => run('curl', ['-sS', '--max-time', '10', '--interface', device, '--cacert', join(tmp.dir, 'upstream-ca.pem'), '-x', `http://127.0.0.1:${proxyPort}`, `https://site.example.test:${originPort}/`])
      .then(() => 'accepted', () => 'refused');
    for (const device of ['127.0.0.41', '127.0.0.42', '127.0.0.43', '127.0.0.44']) expect(await refuse(device)).toBe('refused');
    // Staff devices that send a ClientHello and hang up prove nothing about the certificate.
    const hello = await clientHello('site.example.test');
    for (const device of ['127.0.2.51', '127.0.2.52', '127.0.2.53', '127.0.2.54']) {
      const raw = await new Promise<net.Socket>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: `site.example.test:${originPort}`, localAddress: device, agent: false });
        req.on('connect', (_res, socket: net.Socket) => resolve(socket));
        req.on('error', reject);
        req.end();
      });
      raw.on('error', () => {});
      // The ClientHello, then the proxy's answer (its ServerHello: the handshake is under way)...
      const answered = new Promise((r) => raw.once('data', r));
      raw.write(hello);
      await answered;
      // ...then the device drops the connection without a word about the certificate, and the
      // proxy says (at debug level) that it has dealt with the failure: counted it or not.
      const from = proxyLog.lines.length;
      raw.resetAndDestroy();
      expect(await proxyLog.waitFor(/a decrypted tunnel failed/, from)).toMatchObject({ host: 'site.example.test', device, code: 'ECONNRESET' });
    }
    for (const device of ['127.0.0.45', '127.0.2.55']) {
      const s = await tlsThroughProxy(proxyPort, 'site.example.test', originPort, { ca: ca.certPem, localAddress: device });
      expect(issuerOf(s)).toMatch(/Schoolgate Root CA/);
      s.destroy();
    }
  });

  it('closes a decrypted connection whose request headers do not arrive in time (408)', async () => {
    const slow = await startProxy(tmp.dir, yaml.replace('proxy:\n', 'proxy:\n  limits: { headerTimeoutSeconds: 1 }\n'), undefined, { tls: { context: (h) => certs.context(h), caCertPem: ca.certPem } });
    try {
      const socket = await tlsThroughProxy(slow.port, 'site.example.test', originPort, { ca: ca.certPem });
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (d: string) => { text += d; });
        socket.on('close', () => resolve(text));
        socket.on('error', () => resolve(text));
        // Half a request line, then nothing.
        socket.write('GET /slow HTTP/1.1\r\nHost: site.example.test\r\n');
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await closeAll(slow.proxy);
    }
  });

  it('serves its own pages over HTTPS at the page host, with forms posting there', async () => {
    const socket = await tlsThroughProxy(proxyPort, 'schoolgate.invalid', 443, { ca: ca.certPem });
    const answer = await requestOver(socket, 'schoolgate.invalid', '/concern?ref=AB12');
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain('action="https://schoolgate.invalid/concern"');
  });

  it('serves the root certificate for devices at /ca.crt (DER), /ca.pem, and install steps at /ca', async () => {
    const der = await new Promise<Buffer>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: proxyPort, path: '/ca.crt' }, (res) => {
        expect(res.headers['content-type']).toBe('application/x-x509-ca-cert');
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      }).on('error', reject);
    });
    expect(new crypto.X509Certificate(der).fingerprint256).toBe(new crypto.X509Certificate(ca.certPem).fingerprint256);
    const page = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: proxyPort, path: '/ca', headers: { accept: 'text/html' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => { body += d; });
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    for (const platform of ['Windows', 'macOS', 'ChromeOS', 'iPad']) expect(page).toContain(platform);
    expect(page).toContain(new crypto.X509Certificate(ca.certPem).fingerprint256);
  });
});
