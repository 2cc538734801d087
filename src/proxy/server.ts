// The proxy's shells: sockets in, a verdict from the gate (gate.ts), sockets out. Every request
// and tunnel takes one snapshot at its start (live-snapshot.ts) and passes it down, so a reload,
// an unblock or an exclusion never changes it half-way. The shells only act: HTTP is relayed
// through the snapshot's undici Agent (upstream.ts: pooled keep-alive upstream, bodies streamed
// both ways); upgrades are joined on a 101; CONNECT tunnels are joined or decrypted as the gate
// says, once it has seen the ClientHello.
import crypto, { randomInt } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { Readable } from 'node:stream';
import type { Classification, Classifier } from '../classify/classifier.js';
import { normaliseUrl } from '../classify/normalise-url.js';
import type { SchoolgateConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import type { Decision } from '../policy/types.js';
import { blockPage, caInstallPage, concernForm, messagePage, warnPage, type Page } from './pages.js';
import { WarnMemory } from './warn-memory.js';
import { guardBody } from './body-guard.js';
import { DeviceShare } from './device-share.js';
import { deviceKey } from '../identity/networks.js';
import { completeRow, refusedByProxy, type Decided, type Outcome, type TrafficSink } from './traffic-record.js';
import type { TrafficEntry } from '../store/traffic-entry.js';
import type { NewConcern } from '../store/concerns.js';
import type { AlertSink } from '../alerts/service.js';
import { MAX_HELLO_BYTES, parseClientHello } from './client-hello.js';
import type { ProxyConfig } from './config.js';
import { guardedLookup } from './destinations.js';
import type { Authenticator } from '../identity/auth.js';
import { forwardResponseHeaders } from './forward-headers.js';
import { clientAddress, ipFamily } from '../net/ip.js';
import { PAC_CONTENT_TYPE, pacScript } from './pac.js';
import {
  judgeConnect, judgeRequest, judgeTunnel, reasonOf, targetOf, whoKey,
  type Destination, type GateMemory, type GateSnapshot, type Identity, type Interception, type KnownIdentity, type PlainAnswer, type Recorded,
} from './gate.js';
import { PinningMemory } from '../tls/pinning.js';
import { LiveSnapshot } from './live-snapshot.js';
import type { AdminConfig } from '../admin/config.js';

/** What the proxy needs from the running service: the configuration and lists in force. */
export interface ProxySnapshotSource {
  readonly classifier: Classifier;
  readonly config: SchoolgateConfig;
}

export interface ProxyDeps {
  /**
   * The running proxy's snapshots (LiveSnapshot: with the unblocks and exclusions, rebuilt on
   * notice), or a bare source, whose reloads are followed with no unblocks or stored exclusions.
   */
  readonly source: LiveSnapshot | ProxySnapshotSource;
  readonly log: Logger;
  readonly now?: () => number;
  /** Proxy authentication; without it every network is treated as `auth: off`. */
  readonly auth?: Authenticator;
  /** The traffic log; without it nothing is recorded (tests of other parts). */
  readonly traffic?: TrafficSink;
  /** Safeguarding alerts, raised (and stored) before the response goes back. */
  readonly alerts?: AlertSink;
  /** Where "report a concern" stores what it is told; without it the form says it cannot. */
  readonly concerns?: { record(c: NewConcern): number };
  /**
   * HTTPS inspection: the school's CA and its certificates; without it nothing is decrypted. A
   * function when the CA can appear or change while running (ca init, ca rotate, a reload). For a
   * bare source only: a LiveSnapshot brings its own.
   */
  readonly tls?: Interception | (() => Interception | null);
  /**
   * What the proxy remembers between requests, when it must be shared with other proxy
   * processes (proxy.workers, cluster/shared-memory.ts); without it, this proxy's own.
   */
  readonly memories?: { readonly warned?: WarnMemory; readonly pinning?: PinningMemory };
}

export type { Interception } from './gate.js';

/** What a decrypted connection inherits from its CONNECT: where it goes, and who asked. */
interface InnerTunnel {
  readonly host: string;
  readonly port: number;
  readonly who: KnownIdentity;
}
const INNER = Symbol('schoolgate.inner');
type InnerSocket = tls.TLSSocket & { [INNER]?: InnerTunnel };

function innerOf(req: IncomingMessage): InnerTunnel | undefined {
  return (req.socket as InnerSocket)[INNER];
}

const CHALLENGE = { 'proxy-authenticate': 'Basic realm="Schoolgate", charset="UTF-8"' };

const HELLO_TIMEOUT_MS = 10_000;

/** OpenSSL's codes for a TLS alert in which the client says it does not trust our certificate. */
const REJECTED_CERTIFICATE: ReadonlySet<string> = new Set([
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE', 'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
]);

export interface Proxy {
  readonly server: http.Server;
  /** CONNECT tunnels are taken over from the HTTP server, which no longer counts them: end them on shutdown. */
  destroyTunnels(): void;
}

export function createProxyServer(deps: ProxyDeps): Proxy {
  const tunnels = new Set<net.Socket>();
  const now = deps.now ?? Date.now;
  const warned = deps.memories?.warned ?? new WarnMemory();
  const currentTls = (): Interception | null => (typeof deps.tls === 'function' ? deps.tls() : deps.tls ?? null);
  // The one place the live configuration is read: once at the start of each request or tunnel.
  const own = deps.source instanceof LiveSnapshot ? null : new LiveSnapshot(deps.source, { tls: currentTls });
  const live = own ?? (deps.source as LiveSnapshot);
  const snapshot = (): GateSnapshot => live.current;
  const pinning = deps.memories?.pinning ?? new PinningMemory(() => live.current.config.tls.pinning);
  const shares = new DeviceShare(() => live.current.config.proxy.limits.upstreamPerClient);
  const memory: GateMemory = {
    continued: (who, host, at) => warned.continued(who, host, at),
    pinBypassed: (host, at) => pinning.isBypassed(host, at),
  };
  // Limits are read at start; a reload that changes them takes effect on restart.
  const limits = live.current.config.proxy.limits;
  const serverOptions: http.ServerOptions = {
    requestTimeout: 0, headersTimeout: limits.headerTimeoutMs, keepAliveTimeout: limits.idleTimeoutMs, maxHeaderSize: limits.maxHeaderBytes,
    // Node only checks header timeouts this often (30 s by default): keep it well inside the limit.
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, limits.headerTimeoutMs / 4)),
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void handleRequest(req, res).catch((err: unknown) => {
      deps.log.error({ err: String(err) }, 'request failed');
      if (!res.headersSent) plain(res, 502, 'Schoolgate could not complete this request.\n');
      else res.destroy();
    });
  };
  const server = http.createServer(serverOptions, onRequest);
  // Decrypted tunnels are served by a second HTTP server that never listens: each intercepted
  // TLS socket is handed to it, and its requests take the same path as plain HTTP ones.
  const inner = http.createServer(serverOptions, onRequest);
  // Node checks header timeouts only on servers that have emitted 'listening'; this one never
  // listens, so it is told it does (slow senders inside a tunnel get 408 like any other).
  inner.emit('listening');
  server.once('close', () => {
    inner.close();
    own?.close();
  });
  server.on('connect', (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
    adopt(socket);
    if (answering(socket)) return void socket.destroy();
    if (req.httpVersionMajor !== 1) return endRaw(socket, 505, {});
    const snap = snapshot();
    void identify(snap, req).then((who) => handleConnect(snap, req, socket, head, who), () => socket.destroy());
  });
  // Sockets taken over from the HTTP server (CONNECT, upgrades): it no longer counts them.
  const adopt = (socket: net.Socket): void => {
    tunnels.add(socket);
    socket.setTimeout(limits.tunnelIdleTimeoutMs, () => socket.destroy());
    socket.on('close', () => tunnels.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const onUpgrade = (req: IncomingMessage, socket: net.Socket, head: Buffer): void => {
    adopt(socket);
    if (answering(socket)) return void socket.destroy();
    // The answer is written as any response is, on the taken-over socket, which then closes
    // unless the upgrade is joined upstream.
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once('finish', () => {
      socket.end();
      socket.setTimeout(5_000, () => socket.destroy());
    });
    void handleRequest(req, res, { socket, head }).catch((err: unknown) => {
      deps.log.error({ err: String(err) }, 'upgrade failed');
      if (!res.headersSent) plain(res, 502, 'Schoolgate could not complete this request.\n');
      else socket.destroy();
    });
  };
  const onClientError = (err: NodeJS.ErrnoException, socket: net.Socket): void => {
    // Once a response has begun (a bad chunk in an upload being relayed), an error status would
    // land inside its body: only closing is left.
    if (!socket.writable || (socket as net.Socket & { _httpMessage?: ServerResponse | null })._httpMessage?.headersSent) return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  for (const s of [server, inner]) {
    s.on('upgrade', onUpgrade);
    s.on('clientError', onClientError);
  }
  // One address may not hold every connection the proxy can serve.
  const perClient = new Map<string, number>();
  server.on('connection', (socket: net.Socket) => {
    const address = deviceOf(socket);
    const open = (perClient.get(address) ?? 0) + 1;
    if (open > limits.connectionsPerClient) {
      deps.log.warn({ address, limit: limits.connectionsPerClient }, 'connection refused: too many from one address');
      return void socket.destroy();
    }
    perClient.set(address, open);
    socket.once('close', () => {
      const left = (perClient.get(address) ?? 1) - 1;
      if (left === 0) perClient.delete(address);
      else perClient.set(address, left);
    });
  });

  async function identify(snap: GateSnapshot, req: IncomingMessage): Promise<Identity> {
    const proxy = snap.config.proxy;
    const address = req.socket.remoteAddress ?? '';
    const network = proxy.networks.lookup(address) ?? { group: proxy.defaultGroup, auth: proxy.defaultAuth };
    const header = req.headers['proxy-authorization'];
    if (network.auth === 'off' || !deps.auth || (network.auth === 'optional' && header === undefined)) return { kind: 'known', group: network.group };
    // Sign-in limits count per device (an IPv6 device's whole /64), as the other limits do.
    const out = await deps.auth.check(deviceOf(req.socket), header);
    if (out.kind === 'ok') return { kind: 'known', group: out.user.group, user: out.user.username };
    if (out.kind === 'locked') {
      deps.log.warn({ address }, 'proxy sign-in refused: too many failures from this address');
      return { kind: 'refused', status: 403, headers: { 'retry-after': String(out.retryAfterS) }, body: `Too many failed sign-ins from this device. Try again in ${Math.ceil(out.retryAfterS / 60)} minutes, or ask a member of staff.\n` };
    }
    if (out.delayMs > 0) await new Promise((r) => setTimeout(r, out.delayMs));
    return { kind: 'refused', status: 407, headers: CHALLENGE, body: 'Sign in to use the school\'s internet.\n' };
  }

  /**
   * One path for every request: plain HTTP, requests inside decrypted tunnels, and upgrade
   * requests (WebSocket and the like). The gate judges them all alike; this shell only finds out
   * who is asking (sign-in is I/O), records, and acts. An allowed request goes upstream through
   * the pooled relay, or (`upgrade`) over a connection of its own that is joined to the client
   * only when the server answers 101.
   */
  async function handleRequest(req: IncomingMessage, res: ServerResponse, upgrade?: Upgrade): Promise<void> {
    // Held until the request is handed upstream (or answered): a swap meanwhile closes the old
    // upstream pool only after that.
    const snap = live.hold();
    try {
      await serveRequest(snap, req, res, upgrade);
    } finally {
      live.release(snap);
    }
  }

  async function serveRequest(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, upgrade: Upgrade | undefined): Promise<void> {
    const tunnel = innerOf(req);
    const method = req.method ?? 'GET';
    const target = targetOf(snap, { method, target: req.url ?? '/', httpVersionMajor: req.httpVersionMajor, via: req.headers.via, upgrade: upgrade !== undefined, tunnel });
    if (target.kind === 'own') return ownPages(snap, req, res, target.path);
    if (target.kind === 'plain') return answer(res, target);
    const who = tunnel ? tunnel.who : await identify(snap, req);
    const verdict = judgeRequest(snap, {
      site: target, who, address: req.socket.remoteAddress, method, httpVersion: req.httpVersion, rawHeaders: req.rawHeaders,
      contentLength: req.headers['content-length'], transferEncoding: req.headers['transfer-encoding'], upgrade: upgrade !== undefined, memory,
    }, now());
    const act = verdict.act;
    if (act.kind === 'sign-in') {
      res.writeHead(act.status, { 'content-type': 'text/plain; charset=utf-8', ...act.headers });
      return void res.end(act.body);
    }
    const known = who as KnownIdentity; // a refused sign-in was answered above
    const outcome = verdict.record ? recordResponse(snap, req, res, known, verdict.record) : IGNORED;
    if (act.kind === 'plain') return answer(res, act);
    if (act.kind === 'warn') return sendWarn(snap, req, res, act.target, act.host, known, act.decision);
    if (act.kind === 'block') return sendBlock(snap, req, res, act.target, act.decision);
    if (upgrade) return relayUpgrade(snap, req, res, upgrade, act.to, outcome);
    return relayHttp(snap, req, res, act.to, act.hasBody, outcome);
  }

  /** Raises the alert a decided request calls for and records the request when its response closes. */
  function recordResponse(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, who: KnownIdentity, r: Recorded): OutcomeTracker {
    const d = r.decision!;
    if (deps.log.isLevelEnabled('debug')) deps.log.debug({ group: who.group, host: r.classification.url.host, action: d.action, rule: d.rule.kind }, 'request');
    const trafficId = deps.traffic?.reserve() ?? null;
    const alert = raiseAlert(snap, r.classification, d, req, who, trafficId);
    return trackResponse(req, res, trafficId, r.row, r.outcome, alert);
  }

  /** The pooled relay: the request streams upstream, the answer streams back. */
  async function relayHttp(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, to: Destination, hasBody: boolean, outcome: OutcomeTracker): Promise<void> {
    const proxy = snap.config.proxy;
    // The client left while it was being decided: nothing to send it, nothing to ask upstream.
    if (res.destroyed || req.socket.destroyed) return;
    const origin = `${to.scheme}://${to.host}:${to.port}`;
    const device = deviceOf(req.socket);
    const share = shares.take(device, origin);
    if (share === null) {
      outcome.set(refusedByProxy('too many requests to this site from one device'));
      deps.log.warn({ address: device, origin, limit: proxy.limits.upstreamPerClient }, 'request refused: this device already holds its share of the site\'s connections');
      res.writeHead(429, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5', 'cache-control': 'no-store' });
      return void res.end(`This device already has ${proxy.limits.upstreamPerClient} requests open to ${to.host}. Wait for them to finish, then try again.\n`);
    }
    let released = false;
    const release = (): void => {
      if (!released) shares.release(share);
      released = true;
    };
    // A client that leaves ends the upstream request too: while waiting for the answer through
    // the signal (an EventEmitter: an AbortController costs more per request), after it by
    // destroying the body, which would otherwise stall writing into a closed response.
    const cancel = new EventEmitter();
    let upstreamBody: Readable | null = null;
    whenOver(res, req.socket, () => {
      release();
      if (upstreamBody === null) cancel.emit('abort');
      else if (!upstreamBody.readableEnded) upstreamBody.destroy();
    });
    let slow: string | null = null;
    const body = hasBody ? guardBody(req, proxy.limits, (reason) => {
      slow = reason;
      outcome.set(refusedByProxy(`request body too slow: ${reason}`));
      deps.log.warn({ address: device, host: to.host, reason }, 'request ended: its body came too slowly');
      if (res.headersSent) return void res.destroy();
      res.shouldKeepAlive = false;
      plain(res, 408, `Schoolgate stopped waiting for this upload: ${reason}.\n`);
    }) : null;
    let upstream;
    try {
      upstream = await snap.upstream.agent.request({
        origin, path: to.path, method: req.method ?? 'GET', headers: to.headers, signal: cancel, ...(body ? { body } : {}),
      });
    } catch (err) {
      release();
      if (slow !== null || res.headersSent || res.destroyed) return;
      return answerFailure(snap, req, res, err as NodeJS.ErrnoException, to.host, outcome);
    }
    if (res.destroyed || slow !== null) return void upstream.body.destroy();
    // An answer before the whole upload arrived: the rest of the body will not be read, so the
    // connection cannot carry another request.
    if (hasBody && !req.complete) res.shouldKeepAlive = false;
    res.writeHead(upstream.statusCode, forwardResponseHeaders(rawHeaderList(upstream.headers), '1.1', proxy.via));
    // .pipe() rather than stream.pipeline(): pipeline builds an AbortController and a
    // DOMException per response, 7 % of the proxy's CPU in bench/proxy.ts.
    const answer = upstream.body;
    answer.on('error', () => res.destroy());
    upstreamBody = answer;
    answer.pipe(res);
  }

  /**
   * An upgrade goes upstream on a connection of its own. The client's sockets are joined to it
   * only when the server answers 101 Switching Protocols; any other answer is relayed as an
   * ordinary response and the connection closed, so bytes the client sent after the upgrade
   * request (more requests, smuggled past the filter) never reach the server.
   */
  function relayUpgrade(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, client: Upgrade, to: Destination, outcome: OutcomeTracker): void {
    const proxy = snap.config.proxy;
    if (client.socket.destroyed) return;
    const dialHost = to.host.replace(/^\[|\]$/g, '');
    const common = {
      host: dialHost, port: to.port, method: req.method ?? 'GET', path: to.path, headers: to.headers, agent: false as const, setHost: false,
      lookup: guardedLookup(proxy.allowedPrivate, proxy.resolve) as never, timeout: proxy.limits.upstreamTimeoutMs,
    };
    // Inside a decrypted tunnel the upstream is TLS, verified like any other (upstreamTls).
    const up = to.scheme === 'https'
      ? https.request({ ...common, ...snap.upstream.tlsFor(dialHost) })
      : http.request(common);
    const socket = client.socket;
    // Until the server answers, what the client sends is read and held (so that its leaving is
    // seen: a half-closed socket that nobody reads never closes), up to a bound.
    const held: Buffer[] = client.head.length > 0 ? [client.head] : [];
    let heldBytes = client.head.length;
    const leave = (): void => void up.destroy();
    const hold = (chunk: Buffer): void => {
      heldBytes += chunk.length;
      if (heldBytes > MAX_HELD_BYTES) return void socket.destroy();
      held.push(chunk);
    };
    socket.on('data', hold);
    socket.once('end', leave);
    socket.once('close', leave);
    up.on('timeout', () => up.destroy(Object.assign(new Error('upstream timed out'), { code: 'ETIMEDOUT' })));
    up.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent || socket.destroyed) return void socket.destroy();
      answerFailure(snap, req, res, err, to.host, outcome);
    });
    up.on('upgrade', (answer: IncomingMessage, upstream: net.Socket, upstreamHead: Buffer) => {
      socket.off('data', hold);
      socket.off('end', leave);
      if (socket.destroyed) return void upstream.destroy();
      res.statusCode = 101;
      const lines = forwardResponseHeaders(answer.rawHeaders, '1.1', proxy.via);
      let text = `HTTP/1.1 101 ${answer.statusMessage || 'Switching Protocols'}\r\n`;
      for (let i = 0; i < lines.length; i += 2) text += `${lines[i]}: ${lines[i + 1]}\r\n`;
      socket.write(`${text}\r\n`);
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      for (const chunk of held) upstream.write(chunk);
      upstream.setTimeout(proxy.limits.tunnelIdleTimeoutMs, () => upstream.destroy());
      upstream.on('error', () => upstream.destroy());
      upstream.once('close', () => socket.destroy());
      socket.once('close', () => upstream.destroy());
      upstream.pipe(socket).pipe(upstream);
    });
    up.on('response', (answer: IncomingMessage) => {
      // Not switched: this is the whole exchange. What the client sent after its upgrade request
      // is dropped with the connection.
      res.shouldKeepAlive = false;
      res.writeHead(answer.statusCode ?? 502, forwardResponseHeaders(answer.rawHeaders, answer.httpVersion === '1.0' ? '1.0' : '1.1', proxy.via));
      answer.on('error', () => res.destroy());
      answer.on('end', () => up.destroy());
      answer.pipe(res);
    });
    up.end();
  }

  /**
   * The answer when a request could not go upstream: refused by the proxy's destination guard
   * (logged as refused, in plain text), or the site failed (a page saying how).
   */
  function answerFailure(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, err: NodeJS.ErrnoException, host: string, outcome: OutcomeTracker): void {
    const failure = upstreamFailure(err);
    if (failure.status === 403) {
      outcome.set(refusedByProxy(failure.reason));
      return plain(res, 403, `${failure.text(host)}\n`);
    }
    sendPage(snap, req, res, failure.status, failure.title, failure.text(host));
  }

  /**
   * Safeguarding: every request, whatever the decision. The alert is in the journal (safe from a
   * crash of this process) when this returns, and stored in data/alerts.db by the writer thread
   * moments later: the promise gives its id then, for the traffic row. A failure must not take
   * the proxy down, and must not pass unseen: it is logged as an error with what would have been
   * raised.
   */
  function raiseAlert(snap: GateSnapshot, c: Classification, d: Decision, req: IncomingMessage, who: KnownIdentity, trafficId: number | null): Promise<number | null> | null {
    if (!deps.alerts) return null;
    try {
      return deps.alerts.raise(c, d, { client: clientAddress(req.socket.remoteAddress), user: who.user ?? null, group: who.group, trafficId }, snap.exclusions);
    } catch (err) {
      deps.log.error({ err: String(err), group: who.group, user: who.user, address: req.socket.remoteAddress, categories: c.categories, trafficId }, 'SAFEGUARDING ALERT NOT STORED: check data/alerts.db');
      return null;
    }
  }

  /**
   * Records the request in the traffic log when the response closes, with its status, the bytes
   * on the client connection (headers included) and the time taken. The row's fixed part is
   * built only when there is a log to write it to.
   */
  function trackResponse(req: IncomingMessage, res: ServerResponse, trafficId: number | null, row: (alert: number | null) => Decided, first: Outcome, alert: Promise<number | null> | null): OutcomeTracker {
    let outcome = first;
    const tracker = { set: (o: Outcome): void => { outcome = o; } };
    const sink = deps.traffic;
    if (!sink) return tracker;
    const started = now();
    const socket = req.socket as CountedSocket;
    // Requests on a connection are answered in turn, so this request's bytes are those since the
    // previous one's response closed (its headers included).
    const read = socket[COUNTED]?.read ?? 0;
    const written = socket[COUNTED]?.written ?? 0;
    // Without an alert the row's fixed part is known now; with one, once the alert's id is.
    const fixed = alert === null ? row(null) : null;
    whenOver(res, socket, () => {
      const counted = { read: socket.bytesRead, written: socket.bytesWritten };
      socket[COUNTED] = counted;
      const o = outcome;
      const status = res.statusCode;
      const ms = now() - started;
      recordLinked(sink, alert, trafficId, (a) => completeRow(fixed ?? row(a), o, status, counted.read - read, counted.written - written, ms));
    });
    return tracker;
  }

  /**
   * A row that names its alert is recorded once the alert is stored and its id known (within
   * milliseconds; later while data/alerts.db is locked): the traffic log batches rows anyway.
   */
  function recordLinked(sink: TrafficSink, alert: Promise<number | null> | null, id: number | null, entry: (alert: number | null) => Omit<TrafficEntry, 'id'>): void {
    if (alert === null) sink.record(entry(null), id ?? undefined);
    else void alert.then((a) => sink.record(entry(a), id ?? undefined));
  }

  /**
   * Records a tunnel or upgrade when the client's socket closes: refused ones at once (their
   * socket is ending), joined ones with the bytes each way through the upstream socket.
   */
  function trackTunnel(client: net.Socket, row: (alert: number | null) => Decided, alert: Promise<number | null> | null, outcome: Outcome | (() => Outcome), status: () => number, upstream: () => ByteCounts | undefined = () => undefined, id: number | null = null): void {
    const sink = deps.traffic;
    if (!sink) return;
    const started = now();
    client.once('close', () => {
      const o = typeof outcome === 'function' ? outcome() : outcome;
      const up = upstream();
      const code = status();
      const ms = now() - started;
      recordLinked(sink, alert, id, (a) => completeRow(row(a), o, code, up?.bytesWritten ?? 0, up?.bytesRead ?? 0, ms));
    });
  }

  /** The proxy's own pages: origin-form requests to the proxy, and absolute ones to proxy.pageHost. */
  async function ownPages(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, target: string): Promise<void> {
    const { config, classifier } = snap;
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
    if (path === '/healthz') return plain(res, 200, 'ok\n');
    if (path === '/proxy.pac' || path === '/wpad.dat') {
      const hostHeader = req.headers.host ?? '';
      const proxyHost = hostHeader.replace(/:\d+$/, '') || clientAddress(req.socket.localAddress) || '127.0.0.1';
      res.writeHead(200, { 'content-type': PAC_CONTENT_TYPE, 'cache-control': 'max-age=300' });
      res.end(pacScript({ proxyHost, proxyPort: req.socket.localPort ?? config.proxy.port, direct: config.proxy.pacDirect }));
      return;
    }
    if (path === '/ca' || path === '/ca.crt' || path === '/ca.pem') return caPages(snap, req, res, path);
    if (path === '/') {
      const lists = classifier.matcher.stats.length;
      return plain(res, 200, `Schoolgate for ${config.school.name}: filtering with ${lists} lists and ${config.policy.groups.size} groups.\nSet this proxy in the browser, or use http://${req.headers.host ?? 'this-host'}/proxy.pac.\n`);
    }
    if (path === '/concern' || path === '/continue') {
      // Inside a decrypted tunnel to the page host, the person is whoever opened the tunnel:
      // requests there carry no Proxy-Authorization.
      const who = innerOf(req)?.who ?? await identify(snap, req);
      if (who.kind === 'refused') {
        res.writeHead(who.status, { 'content-type': 'text/plain; charset=utf-8', ...who.headers });
        return void res.end(who.body);
      }
      if (path === '/concern') return concern(snap, req, res, query, who);
      return continueAfterWarn(snap, req, res, who);
    }
    plain(res, 404, 'Not found.\n');
  }

  /** The school's root certificate for devices to install, and how to install it. */
  function caPages(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, path: string): void {
    const { config } = snap;
    const certs = snap.tls;
    if (!certs) return plain(res, 404, 'HTTPS inspection is not set up on this proxy (npx schoolgate ca init).\n');
    const pem = certs.caCertPem;
    if (path === '/ca.pem') {
      res.writeHead(200, { 'content-type': 'application/x-pem-file', 'content-disposition': 'attachment; filename="schoolgate-ca.pem"', 'cache-control': 'no-cache' });
      return void res.end(req.method === 'HEAD' ? undefined : pem);
    }
    const der = new crypto.X509Certificate(pem).raw;
    if (path === '/ca.crt') {
      // DER with this type is what Windows, macOS, ChromeOS and iOS offer to install.
      res.writeHead(200, { 'content-type': 'application/x-x509-ca-cert', 'content-disposition': 'attachment; filename="schoolgate-ca.crt"', 'content-length': String(der.length), 'cache-control': 'no-cache' });
      return void res.end(req.method === 'HEAD' ? undefined : der);
    }
    const origin = req.headers.host ? `http://${req.headers.host}` : `http://${config.proxy.pageHost}`;
    const fingerprint = crypto.createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
    send(req, res, caInstallPage({ school: config.school.name, html: wantsHtml(req), certUrl: `${origin}/ca.crt`, pemUrl: `${origin}/ca.pem`, fingerprint }));
  }

  async function concern(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, query: URLSearchParams, who: KnownIdentity): Promise<void> {
    const { config } = snap;
    const page = { school: config.school.name, html: wantsHtml(req) };
    if (req.method === 'GET' || req.method === 'HEAD') {
      return send(req, res, concernForm({ ...page, action: `${pageOrigin(snap, req)}/concern`, reference: clip(query.get('ref'), 16), url: clip(query.get('url'), 4096) }));
    }
    if (req.method !== 'POST') return plain(res, 405, 'Use the form on the page.\n');
    const form = await readForm(req);
    const text = form?.get('text')?.trim() ?? '';
    if (form === null || text === '') return send(req, res, messagePage({ ...page, status: 400, title: 'Nothing was sent', lines: ['Write what worries you in the box, then press Send. You can also talk to a teacher.'] }));
    if (!deps.concerns) return send(req, res, messagePage({ ...page, status: 503, title: 'Not sent', lines: ['This proxy cannot store reports. Please tell a teacher instead.'] }));
    const address = req.socket.remoteAddress ?? '';
    const id = deps.concerns.record({
      at: new Date(now()), reference: clip(form.get('ref'), 16) || null, url: clip(form.get('url'), 4096) || null,
      group: who.group, user: who.user ?? null, address, text,
    });
    // The report itself is in the database: the log says only that one arrived.
    deps.log.warn({ concern: id, group: who.group, user: who.user, address }, 'concern reported');
    send(req, res, messagePage({ ...page, status: 200, title: 'Thank you', lines: [`Your report has been sent to the school's safeguarding team (number ${id}).`, 'If you are worried right now, talk to a teacher or call Childline on 0800 1111.'] }));
  }

  async function continueAfterWarn(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, who: KnownIdentity): Promise<void> {
    const { config } = snap;
    const page = { school: config.school.name, html: wantsHtml(req) };
    const form = req.method === 'POST' ? await readForm(req) : null;
    const target = form?.get('url') ?? '';
    let url;
    try {
      url = normaliseUrl(target);
    } catch {
      url = null;
    }
    if (!form || !url || (url.scheme !== 'http' && url.scheme !== 'https') || !warned.accept(form.get('token') ?? '', whoKey(req.socket.remoteAddress, who), url.host, config.policy.warnRememberMs, now())) {
      return send(req, res, messagePage({ ...page, status: 400, title: 'This link has expired', lines: ['Go back and open the page again.'] }));
    }
    deps.log.info({ group: who.group, user: who.user, address: req.socket.remoteAddress, host: url.host }, 'warn page: the person continued');
    res.writeHead(303, { location: target, 'cache-control': 'no-store', 'content-length': '0' });
    res.end();
  }

  function send(req: IncomingMessage, res: ServerResponse, page: Page, headers: Record<string, string> = {}): void {
    res.writeHead(page.status, { 'content-type': page.contentType, 'cache-control': 'no-store', ...headers });
    res.end(req.method === 'HEAD' ? undefined : page.body);
  }

  function sendPage(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, status: number, title: string, text: string): void {
    send(req, res, messagePage({ school: snap.config.school.name, status, title, lines: [text], html: wantsHtml(req) }));
  }

  /**
   * Where links to the proxy's own pages point: over HTTPS from a decrypted page (an insecure
   * form on a secure page makes browsers warn), over HTTP otherwise.
   */
  function pageOrigin(snap: GateSnapshot, req: IncomingMessage): string {
    const host = snap.config.proxy.pageHost;
    return innerOf(req) ? `https://${host}` : `http://${host}`;
  }

  function pageLinks(snap: GateSnapshot, req: IncomingMessage, url: string, ref: string, d: Decision): { concernUrl: string; unblockUrl?: string } {
    const { config } = snap;
    const concernUrl = `${pageOrigin(snap, req)}/concern?${new URLSearchParams({ ref, url })}`;
    if (d.unblockBy === null || d.unblockBy === 'never') return { concernUrl };
    const app = config.school.staffAppUrl ?? staffAppBeside(req, config.admin);
    if (app === null) return { concernUrl };
    return { concernUrl, unblockUrl: `${app}/unblocks/new?${new URLSearchParams({ url, ref, categories: d.categories.join(',') })}` };
  }

  function sendBlock(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, url: string, d: Decision): void {
    const ref = reference();
    const page = blockPage({ school: snap.config.school.name, url, decision: d, reference: ref, html: wantsHtml(req), ...pageLinks(snap, req, url, ref, d) });
    send(req, res, page, { 'x-schoolgate-reason': headerSafe(d.rule.kind === 'illegal' ? 'illegal' : d.rule.text) });
  }

  function sendWarn(snap: GateSnapshot, req: IncomingMessage, res: ServerResponse, url: string, host: string, who: KnownIdentity, d: Decision): void {
    const { config } = snap;
    const ref = reference();
    const page = warnPage({
      school: config.school.name, url, decision: d, reference: ref, html: wantsHtml(req),
      continueUrl: `${pageOrigin(snap, req)}/continue`, token: warned.token(whoKey(req.socket.remoteAddress, who), host, now()),
      rememberMinutes: Math.round(config.policy.warnRememberMs / 60_000), concernUrl: pageLinks(snap, req, url, ref, d).concernUrl,
    });
    send(req, res, page, { 'x-schoolgate-reason': headerSafe(reasonOf(d)) });
  }

  /** The tunnel shell: the gate judges the CONNECT, then the ClientHello; this joins, decrypts or drops. */
  function handleConnect(snap: GateSnapshot, req: IncomingMessage, client: net.Socket, head: Buffer, asking: Identity): void {
    const proxy = snap.config.proxy;
    const verdict = judgeConnect(snap, { authority: req.url ?? '', who: asking, address: req.socket.remoteAddress, memory }, now());
    if (verdict.kind === 'sign-in') return endRaw(client, verdict.status, verdict.headers);
    const who = asking as KnownIdentity; // a refused sign-in was answered above
    const rec = verdict.record;
    let trafficId: number | null = null;
    let alert: Promise<number | null> | null = null;
    if (rec?.decision) {
      const d = rec.decision;
      if (deps.log.isLevelEnabled('debug')) deps.log.debug({ group: who.group, host: rec.classification.url.host, action: d.action, rule: d.rule.kind }, 'connect');
      trafficId = deps.traffic?.reserve() ?? null;
      alert = raiseAlert(snap, rec.classification, d, req, who, trafficId);
    }
    if (verdict.kind === 'refuse') {
      if (rec) trackTunnel(client, rec.row, alert, rec.outcome, () => verdict.status, undefined, trafficId);
      return refuseConnect(client, verdict.status, verdict.reason);
    }
    const t = verdict.tunnel;
    // Established from here: the row is written when the tunnel closes, with what happened.
    let outcome = rec?.outcome;
    let status = 200;
    let counted: ByteCounts | undefined;
    if (rec) trackTunnel(client, rec.row, alert, () => outcome!, () => status, () => counted, trafficId);
    const afterHello = (connected: net.Socket | null): void => readHello(client, head, (hello, buffered) => {
      const step = judgeTunnel(snap, t, hello, now());
      if (step.kind === 'drop') {
        if (step.why === 'fronting') deps.log.warn({ group: who.group, host: t.host, sni: step.sni }, 'tunnel closed: the TLS server name differs from the CONNECT host (domain fronting)');
        else if (step.why === 'not-tls' && !t.ownPages) deps.log.warn({ group: who.group, host: t.host, kind: hello.kind }, 'tunnel closed: the client did not start TLS');
        if (step.outcome) outcome = step.outcome;
        connected?.destroy();
        return void client.destroy();
      }
      // The requests inside carry the bytes in their own rows: the tunnel's row counts none.
      if (step.kind === 'decrypt') return intercept(snap, client, snap.tls!, buffered, { host: t.host, port: t.port, who }, step.pinnedHost);
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
      deps.log.info({ group: who.group, host: t.host, code: err.code, status }, 'tunnel refused: the destination cannot be reached');
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

  /**
   * Decrypts a tunnel: the client's TLS is ended here with a certificate for the host signed by
   * the school's CA, and the connection is handed to the inner HTTP server, whose requests are
   * classified, decided, logged and relayed (over verified TLS) like plain HTTP ones.
   * `pinnedHost` counts a failed handshake towards tunnelling the host undecrypted; null for
   * connections that would never be tunnelled anyway.
   */
  function intercept(snap: GateSnapshot, client: net.Socket, certs: Interception, buffered: Buffer, tunnel: InnerTunnel, pinnedHost: string | null): void {
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
        if (pinnedHost !== null && REJECTED_CERTIFICATE.has(err.code ?? '')) noteRejection(snap, pinnedHost, client.remoteAddress ?? '', tunnel.who.group, err.code!);
        else deps.log.debug({ host: tunnel.host, device: client.remoteAddress, code: err.code }, 'a decrypted tunnel failed (not a refusal of the certificate)');
        secure.destroy();
      });
      secure.once('close', () => {
        clearTimeout(handshake);
        client.destroy();
      });
      inner.emit('connection', secure);
    };
    const fail = (err: unknown): void => {
      deps.log.error({ host: tunnel.host, err: String(err) }, 'could not make a certificate for an inspected site');
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
  function noteRejection(snap: GateSnapshot, host: string, device: string, group: string, code: string): void {
    const settings = snap.config.tls.pinning;
    if (!settings.groups.has(group)) {
      deps.log.info({ host, group, code }, 'a device refused the school certificate (is the root installed on it?)');
      return;
    }
    if (pinning.failed(host, device, now())) {
      deps.log.warn({ host, group, code }, 'HTTPS inspection paused for this site: devices keep refusing the school certificate (an app that pins its certificate?). Add it to the never-intercept list to make this permanent.');
    }
  }

  return { server, destroyTunnels: () => { for (const t of tunnels) t.destroy(); } };
}

interface UpstreamFailure {
  readonly status: 403 | 502 | 504;
  readonly title: string;
  /** Short, for the traffic log and a refused tunnel's X-Schoolgate-Reason. */
  readonly reason: string;
  text(host: string): string;
}

const TIMED_OUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
/** OpenSSL's and Node's codes for a certificate that does not verify (untrusted, expired, wrong name). */
const BAD_CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME_MISMATCH/;

/** What the person is told when the site itself fails: not a block, so not the block page. */
function upstreamFailure(e: NodeJS.ErrnoException): UpstreamFailure {
  const code = e.code ?? '';
  // Refused by the proxy's own destination guard (destinations.ts), not by the site.
  if (code === 'ESCHOOLGATEPRIVATE') return { status: 403, title: 'Not reachable through Schoolgate', reason: 'private or local address', text: () => `${e.message}.` };
  if (TIMED_OUT.has(code)) return { status: 504, title: 'The site did not answer', reason: 'the site did not answer in time', text: (h) => `${h} did not answer in time. Try again later.` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') return { status: 502, title: 'No such site', reason: `no such site (${code})`, text: (h) => `${h} could not be found (${code}). Check the address.` };
  // Never hidden and never clicked through: a pupil cannot judge whether someone is pretending to be the site.
  if (BAD_CERTIFICATE.test(code)) return { status: 502, title: 'This site\'s certificate is not valid', reason: `certificate not valid (${code})`, text: (h) => `${h} presented a security certificate that could not be trusted (${code}). Schoolgate has not opened the site, because someone may be pretending to be it. If you think this is wrong, tell the IT technician.` };
  if (code === 'ECONNREFUSED') return { status: 502, title: 'The site refused the connection', reason: 'the site refused the connection', text: (h) => `${h} refused the connection. Try again later.` };
  return { status: 502, title: 'The site could not be reached', reason: `the site could not be reached (${code || e.message})`, text: (h) => `Schoolgate could not reach ${h} (${code || e.message}).` };
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

/**
 * Joins a client to its upstream, sending first what the client sent while it was decided.
 * `connected` says whether the upstream already is; `failed` is told when it never connects.
 */
function joinTunnel(client: net.Socket, upstream: net.Socket, buffered: Buffer, connected: boolean, idleMs: number, failed: () => void): void {
  let joined = false;
  const join = (): void => {
    joined = true;
    upstream.setTimeout(idleMs, () => upstream.destroy());
    upstream.write(buffered);
    client.pipe(upstream).pipe(client);
    client.resume();
  };
  const close = (): void => {
    upstream.destroy();
    client.destroy();
  };
  upstream.on('error', close);
  client.on('close', close);
  client.once('end', () => {
    if (!joined) close();
  });
  upstream.on('close', () => {
    if (!joined) failed();
    close();
  });
  if (connected) join();
  else upstream.once('connect', join);
}

/**
 * Where the staff app is when school.staffAppUrl does not say: on this machine, at the address
 * the device reached the proxy on (so it is one the device can reach), on the admin port.
 */
function staffAppBeside(req: IncomingMessage, admin: AdminConfig): string | null {
  const local = req.socket.localAddress;
  if (!local || admin.port === 0) return null;
  const bare = local.replace(/%.*$/, ''); // a link-local zone (%eth0) has no place in a URL
  const v4 = clientAddress(bare);
  return `${admin.https ? 'https' : 'http'}://${ipFamily(v4) === 6 ? `[${v4}]` : v4}:${admin.port}`;
}

/**
 * True while an earlier request on the socket is still being answered: an upgrade or CONNECT
 * pipelined behind it cannot take the socket over (browsers never do this; Node would throw).
 */
function answering(socket: net.Socket): boolean {
  return (socket as net.Socket & { _httpMessage?: ServerResponse | null })._httpMessage != null;
}

const DEVICE = Symbol('schoolgate.device');

/**
 * The device a connection belongs to (identity/networks deviceKey), worked out once per
 * connection: a dual-stack socket reports every IPv4 client in IPv6 form, which takes parsing.
 */
function deviceOf(socket: net.Socket): string {
  const s = socket as net.Socket & { [DEVICE]?: string };
  return (s[DEVICE] ??= deviceKey(socket.remoteAddress ?? ''));
}

/** A request that asked to switch protocols: the client's socket, and what it sent after the request's head. */
interface Upgrade {
  readonly socket: net.Socket;
  readonly head: Buffer;
}

/** Changes what a request's traffic-log row will say happened. */
interface OutcomeTracker { set(o: Outcome): void }
/** For requests that are not recorded. */
const IGNORED: OutcomeTracker = { set: () => undefined };

/** What a client may send after an upgrade request before the server has answered it. */
const MAX_HELD_BYTES = 64 * 1024;

/** The status logged for a client that left before it was answered (nginx's convention). */
const CLIENT_LEFT = 499;

/**
 * Runs `fn` once when the response is over: when it closes, or when its connection does first.
 * Node never closes a pipelined request's response that was still queued when the client left,
 * and what waits on it (a device's share of a site, the traffic-log row) must not wait forever.
 */
function whenOver(res: ServerResponse, socket: net.Socket, fn: () => void): void {
  let done = false;
  const over = (): void => {
    if (done) return;
    done = true;
    socket.off('close', over);
    fn();
  };
  // Over already (the client left while the request was being decided): at once.
  if (res.destroyed || socket.destroyed) return over();
  res.once('close', over);
  socket.once('close', over);
}

/** undici's header object as a raw name, value list (repeated headers stay repeated). */
function rawHeaderList(headers: Record<string, string | string[] | undefined>): string[] {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) raw.push(name, v);
    else raw.push(name, value);
  }
  return raw;
}

/** Bytes to (written) and from (read) the far side of a tunnel. */
interface ByteCounts { readonly bytesWritten: number; readonly bytesRead: number }

const COUNTED = Symbol('schoolgate.counted');
/** A client socket with the byte counts at the end of its previous response. */
type CountedSocket = net.Socket & { [COUNTED]?: { read: number; written: number } };

function refuseConnect(socket: net.Socket, status: number, reason: string): void {
  endRaw(socket, status, { 'X-Schoolgate-Reason': headerSafe(reason) });
}

/** Answers on a taken-over socket and closes it, whether or not the client closes its side. */
function endRaw(socket: net.Socket, status: number, headers: Record<string, string>): void {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n${lines}Content-Length: 0\r\nConnection: close\r\n\r\n`);
  socket.setTimeout(5_000, () => socket.destroy());
}

function wantsHtml(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

function clip(v: string | null, max: number): string {
  return (v ?? '').slice(0, max);
}

const MAX_FORM_BYTES = 16_384;

/** An application/x-www-form-urlencoded body of at most 16 KiB, or null. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** A plain answer from the gate: its own headers when it gives them, else plain text. */
function answer(res: ServerResponse, a: PlainAnswer): void {
  if (!a.headers) return plain(res, a.status, a.body);
  res.writeHead(a.status, a.headers);
  res.end(a.body === '' ? undefined : a.body);
}

function plain(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

function headerSafe(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

function reference(): string {
  // randomInt draws from a pooled buffer: randomBytes(4) was 1–1.6 % of the proxy's profile.
  return randomInt(0x1_0000_0000).toString(16).toUpperCase().padStart(8, '0');
}
