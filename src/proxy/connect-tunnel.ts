// CONNECT tunnels: the gate judges the CONNECT (judgeConnect), then the ClientHello the client
// sends after the 200 (judgeTunnel); this shell refuses, drops, joins the tunnel to its
// destination (socket-join.ts) or hands it to decrypted-tunnel.ts, and records it when it closes.
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import { MAX_HELLO_BYTES, parseClientHello } from './client-hello.js';
import type { ProxyConfig } from './config.js';
import { adopt, answering } from './connection-limits.js';
import { HELLO_TIMEOUT_MS, intercept } from './decrypted-tunnel.js';
import { guardedLookup } from './destinations.js';
import { judgeConnect, judgeTunnel, type GateSnapshot, type Identity, type KnownIdentity } from './gate.js';
import { headerSafe } from './answers.js';
import { raiseFor, trackTunnel, type ByteCounts, type Raised } from './recording.js';
import type { ShellContext } from './shell-context.js';
import { identify } from './sign-in.js';
import { joinTunnel } from './socket-join.js';
import { refusedByProxy } from './traffic-record.js';
import { upstreamFailure } from './upstream-failure.js';

/** The status logged for a client that left before it was answered (nginx's convention). */
const CLIENT_LEFT = 499;

const NOTHING_RAISED: Raised = { trafficId: null, alert: null };

/** The HTTP server's 'connect' event: the socket is the proxy's from here. */
export function onConnect(ctx: ShellContext, req: IncomingMessage, socket: net.Socket, head: Buffer): void {
  adopt(ctx.tunnels, ctx.limits, socket);
  if (answering(socket)) return void socket.destroy();
  if (req.httpVersionMajor !== 1) return endRaw(socket, 505, {});
  const snap = ctx.live.current;
  void identify(ctx, snap, req).then((who) => handleConnect(ctx, snap, req, socket, head, who), () => socket.destroy());
}

function handleConnect(ctx: ShellContext, snap: GateSnapshot, req: IncomingMessage, client: net.Socket, head: Buffer, asking: Identity): void {
  const proxy = snap.config.proxy;
  const now = ctx.now;
  const verdict = judgeConnect(snap, { authority: req.url ?? '', who: asking, address: req.socket.remoteAddress, memory: ctx.memory }, now());
  if (verdict.kind === 'sign-in') return endRaw(client, verdict.status, verdict.headers);
  const who = asking as KnownIdentity; // a refused sign-in was answered above
  const rec = verdict.record;
  const raised = rec?.decision ? raiseFor(ctx, snap, req, who, rec, 'connect') : NOTHING_RAISED;
  if (verdict.kind === 'refuse') {
    if (rec) trackTunnel(ctx, client, rec.row, raised, rec.outcome, () => verdict.status);
    return refuseConnect(client, verdict.status, verdict.reason);
  }
  const t = verdict.tunnel;
  // Established from here: the row is written when the tunnel closes, with what happened.
  let outcome = rec?.outcome;
  let status = 200;
  let counted: ByteCounts | undefined;
  if (rec) trackTunnel(ctx, client, rec.row, raised, () => outcome!, () => status, () => counted);
  const afterHello = (connected: net.Socket | null): void => readHello(client, head, (hello, buffered) => {
    const step = judgeTunnel(snap, t, hello, now());
    if (step.kind === 'drop') {
      if (step.why === 'fronting') ctx.log.warn({ group: who.group, host: t.host, sni: step.sni }, 'tunnel closed: the TLS server name differs from the CONNECT host (domain fronting)');
      else if (step.why === 'not-tls' && !t.ownPages) ctx.log.warn({ group: who.group, host: t.host, kind: hello.kind }, 'tunnel closed: the client did not start TLS');
      if (step.outcome) outcome = step.outcome;
      connected?.destroy();
      return void client.destroy();
    }
    // The requests inside carry the bytes in their own rows: the tunnel's row counts none.
    if (step.kind === 'decrypt') return intercept(ctx, snap, client, snap.tls!, buffered, { host: t.host, port: t.port, who }, step.pinnedHost);
    const upstream = connected ?? dialTunnel(t.dialHost, t.port, proxy);
    counted = upstream;
    joinTunnel(client, upstream, buffered, connected !== null, proxy.limits.tunnelIdleTimeoutMs, () => (status = 502));
  });
  if (!verdict.dialFirst) return afterHello(null);
  // Not decrypted: the destination is connected before the client is told 200, so a name that
  // does not resolve, a private address or a server that refuses is answered with its status
  // (and logged as refused) rather than with 200 and a reset.
  const upstream = dialTunnel(t.dialHost, t.port, proxy);
  // A client that leaves while the proxy dials: no answer was given (logged as nginx's 499).
  // Nothing reads the taken-over socket yet, so only its close is seen.
  const leave = (): void => {
    if (upstream.connecting) status = CLIENT_LEFT;
    upstream.destroy();
  };
  client.once('close', leave);
  const unreachable = (err: NodeJS.ErrnoException): void => {
    const failure = upstreamFailure(err);
    status = failure.status;
    outcome = refusedByProxy(failure.reason);
    ctx.log.info({ group: who.group, host: t.host, code: err.code, status }, 'tunnel refused: the destination cannot be reached');
    refuseConnect(client, failure.status, failure.reason);
  };
  upstream.once('error', unreachable);
  upstream.once('connect', () => {
    upstream.off('error', unreachable);
    if (client.destroyed) return void upstream.destroy();
    afterHello(upstream);
  });
}

/**
 * Answers a CONNECT with 200, then holds the client's first bytes until the ClientHello says
 * where it is really going (or that it is not TLS); `then` gets the bytes read so far.
 */
function readHello(client: net.Socket, head: Buffer, then: (hello: ReturnType<typeof parseClientHello>, buffered: Buffer) => void): void {
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  let buffered: Buffer = head;
  const timer = setTimeout(() => client.destroy(), HELLO_TIMEOUT_MS);
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    check();
  };
  const check = (): void => {
    const hello = parseClientHello(buffered);
    if (hello.kind === 'need-more' && buffered.length < MAX_HELLO_BYTES) return;
    client.off('data', onData);
    clearTimeout(timer);
    client.pause();
    then(hello, buffered);
  };
  client.on('data', onData);
  if (head.length > 0) check();
}

/** A connection for a tunnel, through the destination guard; it ends itself if the far side does not connect in time. */
function dialTunnel(host: string, port: number, proxy: ProxyConfig): net.Socket {
  const upstream = net.connect({ host, port, lookup: guardedLookup(proxy.allowedPrivate, proxy.resolve) as never });
  // Whoever holds it adds its own handling; an error in between must not take the process down.
  upstream.on('error', () => upstream.destroy());
  upstream.setTimeout(proxy.limits.upstreamTimeoutMs, () => {
    if (upstream.connecting) upstream.destroy(Object.assign(new Error(`${host} did not answer in time`), { code: 'ETIMEDOUT' }));
  });
  return upstream;
}

function refuseConnect(socket: net.Socket, status: number, reason: string): void {
  endRaw(socket, status, { 'X-Schoolgate-Reason': headerSafe(reason) });
}

/** Answers on a taken-over socket and closes it, whether or not the client closes its side. */
function endRaw(socket: net.Socket, status: number, headers: Record<string, string>): void {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n${lines}Content-Length: 0\r\nConnection: close\r\n\r\n`);
  socket.setTimeout(5_000, () => socket.destroy());
}
