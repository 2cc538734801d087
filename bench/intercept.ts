// HTTPS inspection benchmark: what decrypting a tunnel costs, measured in one run against the
// alternatives (this 2-core shared machine varies 1.5× between runs, so only same-run ratios count):
//   1. keep-alive HTTPS GETs (1 KiB body), 10 and 50 client connections, each connection opened
//      once (CONNECT, TLS) and then used for HTTP/1.1 requests in a loop for a fixed time:
//        direct       client → the HTTPS origin
//        tunnelled    client → Schoolgate (CONNECT, a never-intercept site: bytes relayed) → origin
//        intercepted  client → Schoolgate (CONNECT, TLS ended with a school-CA leaf, each request
//                     classified and relayed over verified HTTPS by the pooled undici Agent) → origin
//   2. time to the first response byte on a new connection, one at a time, counted from opening
//      the TCP connection (the CONNECT goes out as soon as it is up) to the first byte of the
//      answer to a GET sent after the handshake: a host whose certificate is cached, a new host
//      under a cached certificate (new upstream connection), a host never seen (mint + new upstream
//      connection), a tunnelled host and direct. Each cold sample is a name with its own parent
//      (www.c<i>.cold.test → certificate "*.c<i>.cold.test", see src/tls/cert-name.ts).
//   3. new TLS connections a second through the proxy to a cached host, 20 concurrent clients, each
//      connection CONNECT + handshake + close (no HTTP): full handshakes, and resumed ones (the
//      client offers its previous session ticket); direct and tunnelled for comparison.
//   4. the proxy's upstream side on its own: an undici client (as the proxy's Agent) against a local
//      http2.createSecureServer({ allowHTTP1: true }) origin, HTTP/1.1 vs HTTP/2 (allowH2), and the
//      cost of opening a new upstream TLS connection with `ca: [built-in roots + upstreamCAs]` (what
//      the proxy's Agent passes) vs one shared SecureContext.
//
//   npm run bench:intercept            (about 2–3 minutes)
//
// Schoolgate runs in a child process on the shipped configuration with the shared bench set
// (bench/lib.ts benchConfig), a school CA made by initCa and the certificate cache of
// src/tls/interception.ts, logging at info to a file, as `schoolgate start` runs it. The origin is
// another child, with leaf certificates from a separate "upstream" CA (trusted by the proxy through
// tls.upstreamCAs). Schoolgate (and the undici client of part 4) is pinned to core 0; this process
// (the load generator) and the origin to core 1 (taskset; BENCH_PIN=0 turns that off).
// Environment: BENCH_SECONDS (a keep-alive run, default 4), BENCH_ROUNDS (default 2; all rounds are
// shown, the best is used for ratios), BENCH_CONNECTIONS (default "10,50"), BENCH_SAMPLES (first-byte
// samples of each kind, default 200), BENCH_HS_CLIENTS (default 20), BENCH_HS_SECONDS (default 3),
// BENCH_PARTS (default "1,2,3,4"), BENCH_H2=0 (leave part 4 out), BENCH_PROFILE (a folder: write a
// CPU profile of the Schoolgate process; with BENCH_PARTS=1, of the keep-alive runs).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { BenchChild, PIN, pin } from './child.js';
import { benchConfig, codeVersion, fmt, requireShared, table } from './lib.js';

const SELF = fileURLToPath(import.meta.url);
const BODY = Buffer.from('x'.repeat(1023) + '\n'); // 1 KiB
/** Decrypted by Schoolgate (bench.test is an inspected site for KS2); certificate "*.bench.test". */
const INSPECTED = 'inspect.bench.test';
/** In the never-intercept list: tunnelled. Same origin certificate as INSPECTED. */
const TUNNELLED = 'tunnel.bench.test';
/** Hosts under one cached certificate ("*.cached.test"), each a new upstream origin for undici. */
const underCached = (i: number | string): string => `n${i}.cached.test`;
/** Hosts never seen: each its own certificate. */
const cold = (i: number): string => `www.c${i}.cold.test`;
const H2_HOST = 'h2.bench.test';
const PROXY_CORE = 0;
const LOAD_CORE = 1;
const env = (name: string, fallback: number): number => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const SECONDS = env('BENCH_SECONDS', 4);
const ROUNDS = env('BENCH_ROUNDS', 2);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '10,50').split(',').map(Number);
const SAMPLES = env('BENCH_SAMPLES', 200);
const HS_CLIENTS = env('BENCH_HS_CLIENTS', 20);
const HS_SECONDS = env('BENCH_HS_SECONDS', 3);
const PARTS = new Set((process.env.BENCH_PARTS ?? '1,2,3,4').split(',').map(Number));
const WITH_H2 = process.env.BENCH_H2 !== '0' && PARTS.has(4);
/** Certificates the origin has ready for cold hosts: the samples, plus warm-up and checks. */
const COLD_HOSTS = SAMPLES + 20;
/** Hosts under *.cached.test used by part 4's new-connection measurement (offset so they are new to undici there too). */
const NEWCONN_BASE = 100_000;
const NEWCONN_COUNT = 30;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function quantile(sorted: ArrayLike<number>, q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function sortedOf(xs: number[]): Float64Array {
  return Float64Array.from(xs).sort();
}

/** Every name to the loopback origin, as the proxy is configured to (proxy.resolve '*'). */
function loopbackLookup(_host: string, opts: { all?: boolean }, cb: (err: null, a: string | { address: string; family: number }[], f?: number) => void): void {
  if (opts?.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

// ---------------------------------------------------------------------------------------------
// Child processes. Each reports "ready", answers CPU and stats queries over IPC, and exits when
// told to or when the parent goes.

/** Part 4's clients: HTTP/1.1; allowH2 as it is (undici's pipelining default of 1 lets each
 * HTTP/2 connection carry one request at a time, so the pool opens a connection per request in
 * flight); allowH2 with pipelining 100 (streams multiplexed on one connection). */
type Proto = 'h1' | 'h2' | 'h2mux';
const PROTOS: readonly Proto[] = ['h1', 'h2', 'h2mux'];
const PROTO_NAMES: Record<Proto, string> = { h1: 'HTTP/1.1', h2: 'HTTP/2, allowH2', h2mux: 'HTTP/2, allowH2 + pipelining 100' };
type ToChild =
  | { type: 'cpu' | 'stats'; id: number }
  | { type: 'close' }
  | { type: 'h2run'; id: number; proto: Proto; conns: number; seconds: number }
  | { type: 'newconn'; id: number; count: number };
interface OriginStats { requests: number; h2Requests: number; sockets: number; h2Sockets: number; h2Sessions: number }
interface ProxyStats { mints: number; hits: number; waits: number; cached: number }
interface H2Run { count: number; errors: number; wallMs: number; cpuUs: number; p50: number; p99: number }
interface NewConnRun { roots: number[]; context: number[]; rootsCpuUs: number; contextCpuUs: number; rootCount: number; errors: number }
type FromChild =
  | { type: 'ready'; port: number; h2Port?: number; upstreamCaPem?: string; schoolCaPem?: string; info?: string }
  | { type: 'cpu'; id: number; usage: NodeJS.CpuUsage }
  | { type: 'stats'; id: number; stats: OriginStats | ProxyStats }
  | { type: 'h2run'; id: number; run: H2Run }
  | { type: 'newconn'; id: number; run: NewConnRun };
type Ready = Extract<FromChild, { type: 'ready' }>;

function serveChild(ready: Omit<Ready, 'type'>, stats: () => OriginStats | ProxyStats, close: () => void, extra?: (m: ToChild, send: (m: FromChild) => void) => void): void {
  const send = (m: FromChild): void => void process.send!(m);
  let closing = false;
  const shut = (): void => {
    if (closing) return;
    closing = true;
    close();
    process.disconnect?.();
    setTimeout(() => process.exit(0), 300).unref();
  };
  process.on('message', (m: ToChild) => {
    if (m.type === 'cpu') send({ type: 'cpu', id: m.id, usage: process.cpuUsage() });
    else if (m.type === 'stats') send({ type: 'stats', id: m.id, stats: stats() });
    else if (m.type === 'close') shut();
    else extra?.(m, send);
  });
  process.on('disconnect', shut);
  send({ type: 'ready', ...ready });
}

/**
 * The HTTPS origin (HTTP/1.1, for parts 1–3) and an HTTP/2 origin that also speaks HTTP/1.1
 * (part 4). Leaf certificates (ECDSA P-256, as most large sites serve) come from their own CA,
 * made with the project's minting code; each handshake picks its certificate by SNI.
 */
async function runOrigin(dir: string): Promise<void> {
  const { initCa } = await import('../src/tls/ca.js');
  const { mintLeaf } = await import('../src/tls/mint.js');
  const { certNameFor } = await import('../src/tls/cert-name.js');
  const ca = initCa(join(dir, 'upstream'), { schoolName: 'Bench Upstream' });
  const contexts = new Map<string, tls.SecureContext>();
  const add = async (host: string): Promise<void> => {
    const name = certNameFor(host);
    const leaf = await mintLeaf(ca, name, { validityDays: 7 });
    contexts.set(name.key, tls.createSecureContext({ key: ca.leafKeyPem, cert: leaf.certPem }));
  };
  await add(INSPECTED);
  await add(underCached(0));
  for (let i = 0; i < COLD_HOSTS; i++) await add(cold(i));
  const fallback = contexts.get(certNameFor(INSPECTED).key)!;
  const SNICallback = (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void => {
    let ctx: tls.SecureContext | undefined;
    try {
      ctx = contexts.get(certNameFor(servername).key);
    } catch {
      ctx = undefined;
    }
    cb(null, ctx ?? fallback);
  };
  const s: OriginStats = { requests: 0, h2Requests: 0, sockets: 0, h2Sockets: 0, h2Sessions: 0 };
  const answer = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    if (req.httpVersionMajor === 2) s.h2Requests++;
    else s.requests++;
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  };
  // The leaf key and certificate are also given directly: Node wants them even with SNICallback.
  const leaf = await mintLeaf(ca, certNameFor(INSPECTED), { validityDays: 7 });
  const base = { key: ca.leafKeyPem, cert: leaf.certPem, SNICallback };
  const server = https.createServer({ ...base, keepAliveTimeout: 120_000 }, answer);
  server.on('secureConnection', () => s.sockets++);
  const h2 = http2.createSecureServer({ ...base, allowHTTP1: true }, answer);
  h2.on('session', () => s.h2Sessions++);
  h2.on('secureConnection', () => s.h2Sockets++);
  const port = await listen(server);
  const h2Port = await listen(h2);
  serveChild({ port, h2Port, upstreamCaPem: ca.certPem }, () => ({ ...s }), () => {
    server.closeAllConnections();
    server.close();
    h2.close();
  });
}

/** Schoolgate with HTTPS inspection, as `schoolgate start` wires it. */
async function runProxy(dir: string, originPort: number, upstreamCaPem: string): Promise<void> {
  const { loadConfig } = await import('../src/config/load.js');
  const { loadLists } = await import('../src/lists/load.js');
  const { createLogger } = await import('../src/log.js');
  const { createProxyServer } = await import('../src/proxy/server.js');
  const { initCa } = await import('../src/tls/ca.js');
  const { interceptionFor } = await import('../src/tls/interception.js');
  const { loadCa } = await import('../src/tls/ca.js');
  const { decide } = await import('../src/policy/decide.js');
  const doc = benchConfig();
  const configDir = join(dirname(SELF), '..', 'config');
  // The shipped never-intercept list, plus the tunnelled bench host.
  const never = parseYaml(readFileSync(join(configDir, 'no-intercept.yaml'), 'utf8')) as { categories?: string[]; sites?: string[] };
  never.sites = [...(never.sites ?? []), TUNNELLED];
  writeFileSync(join(dir, 'never.yaml'), stringifyYaml(never));
  writeFileSync(join(dir, 'upstream-ca.pem'), upstreamCaPem);
  doc.proxy = { ...(doc.proxy ?? {}), networks: [{ cidr: '127.0.0.0/8', group: 'ks2' }], resolve: { '*': '127.0.0.1' }, connectPorts: [originPort], allowPrivate: ['127.0.0.0/8'] };
  // The shipped KS2 categories, plus the bench's sites.
  const shippedKs2 = (doc.tls?.intercept?.ks2 ?? {}) as { categories?: string[] };
  doc.tls = {
    ...(doc.tls ?? {}),
    intercept: { ks2: { categories: shippedKs2.categories ?? [], sites: ['bench.test', 'cached.test', 'cold.test'] } },
    neverIntercept: join(dir, 'never.yaml'),
    upstreamCAs: [join(dir, 'upstream-ca.pem')],
  };
  const file = join(dir, 'bench.yaml');
  writeFileSync(file, stringifyYaml(doc));
  const config = loadConfig(file);
  const dataDir = join(dir, 'data');
  const { classifier, report } = await loadLists(config, { dataDir });
  const log = createLogger({ level: 'info', destination: join(dir, 'schoolgate.log') });
  initCa(dataDir, { schoolName: 'Bench Primary' });
  const interception = interceptionFor(loadCa(dataDir)!, { validityDays: config.tls.certificateDays, log });
  const proxy = createProxyServer({ source: { classifier, config }, log, tls: interception });
  const what = [INSPECTED, TUNNELLED, underCached(1), cold(1)].map((h) => {
    const c = classifier.classify(`${h}:${originPort}`);
    return `${h} ${decide({ group: 'ks2', connect: true }, c, config.policy, Date.now()).action}`;
  });
  // Which hosts are decrypted is checked by the certificate each one shows (the checks in main).
  const info = `${report.stats.length} lists, ${classifier.matcher.domainCount.toLocaleString('en-GB')} names; CONNECT decisions for KS2: ${what.join(', ')}`;
  serveChild({ port: await listen(proxy.server), schoolCaPem: interception.caCertPem, info }, () => ({ ...interception.cache.stats, cached: interception.cache.size }), () => {
    proxy.destroyTunnels();
    proxy.server.closeAllConnections();
    proxy.server.close();
  });
}

/** Part 4: an undici client, configured as the proxy's Agent, against the HTTP/2 origin. */
async function runUndici(h2Port: number, tlsPort: number, caPem: string): Promise<void> {
  const { Agent } = await import('undici');
  const connect = { ca: caPem, lookup: loopbackLookup as never };
  const agents = {
    h1: new Agent({ connections: 256, keepAliveTimeout: 30_000, connect }),
    h2: new Agent({ connections: 256, keepAliveTimeout: 30_000, allowH2: true, connect }),
    h2mux: new Agent({ connections: 256, keepAliveTimeout: 30_000, allowH2: true, pipelining: 100, connect }),
  };
  const origin = `https://${H2_HOST}:${h2Port}`;
  const warmed = new Set<Proto>();
  const h2run = async (proto: Proto, conns: number, seconds: number): Promise<H2Run> => {
    const agent = agents[proto];
    // One request alone first: a connection is up before the concurrent ones arrive (else each
    // of them, finding the only client still connecting, would have the pool open another).
    if (!warmed.has(proto)) {
      warmed.add(proto);
      await (await agent.request({ origin, path: '/bench', method: 'GET' })).body.arrayBuffer();
    }
    const lat: number[] = [];
    let errors = 0;
    let measuring = false;
    let stop = false;
    const loop = async (): Promise<void> => {
      while (!stop) {
        const t = performance.now();
        try {
          const r = await agent.request({ origin, path: '/bench', method: 'GET', headers: { accept: '*/*' } });
          const body = Buffer.from(await r.body.arrayBuffer());
          if (r.statusCode !== 200 || body.length !== BODY.length) errors++;
          else if (measuring && !stop) lat.push(performance.now() - t);
        } catch {
          errors++;
          await sleep(10);
        }
      }
    };
    const loops = Array.from({ length: conns }, loop);
    await sleep(500);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    measuring = true;
    await sleep(seconds * 1000);
    stop = true;
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    await Promise.all(loops);
    const sorted = sortedOf(lat);
    return { count: lat.length, errors, wallMs, cpuUs: cpu.user + cpu.system, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
  };
  // New upstream TLS connections, one at a time: each request to a host undici has not seen.
  const newconn = async (count: number): Promise<NewConnRun> => {
    const roots = [...tls.rootCertificates, caPem];
    const withRoots = new Agent({ connections: 256, keepAliveTimeout: 30_000, connect: { ca: roots, lookup: loopbackLookup as never } });
    const shared = tls.createSecureContext({ ca: roots });
    const withContext = new Agent({ connections: 256, keepAliveTimeout: 30_000, connect: { secureContext: shared, lookup: loopbackLookup as never } });
    const out: NewConnRun = { roots: [], context: [], rootsCpuUs: 0, contextCpuUs: 0, rootCount: roots.length, errors: 0 };
    let n = NEWCONN_BASE;
    for (let i = 0; i < count; i++) {
      for (const mode of ['roots', 'context'] as const) {
        const agent = mode === 'roots' ? withRoots : withContext;
        const c0 = process.cpuUsage();
        const t = performance.now();
        try {
          const r = await agent.request({ origin: `https://${underCached(n++)}:${tlsPort}`, path: '/bench', method: 'GET' });
          await r.body.arrayBuffer();
          if (r.statusCode !== 200) out.errors++;
        } catch {
          out.errors++;
        }
        out[mode].push(performance.now() - t);
        const c = process.cpuUsage(c0);
        out[mode === 'roots' ? 'rootsCpuUs' : 'contextCpuUs'] += c.user + c.system;
      }
    }
    await Promise.all([withRoots.close(), withContext.close()]);
    return out;
  };
  serveChild({ port: 0 }, () => ({ requests: 0, h2Requests: 0, sockets: 0, h2Sockets: 0, h2Sessions: 0 }), () => {
    void agents.h1.destroy();
    void agents.h2.destroy();
    void agents.h2mux.destroy();
  }, (m, send) => {
    if (m.type === 'h2run') void h2run(m.proto, m.conns, m.seconds).then((run) => send({ type: 'h2run', id: m.id, run }));
    else if (m.type === 'newconn') void newconn(m.count).then((run) => send({ type: 'newconn', id: m.id, run }));
  });
}

/** A child of this file (bench/child.ts), with its typed stats query. */
class Child extends BenchChild<ToChild, FromChild> {
  constructor(name: string, args: string[], core: number) {
    super(name, args, { module: SELF, core, profile: name === 'proxy', killAfterMs: 10_000 });
  }

  async stats<T extends OriginStats | ProxyStats>(): Promise<T> {
    return (await this.ask<Extract<FromChild, { type: 'stats' }>>({ type: 'stats' })).stats as T;
  }
}

// ---------------------------------------------------------------------------------------------
// The client side (this process).

interface Target {
  readonly label: string;
  /** The proxy's port on 127.0.0.1, or null to go straight to the origin. */
  readonly proxyPort: number | null;
  readonly host: string;
  readonly port: number;
  /** What the client trusts: the upstream CA (direct, tunnelled) or the school's root (intercepted). */
  readonly ctx: tls.SecureContext;
}

interface Opened {
  readonly socket: tls.TLSSocket;
  readonly t0: number;
  /** When the CONNECT's 200 arrived (direct: when TCP was up). */
  readonly tTunnel: number;
  readonly tTls: number;
  readonly reused: boolean;
}

class BenchError extends Error {}

/** A new connection: TCP, CONNECT (when proxied), TLS with SNI (resuming `session` if given). */
function open(t: Target, session?: Buffer, onSession?: (s: Buffer) => void, timeoutMs = 10_000): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let tTunnel = t0;
    let raw: net.Socket | null = null;
    let secure: tls.TLSSocket | null = null;
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      secure?.destroy();
      raw?.destroy();
      reject(new BenchError(why));
    };
    const timer = setTimeout(() => fail('timeout'), timeoutMs);
    const startTls = (socket?: net.Socket): void => {
      const s = tls.connect({
        servername: t.host, secureContext: t.ctx, ...(session ? { session } : {}),
        ...(socket ? { socket } : { host: '127.0.0.1', port: t.port, noDelay: true }),
      });
      secure = s;
      if (onSession) s.once('session', onSession);
      s.once('secureConnect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        s.off('error', onError);
        s.on('error', () => s.destroy());
        resolve({ socket: s, t0, tTunnel: socket ? tTunnel : t0, tTls: performance.now(), reused: s.isSessionReused() });
      });
      const onError = (e: NodeJS.ErrnoException): void => fail(`TLS ${e.code ?? e.message}`);
      s.on('error', onError);
    };
    if (t.proxyPort === null) return startTls();
    const socket = net.connect({ host: '127.0.0.1', port: t.proxyPort, noDelay: true });
    raw = socket;
    let head: Buffer = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = head.length === 0 ? d : Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      tTunnel = performance.now();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'))?.[1] ?? '???';
      if (status !== '200') return fail(`CONNECT ${status}`);
      if (head.length > end + 4) return fail('bytes after the CONNECT answer');
      startTls(socket);
    };
    socket.on('data', onData);
    socket.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
    socket.on('connect', () => socket.write(`CONNECT ${t.host}:${t.port} HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\n\r\n`));
  });
}

function requestBytes(t: Target, close = false): Buffer {
  return Buffer.from(`GET /bench HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\nAccept: */*\r\nUser-Agent: schoolgate-bench\r\n${close ? 'Connection: close\r\n' : ''}\r\n`);
}

/** Length of the complete HTTP/1.1 response at the start of `buf`, -1 while incomplete; throws on anything but a 200 with the 1 KiB body. */
function responseLength(buf: Buffer): number {
  const headerEnd = buf.indexOf('\r\n\r\n');
  if (headerEnd < 0) return -1;
  const head = buf.toString('latin1', 0, headerEnd);
  if (!head.startsWith('HTTP/1.1 200')) throw new BenchError(`answer: ${head.slice(0, 60)}`);
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (cl) {
    const len = Number(cl[1]);
    if (len !== BODY.length) throw new BenchError(`body of ${len} bytes`);
    return buf.length >= headerEnd + 4 + len ? headerEnd + 4 + len : -1;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const end = buf.indexOf('\r\n0\r\n\r\n', headerEnd + 2);
    return end < 0 ? -1 : end + 7;
  }
  throw new BenchError('answer without a length');
}

/** HTTP/1.1 requests one after another on `socket` while `more()`; `onResponse` gets each one's milliseconds. */
function requestLoop(t: Target, socket: tls.TLSSocket, more: () => boolean, onResponse: (ms: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = requestBytes(t);
    let buf: Buffer = Buffer.alloc(0);
    let sent = 0;
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      socket.off('data', onData);
      if (err) reject(err);
      else resolve();
    };
    const send = (): void => {
      sent = performance.now();
      socket.write(req);
    };
    const onData = (d: Buffer): void => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      let n: number;
      try {
        n = responseLength(buf);
      } catch (err) {
        return finish(err as Error);
      }
      if (n < 0) return;
      if (n !== buf.length) return finish(new BenchError('bytes after a response'));
      buf = Buffer.alloc(0);
      onResponse(performance.now() - sent);
      if (more()) send();
      else finish();
    };
    socket.on('data', onData);
    socket.once('close', () => finish(new BenchError('closed mid-run')));
    socket.on('error', (e: NodeJS.ErrnoException) => finish(new BenchError(e.code ?? e.message)));
    send();
  });
}

/** One GET on a connection just opened: time to the first byte of the answer, then close. */
async function firstByte(t: Target): Promise<{ tunnel: number; tls: number; first: number; total: number }> {
  const o = await open(t);
  return new Promise((resolve, reject) => {
    const s = o.socket;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new BenchError('no answer'));
    }, 10_000);
    s.once('data', (d: Buffer) => {
      const now = performance.now();
      clearTimeout(timer);
      s.destroy();
      if (!d.toString('latin1', 0, 12).startsWith('HTTP/1.1 200')) return reject(new BenchError(`answer: ${d.toString('latin1', 0, 40)}`));
      resolve({ tunnel: o.tTunnel - o.t0, tls: o.tTls - o.tTunnel, first: now - o.tTls, total: now - o.t0 });
    });
    s.on('error', (e: NodeJS.ErrnoException) => reject(new BenchError(e.code ?? e.message)));
    s.write(requestBytes(t, true));
  });
}

/** One whole request and response on a new connection, returned as text (for the checks). */
async function fetchOnce(t: Target): Promise<{ text: string; issuer: string }> {
  const o = await open(t);
  const issuer = (o.socket.getPeerCertificate().issuer as unknown as Record<string, string> | undefined)?.CN ?? '';
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    o.socket.on('data', (d: Buffer) => chunks.push(d));
    o.socket.on('end', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), issuer }));
    o.socket.on('error', reject);
    o.socket.write(requestBytes(t, true));
  });
}

interface KaResult {
  rps: number; count: number; p50: number; p99: number; errors: string;
  proxyUs: number; proxyBusy: number; originUs: number; clientUs: number; loadBusy: number; originRequests: number;
  /** TLS connections the origin accepted during the measured window (the proxy's upstream pool growing). */
  originConns: number;
}

async function keepAliveRun(t: Target, conns: number, seconds: number, proxy: Child, origin: Child): Promise<KaResult> {
  const errs = new Map<string, number>();
  const err = (e: unknown): void => {
    const k = e instanceof BenchError ? e.message : String(e);
    errs.set(k, (errs.get(k) ?? 0) + 1);
  };
  const opened = (await Promise.all(Array.from({ length: conns }, () => open(t).catch((e: unknown) => void err(e))))).filter((o): o is Opened => o !== undefined);
  let phase: 'warm' | 'measure' | 'stop' = 'warm';
  const lat: number[] = [];
  const loops = opened.map((o) => requestLoop(t, o.socket, () => phase !== 'stop', (ms) => {
    if (phase === 'measure') lat.push(ms);
  }).catch(err));
  await sleep(500);
  const [p0, o0, s0] = await Promise.all([proxy.cpu(), origin.cpu(), origin.stats<OriginStats>()]);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  phase = 'measure';
  await sleep(seconds * 1000);
  phase = 'stop';
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const [p1, o1, s1] = await Promise.all([proxy.cpu(), origin.cpu(), origin.stats<OriginStats>()]);
  await Promise.all(loops);
  for (const o of opened) o.socket.destroy();
  const n = lat.length;
  const sorted = sortedOf(lat);
  const clientUs = c.user + c.system;
  return {
    rps: n / wall, count: n, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99),
    errors: [...errs].map(([k, v]) => `${v}× ${k}`).join(', '),
    proxyUs: (p1 - p0) / n, proxyBusy: (p1 - p0) / 1e6 / wall, originUs: (o1 - o0) / n, clientUs: clientUs / n,
    loadBusy: (clientUs + o1 - o0) / 1e6 / wall, originRequests: s1.requests - s0.requests, originConns: s1.sockets - s0.sockets,
  };
}

interface HsResult { hps: number; ok: number; reused: number; p50: number; p99: number; errors: string; proxyUs: number; proxyBusy: number; loadBusy: number }

/** `clients` loops of: open (CONNECT + TLS handshake), close, for `seconds`. */
async function handshakeRun(t: Target, clients: number, seconds: number, resume: boolean, proxy: Child, origin: Child): Promise<HsResult> {
  const errs = new Map<string, number>();
  const lat: number[] = [];
  let reused = 0;
  const [p0, o0] = await Promise.all([proxy.cpu(), origin.cpu()]);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let last = t0;
  const loop = async (): Promise<void> => {
    let session: Buffer | undefined;
    while (performance.now() < deadline) {
      try {
        // Resuming: wait for the ticket the server sends just after the handshake, then offer it next time.
        let gotTicket: Promise<void> = Promise.resolve();
        let onSession: ((s: Buffer) => void) | undefined;
        if (resume) gotTicket = new Promise((r) => { onSession = (s) => { session = s; r(); }; });
        const o = await open(t, session, onSession);
        if (o.reused) reused++;
        // After a full handshake, wait for its ticket; a resumed one goes on with the ticket it has
        // (or a newer one, if the server sent one before the close).
        if (resume && !o.reused) await Promise.race([gotTicket, sleep(200)]);
        last = performance.now();
        lat.push(o.tTls - o.t0);
        await new Promise<void>((r) => {
          o.socket.once('close', () => r());
          o.socket.end();
          setTimeout(() => { o.socket.destroy(); r(); }, 1000).unref();
        });
      } catch (e) {
        const k = e instanceof BenchError ? e.message : String(e);
        errs.set(k, (errs.get(k) ?? 0) + 1);
        await sleep(5);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  const wall = (last - t0) / 1000;
  const c = process.cpuUsage(c0);
  const [p1, o1] = await Promise.all([proxy.cpu(), origin.cpu()]);
  const sorted = sortedOf(lat);
  return {
    hps: lat.length / wall, ok: lat.length, reused, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99),
    errors: [...errs].map(([k, v]) => `${v}× ${k}`).join(', '), proxyUs: (p1 - p0) / lat.length, proxyBusy: (p1 - p0) / 1e6 / wall,
    loadBusy: (c.user + c.system + o1 - o0) / 1e6 / wall,
  };
}

function ratio(a: number, b: number | undefined): string {
  return b === undefined || !(b > 0) ? '–' : fmt(a / b, 2);
}

async function main(): Promise<void> {
  requireShared();
  const started = Date.now();
  const loadBefore = os.loadavg();
  const dir = mkdtempSync(join(os.tmpdir(), 'schoolgate-bench-intercept-'));
  const pinnedSelf = pin(process.pid, LOAD_CORE);
  const origin = new Child('origin', [dir], LOAD_CORE);
  const children: Child[] = [origin];
  try {
    const o = await origin.start();
    const proxy = new Child('proxy', [dir, String(o.port), o.upstreamCaPem!], PROXY_CORE);
    children.push(proxy);
    const p = await proxy.start();
    const upstreamCtx = tls.createSecureContext({ ca: o.upstreamCaPem! });
    const schoolCtx = tls.createSecureContext({ ca: p.schoolCaPem! });
    const direct: Target = { label: 'direct', proxyPort: null, host: INSPECTED, port: o.port, ctx: upstreamCtx };
    const tunnelled: Target = { label: 'tunnelled', proxyPort: p.port, host: TUNNELLED, port: o.port, ctx: upstreamCtx };
    const intercepted: Target = { label: 'intercepted', proxyPort: p.port, host: INSPECTED, port: o.port, ctx: schoolCtx };
    const cpus = os.cpus();
    console.log(`HTTPS inspection benchmark: node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? '?'}; ${new Date().toString()}`);
    console.log(`Code ${codeVersion()}.`);
    console.log(PIN ? `Pinned: Schoolgate (and part 4's undici client) on core ${PROXY_CORE}, load generator (${pinnedSelf ? 'pinned' : 'NOT pinned'}) and origin on core ${LOAD_CORE}.` : 'Not pinned.');
    console.log(`Schoolgate: ${p.info}`);

    // Checks: each path gives the 1 KiB body, with the certificate expected.
    console.log('\nChecks:');
    for (const t of [direct, tunnelled, intercepted, { ...intercepted, label: 'intercepted, new host', host: cold(COLD_HOSTS - 1) }]) {
      const before = await origin.stats<OriginStats>();
      const r = await fetchOnce(t);
      const after = await origin.stats<OriginStats>();
      const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
      const chunked = /\r\ntransfer-encoding:\s*chunked/i.test(r.text.slice(0, r.text.indexOf('\r\n\r\n')));
      const ok = r.text.startsWith('HTTP/1.1 200') && (chunked ? body.includes(BODY.toString()) : body === BODY.toString());
      console.log(`  ${t.label} (${t.host}): ${r.text.slice(0, 15)}, ${chunked ? 'chunked' : `${body.length} bytes`}, certificate issued by "${r.issuer}"; origin answered ${after.requests - before.requests}`);
      if (!ok || after.requests - before.requests !== 1) throw new Error(`${t.label}: wrong answer`);
      const wantSchool = t.label.startsWith('intercepted');
      if (wantSchool !== r.issuer.includes('Bench Primary')) throw new Error(`${t.label}: certificate from the wrong CA (${r.issuer})`);
    }

    // 1. Keep-alive requests. First an unmeasured run of each at the most connections: JIT warm-up,
    // and the proxy's upstream pool grown to its steady size (each new upstream connection costs
    // the proxy tens of ms of CPU, part 4; that is measured in part 2, not here).
    if (PARTS.has(1)) {
      const results = new Map<string, KaResult[]>();
      const most = Math.max(...CONNECTIONS);
      const warm = await Promise.all([direct, tunnelled, intercepted].map(async (t) => keepAliveRun(t, most, 1.5, proxy, origin)));
      // (The three share the origin, so its count of new connections is over all three.)
      const grown = (await origin.stats<OriginStats>()).sockets;
      console.log(`\nWarm-up (unmeasured, ${most} connections, 1.5 s each, all three at once): ${warm.map((w, i) => `${['direct', 'tunnelled', 'intercepted'][i]} ${fmt(w.count)} responses${w.errors ? ` (errors ${w.errors})` : ''}`).join(', ')}; the origin has accepted ${grown} TLS connections since it started.`);
      for (let round = 0; round < ROUNDS; round++) {
        for (const conns of CONNECTIONS) {
          for (const t of [direct, tunnelled, intercepted]) {
            const r = await keepAliveRun(t, conns, SECONDS, proxy, origin);
            const key = `${t.label}@${conns}`;
            results.set(key, [...(results.get(key) ?? []), r]);
          }
        }
      }
      const best = (key: string): KaResult => results.get(key)!.reduce((a, b) => (b.rps > a.rps ? b : a));
      console.log(`\n1. Keep-alive HTTPS GETs of a 1 KiB body: each client connection opened once (CONNECT, TLS), then one request at a time for ${SECONDS} s (after 0.5 s warm-up); ${ROUNDS} rounds, the best shown, ratios against direct of the same connection count.`);
      const rows: (string | number)[][] = [['', 'conns', 'req/s', 'rounds', 'vs direct', 'vs tunnelled', 'p50 ms', 'p99 ms', 'proxy CPU µs/req', 'proxy busy', 'origin µs/req', 'client µs/req', 'core-1 busy', 'new origin conns', 'errors']];
      for (const conns of CONNECTIONS) {
        const d = best(`direct@${conns}`);
        const tu = best(`tunnelled@${conns}`);
        for (const t of [direct, tunnelled, intercepted]) {
          const r = best(`${t.label}@${conns}`);
          rows.push([t.label, conns, fmt(r.rps), results.get(`${t.label}@${conns}`)!.map((x) => fmt(x.rps)).join(' / '), ratio(r.rps, d.rps), t === intercepted ? ratio(r.rps, tu.rps) : '',
            fmt(r.p50, 2), fmt(r.p99, 2), t === direct ? '–' : fmt(r.proxyUs), t === direct ? '' : fmt(r.proxyBusy, 2), fmt(r.originUs), fmt(r.clientUs), fmt(r.loadBusy, 2), results.get(`${t.label}@${conns}`)!.map((x) => x.originConns).join(' / '), r.errors || 0]);
        }
      }
      console.log(table(rows));
      console.log(`Round by round, intercepted/direct: ${CONNECTIONS.map((c) => `${c} conns ${results.get(`intercepted@${c}`)!.map((x, i) => fmt(x.rps / results.get(`direct@${c}`)![i]!.rps, 2)).join(' / ')}`).join('; ')}; ` +
        `intercepted/tunnelled: ${CONNECTIONS.map((c) => `${c} conns ${results.get(`intercepted@${c}`)!.map((x, i) => fmt(x.rps / results.get(`tunnelled@${c}`)![i]!.rps, 2)).join(' / ')}`).join('; ')}`);
      console.log(`Proxy CPU µs a request, each round: ${CONNECTIONS.map((c) => `${c} conns tunnelled ${results.get(`tunnelled@${c}`)!.map((x) => fmt(x.proxyUs)).join(' / ')}, intercepted ${results.get(`intercepted@${c}`)!.map((x) => fmt(x.proxyUs)).join(' / ')}`).join('; ')}`);
      const least = (k: string): number => Math.min(...CONNECTIONS.flatMap((c) => results.get(`${k}@${c}`)!.map((x) => x.proxyUs)));
      console.log(`Requests a proxy core could serve, from the least proxy CPU a request: tunnelled ${fmt(1e6 / least('tunnelled'))}/s, intercepted ${fmt(1e6 / least('intercepted'))}/s (${fmt(least('intercepted') / least('tunnelled'), 1)}× the CPU).`);
    }

    // 2. First byte on a new connection.
    if (PARTS.has(2)) {
      const kinds: { label: string; target: (i: number) => Target }[] = [
        { label: 'direct', target: () => direct },
        { label: 'tunnelled', target: () => tunnelled },
        { label: 'intercepted, cached certificate, pooled upstream', target: () => intercepted },
        { label: 'intercepted, cached certificate, new upstream host', target: (i) => ({ ...intercepted, host: underCached(i) }) },
        { label: 'intercepted, new host (mint + new upstream)', target: (i) => ({ ...intercepted, host: cold(i) }) },
      ];
      // Warm-up: one of each, so *.cached.test is minted and every path has run.
      await firstByte({ ...intercepted, host: underCached('warm') });
      for (const k of kinds.slice(0, 3)) for (let i = 0; i < 5; i++) await firstByte(k.target(0));
      const fb = kinds.map(() => ({ tunnel: [] as number[], tls: [] as number[], first: [] as number[], total: [] as number[], errors: 0 }));
      // What reading the proxy's CPU twice costs it (IPC), subtracted from each sample.
      let ipc = 0;
      for (let i = 0; i < 50; i++) {
        const c0 = await proxy.cpu();
        await sleep(1);
        ipc += (await proxy.cpu()) - c0;
      }
      ipc /= 50;
      const statsBefore = await proxy.stats<ProxyStats>();
      const pc0 = await proxy.cpu();
      const perKindCpu = kinds.map(() => 0);
      for (let i = 0; i < SAMPLES; i++) {
        for (let k = 0; k < kinds.length; k++) {
          const c0 = await proxy.cpu();
          try {
            const r = await firstByte(kinds[k]!.target(i));
            fb[k]!.tunnel.push(r.tunnel);
            fb[k]!.tls.push(r.tls);
            fb[k]!.first.push(r.first);
            fb[k]!.total.push(r.total);
          } catch {
            fb[k]!.errors++;
          }
          // Let the proxy finish with the closed connection before its CPU is read.
          await sleep(1);
          perKindCpu[k]! += (await proxy.cpu()) - c0 - ipc;
        }
      }
      const statsAfter = await proxy.stats<ProxyStats>();
      const fbCpu = (await proxy.cpu()) - pc0;
      console.log(`\n2. Time to first byte on a new connection, one connection at a time, ${SAMPLES} samples of each kind interleaved: from opening TCP to the first byte of the answer to a GET sent after the handshake (CONNECT answered / TLS done / first byte = the three phases, p50). Proxy CPU measured around each sample, less ${fmt(ipc)} µs for reading it.`);
      const frows: (string | number)[][] = [['', 'p50 ms', 'p99 ms', 'p50 vs cached', 'CONNECT p50', 'TLS p50', 'TLS p99', 'GET→byte p50', 'GET→byte p99', 'proxy CPU µs', 'errors']];
      const cachedP50 = quantile(sortedOf(fb[2]!.total), 0.5);
      kinds.forEach((k, i) => {
        const f = fb[i]!;
        const tot = sortedOf(f.total);
        const tl = sortedOf(f.tls);
        const fi = sortedOf(f.first);
        frows.push([k.label, fmt(quantile(tot, 0.5), 2), fmt(quantile(tot, 0.99), 2), i >= 2 ? `${fmt(quantile(tot, 0.5) / cachedP50, 2)}×` : '', fmt(quantile(sortedOf(f.tunnel), 0.5), 2), fmt(quantile(tl, 0.5), 2), fmt(quantile(tl, 0.99), 2),
          fmt(quantile(fi, 0.5), 2), fmt(quantile(fi, 0.99), 2), i === 0 ? '–' : fmt(perKindCpu[i]! / Math.max(1, f.total.length)), f.errors]);
      });
      console.log(table(frows));
      console.log(`Certificate cache over these samples: ${statsAfter.mints - statsBefore.mints} mints, ${statsAfter.hits - statsBefore.hits} hits, ${statsAfter.waits - statsBefore.waits} waits; ${statsAfter.cached} certificates cached; proxy CPU ${fmt(fbCpu / 1000)} ms in all.`);
    }

    // 3. Handshakes.
    if (PARTS.has(3)) {
      const hs = new Map<string, HsResult[]>();
      const hsTargets: [string, Target, boolean][] = [['direct, full', direct, false], ['tunnelled, full', tunnelled, false], ['intercepted, full', intercepted, false], ['intercepted, resumed', intercepted, true]];
      for (let round = 0; round < ROUNDS; round++) {
        for (const [label, t, resume] of hsTargets) {
          const r = await handshakeRun(t, HS_CLIENTS, HS_SECONDS, resume, proxy, origin);
          hs.set(label, [...(hs.get(label) ?? []), r]);
        }
      }
      const bestHs = (label: string): HsResult => hs.get(label)!.reduce((a, b) => (b.hps > a.hps ? b : a));
      console.log(`\n3. New TLS connections a second, ${HS_CLIENTS} concurrent clients, ${HS_SECONDS} s a run, ${ROUNDS} rounds (best shown): TCP + CONNECT + TLS 1.3 handshake, then close (no HTTP). Intercepted: the proxy's cached ECDSA P-256 leaf; direct and tunnelled: the origin's (also P-256). "resumed": each client offers the ticket of its previous connection.`);
      const hrows: (string | number)[][] = [['', 'conn/s', 'rounds', 'vs direct', 'p50 ms', 'p99 ms', 'ok', 'resumed', 'proxy CPU µs/conn', 'proxy busy', 'core-1 busy', 'errors']];
      const dHs = bestHs('direct, full');
      for (const [label] of hsTargets) {
        const r = bestHs(label);
        hrows.push([label, fmt(r.hps), hs.get(label)!.map((x) => fmt(x.hps)).join(' / '), ratio(r.hps, dHs.hps), fmt(r.p50, 2), fmt(r.p99, 2), r.ok, r.reused,
          label.startsWith('direct') ? '–' : fmt(r.proxyUs), label.startsWith('direct') ? '' : fmt(r.proxyBusy, 2), fmt(r.loadBusy, 2), r.errors || 0]);
      }
      console.log(table(hrows));
    }

    // 4. Upstream HTTP/2 vs HTTP/1.1, and the cost of a new upstream connection.
    if (WITH_H2) {
      await proxy.close();
      const u = new Child('undici', [String(o.h2Port), String(o.port), o.upstreamCaPem!], PROXY_CORE);
      children.push(u);
      await u.start();
      const h2 = new Map<string, { run: H2Run; origin: number; h2Requests: number; h1Requests: number; sessions: number; conns: number }[]>();
      for (let round = 0; round < ROUNDS; round++) {
        for (const conns of CONNECTIONS) {
          for (const proto of PROTOS) {
            const [o0, s0] = await Promise.all([origin.cpu(), origin.stats<OriginStats>()]);
            const m = await u.ask<Extract<FromChild, { type: 'h2run' }>>({ type: 'h2run', proto, conns, seconds: SECONDS - 1 });
            const [o1, s1] = await Promise.all([origin.cpu(), origin.stats<OriginStats>()]);
            const key = `${proto}@${conns}`;
            h2.set(key, [...(h2.get(key) ?? []), { run: m.run, origin: o1 - o0, h2Requests: s1.h2Requests - s0.h2Requests, h1Requests: s1.requests - s0.requests, sessions: s1.h2Sessions - s0.h2Sessions, conns: s1.h2Sockets - s0.h2Sockets }]);
          }
        }
      }
      const bestH2 = (key: string) => h2.get(key)!.reduce((a, b) => (b.run.count / b.run.wallMs > a.run.count / a.run.wallMs ? b : a));
      console.log(`\n4. The proxy's upstream side alone: an undici Agent as the proxy's (connections: 256, keep-alive), in a process on core ${PROXY_CORE}, against http2.createSecureServer({ allowHTTP1: true }) on core ${LOAD_CORE}, GET of the 1 KiB body, N requests in flight for ${SECONDS - 1} s; HTTP/1.1 vs allowH2 (HTTP/2 negotiated by ALPN), as is and with pipelining: 100 (undici otherwise puts one request at a time on an HTTP/2 connection). "client µs/req" is what the proxy would spend; "new TLS conns" counts what the origin accepted (undici keeps the connections of the first round).`);
      const h2rows: (string | number)[][] = [['', 'in flight', 'req/s', 'rounds', 'vs h1', 'p50 ms', 'p99 ms', 'client µs/req', 'origin µs/req', 'origin saw (h1 / h2 reqs)', 'new TLS conns (h2 sessions), each round', 'errors']];
      for (const conns of CONNECTIONS) {
        const h1b = bestH2(`h1@${conns}`);
        for (const proto of PROTOS) {
          const b = bestH2(`${proto}@${conns}`);
          const rps = (x: H2Run): number => (x.count / x.wallMs) * 1000;
          h2rows.push([PROTO_NAMES[proto], conns, fmt(rps(b.run)), h2.get(`${proto}@${conns}`)!.map((x) => fmt(rps(x.run))).join(' / '), proto !== 'h1' ? ratio(rps(b.run), rps(h1b.run)) : '',
            fmt(b.run.p50, 2), fmt(b.run.p99, 2), fmt(b.run.cpuUs / b.run.count), fmt(b.origin / b.run.count), `${fmt(b.h1Requests)} / ${fmt(b.h2Requests)}`, h2.get(`${proto}@${conns}`)!.map((x) => `${x.conns} (${x.sessions})`).join(' / '), b.run.errors]);
        }
      }
      console.log(table(h2rows));
      const nc = (await u.ask<Extract<FromChild, { type: 'newconn' }>>({ type: 'newconn', count: NEWCONN_COUNT })).run;
      const r = sortedOf(nc.roots);
      const c = sortedOf(nc.context);
      console.log(`\nNew upstream TLS connection (undici, one request to a host it has not seen, one at a time, ${NEWCONN_COUNT} of each interleaved): ` +
        `connect: { ca: [${nc.rootCount} certificates] } (built-in roots + upstreamCAs, as the proxy's Agent has them) p50 ${fmt(quantile(r, 0.5), 2)} ms, p99 ${fmt(quantile(r, 0.99), 2)} ms, client CPU ${fmt(nc.rootsCpuUs / NEWCONN_COUNT / 1000, 2)} ms a connection; ` +
        `connect: { secureContext } made once from the same certificates p50 ${fmt(quantile(c, 0.5), 2)} ms, p99 ${fmt(quantile(c, 0.99), 2)} ms, client CPU ${fmt(nc.contextCpuUs / NEWCONN_COUNT / 1000, 2)} ms; errors ${nc.errors}.`);
    }
    const after = os.loadavg();
    console.log(`\nLoad average (1/5/15 min) ${loadBefore.map((x) => fmt(x, 2)).join(' / ')} before, ${after.map((x) => fmt(x, 2)).join(' / ')} after; ${Math.round((Date.now() - started) / 1000)} s in all.`);
  } finally {
    await Promise.all(children.filter((c) => c !== origin).map((c) => c.close()));
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.argv[2];
if (role === 'origin') await runOrigin(process.argv[3]!);
else if (role === 'proxy') await runProxy(process.argv[3]!, Number(process.argv[4]), process.argv[5]!);
else if (role === 'undici') await runUndici(Number(process.argv[3]), Number(process.argv[4]), process.argv[5]!);
else if (role === undefined) await main();
else throw new Error(`unknown role ${role}`);
