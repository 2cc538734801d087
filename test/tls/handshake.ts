// Real TLS on loopback for the certificate tests: a server that serves each handshake the way
// the proxy will (a plain socket wrapped server-side, the context chosen by SNI from the
// CertificateCache), and a client that reports whether it trusted what it was shown.
import { execFile } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';

export interface TestServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves "hello\n" over TLS on 127.0.0.1. `contextFor` picks the context for the SNI name;
 * `fallback` is used when the client sends none (a client connecting to an IP address).
 */
export async function tlsServer(contextFor: (servername: string) => tls.SecureContext | Promise<tls.SecureContext>, fallback?: tls.SecureContext): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    const socket = new tls.TLSSocket(raw, {
      isServer: true,
      ...(fallback ? { secureContext: fallback } : {}),
      SNICallback: (servername, done) => {
        try {
          const context = contextFor(servername);
          if (context instanceof Promise) context.then((c) => done(null, c), (err: Error) => done(err));
          else done(null, context);
        } catch (err) {
          done(err as Error);
        }
      },
    });
    socket.on('secure', () => socket.end('hello\n'));
    socket.on('error', () => raw.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

export interface ClientResult {
  /** true when the client trusted the server's certificate for the name and read its greeting. */
  readonly ok: boolean;
  /** The error code when it did not (UNABLE_TO_GET_ISSUER_CERT_LOCALLY, ERR_TLS_CERT_ALTNAME_INVALID, …). */
  readonly code?: string;
}

/** Connects to 127.0.0.1:port trusting only `caPem`, asking for `servername` (none for an IP). */
export function tlsClient(port: number, opts: { caPem: string | string[]; servername?: string; host?: string }): Promise<ClientResult> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: opts.caPem,
      ...(opts.servername !== undefined ? { servername: opts.servername } : {}),
      // Node checks the name against host when no servername is given: the IP address here.
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(opts.servername ?? opts.host ?? '127.0.0.1', cert),
    });
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString()));
    socket.on('end', () => resolve({ ok: data === 'hello\n' }));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code ?? err.message }));
  });
}

export function run(command: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
