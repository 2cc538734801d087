// Decrypted tunnels: the client's TLS is ended here with a certificate for the host signed by
// the school's CA, and the connection is handed to an inner HTTP server, whose requests take the
// same request shell (request-shell.ts) as plain HTTP ones, upstream over verified TLS. A device
// that refuses the certificate counts towards tunnelling a pinned app undecrypted.
import http, { type IncomingMessage } from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import type { GateSnapshot, Interception, KnownIdentity } from './gate.js';
import type { ShellContext } from './shell-context.js';

/** What a decrypted connection inherits from its CONNECT: where it goes, and who asked. */
export interface InnerTunnel {
  readonly host: string;
  readonly port: number;
  readonly who: KnownIdentity;
}
const INNER = Symbol('schoolgate.inner');
type InnerSocket = tls.TLSSocket & { [INNER]?: InnerTunnel };

/** The tunnel a request arrived in, or undefined for a plain HTTP one. */
export function innerOf(req: IncomingMessage): InnerTunnel | undefined {
  return (req.socket as InnerSocket)[INNER];
}

/** How long a client has to send its ClientHello (read to decide) or finish the handshake. */
export const HELLO_TIMEOUT_MS = 10_000;

/** OpenSSL's codes for a TLS alert in which the client says it does not trust our certificate. */
const REJECTED_CERTIFICATE: ReadonlySet<string> = new Set([
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE', 'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
]);

/** The HTTP server decrypted tunnels are handed to; it never listens. */
export function innerServer(options: http.ServerOptions): http.Server {
  const inner = http.createServer(options);
  // Node checks header timeouts only on servers that have emitted 'listening'; this one never
  // listens, so it is told it does (slow senders inside a tunnel get 408 like any other).
  inner.emit('listening');
  return inner;
}

/**
 * Decrypts a tunnel: ends the client's TLS with a certificate for the host and hands the
 * connection to the inner server. `buffered` is what the client sent so far (its ClientHello).
 * `pinnedHost` counts a failed handshake towards tunnelling the host undecrypted; null for
 * connections that would never be tunnelled anyway.
 */
export function intercept(ctx: ShellContext, snap: GateSnapshot, client: net.Socket, certs: Interception, buffered: Buffer, tunnel: InnerTunnel, pinnedHost: string | null): void {
  let ready;
  try {
    ready = certs.context(tunnel.host);
  } catch (err) {
    ready = Promise.reject(err as Error);
  }
  const start = (context: tls.SecureContext): void => {
    if (client.destroyed) return;
    // The ClientHello was read to decide; give it back for the TLS server to read.
    client.unshift(buffered);
    const secure = new tls.TLSSocket(client, { isServer: true, secureContext: context, ALPNProtocols: ['http/1.1'] }) as InnerSocket;
    secure[INNER] = tunnel;
    const handshake = setTimeout(() => secure.destroy(), HELLO_TIMEOUT_MS);
    secure.once('secure', () => clearTimeout(handshake));
    secure.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(handshake);
      // Only the client's own verdict on the certificate counts towards a pinned app: a
      // connection closed or reset mid-handshake says nothing about the certificate.
      if (pinnedHost !== null && REJECTED_CERTIFICATE.has(err.code ?? '')) noteRejection(ctx, snap, pinnedHost, client.remoteAddress ?? '', tunnel.who.group, err.code!);
      else ctx.log.debug({ host: tunnel.host, device: client.remoteAddress, code: err.code }, 'a decrypted tunnel failed (not a refusal of the certificate)');
      secure.destroy();
    });
    secure.once('close', () => {
      clearTimeout(handshake);
      client.destroy();
    });
    ctx.inner.emit('connection', secure);
  };
  const fail = (err: unknown): void => {
    ctx.log.error({ host: tunnel.host, err: String(err) }, 'could not make a certificate for an inspected site');
    client.destroy();
  };
  const guarded = (context: tls.SecureContext): void => {
    try {
      start(context);
    } catch (err) {
      fail(err);
    }
  };
  if (ready instanceof Promise) ready.then(guarded, fail);
  else guarded(ready);
}

/**
 * A device refused the school's certificate for a host. For the groups in tls.pinning.groups
 * (staff by default), enough devices refusing it tunnel the host undecrypted for a while; for
 * others it is only logged, since a pupil could refuse on purpose to get round inspection.
 */
function noteRejection(ctx: ShellContext, snap: GateSnapshot, host: string, device: string, group: string, code: string): void {
  const settings = snap.config.tls.pinning;
  if (!settings.groups.has(group)) {
    ctx.log.info({ host, group, code }, 'a device refused the school certificate (is the root installed on it?)');
    return;
  }
  if (ctx.pinning.failed(host, device, ctx.now())) {
    ctx.log.warn({ host, group, code }, 'HTTPS inspection paused for this site: devices keep refusing the school certificate (an app that pins its certificate?). Add it to the never-intercept list to make this permanent.');
  }
}
