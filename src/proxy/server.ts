// The proxy's shell: sockets in, decisions from classify/ and policy/, sockets out. Every
// request takes the list service's current snapshot once, so a reload never changes a request
// half-way. HTTP is relayed through an undici Agent (pooled keep-alive upstream, bodies streamed
// both ways); CONNECT tunnels are decided on the CONNECT host, then again on the TLS
// ClientHello's SNI, before any byte goes upstream.
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { Agent } from 'undici';
import type { Classifier } from '../classify/classifier.js';
import { normaliseUrl, UrlError } from '../classify/normalise-url.js';
import type { SchoolgateConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import { decide } from '../policy/decide.js';
import type { Decision } from '../policy/types.js';
import { blockPage } from './block-page.js';
import { MAX_HELLO_BYTES, parseClientHello } from './client-hello.js';
import { guardedLookup, literalRefused } from './destinations.js';
import type { Authenticator } from '../identity/auth.js';
import { answersItself, forwardRequestHeaders, forwardResponseHeaders } from './forward-headers.js';
import { PAC_CONTENT_TYPE, pacScript } from './pac.js';

/** What the proxy needs from the running service: the current snapshot, read per request. */
export interface ProxySnapshotSource {
  readonly classifier: Classifier;
  readonly config: SchoolgateConfig;
}

export interface ProxyDeps {
  readonly source: ProxySnapshotSource;
  readonly log: Logger;
  readonly now?: () => number;
  /** Proxy authentication; without it every network is treated as `auth: off`. */
  readonly auth?: Authenticator;
}

/** Who is asking, or the answer that asks them to sign in. */
type Identity =
  | { readonly kind: 'known'; readonly group: string; readonly user?: string }
  | { readonly kind: 'refused'; readonly status: 407 | 403; readonly headers: Record<string, string>; readonly body: string };

const CHALLENGE = { 'proxy-authenticate': 'Basic realm="Schoolgate", charset="UTF-8"' };

const HELLO_TIMEOUT_MS = 10_000;

export interface Proxy {
  readonly server: http.Server;
  /** CONNECT tunnels are taken over from the HTTP server, which no longer counts them: end them on shutdown. */
  destroyTunnels(): void;
}

export function createProxyServer(deps: ProxyDeps): Proxy {
  const tunnels = new Set<net.Socket>();
  const now = deps.now ?? Date.now;
  const agentFor = agentCache();
  // Limits are read at start; a reload that changes them takes effect on restart.
  const limits = deps.source.config.proxy.limits;
  const server = http.createServer({
    requestTimeout: 0, headersTimeout: limits.headerTimeoutMs, keepAliveTimeout: limits.idleTimeoutMs, maxHeaderSize: limits.maxHeaderBytes,
    // Node only checks header timeouts this often (30 s by default): keep it well inside the limit.
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, limits.headerTimeoutMs / 4)),
  }, (req, res) => {
    void handleRequest(req, res).catch((err: unknown) => {
      deps.log.error({ err: String(err) }, 'request failed');
      if (!res.headersSent) plain(res, 502, 'Schoolgate could not complete this request.\n');
      else res.destroy();
    });
  });
  server.on('connect', (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
    adopt(socket);
    void identify(req).then((who) => {
      if (who.kind === 'known') return handleConnect(req, socket, head, who);
      endRaw(socket, who.status, who.headers);
    }, () => socket.destroy());
  });
  // Sockets taken over from the HTTP server (CONNECT, upgrades): it no longer counts them.
  const adopt = (socket: net.Socket): void => {
    tunnels.add(socket);
    socket.setTimeout(limits.tunnelIdleTimeoutMs, () => socket.destroy());
    socket.on('close', () => tunnels.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  server.on('upgrade', (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
    adopt(socket);
    void handleUpgrade(req, socket, head).catch(() => socket.destroy());
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    if (!socket.writable) return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  // One address may not hold every connection the proxy can serve.
  const perClient = new Map<string, number>();
  server.on('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress ?? '';
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

  async function identify(req: IncomingMessage): Promise<Identity> {
    const proxy = deps.source.config.proxy;
    const address = req.socket.remoteAddress ?? '';
    const network = proxy.networks.lookup(address) ?? { group: proxy.defaultGroup, auth: proxy.defaultAuth };
    const header = req.headers['proxy-authorization'];
    if (network.auth === 'off' || !deps.auth || (network.auth === 'optional' && header === undefined)) return { kind: 'known', group: network.group };
    const out = await deps.auth.check(address, header);
    if (out.kind === 'ok') return { kind: 'known', group: out.user.group, user: out.user.username };
    if (out.kind === 'locked') {
      deps.log.warn({ address }, 'proxy sign-in refused: too many failures from this address');
      return { kind: 'refused', status: 403, headers: { 'retry-after': String(out.retryAfterS) }, body: `Too many failed sign-ins from this device. Try again in ${Math.ceil(out.retryAfterS / 60)} minutes, or ask a member of staff.\n` };
    }
    if (out.delayMs > 0) await new Promise((r) => setTimeout(r, out.delayMs));
    return { kind: 'refused', status: 407, headers: CHALLENGE, body: 'Sign in to use the school\'s internet.\n' };
  }

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    if (target.startsWith('/')) return selfRequest(req, res);
    const { classifier, config } = deps.source;
    const proxy = config.proxy;
    if (isLoop(req, proxy.via)) return plain(res, 508, 'Loop detected: this request has already passed through Schoolgate.\n');
    let url;
    try {
      url = normaliseUrl(target);
    } catch (err) {
      if (err instanceof UrlError) return plain(res, 400, `Bad request: ${err.message}\n`);
      throw err;
    }
    if (url.scheme !== 'http') return plain(res, 400, `Schoolgate relays http:// requests; ${url.scheme}:// goes through CONNECT.\n`);
    const who = await identify(req);
    if (who.kind === 'refused') {
      res.writeHead(who.status, { 'content-type': 'text/plain; charset=utf-8', ...who.headers });
      return void res.end(who.body);
    }
    const { group } = who;
    const c = classifier.classify(target, url);
    const d = decide({ group, ...(who.user ? { user: who.user } : {}) }, c, config.policy, now());
    if (deps.log.isLevelEnabled('debug')) deps.log.debug({ group, host: url.host, action: d.action, rule: d.rule.kind }, 'request');
    if (d.action !== 'allow') return sendBlock(req, res, target, d, config.school.name);
    if (literalRefused(url.host, proxy.allowedPrivate)) return plain(res, 403, `Schoolgate does not reach ${url.host} (a private or local address).\n`);

    const fwd = forwardRequestHeaders(req.rawHeaders, req.httpVersion === '1.0' ? '1.0' : '1.1', {
      via: proxy.via, xForwardedFor: proxy.xForwardedFor, clientAddress: req.socket.remoteAddress ?? '',
    });
    let path = url.query === '' ? url.path : `${url.path}?${url.query}`;
    // Max-Forwards: 0 on OPTIONS or TRACE means this proxy is the final recipient (RFC 9110 7.6.2).
    if (answersItself(req.method ?? '', fwd.maxForwards)) {
      if (req.method === 'TRACE') return plain(res, 405, 'TRACE is not answered by this proxy.\n');
      res.writeHead(200, { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT', 'content-length': '0' });
      return void res.end();
    }
    // The client already had its 100 Continue from Node; undici frames the body itself. Host is
    // rewritten from the request line (RFC 9112 3.2.2): the decision was made on that host, so a
    // different Host header must not pick another site on the same server.
    const headers = withoutHeaders(fwd.headers, EXPECT_AND_HOST);
    headers.unshift('Host', authorityOf(url.host, url.port));
    if (d.safeSearch?.kind === 'rewrite-query') path = d.safeSearch.url;
    if (d.safeSearch?.kind === 'add-header') headers.push(d.safeSearch.name, d.safeSearch.value);
    const port = url.port || 80;
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    let upstream;
    try {
      upstream = await agentFor(proxy.allowedPrivate).request({
        origin: `http://${url.host}:${port}`, path, method: req.method ?? 'GET', headers,
        ...(hasBody ? { body: req } : {}),
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ESCHOOLGATEPRIVATE') return plain(res, 403, `${e.message}.\n`);
      return plain(res, 502, `Schoolgate could not reach ${url.host}: ${e.code ?? e.message}\n`);
    }
    const raw: string[] = [];
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) raw.push(name, v);
    }
    res.writeHead(upstream.statusCode, forwardResponseHeaders(raw, '1.1', proxy.via));
    // .pipe() rather than stream.pipeline(): pipeline builds an AbortController and a
    // DOMException per response, 7 % of the proxy's CPU in bench/proxy.ts.
    const body = upstream.body;
    body.on('error', () => res.destroy());
    res.on('close', () => {
      if (!body.readableEnded) body.destroy();
    });
    body.pipe(res);
  }

  /**
   * WebSocket (and other) upgrades over plain HTTP: decided like any request, then the request
   * is written upstream as it came (hop-by-hop headers cleaned, Upgrade kept) and the two
   * sockets are joined. h2c is never relayed (forward-headers.ts).
   */
  async function handleUpgrade(req: IncomingMessage, socket: net.Socket, head: Buffer): Promise<void> {
    const { classifier, config } = deps.source;
    const proxy = config.proxy;
    const refuse = (status: number, reason: string): void => endRaw(socket, status, { 'X-Schoolgate-Reason': headerSafe(reason) });
    const target = req.url ?? '/';
    if (target.startsWith('/')) return refuse(400, 'upgrades are relayed for absolute URLs only');
    let url;
    try {
      url = normaliseUrl(target);
    } catch {
      return refuse(400, 'not a valid URL');
    }
    if (url.scheme !== 'http' && url.scheme !== 'ws') return refuse(400, `${url.scheme}:// cannot be upgraded here`);
    const who = await identify(req);
    if (who.kind === 'refused') return refuse(who.status, who.status === 407 ? 'sign in first' : 'too many failed sign-ins');
    const d = decide({ group: who.group, ...(who.user ? { user: who.user } : {}) }, classifier.classify(target, url), config.policy, now());
    if (d.action !== 'allow') return refuse(403, d.rule.kind === 'illegal' ? 'illegal' : d.rule.text);
    if (literalRefused(url.host, proxy.allowedPrivate)) return refuse(403, 'private or local address');
    const fwd = forwardRequestHeaders(req.rawHeaders, req.httpVersion === '1.0' ? '1.0' : '1.1', {
      via: proxy.via, xForwardedFor: proxy.xForwardedFor, clientAddress: req.socket.remoteAddress ?? '',
    });
    if (fwd.upgrade === null) return refuse(400, 'not an upgrade this proxy relays');
    const path = url.query === '' ? url.path : `${url.path}?${url.query}`;
    if (socket.destroyed) return;
    const upstream = net.connect({ host: url.host.replace(/^\[|\]$/g, ''), port: url.port || 80, lookup: guardedLookup(proxy.allowedPrivate) as never });
    upstream.setTimeout(proxy.limits.tunnelIdleTimeoutMs, () => upstream.destroy());
    let joined = false;
    const close = (): void => {
      upstream.destroy();
      socket.destroy();
    };
    // Attached before connecting: a client that leaves while upstream dials must not leave it
    // open. Taken-over sockets are half-open, so the client's FIN ('end') counts as leaving.
    socket.once('close', close);
    socket.once('end', () => {
      if (!joined) close();
    });
    upstream.once('close', close);
    upstream.on('error', () => {
      if (!joined && !socket.destroyed) refuse(502, `cannot reach ${url.host}`);
      upstream.destroy();
    });
    upstream.on('connect', () => {
      joined = true;
      let text = `${req.method ?? 'GET'} ${path} HTTP/1.1\r\nHost: ${authorityOf(url.host, url.port)}\r\n`;
      const headers = withoutHeaders(fwd.headers, HOST);
      for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
      upstream.write(`${text}\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
  }

  function selfRequest(req: IncomingMessage, res: ServerResponse): void {
    const { config, classifier } = deps.source;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return plain(res, 200, 'ok\n');
    if (path === '/proxy.pac' || path === '/wpad.dat') {
      const hostHeader = req.headers.host ?? '';
      const proxyHost = hostHeader.replace(/:\d+$/, '') || (config.proxy.host === '0.0.0.0' ? '127.0.0.1' : config.proxy.host);
      res.writeHead(200, { 'content-type': PAC_CONTENT_TYPE, 'cache-control': 'max-age=300' });
      res.end(pacScript({ proxyHost, proxyPort: req.socket.localPort ?? config.proxy.port, direct: config.proxy.pacDirect }));
      return;
    }
    if (path === '/') {
      const lists = classifier.matcher.stats.length;
      return plain(res, 200, `Schoolgate for ${config.school.name}: filtering with ${lists} lists and ${config.policy.groups.size} groups.\nSet this proxy in the browser, or use http://${req.headers.host ?? 'this-host'}/proxy.pac.\n`);
    }
    plain(res, 404, 'Not found.\n');
  }

  function sendBlock(req: IncomingMessage, res: ServerResponse, url: string, d: Decision, school: string): void {
    const page = blockPage({ school, url, decision: d, reference: reference(), html: (req.headers.accept ?? '').includes('text/html') });
    res.writeHead(page.status, { 'content-type': page.contentType, 'cache-control': 'no-store', 'x-schoolgate-reason': headerSafe(d.rule.kind === 'illegal' ? 'illegal' : d.rule.text) });
    res.end(req.method === 'HEAD' ? undefined : page.body);
  }

  function handleConnect(req: IncomingMessage, client: net.Socket, head: Buffer, who: { group: string; user?: string }): void {
    const { classifier, config } = deps.source;
    const proxy = config.proxy;
    const authority = req.url ?? '';
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(authority);
    if (!m || Number(m[2]) > 65535) return refuseConnect(client, 400, 'CONNECT needs host:port');
    const port = Number(m[2]);
    if (!proxy.connectPorts.has(port)) return refuseConnect(client, 403, `port ${port} is not allowed for tunnels`);
    const group = who.group;
    let c;
    try {
      c = classifier.classify(authority);
    } catch {
      return refuseConnect(client, 400, 'not a valid host');
    }
    const host = c.url.host;
    if (c.url.hostType !== 'name' && proxy.blockIpTunnels.has(group)) return refuseConnect(client, 403, 'tunnels to bare IP addresses are blocked');
    if (literalRefused(host, proxy.allowedPrivate)) return refuseConnect(client, 403, 'private or local address');
    const d = decide({ group, connect: true, ...(who.user ? { user: who.user } : {}) }, c, config.policy, now());
    if (deps.log.isLevelEnabled('debug')) deps.log.debug({ group, host, action: d.action, rule: d.rule.kind }, 'connect');
    if (d.action !== 'allow') return refuseConnect(client, 403, d.rule.kind === 'illegal' ? 'illegal' : d.rule.text);
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');

    // Hold the client's first bytes until the ClientHello says where it is really going.
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
      if (hello.kind === 'hello') {
        const sni = hello.sni;
        if (sni !== null && sni !== host) {
          deps.log.warn({ group, host, sni }, 'tunnel closed: the TLS server name differs from the CONNECT host (domain fronting)');
          return void client.destroy();
        }
      } else if (hello.kind === 'need-more' || hello.kind === 'malformed' || proxy.requireTls.has(group)) {
        deps.log.warn({ group, host, kind: hello.kind }, 'tunnel closed: the client did not start TLS');
        return void client.destroy();
      }
      const dialHost = d.safeSearch?.kind === 'connect-host' ? d.safeSearch.host : host.replace(/^\[|\]$/g, '');
      const upstream = net.connect({ host: dialHost, port, lookup: guardedLookup(proxy.allowedPrivate) as never });
      upstream.setTimeout(proxy.limits.tunnelIdleTimeoutMs, () => upstream.destroy());
      let joined = false;
      upstream.on('connect', () => {
        joined = true;
        upstream.write(buffered);
        client.pipe(upstream).pipe(client);
        client.resume();
      });
      const close = (): void => {
        upstream.destroy();
        client.destroy();
      };
      upstream.on('error', close);
      client.on('close', close);
      client.once('end', () => {
        if (!joined) close();
      });
      upstream.on('close', close);
    };
    client.on('data', onData);
    if (head.length > 0) check();
  }

  return { server, destroyTunnels: () => { for (const t of tunnels) t.destroy(); } };
}

/** One pooled undici Agent per set of allowed private ranges (they change only on reload). */
function agentCache() {
  let agent: Agent | undefined;
  let key: unknown;
  return (allowed: Parameters<typeof guardedLookup>[0]): Agent => {
    if (agent && key === allowed) return agent;
    void agent?.close();
    key = allowed;
    agent = new Agent({ connections: 256, keepAliveTimeout: 30_000, connect: { lookup: guardedLookup(allowed) as never } });
    return agent;
  };
}

function authorityOf(host: string, port: number): string {
  return port === 0 ? host : `${host}:${port}`;
}

const HOST: ReadonlySet<string> = new Set(['host']);
const EXPECT_AND_HOST: ReadonlySet<string> = new Set(['expect', 'host']);

/** A raw header list without the named headers (lower-case names), in one pass. */
function withoutHeaders(raw: readonly string[], names: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!names.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  return out;
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

function plain(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

function isLoop(req: IncomingMessage, via: string): boolean {
  const v = req.headers.via;
  return typeof v === 'string' && v.split(',').some((part) => part.trim().split(/\s+/)[1] === via);
}

function headerSafe(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

function reference(): string {
  return randomBytes(4).toString('hex').toUpperCase();
}
