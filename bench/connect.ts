// CONNECT benchmark pieces for bench/proxy.ts (autocannon cannot open tunnels): a certificate for
// the TLS origin made with node-forge, and a load generator whose clients each, in a loop, open
// a TCP connection to the proxy, send CONNECT name:port, wait for the 200, do a full TLS
// handshake through the tunnel with SNI = name (from scratch, or resuming the previous session), send one GET, read the
// whole response (the origin closes after it) and close. Without a proxy the same client goes
// straight to the TLS origin ("direct").
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import forge from 'node-forge';

export interface KeyAndCert {
  readonly keyPem: string;
  readonly certPem: string;
  readonly caPem: string;
}

/** A CA and a server certificate for `name`, signed by it (as test/helpers/list-server.ts does). */
export function makeCert(name: string): KeyAndCert {
  const pair = (): { key: forge.pki.rsa.PrivateKey; pub: forge.pki.rsa.PublicKey; pem: string } => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    return { key: forge.pki.privateKeyFromPem(privateKey), pub: forge.pki.publicKeyFromPem(publicKey), pem: privateKey };
  };
  const base = (pub: forge.pki.rsa.PublicKey, cn: string): forge.pki.Certificate => {
    const cert = forge.pki.createCertificate();
    cert.publicKey = pub;
    cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
    cert.validity.notBefore = new Date(Date.now() - 24 * 3600_000);
    cert.validity.notAfter = new Date(Date.now() + 7 * 24 * 3600_000);
    cert.setSubject([{ name: 'commonName', value: cn }]);
    return cert;
  };
  const ca = pair();
  const caCert = base(ca.pub, 'Schoolgate bench CA');
  caCert.setIssuer(caCert.subject.attributes);
  caCert.setExtensions([{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }]);
  caCert.sign(ca.key, forge.md.sha256.create());
  const srv = pair();
  const cert = base(srv.pub, name);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: name }] },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return { keyPem: srv.pem, certPem: forge.pki.certificateToPem(cert), caPem: forge.pki.certificateToPem(caCert) };
}

export interface TunnelTarget {
  /** The proxy's port on 127.0.0.1, or null to connect straight to the TLS origin. */
  readonly proxyPort: number | null;
  readonly name: string;
  readonly tlsPort: number;
  readonly caPem: string;
}

export interface TunnelRun {
  readonly ok: number;
  /** Tunnels whose TLS session was resumed. */
  readonly reused: number;
  /** Outcomes other than a complete 200 response: "CONNECT 403", "ECONNRESET", "timeout"… */
  readonly failures: Map<string, number>;
  /** Milliseconds a successful tunnel took, from TCP connect to the end of the response. */
  readonly latencies: Float64Array;
  readonly wallMs: number;
}

class TunnelError extends Error {}

export interface TunnelOutcome {
  /** The TLS session to resume next time (a TLS 1.3 ticket), if the server sent one. */
  readonly session: Buffer | undefined;
  readonly reused: boolean;
}

/**
 * One tunnel: CONNECT (when proxied), TLS handshake with SNI (resuming `session` if given), GET /,
 * the whole response, close.
 */
export function oneTunnel(t: TunnelTarget, session?: Buffer, timeoutMs = 10_000): Promise<TunnelOutcome> {
  return new Promise((resolve, reject) => {
    let next: Buffer | undefined;
    let reused = false;
    let raw: net.Socket | null = null;
    let secure: tls.TLSSocket | null = null;
    let settled = false;
    const done = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      secure?.destroy();
      raw?.destroy();
      if (err) reject(err);
      else resolve({ session: next, reused });
    };
    const timer = setTimeout(() => done(new TunnelError('timeout')), timeoutMs);
    const startTls = (socket?: net.Socket): void => {
      const opts: tls.ConnectionOptions = { servername: t.name, ca: t.caPem, ...(session ? { session } : {}), ...(socket ? { socket } : { host: '127.0.0.1', port: t.tlsPort }) };
      secure = tls.connect(opts, () => {
        reused = secure!.isSessionReused();
        secure!.write(`GET / HTTP/1.1\r\nHost: ${t.name}\r\nAccept: */*\r\nConnection: close\r\n\r\n`);
      });
      secure.on('session', (b: Buffer) => (next = b));
      const chunks: Buffer[] = [];
      secure.on('data', (d: Buffer) => chunks.push(d));
      secure.on('error', (e: NodeJS.ErrnoException) => done(new TunnelError(e.code ?? e.message)));
      secure.on('end', () => {
        const text = Buffer.concat(chunks).toString('latin1');
        const sep = text.indexOf('\r\n\r\n');
        if (!text.startsWith('HTTP/1.1 200') || sep < 0 || text.length - sep - 4 < 1024) done(new TunnelError(`bad response: ${text.slice(0, 40)}`));
        else done();
      });
    };
    if (t.proxyPort === null) return startTls();
    const socket = net.connect({ host: '127.0.0.1', port: t.proxyPort });
    raw = socket;
    socket.setNoDelay(true);
    let head: Buffer = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = head.length === 0 ? d : Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 8192) done(new TunnelError('CONNECT answer too long'));
        return;
      }
      socket.off('data', onData);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'))?.[1] ?? '???';
      if (status !== '200') return done(new TunnelError(`CONNECT ${status}`));
      if (head.length > end + 4) return done(new TunnelError('bytes after the CONNECT answer'));
      startTls(socket);
    };
    socket.on('data', onData);
    socket.on('error', (e: NodeJS.ErrnoException) => done(new TunnelError(e.code ?? e.message)));
    socket.on('end', () => {
      if (secure === null) done(new TunnelError('closed before the CONNECT answer'));
    });
    socket.on('connect', () => socket.write(`CONNECT ${t.name}:${t.tlsPort} HTTP/1.1\r\nHost: ${t.name}:${t.tlsPort}\r\n\r\n`));
  });
}

/**
 * `clients` concurrent loops of tunnels until `amount` have been started or `seconds` have
 * passed. With `resume`, each loop offers the TLS session from its previous tunnel, as a browser
 * does: the handshake then skips the certificate and its RSA signature.
 */
export async function runTunnels(t: TunnelTarget, clients: number, amount: number, seconds: number, resume = false): Promise<TunnelRun> {
  const latencies = new Float64Array(amount);
  const failures = new Map<string, number>();
  let started = 0;
  let ok = 0;
  let reused = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let last = t0;
  const loop = async (): Promise<void> => {
    let session: Buffer | undefined;
    while (started < amount && performance.now() < deadline) {
      started++;
      const s = performance.now();
      try {
        const out = await oneTunnel(t, resume ? session : undefined);
        session = out.session ?? session;
        if (out.reused) reused++;
        last = performance.now();
        latencies[ok++] = last - s;
      } catch (err) {
        last = performance.now();
        const key = err instanceof TunnelError ? err.message : String(err);
        failures.set(key, (failures.get(key) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  return { ok, reused, failures, latencies: latencies.subarray(0, ok), wallMs: last - t0 };
}
