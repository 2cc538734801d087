// CONNECT tunnels: the gate judges the CONNECT (judgeConnect), then the ClientHello the client
// sends after the 200 (judgeTunnel); this shell refuses, drops, joins the tunnel to its
// destination (socket-join.ts) or hands it to decrypted-tunnel.ts, and records it when it closes.
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import { MAX_HELLO_BYTES, parseClientHello } from './client-hello.js';
import { adopt, answering } from './connection-limits.js';
import { HELLO_TIMEOUT_MS, intercept } from './decrypted-tunnel.js';
import { judgeConnect, judgeTunnel, type GateSnapshot, type Identity, type KnownIdentity } from './gate.js';
import { headerSafe } from './answers.js';
import { raiseFor, trackTunnel, type Raised, type TunnelState } from './recording.js';
import type { ShellContext } from './shell-context.js';
import { identify, knownByNetwork } from './sign-in.js';
import { Deadlines } from './deadlines.js';
import { joinTunnel, Relayed } from './socket-join.js';
import { refusedByProxy, type Outcome } from './traffic-record.js';
import { upstreamFailure } from './upstream-failure.js';

/** The status logged for a client that left before it was answered (nginx's convention). */
const CLIENT_LEFT = 499;

const NOTHING_RAISED: Raised = { trafficId: null, alert: null };
/** A tunnel with no record (the proxy's own pages): its state's outcome is never read. */
const NOT_RECORDED: Outcome = refusedByProxy('not recorded');

/** The HTTP server's 'connect' event: the socket is the proxy's from here. */
export function onConnect(ctx: ShellContext, req: IncomingMessage, socket: net.Socket, head: Buffer): void {
  adopt(ctx.tunnels, ctx.limits, socket);
  if (answering(socket)) return void socket.destroy();
  if (req.httpVersionMajor !== 1) return endRaw(socket, 505, {});
  const snap = ctx.live.current;
  const known = knownByNetwork(ctx, snap, req);
  if (known !== null) return handleConnect(ctx, snap, req, socket, head, known);
  void identify(ctx, snap, req).then((who) => handleConnect(ctx, snap, req, socket, head, who), () => socket.destroy());
}

function handleConnect(ctx: ShellContext, snap: GateSnapshot, req: IncomingMessage, client: net.Socket, head: Buffer, asking: Identity): void {
  const now = ctx.now;
  const verdict = judgeConnect(snap, { authority: req.url ?? '', who: asking, address: req.socket.remoteAddress, memory: ctx.memory }, now());
  if (verdict.kind === 'sign-in') return endRaw(client, verdict.status, verdict.headers);
  const who = asking as KnownIdentity; // a refused sign-in was answered above
  const rec = verdict.record;
  const raised = rec?.decision ? raiseFor(ctx, snap, req, who, rec, 'connect') : NOTHING_RAISED;
  if (verdict.kind === 'refuse') {
    if (rec) trackTunnel(ctx, client, rec.row, raised, { outcome: rec.outcome, status: verdict.status, counts: null });
    return refuseConnect(client, verdict.status, verdict.reason);
  }
  const t = verdict.tunnel;
  // Established from here: the row is written when the tunnel closes, with what happened.
  const state: TunnelState = { outcome: rec?.outcome ?? NOT_RECORDED, status: 200, counts: null };
  if (rec) trackTunnel(ctx, client, rec.row, raised, state);
  const afterHello = (connected: net.Socket | null): void => readHello(client, head, (hello, buffered) => {
    const step = judgeTunnel(snap, t, hello, now());
    if (step.kind === 'drop') {
      if (step.why === 'fronting') ctx.log.warn({ group: who.group, host: t.host, sni: step.sni }, 'tunnel closed: the TLS server name differs from the CONNECT host (domain fronting)');
      else if (step.why === 'not-tls' && !t.ownPages) ctx.log.warn({ group: who.group, host: t.host, kind: hello.kind }, 'tunnel closed: the client did not start TLS');
      if (step.outcome) state.outcome = step.outcome;
      connected?.destroy();
      return void client.destroy();
    }
    // The requests inside carry the bytes in their own rows: the tunnel's row counts none.
    if (step.kind === 'decrypt') return intercept(ctx, snap, client, snap.tls!, buffered, { host: t.host, port: t.port, who }, step.pinnedHost);
    const upstream = connected ?? dialTunnel(t.dialHost, t.port, snap);
    const counts = new Relayed();
    state.counts = counts;
    joinTunnel(client, upstream, buffered, connected !== null, snap.config.proxy.limits.tunnelIdleTimeoutMs, () => (state.status = 502), counts);
  });
  if (!verdict.dialFirst) return afterHello(null);
  // Not decrypted: the destination is connected before the client is told 200, so a name that
  // does not resolve, a private address or a server that refuses is answered with its status
  // (and logged as refused) rather than with 200 and a reset.
  const upstream = dialTunnel(t.dialHost, t.port, snap);
  // A client that leaves while the proxy dials: no answer was given (logged as nginx's 499).
  // Nothing reads the taken-over socket yet, so only its close is seen.
  const leave = (): void => {
    if (upstream.connecting) state.status = CLIENT_LEFT;
    upstream.destroy();
  };
  client.once('close', leave);
  const unreachable = (err: NodeJS.ErrnoException): void => {
    const failure = upstreamFailure(err);
    state.status = failure.status;
    state.outcome = refusedByProxy(failure.reason);
    ctx.log.info({ group: who.group, host: t.host, code: err.code, status: failure.status }, 'tunnel refused: the destination cannot be reached');
    refuseConnect(client, failure.status, failure.reason);
  };
  upstream.once('error', unreachable);
  upstream.once('connect', () => {
    upstream.off('error', unreachable);
    if (client.destroyed) return void upstream.destroy();
    afterHello(upstream);
  });
}

/** One buffer for every tunnel's 200 (never changed once written), not a string encoded each time. */
const ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection Established\r\n\r\n', 'latin1');

/** A client that has not sent its ClientHello within HELLO_TIMEOUT_MS of the 200 is closed. */
const HELLOS = new Deadlines((client) => client.destroy());

/**
 * A destination that has not connected within the proxy's upstream timeout fails as a timeout
 * (answered 504 before the 200; a tunnel dialled after the ClientHello closes).
 */
const DIALS = new Deadlines((upstream) => {
  if (upstream.connecting) upstream.destroy(Object.assign(new Error('the destination did not answer in time'), { code: 'ETIMEDOUT' }));
});

/**
 * Answers a CONNECT with 200, then holds the client's first bytes until the ClientHello says
 * where it is really going (or that it is not TLS); `then` gets the bytes read so far.
 */
function readHello(client: net.Socket, head: Buffer, then: (hello: ReturnType<typeof parseClientHello>, buffered: Buffer) => void): void {
  client.write(ESTABLISHED);
  let buffered: Buffer = head;
  HELLOS.set(client, HELLO_TIMEOUT_MS);
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    check();
  };
  const check = (): void => {
    const hello = parseClientHello(buffered);
    if (hello.kind === 'need-more' && buffered.length < MAX_HELLO_BYTES) return;
    client.off('data', onData);
    HELLOS.clear(client);
    client.pause();
    then(hello, buffered);
  };
  client.on('data', onData);
  if (head.length > 0) check();
}

/** A connection for a tunnel, through the snapshot's guarded lookup; it ends itself if the far side does not connect in time. */
function dialTunnel(host: string, port: number, snap: GateSnapshot): net.Socket {
  const upstream = net.connect({ host, port, lookup: snap.upstream.lookup as never });
  // Whoever holds it adds its own handling; an error in between must not take the process down.
  upstream.on('error', destroyOnError);
  upstream.once('connect', clearDial);
  DIALS.set(upstream, snap.config.proxy.limits.upstreamTimeoutMs);
  return upstream;
}

function destroyOnError(this: net.Socket): void {
  DIALS.clear(this);
  this.destroy();
}

function clearDial(this: net.Socket): void {
  DIALS.clear(this);
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
