// Test fixtures for list downloads: a certificate authority and server certificates made with
// node-forge, a real HTTPS server on 127.0.0.1, and .tar.gz archives built with the tar
// package (or, for the malicious ones tar refuses to create, block by block).
import { generateKeyPairSync, createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import forge from 'node-forge';
import * as tar from 'tar';

export interface KeyAndCert {
  readonly keyPem: string;
  readonly certPem: string;
}

interface Issuer {
  readonly key: forge.pki.rsa.PrivateKey;
  readonly cert: forge.pki.Certificate;
}

function keyPair(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; keyPem: string } {
  // Node makes the key (fast, native); forge makes the certificates.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { privateKey: forge.pki.privateKeyFromPem(privateKey), publicKey: forge.pki.publicKeyFromPem(publicKey), keyPem: privateKey };
}

function baseCert(publicKey: forge.pki.rsa.PublicKey, cn: string): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 24 * 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  return cert;
}

export function makeCa(cn: string): KeyAndCert & Issuer {
  const { privateKey, publicKey, keyPem } = keyPair();
  const cert = baseCert(publicKey, cn);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { key: privateKey, cert, keyPem, certPem: forge.pki.certificateToPem(cert) };
}

/** A server certificate for 127.0.0.1 and localhost (or the names given), signed by `ca`. */
export function makeServerCert(ca: Issuer, names: readonly string[] = ['localhost']): KeyAndCert {
  const { publicKey, keyPem } = keyPair();
  const cert = baseCert(publicKey, names[0] ?? 'localhost');
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, ...names.map((value) => ({ type: 2, value }))] },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ListServer {
  readonly port: number;
  url(path: string): string;
  /** Handlers by path; set by the tests. Unknown paths answer 404. */
  readonly routes: Map<string, Handler>;
  /** Every request seen, in order. */
  readonly requests: { path: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

export async function startListServer(tlsFiles: KeyAndCert): Promise<ListServer> {
  const routes = new Map<string, Handler>();
  const requests: ListServer['requests'] = [];
  const server = https.createServer({ key: tlsFiles.keyPem, cert: tlsFiles.certPem }, (req, res) => {
    const path = req.url ?? '/';
    requests.push({ path, headers: req.headers });
    const handler = routes.get(path);
    if (handler === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port, routes, requests,
    url: (path) => `https://127.0.0.1:${port}${path}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Serves `body` with an ETag (its hash), answering 304 to a matching If-None-Match. */
export function serve(body: Buffer | string): Handler {
  const buf = Buffer.from(body);
  const etag = `"${createHash('sha256').update(buf).digest('hex').slice(0, 16)}"`;
  return (req, res) => {
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { etag, 'content-type': 'application/octet-stream', 'content-length': buf.length }).end(buf);
  };
}

export function etagOf(body: Buffer | string): string {
  return `"${createHash('sha256').update(Buffer.from(body)).digest('hex').slice(0, 16)}"`;
}

export function redirect(location: string, status = 302): Handler {
  return (_req, res) => {
    res.writeHead(status, { location }).end();
  };
}

/** `count` reserved test names: site0.<label>.test, site1.<label>.test, … */
export function names(count: number, label: string): string[] {
  return Array.from({ length: count }, (_, i) => `site${i}.${label}.test`);
}

/**
 * A UT1-style archive: blacklists/<list>/<file> for each list, built with the tar package.
 * `extra` adds further files (path relative to the archive root → content).
 */
export async function squidGuardArchive(lists: Record<string, { domains?: string[]; urls?: string[] }>, extra: Record<string, string> = {}): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-archive-'));
  try {
    const root = join(dir, 'blacklists');
    mkdirSync(root);
    for (const [list, files] of Object.entries(lists)) {
      mkdirSync(join(root, list));
      if (files.domains) writeFileSync(join(root, list, 'domains'), `${files.domains.join('\n')}\n`);
      if (files.urls) writeFileSync(join(root, list, 'urls'), `${files.urls.join('\n')}\n`);
    }
    for (const [path, content] of Object.entries(extra)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const file = join(dir, 'out.tar.gz');
    await tar.c({ gzip: true, cwd: dir, file, portable: true }, ['blacklists', ...Object.keys(extra).map((p) => p.split('/')[0]!).filter((p) => p !== 'blacklists')]);
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RawEntry {
  readonly path: string;
  readonly type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'FIFO';
  readonly body?: string;
  readonly linkpath?: string;
}

/** A .tar.gz written block by block, for entries tar.c will not make (../, absolute, links). */
export function rawArchive(entries: readonly RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const header = new tar.Header({
      path: e.path, type: e.type ?? 'File', size: body.length, mode: e.type === 'Directory' ? 0o755 : 0o644,
      mtime: new Date(0), uid: 0, gid: 0, ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}
