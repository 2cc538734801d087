// The gate: what the proxy does with a request or a tunnel, decided once, with no sockets. The
// shells (request-shell.ts, connect-tunnel.ts; server.ts lists them all) turn sockets into facts,
// ask the gate, and carry out its verdict; every policy, interception and group rule is here or
// below (classify/, policy/, tls/intercept.ts).
//
// A request (plain HTTP, an upgrade, or a request inside a decrypted tunnel), in order:
//   1. targetOf(): the proxy's own pages (origin form, or the page host), OPTIONS *, and requests
//      the proxy will not read (not HTTP/1.x, a bad URL, a scheme that goes through CONNECT, a
//      loop through this proxy). None of these needs to know who is asking.
//   2. judgeRequest(), once the shell knows who is asking:
//      a. a refused sign-in: the sign-in (407) or lock-out (403) answer; nothing recorded
//      b. classify, then decide() (policy/decide.ts: illegal lists, unblocks, user overrides,
//         site lists, schedules, group levels)
//      c. warn not yet clicked through: the warn page; block: the block page
//      d. a private or local address named literally: refused by the proxy
//      e. OPTIONS or TRACE with Max-Forwards: 0 is answered by the proxy (RFC 9110 7.6.2)
//      f. an upgrade that is not WebSocket, or carries a body: refused
//      g. forward, with the Host and hop-by-hop rewrites and the safe-search rewrite
// A tunnel (CONNECT), in two steps because the shell must act before the ClientHello arrives:
//   judgeConnect():
//      a. a refused sign-in: its answer (407 or 403), not recorded
//      b. not host:port, or a host that does not classify: 400
//      c. the proxy's own pages over HTTPS (when a school CA is set up): decrypted, not recorded
//      d. decide(); then a port not in proxy.connectPorts, a bare IP for a group in blockIpTunnels,
//         or a private or local address is refused: as the illegal block (recorded, alerted) when
//         the host is on an illegal list, else as the proxy's own refusal, not recorded as decided
//      e. a block, or a warn not yet clicked through, is refused, unless the group's
//         interception rule decrypts it to show the page (tls/intercept.ts chooseInterception)
//      f. otherwise wait for the ClientHello: decrypted tunnels read it first, others connect
//         upstream first (so an unreachable site is answered with its status)
//   judgeTunnel(), with the ClientHello:
//      a. an SNI that differs from the CONNECT host (domain fronting): dropped
//      b. no TLS (or a broken hello) when refused, or for a group in requireTls: dropped
//      c. decrypt when chosen, unless the host is a pinned app being let through (only for
//         groups in tls.pinning.groups, never a refused host or a search engine)
//      d. otherwise tunnel
// The gate reads the memories it is given (warn click-throughs, pinned apps) and never changes
// them; it returns the traffic-log row and what an alert is raised from, and the shell records.
import type tls from 'node:tls';
import type { ExclusionSet } from '../alerts/exclusions.js';
import type { Classification, Classifier } from '../classify/classifier.js';
import { normaliseUrl, UrlError, type NormalisedUrl } from '../classify/normalise-url.js';
import type { SchoolgateConfig } from '../config/load.js';
import { decide } from '../policy/decide.js';
import type { Decision } from '../policy/types.js';
import { chooseInterception } from '../tls/intercept.js';
import type { HelloResult } from './client-hello.js';
import { literalRefused } from './destinations.js';
import { answersItself, forwardRequestHeaders } from './forward-headers.js';
import { decidedOutcome, decidedRow, refusedByProxy, type Decided, type Outcome } from './traffic-record.js';
import type { Scheme } from '../store/traffic-entry.js';
import type { Upstream } from './upstream.js';

export interface Interception {
  /** The TLS context for a host's certificate: at once when cached, else when minted. */
  context(host: string): tls.SecureContext | Promise<tls.SecureContext>;
  /** The school's root certificate, as devices install it (served at /ca.crt). */
  readonly caCertPem: string;
}

/**
 * What one request or tunnel sees, taken once at its start and passed down: a reload, an unblock
 * or an exclusion during the request changes nothing in it. Built and swapped by LiveSnapshot
 * (live-snapshot.ts); frozen.
 */
export interface GateSnapshot {
  /** Counts the snapshots swapped in since start (0 is the first). */
  readonly version: number;
  /** The configuration, with the unblocks in force laid over its policy. */
  readonly config: SchoolgateConfig;
  readonly classifier: Classifier;
  /** HTTPS inspection (the school's CA), or null when nothing is decrypted. */
  readonly tls: Interception | null;
  /** The safeguarding exclusions, the file's and the DSL's, compiled. */
  readonly exclusions: ExclusionSet;
  /** The pooled relay and the roots upstream servers are verified against. */
  readonly upstream: Upstream;
}

/** Who is asking, or the answer that asks them to sign in. */
export interface KnownIdentity { readonly kind: 'known'; readonly group: string; readonly user?: string }
export type Identity =
  | KnownIdentity
  | { readonly kind: 'refused'; readonly status: 407 | 403; readonly headers: Record<string, string>; readonly body: string };

/** What the gate may ask of the proxy's memories; it never changes them. */
export interface GateMemory {
  /** The person (whoKey) clicked through a warn page for this host and it is still remembered. */
  continued(who: string, host: string, now: number): boolean;
  /** The host is a pinned app, tunnelled undecrypted for a while. */
  pinBypassed(host: string, now: number): boolean;
}

/** Whom a warn click-through belongs to: the signed-in person, or else the device's address. */
export function whoKey(address: string | undefined, who: KnownIdentity): string {
  return who.user !== undefined ? `user:${who.user}` : `address:${address ?? ''}`;
}

/** A short answer in plain text from the proxy itself. */
export interface PlainAnswer {
  readonly kind: 'plain';
  readonly status: number;
  readonly body: string;
  /** Replaces the plain-text headers when given (OPTIONS answers carry no body). */
  readonly headers?: Record<string, string>;
}

function plain(status: number, body: string): PlainAnswer {
  return { kind: 'plain', status, body };
}

/** What the proxy itself answers to (OPTIONS *, and OPTIONS with Max-Forwards: 0). */
export const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT';

// ---------------------------------------------------------------- requests

/** A request's line and the tunnel it came through, as the shell read them. */
export interface RequestLine {
  readonly method: string;
  /** The request target as sent (absolute form, origin form, or *). */
  readonly target: string;
  readonly httpVersionMajor: number;
  /** The Via header as received, for loop detection. */
  readonly via: string | string[] | undefined;
  readonly upgrade: boolean;
  /** The decrypted tunnel the request came through, or undefined for plain HTTP. */
  readonly tunnel: { readonly host: string; readonly port: number } | undefined;
}

export type Target =
  | { readonly kind: 'site'; readonly target: string; readonly url: NormalisedUrl; readonly scheme: 'http' | 'https' }
  | { readonly kind: 'own'; readonly path: string }
  | PlainAnswer;

/** Step 1 of a request: its site, the proxy's own page, or an answer that needs no identity. */
export function targetOf(snapshot: GateSnapshot, line: RequestLine): Target {
  // llhttp also accepts HTTP/0.9 (no version) and HTTP/2.0 request lines: neither is relayed.
  if (line.httpVersionMajor !== 1) return plain(505, 'Schoolgate speaks HTTP/1.0 and HTTP/1.1.\n');
  const proxy = snapshot.config.proxy;
  const tunnel = line.tunnel;
  const raw = line.target;
  if (raw === '*') {
    // Requests in asterisk form (`OPTIONS *`) are for the proxy itself (RFC 9112 3.2.4).
    if (line.method !== 'OPTIONS') return plain(400, 'Only OPTIONS may name * as its target.\n');
    return { kind: 'plain', status: 200, body: '', headers: { allow: ALLOWED_METHODS, 'content-length': '0', 'cache-control': 'no-store' } };
  }
  // A proxy request names the whole URL; inside a decrypted tunnel the request names only a path
  // and the tunnel's host is the site: the Host header is not trusted to pick another one.
  let target: string;
  if (!tunnel) {
    if (raw.startsWith('/')) return { kind: 'own', path: raw };
    target = raw;
  } else {
    if (tunnel.host === proxy.pageHost) return { kind: 'own', path: raw.startsWith('/') ? raw : '/' };
    if (!raw.startsWith('/')) return plain(400, 'Inside an HTTPS connection a request names a path, not a whole URL.\n');
    target = `https://${authorityOf(tunnel.host, tunnel.port === 443 ? 0 : tunnel.port)}${raw}`;
  }
  const scheme = tunnel ? 'https' : 'http';
  if (isLoop(line.via, proxy.via)) return plain(508, 'Loop detected: this request has already passed through Schoolgate.\n');
  let url;
  try {
    url = normaliseUrl(target);
  } catch (err) {
    if (err instanceof UrlError) return plain(400, `Bad request: ${err.message}\n`);
    throw err;
  }
  // ws:// names the same server as http:// (RFC 6455 3); wss:// only arrives inside a tunnel.
  if (url.scheme !== scheme && !(line.upgrade && url.scheme === 'ws' && scheme === 'http')) {
    return plain(400, `Schoolgate relays http:// requests; ${url.scheme}:// goes through CONNECT.\n`);
  }
  if (url.host === proxy.pageHost) return { kind: 'own', path: url.query === '' ? url.path : `${url.path}?${url.query}` };
  return { kind: 'site', target, url, scheme };
}

export interface RequestFacts {
  readonly site: Extract<Target, { kind: 'site' }>;
  readonly who: Identity;
  /** The client socket's address. */
  readonly address: string | undefined;
  readonly method: string;
  readonly httpVersion: string;
  readonly rawHeaders: readonly string[];
  readonly contentLength: string | undefined;
  readonly transferEncoding: string | undefined;
  readonly upgrade: boolean;
  readonly memory: GateMemory;
}

/** Where an allowed request goes, as decided: the request line's target and the headers to send. */
export interface Destination {
  readonly scheme: 'http' | 'https';
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly headers: string[];
}

/** What the shell records for a decided request or tunnel, and what an alert is raised from. */
export interface Recorded {
  readonly classification: Classification;
  /** null when the proxy refused before the policy was asked (no alert is raised then). */
  readonly decision: Decision | null;
  readonly outcome: Outcome;
  /** The traffic-log row's fixed part, once the alert (if any) has its id. */
  row(alert: number | null): Decided;
}

export type RequestAct =
  | PlainAnswer
  | { readonly kind: 'sign-in'; readonly status: number; readonly headers: Record<string, string>; readonly body: string }
  | { readonly kind: 'block'; readonly decision: Decision; readonly target: string }
  | { readonly kind: 'warn'; readonly decision: Decision; readonly target: string; readonly host: string }
  | { readonly kind: 'forward'; readonly to: Destination; readonly hasBody: boolean; readonly upgrade: boolean };

export interface RequestVerdict {
  readonly act: RequestAct;
  /** null for a refused sign-in: nothing is recorded. */
  readonly record: Recorded | null;
}

const EXPECT_AND_HOST: ReadonlySet<string> = new Set(['expect', 'host']);

/** Step 2 of a request: who may have what, and how it goes upstream. */
export function judgeRequest(snapshot: GateSnapshot, f: RequestFacts, now: number): RequestVerdict {
  const who = f.who;
  if (who.kind === 'refused') return { act: { kind: 'sign-in', status: who.status, headers: who.headers, body: who.body }, record: null };
  const { config, classifier } = snapshot;
  const proxy = config.proxy;
  const { url, target, scheme } = f.site;
  const c = classifier.classify(target, url);
  const d = decide({ group: who.group, ...(who.user ? { user: who.user } : {}) }, c, config.policy, now);
  const continued = d.action === 'warn' && f.memory.continued(whoKey(f.address, who), url.host, now);
  const logged: Scheme = f.upgrade ? (scheme === 'https' ? 'wss' : 'ws') : scheme;
  const row = (alert: number | null): Decided => decidedRow({
    address: f.address, who, method: f.method, scheme: logged, url, withPath: true, classification: c, decision: d, log: config.log, alert,
  });
  const record = (outcome: Outcome): Recorded => ({ classification: c, decision: d, outcome, row });
  const decided = record(decidedOutcome(d, continued));
  if (d.action === 'warn' && !continued) return { act: { kind: 'warn', decision: d, target, host: url.host }, record: decided };
  if (d.action === 'block') return { act: { kind: 'block', decision: d, target }, record: decided };
  if (literalRefused(url.host, proxy.allowedPrivate)) {
    return { act: plain(403, `Schoolgate does not reach ${url.host} (a private or local address).\n`), record: record(refusedByProxy('private or local address')) };
  }
  const fwd = forwardRequestHeaders(f.rawHeaders, f.httpVersion === '1.0' ? '1.0' : '1.1', {
    via: proxy.via, xForwardedFor: proxy.xForwardedFor, clientAddress: f.address ?? '',
  });
  // Max-Forwards: 0 on OPTIONS or TRACE means this proxy is the final recipient (RFC 9110 7.6.2).
  if (answersItself(f.method, fwd.maxForwards)) {
    if (f.method === 'TRACE') return { act: plain(405, 'TRACE is not answered by this proxy.\n'), record: decided };
    return { act: { kind: 'plain', status: 200, body: '', headers: { allow: ALLOWED_METHODS, 'content-length': '0' } }, record: decided };
  }
  // Host is rewritten from the request line (RFC 9112 3.2.2): the decision was made on that
  // host, so a different Host header must not pick another site on the same server. The client
  // already had its 100 Continue from Node.
  const headers = withoutHeaders(fwd.headers, EXPECT_AND_HOST);
  headers.unshift('Host', authorityOf(url.host, url.port));
  let path = url.query === '' ? url.path : `${url.path}?${url.query}`;
  if (d.safeSearch?.kind === 'rewrite-query') path = d.safeSearch.url;
  if (d.safeSearch?.kind === 'add-header') headers.push(d.safeSearch.name, d.safeSearch.value);
  const hasBody = f.contentLength !== undefined ? f.contentLength !== '0' : f.transferEncoding !== undefined;
  if (f.upgrade) {
    // WebSocket only: other protocols (TLS/1.0, h2c) would carry traffic the filter cannot read.
    if (fwd.upgrade === null || fwd.upgrade.trim().toLowerCase() !== 'websocket') return { act: plain(400, 'Schoolgate relays WebSocket upgrades only.\n'), record: decided };
    // Whatever follows an upgrade request's head is held until the server agrees to switch:
    // a body would be read by a server that does not as the next request.
    if (hasBody) return { act: plain(400, 'Schoolgate does not relay an upgrade request with a body.\n'), record: decided };
  }
  const port = url.port || (scheme === 'https' ? 443 : 80);
  return { act: { kind: 'forward', to: { scheme, host: url.host, port, path, headers }, hasBody, upgrade: f.upgrade }, record: decided };
}

// ---------------------------------------------------------------- tunnels

export interface ConnectFacts {
  /** The CONNECT request's target, host:port. */
  readonly authority: string;
  readonly who: Identity;
  readonly address: string | undefined;
  readonly memory: GateMemory;
}

/** What a tunnel carries from its CONNECT to its ClientHello. */
export interface TunnelFacts {
  readonly host: string;
  readonly port: number;
  readonly who: KnownIdentity;
  /** The proxy's own pages over HTTPS: decrypted, never filtered or recorded. */
  readonly ownPages: boolean;
  /** The tunnel's decision refuses it (block, or a warn not yet clicked through); it is open only to show why. */
  readonly refused: boolean;
  /** Decrypt once the ClientHello is in (chooseInterception's answer). */
  readonly intercept: boolean;
  readonly interceptReason: string;
  /** Where a tunnel that is not decrypted connects: the host, or safe search's connect-host. */
  readonly dialHost: string;
  /** A host whose failed handshakes count towards tunnelling it undecrypted (a pinned app); null when never. */
  readonly pinnable: boolean;
  readonly memory: GateMemory;
}

export type ConnectVerdict =
  /** A refused sign-in: answered with its status and headers, not recorded. */
  | { readonly kind: 'sign-in'; readonly status: number; readonly headers: Record<string, string>; readonly record: null }
  | { readonly kind: 'refuse'; readonly status: 400 | 403; readonly reason: string; readonly record: Recorded | null }
  /** Answer 200 and read the ClientHello; `dialFirst` connects upstream before the 200. */
  | { readonly kind: 'hello'; readonly dialFirst: boolean; readonly tunnel: TunnelFacts; readonly record: Recorded | null };

const AUTHORITY = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/;

/** The first step of a tunnel: refuse it, or answer 200 and wait for the ClientHello. */
export function judgeConnect(snapshot: GateSnapshot, f: ConnectFacts, now: number): ConnectVerdict {
  const { classifier, config } = snapshot;
  const proxy = config.proxy;
  const who = f.who;
  if (who.kind === 'refused') return { kind: 'sign-in', status: who.status, headers: who.headers, record: null };
  const m = AUTHORITY.exec(f.authority);
  if (!m || Number(m[2]) > 65535) return { kind: 'refuse', status: 400, reason: 'CONNECT needs host:port', record: null };
  const port = Number(m[2]);
  const group = who.group;
  let c: Classification;
  try {
    c = classifier.classify(f.authority);
  } catch {
    return { kind: 'refuse', status: 400, reason: 'not a valid host', record: null };
  }
  const host = c.url.host;
  const tunnel = (rest: Pick<TunnelFacts, 'ownPages' | 'refused' | 'intercept' | 'interceptReason' | 'dialHost' | 'pinnable'>): TunnelFacts => ({ host, port, who, memory: f.memory, ...rest });
  if (snapshot.tls && host === proxy.pageHost) {
    return { kind: 'hello', dialFirst: false, record: null, tunnel: tunnel({ ownPages: true, refused: false, intercept: true, interceptReason: 'the proxy\'s own pages', dialHost: host, pinnable: false }) };
  }
  const row = (d: Decision | null) => (alert: number | null): Decided => decidedRow({
    address: f.address, who, method: 'CONNECT', scheme: 'https', url: c.url, withPath: false, classification: c, decision: d, log: config.log, alert,
  });
  const refuse = (reason: string): ConnectVerdict => ({ kind: 'refuse', status: 403, reason, record: { classification: c, decision: null, outcome: refusedByProxy(reason), row: row(null) } });
  const d = decide({ group, connect: true, ...(who.user ? { user: who.user } : {}) }, c, config.policy, now);
  const blocked = (): ConnectVerdict => ({
    kind: 'refuse', status: 403, reason: d.rule.kind === 'illegal' ? 'illegal' : reasonOf(d), record: { classification: c, decision: d, outcome: decidedOutcome(d, false), row: row(d) },
  });
  // The policy is asked before the proxy's own refusals, so that an attempt on an illegal site is
  // recorded and alerted as that whatever port or address it came by (illegal content is blocked
  // and logged for everyone, before any other rule, as in decide()); for any other host the
  // proxy's refusal is what happened.
  const byProxy = !proxy.connectPorts.has(port) ? `port ${port} is not allowed for tunnels`
    : c.url.hostType !== 'name' && proxy.blockIpTunnels.has(group) ? 'tunnels to bare IP addresses are blocked'
    : literalRefused(host, proxy.allowedPrivate) ? 'private or local address'
    : null;
  if (byProxy !== null) return d.rule.kind === 'illegal' ? blocked() : refuse(byProxy);
  // A warn cannot show its page on a tunnel that is not decrypted (the browser shows only its
  // own error for a refused CONNECT), so it is refused unless the person already continued.
  const refused = d.action === 'block' || (d.action === 'warn' && !f.memory.continued(whoKey(f.address, who), host, now));
  const searchEngine = c.url.hostType === 'name' ? classifier.searchEngineOf(host) : null;
  const choice = snapshot.tls
    ? chooseInterception({ group, url: c.url, categories: c.categories, searchEngine, refused }, config.tls)
    : { intercept: false, reason: 'no school CA' };
  if (refused && !choice.intercept) return blocked();
  // A host whose certificate keeps being refused (a pinned app) is tunnelled for a while, for
  // the groups that allows; never a refused host, and never a search engine (its terms matter).
  const pinnable = !refused && searchEngine === null && config.tls.pinning.groups.has(group);
  const dialHost = d.safeSearch?.kind === 'connect-host' ? d.safeSearch.host : host.replace(/^\[|\]$/g, '');
  return {
    kind: 'hello', dialFirst: !choice.intercept,
    record: { classification: c, decision: d, outcome: decidedOutcome(d, !refused && d.action === 'warn'), row: row(d) },
    tunnel: tunnel({ ownPages: false, refused, intercept: choice.intercept, interceptReason: choice.reason, dialHost, pinnable }),
  };
}

export type TunnelVerdict =
  /** Close the tunnel. `outcome` replaces the recorded one (null keeps it); `why` is for the log. */
  | { readonly kind: 'drop'; readonly why: 'fronting' | 'not-tls' | 'refused'; readonly outcome: Outcome | null; readonly sni?: string }
  /** End the client's TLS here; `pinnedHost` counts a refused certificate towards a pinned-app bypass. */
  | { readonly kind: 'decrypt'; readonly pinnedHost: string | null }
  | { readonly kind: 'tunnel' };

/** The second step of a tunnel, once its ClientHello (or what came instead) is read. */
export function judgeTunnel(snapshot: GateSnapshot, t: TunnelFacts, hello: HelloResult, now: number): TunnelVerdict {
  if (t.ownPages) return hello.kind === 'hello' ? { kind: 'decrypt', pinnedHost: null } : { kind: 'drop', why: 'not-tls', outcome: null };
  if (hello.kind === 'hello') {
    const sni = hello.sni;
    if (sni !== null && sni !== t.host) return { kind: 'drop', why: 'fronting', sni, outcome: refusedByProxy(`domain fronting: the TLS server name is ${sni.slice(0, 200)}`) };
  } else if (t.refused || hello.kind === 'need-more' || hello.kind === 'malformed' || snapshot.config.proxy.requireTls.has(t.who.group)) {
    // A refused tunnel only ever shows a page over TLS: anything else gets nothing.
    if (t.refused) return { kind: 'drop', why: 'refused', outcome: null };
    return { kind: 'drop', why: 'not-tls', outcome: refusedByProxy(hello.kind === 'not-tls' ? 'not TLS' : 'a broken TLS ClientHello') };
  }
  if (hello.kind === 'hello' && t.intercept && !(t.pinnable && t.memory.pinBypassed(t.host, now))) {
    return { kind: 'decrypt', pinnedHost: t.pinnable ? t.host : null };
  }
  return { kind: 'tunnel' };
}

// ---------------------------------------------------------------- helpers

export function authorityOf(host: string, port: number): string {
  return port === 0 ? host : `${host}:${port}`;
}

export function reasonOf(d: Decision): string {
  return d.action === 'warn' ? `warn: ${d.rule.text}` : d.rule.text;
}

function isLoop(via: string | string[] | undefined, ours: string): boolean {
  return typeof via === 'string' && via.split(',').some((part) => part.trim().split(/\s+/)[1] === ours);
}

/** A raw header list without the named headers (lower-case names), in one pass. */
function withoutHeaders(raw: readonly string[], names: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!names.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  return out;
}
