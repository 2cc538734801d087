// Proxy benchmark: autocannon over loopback against a local origin, measured in the same run
// against the alternatives, because this 2-core shared machine varies 1.5× between runs:
//   direct    client → origin (a node:http server answering a fixed 1 KiB body, keep-alive)
//   bare      client → a bare Node relay (node:http + http.request, keep-alive Agent, no filtering) → origin
//   Squid     client → Squid (no cache, access log on, one worker) → origin, when Squid is installed
//   ours      client → Schoolgate (createProxyServer, configured lists + the shared bench set, logging at info) → origin
//   blocked   client → Schoolgate, for http://gambling.selftest.invalid/ (KS2): the block-page path
// Requests are the first 1,000 URLs of the shared traffic sample that the shipped policy allows
// for KS2, with their real host names, sent to the origin's port: `http://<host>:<origin>/<path>`.
// Every proxy sends every name to 127.0.0.1 (Schoolgate: proxy.resolve '*'; the bare relay: its
// own lookup; Squid: a hosts_file), so the proxies keep one upstream pool per host, as in a school.
// Then CONNECT: tunnels through each proxy to a local TLS origin (bench/connect.ts).
//
//   node --import tsx bench/proxy.ts                 the comparison (about 3–4 minutes)
//   BENCH_LONG=1 node --import tsx bench/proxy.ts    1,000,000 requests through Schoolgate, sampling its RSS
//
// The proxies (Schoolgate, the bare relay, Squid) are pinned to core 0, and the load generator
// (this process) and the origin to core 1 (taskset; BENCH_PIN=0 turns that off).
// Environment: BENCH_AMOUNT (requests a run, default 20000; a quarter at 1 connection),
// BENCH_SECONDS (time cap a run, default 10), BENCH_ROUNDS (default 2; the better round is
// reported), BENCH_CONNECTIONS (default "1,10,50"), BENCH_URLS (distinct traffic URLs, default
// 1000), BENCH_TUNNELS (tunnels a CONNECT run, default 2000), BENCH_TUNNEL_CLIENTS (default 10),
// BENCH_TUNNEL_SECONDS (default 6), BENCH_SQUID=0 (leave Squid out), BENCH_PROFILE (a folder:
// write a CPU profile of the Schoolgate process), BENCH_TRAFFIC=1 (give Schoolgate its traffic log,
// which records every request in SQLite; off by default). Long mode: BENCH_LONG_REQUESTS (default
// 1000000), BENCH_LONG_CONNECTIONS (default 50), BENCH_LONG_SECONDS (time cap, default 900),
// BENCH_LONG_RELOADS (default 0: reloads of configuration and lists, SIGHUP as in production,
// spread evenly over the run; Schoolgate then holds them as `schoolgate start` does, ListService
// and LiveSnapshot, and each reload's time and memory are reported), BENCH_LONG_HEAP (a folder:
// heap snapshots of Schoolgate after the full collections at warm-up and at the end).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import v8 from 'node:v8';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { stringify as stringifyYaml } from 'yaml';
import { BenchChild, PIN, pin } from './child.js';
import { makeCert, oneTunnel, runTunnels, type TunnelTarget } from './connect.js';
import { benchConfig, codeVersion, fmt, keepPhraseFilesAsStartDoes, requireShared, table, trafficUrls } from './lib.js';
import { squidBinary, startSquid, type Squid } from './squid.js';

const SELF = fileURLToPath(import.meta.url);
const BODY = Buffer.from('x'.repeat(1023) + '\n'); // 1 KiB
const BLOCKED_URL = 'http://gambling.selftest.invalid/';
/** The TLS origin's name: in no list, so allowed for KS2; sent to 127.0.0.1 by every proxy. */
const TLS_NAME = 'secure.schoolgate-bench.example';
const PROXY_CORE = 0;
const LOAD_CORE = 1;

// ---------------------------------------------------------------------------------------------
// Child processes: origin (HTTP and TLS), bare relay, Schoolgate. Each reports its port, answers
// CPU, memory and request-count queries over IPC, and closes its server when told to (or when
// the parent goes).

type ToChild = { type: 'cpu' | 'stats'; id: number } | { type: 'mem'; id: number; gc?: boolean; heapSnapshot?: string } | { type: 'close' };
interface Stats {
  count: number; tlsCount: number; sockets: number; lastUrl: string; lastHost: string;
  /** Schoolgate with BENCH_TRAFFIC=1: rows its traffic log recorded, stored and spilled. */
  traffic?: { recorded: number; stored: number; spilled: number };
  /** Schoolgate with BENCH_LONG_RELOADS: reloads completed, and the version of the snapshot in force. */
  reloads?: number; snapshot?: number;
}
type FromChild =
  | { type: 'ready'; port: number; info?: string; tlsPort?: number; caPem?: string; urls?: string[] }
  | { type: 'cpu'; id: number; usage: NodeJS.CpuUsage }
  | { type: 'mem'; id: number; mem: NodeJS.MemoryUsage }
  | ({ type: 'stats'; id: number } & Stats);
type Ready = Extract<FromChild, { type: 'ready' }>;

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function serveChild(servers: http.Server[], ready: Omit<Ready, 'type'>, stats: () => Stats, onClose: () => void = () => {}, afterClose: () => Promise<void> = async () => {}): void {
  const send = (m: FromChild): void => void process.send!(m);
  let closing = false;
  const close = (): void => {
    if (closing) return;
    closing = true;
    onClose();
    let open = servers.length;
    for (const server of servers) {
      server.closeAllConnections();
      server.close(() => {
        if (--open > 0) return;
        void afterClose().finally(() => {
          process.disconnect?.();
          // Pooled upstream sockets may keep the loop alive until the origin times them out.
          setTimeout(() => process.exit(0), 500).unref();
        });
      });
    }
  };
  process.on('message', (m: ToChild) => {
    if (m.type === 'cpu') send({ type: 'cpu', id: m.id, usage: process.cpuUsage() });
    else if (m.type === 'mem') {
      // With --expose-gc (the long run), a full collection first when asked: what is retained.
      const gc = (globalThis as { gc?: () => void }).gc;
      if (m.gc && gc) gc();
      const mem = process.memoryUsage();
      // BENCH_LONG_HEAP: what is retained, object by object, written after the figure is read.
      if (m.heapSnapshot) v8.writeHeapSnapshot(m.heapSnapshot);
      send({ type: 'mem', id: m.id, mem });
    }
    else if (m.type === 'stats') send({ type: 'stats', id: m.id, ...stats() });
    else if (m.type === 'close') close();
  });
  process.on('disconnect', close);
  send({ type: 'ready', ...ready });
}

async function runOrigin(): Promise<void> {
  const s: Stats = { count: 0, tlsCount: 0, sockets: 0, lastUrl: '', lastHost: '' };
  const answer = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    s.lastUrl = req.url ?? '';
    s.lastHost = req.headers.host ?? '';
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  };
  const server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    s.count++;
    answer(req, res);
  });
  server.on('connection', () => s.sockets++);
  const cert = makeCert(TLS_NAME);
  const tlsServer = https.createServer({ key: cert.keyPem, cert: cert.certPem, keepAliveTimeout: 120_000 }, (req, res) => {
    s.tlsCount++;
    answer(req, res);
  });
  const port = await listen(server);
  const tlsPort = await listen(tlsServer);
  serveChild([server, tlsServer], { port, tlsPort, caPem: cert.caPem }, () => ({ ...s }));
}

/** Every name to the loopback origin, as the proxies under test are configured to. */
function loopbackLookup(_host: string, opts: { all?: boolean }, cb: (err: null, a: string | { address: string; family: number }[], f?: number) => void): void {
  if (opts?.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
}

async function runBare(): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const HOP = ['connection', 'proxy-connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade'];
  let count = 0;
  const server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    count++;
    let u: URL;
    try {
      u = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end();
      return;
    }
    const headers = { ...req.headers };
    for (const h of HOP) delete headers[h];
    const up = http.request({ host: u.hostname, port: u.port || 80, path: u.pathname + u.search, method: req.method, headers, agent, lookup: loopbackLookup as never }, (ur) => {
      const rh = { ...ur.headers };
      for (const h of HOP) delete rh[h];
      res.writeHead(ur.statusCode ?? 502, rh);
      ur.pipe(res);
    });
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502).end(String(err));
      else res.destroy();
    });
    req.pipe(up);
  });
  // CONNECT: dial, answer 200, join the sockets. No checks of any kind.
  const tunnels = new Set<net.Socket>();
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    tunnels.add(socket);
    const m = /^([^:]+):(\d+)$/.exec(req.url ?? '');
    if (!m) return void socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
    const up = net.connect({ host: m[1]!, port: Number(m[2]), lookup: loopbackLookup as never }, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    const close = (): void => {
      up.destroy();
      socket.destroy();
      tunnels.delete(socket);
    };
    up.on('error', close);
    up.on('close', close);
    socket.on('error', close);
    socket.on('close', close);
  });
  serveChild([server], { port: await listen(server) }, () => ({ count, tlsCount: 0, sockets: 0, lastUrl: '', lastHost: '' }), () => {
    agent.destroy();
    for (const t of tunnels) t.destroy();
  });
}

/** Traffic URLs as `http://<host>:<port>/<path>`, for hosts that are names (not addresses) and paths of plain URL characters. */
function* candidateUrls(port: number): Generator<string> {
  const seen = new Set<string>();
  for (const line of trafficUrls()) {
    const m = /^https?:\/\/([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::\d+)?(\/[A-Za-z0-9\-._~:/?[\]@!$&'()*+,;=%]*)?$/.exec(line);
    if (!m || net.isIP(m[1]!) !== 0 || !/[a-z]/.test(m[1]!.slice(m[1]!.lastIndexOf('.') + 1))) continue;
    const url = `http://${m[1]}:${port}${m[2] ?? '/'}`;
    if (url.length > 300 || seen.has(url)) continue;
    seen.add(url);
    yield url;
  }
}

async function runSchoolgate(originPort: number, tlsPort: number, logFile: string, want: number, withTraffic: boolean, reloading: boolean): Promise<void> {
  const { loadConfig } = await import('../src/config/load.js');
  const { loadLists } = await import('../src/lists/load.js');
  const { createLogger } = await import('../src/log.js');
  const { createProxyServer } = await import('../src/proxy/server.js');
  const { normaliseUrl } = await import('../src/classify/normalise-url.js');
  const { decide } = await import('../src/policy/decide.js');
  const tmp = mkdtempSync(join(os.tmpdir(), 'schoolgate-bench-'));
  let handedOver = false;
  try {
    // The shipped configuration on the shared bench set (benchConfig), and its proxy section with
    // 127.0.0.1 put in KS2, every name sent to 127.0.0.1, and the TLS origin's port open to CONNECT.
    const doc = benchConfig();
    const proxySection = (extraPort: boolean): Record<string, unknown> =>
      ({ ...(doc.proxy ?? {}), networks: [{ cidr: '127.0.0.1/32', group: 'ks2' }], resolve: { '*': '127.0.0.1' }, connectPorts: extraPort ? [tlsPort, 8443] : [tlsPort] });
    doc.proxy = proxySection(false);
    const file = join(tmp, 'bench.yaml');
    writeFileSync(file, stringifyYaml(doc));
    const log = createLogger({ level: 'info', destination: logFile });
    // With reloads (BENCH_LONG_RELOADS), the lists and configuration are held as `schoolgate start`
    // holds them (ListService, the lists built in a child process; parsed phrase files kept in the
    // state folder; LiveSnapshot over it, refreshed on each reload), and SIGHUP reloads them as it
    // does there. Each reload writes the file again with the other of two proxy sections (one more
    // CONNECT port), so each swaps in a configuration that differs.
    if (reloading) await keepPhraseFilesAsStartDoes(join(tmp, 'data'));
    const service = reloading ? await (await import('../src/lists/service.js')).ListService.start({ configFile: file, dataDir: join(tmp, 'data'), log }) : null;
    const live = service ? new (await import('../src/proxy/live-snapshot.js')).LiveSnapshot(service, { log }) : null;
    const config = service?.config ?? loadConfig(file);
    const { classifier, report } = service ? { classifier: service.classifier, report: null } : await loadLists(config, { dataDir: join(tmp, 'data') });
    if (service && live) {
      service.onReload(() => live.refresh('reload'));
      let variant = false;
      process.on('SIGHUP', () => {
        variant = !variant;
        writeFileSync(file, stringifyYaml({ ...doc, proxy: proxySection(variant) }));
        void service.reload('SIGHUP');
      });
    }
    // The traffic log (SQLite, written by its own thread) records every request, as `schoolgate start` does.
    const traffic = withTraffic
      ? await (await import('../src/store/traffic-log.js')).TrafficLog.open({ dataDir: `${logFile}.traffic`, timeZone: config.school.timezone, config: config.log, retention: config.retention, log })
      : undefined;
    const proxy = createProxyServer({ source: live ?? { classifier, config }, log, ...(traffic ? { traffic } : {}) });

    // The first `want` traffic URLs that KS2 may open now, under the shipped policy.
    const urls: string[] = [];
    const refused = { block: 0, warn: 0 };
    for (const url of candidateUrls(originPort)) {
      if (urls.length >= want) break;
      const d = decide({ group: 'ks2' }, classifier.classify(url, normaliseUrl(url)), config.policy, Date.now());
      if (d.action === 'allow') urls.push(url);
      else refused[d.action]++;
    }
    const tls = decide({ group: 'ks2', connect: true }, classifier.classify(`${TLS_NAME}:${tlsPort}`), config.policy, Date.now());
    const info = `${report ? `${report.stats.length} lists, ` : ''}${classifier.matcher.domainCount.toLocaleString('en-GB')} names, ${report ? `built in ${Math.round(report.buildMs)} ms` : 'held by ListService (reloaded on SIGHUP)'}, ` +
      `classification cache ${classifier.matcher.isExpensive && config.classifier.cacheSize > 0 ? 'on' : 'off (no hashed or expression lists)'}` +
      (report && report.errors.length > 0 ? `; ${report.errors.length} load problems, first: ${report.errors[0]}` : '') +
      `; traffic URLs for KS2: ${urls.length} allowed taken, ${refused.block} blocked and ${refused.warn} warned skipped on the way; CONNECT ${TLS_NAME}: ${tls.action}`;
    const trafficStats = (): Stats['traffic'] => {
      if (!traffic) return undefined;
      const t = traffic.stats();
      return { recorded: t.recorded, stored: t.stored, spilled: t.spilled };
    };
    serveChild([proxy.server], { port: await listen(proxy.server), info, urls },
      () => ({ count: 0, tlsCount: 0, sockets: 0, lastUrl: '', lastHost: '', traffic: trafficStats(), ...(service && live ? { reloads: service.reloads, snapshot: live.current.version } : {}) }),
      () => proxy.destroyTunnels(), async () => {
        live?.close();
        await traffic?.close();
        if (reloading) rmSync(tmp, { recursive: true, force: true });
      });
    handedOver = true;
  } finally {
    // Reloads read the file and the data folder again: those are removed on close instead.
    if (!reloading || !handedOver) rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The client side (this process): autocannon, with latencies recorded exactly (autocannon's own
// histogram has 1 ms resolution, too coarse for loopback).

interface AcRequest { path?: string; method?: string; headers?: Record<string, string> }
interface AcOptions {
  url: string; connections: number; pipelining: number; amount?: number; duration?: number;
  requests?: AcRequest[]; headers?: Record<string, string>; timeout?: number;
  setupClient?: (client: { setRequests(r: AcRequest[]): void }) => void;
}
interface AcResult {
  errors: number; timeouts: number; non2xx: number; mismatches: number; resets?: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AcInstance {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  stop(): void;
}
type Autocannon = (opts: AcOptions, cb: (err: Error | null, res: AcResult) => void) => AcInstance;

/** A child of this file (bench/child.ts), with the memory and stats queries of this benchmark. */
class Child extends BenchChild<ToChild, FromChild> {
  constructor(name: string, args: string[], core: number, extraArgv: string[] = []) {
    // BENCH_PROFILE=DIR writes a V8 CPU profile of the Schoolgate process into DIR on exit.
    super(name, args, { module: SELF, core, execArgv: extraArgv, profile: name === 'schoolgate' });
  }

  /** The process's memory; after a full GC if `gc` (only where it runs with --expose-gc). */
  async mem(gc = false, heapSnapshot?: string): Promise<NodeJS.MemoryUsage> {
    return (await this.ask<Extract<FromChild, { type: 'mem' }>>({ type: 'mem', gc, ...(heapSnapshot ? { heapSnapshot } : {}) })).mem;
  }

  stats(): Promise<Extract<FromChild, { type: 'stats' }>> {
    return this.ask({ type: 'stats' });
  }
}

type Kind = 'direct' | 'bare' | 'squid' | 'ours' | 'logged' | 'blocked';
const NAMES: Record<Kind, string> = { direct: 'direct', bare: 'bare Node relay', squid: 'Squid', ours: 'Schoolgate', logged: 'Schoolgate + traffic log', blocked: 'Schoolgate, blocked (block page)' };

interface Target {
  readonly kind: Kind;
  readonly url: string; // where autocannon connects
  readonly requests: AcRequest[];
  /** CPU µs of the proxy process so far; null for direct. */
  readonly cpu: (() => Promise<number>) | null;
}

interface RunResult {
  rps: number;
  responses: number;
  p50: number;
  p99: number;
  errors: number;
  ok2xx: number;
  other: number;
  statuses: string;
  originRequests: number; // requests the origin answered during the run
  cpuClient: number; // µs of CPU per response
  cpuOrigin: number;
  cpuProxy: number;
  proxyBusy: number; // proxy CPU time over wall time (its core, 0)
  loadBusy: number; // client + origin CPU time over wall time (their core, 1)
  originSockets: number; // TCP connections the origin accepted during the run
}

interface TunnelResult {
  tps: number;
  ok: number;
  reused: number;
  failures: string;
  p50: number;
  p99: number;
  cpuProxy: number; // µs per tunnel
  cpuLoad: number; // client + origin µs per tunnel
  proxyBusy: number;
  loadBusy: number;
}

function quantile(sorted: ArrayLike<number>, q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * autocannon starts every connection at the first request of the list, so they would ask for the
 * same host in step; each starts at its own offset instead.
 */
function spread(requests: AcRequest[], connections: number): AcOptions['setupClient'] {
  if (requests.length < 2) return undefined;
  let k = 0;
  const stride = Math.max(1, Math.floor(requests.length / connections));
  return (client) => {
    const off = (k++ * stride) % requests.length;
    client.setRequests([...requests.slice(off), ...requests.slice(0, off)]);
  };
}

const env = (name: string, fallback: number): number => (process.env[name] === undefined ? fallback : Number(process.env[name]));

async function main(): Promise<void> {
  requireShared();
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const LONG = process.env.BENCH_LONG === '1' || process.argv.includes('--long');
  const AMOUNT = env('BENCH_AMOUNT', 20_000);
  const SECONDS = env('BENCH_SECONDS', 10);
  const ROUNDS = env('BENCH_ROUNDS', 2);
  const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '1,10,50').split(',').map(Number);
  const URLS = env('BENCH_URLS', 1000);
  const TUNNELS = env('BENCH_TUNNELS', 2000);
  const TUNNEL_CLIENTS = env('BENCH_TUNNEL_CLIENTS', 10);
  const TUNNEL_SECONDS = env('BENCH_TUNNEL_SECONDS', 6);
  const amountFor = (conns: number): number => (conns === 1 ? Math.ceil(AMOUNT / 4) : AMOUNT);
  const started = Date.now();

  const dir = mkdtempSync(join(os.tmpdir(), 'schoolgate-bench-run-'));
  const logFile = join(dir, 'schoolgate.log');
  const pinnedSelf = pin(process.pid, LOAD_CORE);
  const origin = new Child('origin', [], LOAD_CORE);
  const children: Child[] = [origin];
  let squid: Squid | null = null;
  try {
    const { tlsPort, caPem } = await origin.start();
    const RELOADS = LONG ? env('BENCH_LONG_RELOADS', 0) : 0;
    const ours = new Child('schoolgate', [String(origin.port), String(tlsPort), logFile, String(URLS), process.env.BENCH_TRAFFIC === '1' ? 'traffic' : 'none', RELOADS > 0 ? 'reloads' : 'fixed'], PROXY_CORE, LONG ? ['--expose-gc'] : []);
    children.push(ours);
    // The same Schoolgate with its traffic log on, measured in the same rounds: what logging costs.
    const logged = LONG ? null : new Child('schoolgate', [String(origin.port), String(tlsPort), `${logFile}.logged`, String(URLS), 'traffic'], PROXY_CORE);
    if (logged) children.push(logged);
    const bare = LONG ? null : new Child('bare', [], PROXY_CORE);
    if (bare) children.push(bare);
    const [oursReady] = await Promise.all([ours.start(), bare?.start(), logged?.start()]);
    const urls = oursReady.urls ?? [];
    if (urls.length < URLS) throw new Error(`only ${urls.length} allowed traffic URLs found`);
    const loadBefore = os.loadavg();
    const acceptHtml = 'text/html,application/xhtml+xml,*/*;q=0.8';
    const hostOf = (u: string): string => /^http:\/\/([^/]+)/.exec(u)![1]!; // host:port
    const proxied = urls.map((u) => ({ path: u, headers: { host: hostOf(u), accept: acceptHtml } }));

    const once = (opts: AcOptions, cap: number, onResponse?: (status: number, ms: number, bytes: number) => void): Promise<AcResult> =>
      new Promise((res, rej) => {
        // amount bounds the run; the watchdog bounds its time (autocannon ignores duration when amount is set).
        let watchdog: NodeJS.Timeout | undefined = undefined;
        const inst = autocannon(opts, (err, r) => {
          clearTimeout(watchdog);
          if (err) rej(err);
          else res(r);
        });
        watchdog = setTimeout(() => inst.stop(), cap * 1000);
        if (onResponse) inst.on('response', (_c, status, bytes, ms) => onResponse(status, ms, bytes));
      });

    const header = (): void => {
      const cpu = os.cpus();
      console.log(`\nProxy benchmark${LONG ? ', long run' : ''}: node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${fmt(os.totalmem() / 2 ** 30)} GiB; ${new Date().toISOString()}`);
      console.log(`Load average (1/5/15 min) ${loadBefore.map((x) => fmt(x, 2)).join(' / ')} before, ${os.loadavg().map((x) => fmt(x, 2)).join(' / ')} after; ${Math.round((Date.now() - started) / 1000)} s in all.`);
      console.log(PIN ? `Pinned: proxies on core ${PROXY_CORE}, load generator (${pinnedSelf ? 'pinned' : 'NOT pinned'}) and origin on core ${LOAD_CORE}.` : 'Not pinned (BENCH_PIN=0 or one core).');
      console.log(`Schoolgate: ${oursReady.info}; client 127.0.0.1 is KS2; logging at info to a file; traffic log ${process.env.BENCH_TRAFFIC === '1' ? 'ON (BENCH_TRAFFIC=1: SQLite, its writer thread on the proxy\'s core)' : 'off (not wired in; BENCH_TRAFFIC=1 turns it on)'}; code ${codeVersion()}`);
    };
    const logSummary = (): string => {
      let text = '';
      try {
        text = readFileSync(logFile, 'utf8');
      } catch {
        // nothing written
      }
      const lines = text.split('\n').filter(Boolean);
      const msgs = new Map<string, number>();
      /** The full collections after reloads (live-snapshot.ts): how long each held the event loop. */
      const collections: string[] = [];
      for (const l of lines) {
        const line = JSON.parse(l) as { msg?: string; ms?: number; cpuMs?: number };
        const msg = line.msg ?? '?';
        msgs.set(msg, (msgs.get(msg) ?? 0) + 1);
        if (msg.startsWith('memory of the previous lists returned') && line.ms !== undefined) collections.push(line.cpuMs === undefined ? `${line.ms}` : `${line.ms} (CPU ${line.cpuMs})`);
      }
      return `Schoolgate's log (pino, info, a file): ${lines.length} lines, ${fmt(text.length)} bytes${lines.length > 0 ? `: ${[...msgs].map(([m, n]) => `${n} × "${m}"`).join(', ')}` : ''}` +
        (collections.length > 0 ? `; the full collections took ${collections.join(', ')} ms` : '');
    };

    const trafficSummary = async (): Promise<string> => {
      const t = (await (logged ?? ours).stats()).traffic;
      return t ? `Traffic log: ${fmt(t.recorded)} rows recorded, ${fmt(t.stored)} stored by the writer, ${fmt(t.spilled)} spilled` : 'Traffic log: off';
    };
    if (LONG) {
      await longRun(once, ours, origin, proxied, RELOADS);
      header();
      console.log(logSummary());
      console.log(await trafficSummary());
      return;
    }

    // Squid, if installed and unless left out.
    let squidNote = '';
    if (process.env.BENCH_SQUID === '0') squidNote = 'left out (BENCH_SQUID=0)';
    else if (squidBinary() === null) squidNote = 'not installed (apt-get install -y squid)';
    else {
      try {
        squid = await startSquid({ originPort: origin.port, tlsPort: tlsPort!, hosts: [...new Set([...urls.map((u) => hostOf(u).replace(/:\d+$/, '')), TLS_NAME])], core: PIN ? PROXY_CORE : null });
      } catch (err) {
        squidNote = `could not be started: ${(err as Error).message}`;
      }
    }
    const sq = squid;

    // Check that autocannon sends `path` verbatim as the request line (absolute form), that each
    // proxy relays it to the origin in origin form with the traffic URL's host, and that the block page is served.
    console.log('Checks:');
    const s0 = await origin.stats();
    const direct = await once({ url: `http://127.0.0.1:${origin.port}`, connections: 1, pipelining: 1, amount: 1, requests: [{ path: urls[0]! }] }, 10);
    const s1 = await origin.stats();
    console.log(`  autocannon path verbatim: origin got request line target "${s1.lastUrl}" (${s1.count - s0.count} request, ${direct.non2xx} non-2xx)`);
    if (s1.lastUrl !== urls[0]) throw new Error('autocannon did not send the absolute-form path verbatim');
    const proxies: [Kind, number][] = [['bare', bare!.port], ['ours', ours.port], ...(sq ? [['squid', sq.port] as [Kind, number]] : [])];
    for (const [kind, port] of proxies) {
      const b = (await origin.stats()).count;
      let minBytes = Infinity;
      const r = await once({ url: `http://127.0.0.1:${port}`, connections: 1, pipelining: 1, amount: 20, requests: proxied.slice(0, 20) }, 10, (_s, _ms, bytes) => {
        minBytes = Math.min(minBytes, bytes);
      });
      const s = await origin.stats();
      const ok2xx = r.statusCodeStats['200']?.count ?? 0;
      const want = new URL(urls[19]!);
      console.log(`  ${NAMES[kind]}: 20 traffic URLs → ${ok2xx} × 200, each ≥ ${minBytes} bytes; origin counted ${s.count - b}, last "${s.lastUrl}", Host ${s.lastHost}`);
      if (ok2xx !== 20 || minBytes < BODY.length || s.count - b !== 20 || s.lastHost !== want.host) throw new Error(`${NAMES[kind]} did not relay to the origin`);
    }
    const block = await new Promise<{ status: number; reason: string; bytes: number }>((res, rej) => {
      http.get({ host: '127.0.0.1', port: ours.port, path: BLOCKED_URL, headers: { host: 'gambling.selftest.invalid', accept: acceptHtml }, agent: false }, (r) => {
        let bytes = 0;
        r.on('data', (d: Buffer) => (bytes += d.length));
        r.on('end', () => res({ status: r.statusCode ?? 0, reason: String(r.headers['x-schoolgate-reason'] ?? ''), bytes }));
      }).on('error', rej);
    });
    console.log(`  block page: ${BLOCKED_URL} → ${block.status}, X-Schoolgate-Reason "${block.reason}", ${block.bytes} bytes of HTML`);
    if (block.status !== 403) throw new Error('the blocked URL was not blocked');
    const tunnelTargets: [Kind, TunnelTarget][] = [['direct', { proxyPort: null, name: TLS_NAME, tlsPort: tlsPort!, caPem: caPem! }],
      ...proxies.map(([k, port]): [Kind, TunnelTarget] => [k, { proxyPort: port, name: TLS_NAME, tlsPort: tlsPort!, caPem: caPem! }])];
    for (const [kind, t] of tunnelTargets) {
      const b = (await origin.stats()).tlsCount;
      await oneTunnel(t);
      console.log(`  CONNECT ${NAMES[kind]}: one tunnel to ${TLS_NAME}:${tlsPort}, TLS with SNI, GET / → 200 with the 1 KiB body; TLS origin counted ${(await origin.stats()).tlsCount - b}`);
    }

    const targets: Target[] = [
      { kind: 'direct', url: `http://127.0.0.1:${origin.port}`, cpu: null, requests: urls.map((u) => ({ path: new URL(u).pathname + new URL(u).search, headers: { host: hostOf(u), accept: acceptHtml } })) },
      { kind: 'bare', url: `http://127.0.0.1:${bare!.port}`, cpu: () => bare!.cpu(), requests: proxied },
      ...(sq ? [{ kind: 'squid' as const, url: `http://127.0.0.1:${sq.port}`, cpu: async () => sq.cpu(), requests: proxied }] : []),
      { kind: 'ours', url: `http://127.0.0.1:${ours.port}`, cpu: () => ours.cpu(), requests: proxied },
      { kind: 'logged', url: `http://127.0.0.1:${logged!.port}`, cpu: () => logged!.cpu(), requests: proxied },
      { kind: 'blocked', url: `http://127.0.0.1:${ours.port}`, cpu: () => ours.cpu(), requests: [{ path: BLOCKED_URL, headers: { host: 'gambling.selftest.invalid', accept: acceptHtml } }] },
    ];

    const measure = async (t: Target, connections: number, amount: number): Promise<RunResult> => {
      const lat = new Float64Array(amount + 1000);
      let n = 0;
      let ok2xx = 0;
      let last = 0;
      const c0 = process.cpuUsage();
      const o0 = await origin.cpu();
      const p0 = t.cpu ? await t.cpu() : 0;
      const s0 = await origin.stats();
      const t0 = performance.now();
      const r = await once({ url: t.url, connections, pipelining: 1, amount, timeout: 10, requests: t.requests, setupClient: spread(t.requests, connections) }, SECONDS, (status, ms) => {
        if (n < lat.length) lat[n] = ms;
        n++;
        if (status >= 200 && status <= 299) ok2xx++;
        last = performance.now();
      });
      // autocannon notices the end on its next 1 s tick; the time that counts ends at the last response.
      const wall = (last - t0) / 1000;
      const client = process.cpuUsage(c0);
      const o = (await origin.cpu()) - o0;
      const p = t.cpu ? (await t.cpu()) - p0 : 0;
      const s = await origin.stats();
      const clientUs = client.user + client.system;
      const sorted = lat.subarray(0, Math.min(n, lat.length)).sort();
      const statuses = Object.entries(r.statusCodeStats).map(([k, v]) => `${v.count}×${k}`).join(' ');
      return {
        rps: n / wall, responses: n, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), errors: r.errors + r.timeouts, ok2xx, other: n - ok2xx, statuses,
        originRequests: s.count - s0.count, cpuClient: clientUs / n, cpuOrigin: o / n, cpuProxy: p / n,
        proxyBusy: p / 1e6 / wall, loadBusy: (clientUs + o) / 1e6 / wall, originSockets: s.sockets - s0.sockets,
      };
    };

    const measureTunnels = async (kind: Kind, t: TunnelTarget, amount: number, resume: boolean): Promise<TunnelResult> => {
      const proxyCpu = kind === 'direct' ? null : kind === 'bare' ? () => bare!.cpu() : kind === 'squid' ? async () => sq!.cpu() : () => ours.cpu();
      const c0 = process.cpuUsage();
      const o0 = await origin.cpu();
      const p0 = proxyCpu ? await proxyCpu() : 0;
      const r = await runTunnels(t, TUNNEL_CLIENTS, amount, TUNNEL_SECONDS, resume);
      const client = process.cpuUsage(c0);
      const o = (await origin.cpu()) - o0;
      const p = proxyCpu ? (await proxyCpu()) - p0 : 0;
      const sorted = r.latencies.slice().sort();
      const wall = r.wallMs / 1000;
      const load = client.user + client.system + o;
      return {
        tps: r.ok / wall, ok: r.ok, reused: r.reused, failures: [...r.failures].map(([k, v]) => `${v}× ${k}`).join(', '), p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99),
        cpuProxy: p / Math.max(1, r.ok), cpuLoad: load / Math.max(1, r.ok), proxyBusy: p / 1e6 / wall, loadBusy: load / 1e6 / wall,
      };
    };

    // Warm every path (JIT, pools: every host's upstream connection) before anything is measured.
    for (const t of targets) await measure(t, 10, Math.min(AMOUNT, 5000));
    for (const [kind, t] of tunnelTargets) await measureTunnels(kind, t, 300, true);
    const squidLog0 = sq?.accessLogLines() ?? 0;
    let squidRequests = 0;

    const results = new Map<string, RunResult[]>();
    const MODES = [['full', false], ['resumed', true]] as const;
    const tunnels = new Map<string, TunnelResult[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const conns of CONNECTIONS) {
        for (const t of targets) {
          const r = await measure(t, conns, amountFor(conns));
          if (t.kind === 'squid') squidRequests += r.responses;
          const key = `${t.kind}@${conns}`;
          results.set(key, [...(results.get(key) ?? []), r]);
          process.stderr.write(`  round ${round + 1}, ${conns} connections, ${NAMES[t.kind]}: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50, 2)} ms\n`);
        }
      }
      for (const [mode, resume] of MODES) {
        for (const [kind, t] of tunnelTargets) {
          const r = await measureTunnels(kind, t, TUNNELS, resume);
          if (kind === 'squid') squidRequests += r.ok;
          tunnels.set(`${mode}:${kind}`, [...(tunnels.get(`${mode}:${kind}`) ?? []), r]);
          process.stderr.write(`  round ${round + 1}, CONNECT (${mode} TLS handshakes) ${NAMES[kind]}: ${fmt(r.tps)} tunnels/s, p50 ${fmt(r.p50, 2)} ms${r.failures ? `, failures ${r.failures}` : ''}\n`);
        }
      }
    }

    header();
    console.log(`Each run: ${fmt(AMOUNT)} requests (${fmt(amountFor(1))} at 1 connection) or ${SECONDS} s, whichever comes first; pipelining 1; ${urls.length} distinct traffic URLs (${new Set(urls.map(hostOf)).size} hosts); 1 KiB origin body.`);
    console.log(`Squid: ${sq ? `${squidBinary()} ${sq.version}, no cache, access log on (${fmt(sq.accessLogLines() - squidLog0)} lines written for ${fmt(squidRequests)} measured requests and tunnels), one worker, hosts_file` : squidNote}`);
    console.log(logSummary());
    console.log(await trafficSummary());
    console.log(`Best of ${ROUNDS} rounds by requests/s (latency and CPU from that same round); ratios are best against best. "busy" is the process's CPU time over the run's wall time: the proxy's on core ${PROXY_CORE}, client + origin on core ${LOAD_CORE}.\n`);
    const best = <T,>(list: T[], by: (x: T) => number): T => list.reduce((a, b) => (by(b) > by(a) ? b : a));
    const bestOf = (kind: Kind, conns: number): RunResult | undefined => {
      const list = results.get(`${kind}@${conns}`);
      return list ? best(list, (x) => x.rps) : undefined;
    };
    const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '' : fmt(a / b, 2));
    const rows: (string | number)[][] = [['', 'conns', 'req/s', 'rounds', 'p50 ms', 'p99 ms', '2xx', 'other', 'errors', 'origin reqs', 'ours/bare', 'ours/squid', 'ours/direct', 'CPU µs/req proxy (client+origin)', 'proxy busy', 'load busy', 'origin sockets']];
    for (const conns of CONNECTIONS) {
      const d = bestOf('direct', conns);
      const b = bestOf('bare', conns);
      const sqr = bestOf('squid', conns);
      for (const t of targets) {
        const r = bestOf(t.kind, conns)!;
        rows.push([
          NAMES[t.kind], conns, fmt(r.rps), results.get(`${t.kind}@${conns}`)!.map((x) => fmt(x.rps / 1000, 1) + 'k').join(' / '),
          fmt(r.p50, 2), fmt(r.p99, 2), r.ok2xx, r.other === 0 ? 0 : `${r.other} (${r.statuses})`, r.errors, r.originRequests,
          t.kind === 'ours' ? ratio(r.rps, b?.rps) : '', t.kind === 'ours' ? ratio(r.rps, sqr?.rps) : '',
          t.kind === 'direct' ? '1.00' : ratio(r.rps, d?.rps),
          `${t.kind === 'direct' ? '–' : fmt(r.cpuProxy)} (${fmt(r.cpuClient)}+${fmt(r.cpuOrigin)})`, t.kind === 'direct' ? '' : fmt(r.proxyBusy, 2), fmt(r.loadBusy, 2), r.originSockets,
        ]);
      }
    }
    console.log(table(rows));
    // The same ratios paired round by round (each proxy run against the others of the same round).
    const paired: string[] = [];
    for (const conns of CONNECTIONS) {
      const d = results.get(`direct@${conns}`)!;
      const b = results.get(`bare@${conns}`)!;
      const s = results.get(`squid@${conns}`);
      const o = results.get(`ours@${conns}`)!;
      paired.push(`${conns} conns: ours/bare ${o.map((x, i) => fmt(x.rps / b[i]!.rps, 2)).join(' / ')}` +
        (s ? `, ours/squid ${o.map((x, i) => fmt(x.rps / s[i]!.rps, 2)).join(' / ')}` : '') +
        `, ours/direct ${o.map((x, i) => fmt(x.rps / d[i]!.rps, 2)).join(' / ')}, added p50 ms ${o.map((x, i) => fmt(x.p50 - d[i]!.p50, 2)).join(' / ')}`);
    }
    console.log(`\nRound by round: ${paired.join('; ')}`);
    const cpuLine = CONNECTIONS.map((conns) => `${conns} conns: ` + (['ours', 'bare', 'squid', 'blocked'] as Kind[]).filter((k) => results.has(`${k}@${conns}`))
      .map((k) => `${k} ${results.get(`${k}@${conns}`)!.map((x) => fmt(x.cpuProxy)).join(' / ')}`).join(', '));
    console.log(`Proxy process CPU µs per request, each round: ${cpuLine.join('; ')}`);

    // CONNECT.
    console.log(`\nCONNECT: ${TUNNEL_CLIENTS} concurrent clients, each tunnel a new TCP connection, CONNECT ${TLS_NAME}:${tlsPort}, a TLS 1.3 handshake with SNI (RSA 2048 certificate), one GET of the 1 KiB body (Connection: close), close; ${fmt(TUNNELS)} tunnels or ${TUNNEL_SECONDS} s a run. "full": every handshake from scratch; "resumed": each client offers the session ticket of its previous tunnel. "direct" is the same client straight to the TLS origin.\n`);
    const bestT = (mode: string, k: Kind): TunnelResult | undefined => {
      const list = tunnels.get(`${mode}:${k}`);
      return list ? best(list, (x) => x.tps) : undefined;
    };
    const trows: (string | number)[][] = [['', 'TLS', 'tunnels/s', 'rounds', 'p50 ms', 'p99 ms', 'ok', 'resumed', 'failures', 'ours/bare', 'ours/squid', 'ours/direct', 'CPU µs/tunnel proxy (client+origin)', 'proxy busy', 'load busy']];
    for (const [mode] of MODES) {
      for (const [kind] of tunnelTargets) {
        const r = bestT(mode, kind)!;
        trows.push([NAMES[kind], mode, fmt(r.tps), tunnels.get(`${mode}:${kind}`)!.map((x) => fmt(x.tps)).join(' / '), fmt(r.p50, 2), fmt(r.p99, 2), r.ok, r.reused, r.failures || 0,
          kind === 'ours' ? ratio(r.tps, bestT(mode, 'bare')?.tps) : '', kind === 'ours' ? ratio(r.tps, bestT(mode, 'squid')?.tps) : '', kind === 'direct' ? '1.00' : ratio(r.tps, bestT(mode, 'direct')?.tps),
          `${kind === 'direct' ? '–' : fmt(r.cpuProxy)} (${fmt(r.cpuLoad)})`, kind === 'direct' ? '' : fmt(r.proxyBusy, 2), fmt(r.loadBusy, 2)]);
      }
    }
    console.log(table(trows));
    const tpaired = MODES.map(([mode]) => {
      const o = tunnels.get(`${mode}:ours`)!;
      const b = tunnels.get(`${mode}:bare`)!;
      const sqt = tunnels.get(`${mode}:squid`);
      return `${mode}: ours/bare ${o.map((x, i) => fmt(x.tps / b[i]!.tps, 2)).join(' / ')}${sqt ? `, ours/squid ${o.map((x, i) => fmt(x.tps / sqt[i]!.tps, 2)).join(' / ')}` : ''}; proxy CPU µs a tunnel ours ${o.map((x) => fmt(x.cpuProxy)).join(' / ')}, bare ${b.map((x) => fmt(x.cpuProxy)).join(' / ')}${sqt ? `, squid ${sqt.map((x) => fmt(x.cpuProxy)).join(' / ')}` : ''}`;
    });
    console.log(`\nCONNECT round by round: ${tpaired.join('; ')}`);

    // What the traffic log costs, round by round (each logged run against the unlogged one of the same round).
    console.log(`\nTraffic log cost: ${CONNECTIONS.map((conns) => {
      const o = results.get(`ours@${conns}`)!;
      const l = results.get(`logged@${conns}`)!;
      return `${conns} conns: logged/unlogged req/s ${l.map((x, i) => fmt(x.rps / o[i]!.rps, 2)).join(' / ')}, proxy CPU µs a request ${l.map((x) => fmt(x.cpuProxy)).join(' / ')} vs ${o.map((x) => fmt(x.cpuProxy)).join(' / ')}`;
    }).join('; ')}`);

    // Against the targets.
    console.log('\nTargets:');
    for (const conns of CONNECTIONS) {
      const o = bestOf('ours', conns)!;
      const b = bestOf('bare', conns)!;
      const d = bestOf('direct', conns)!;
      const s = bestOf('squid', conns);
      const line = [`ours/bare ${fmt(o.rps / b.rps, 2)} (≥ 0.85: ${o.rps / b.rps >= 0.85 ? 'met' : 'MISSED'})`];
      if (s) line.push(`ours/squid ${fmt(o.rps / s.rps, 2)} (≥ 1.0: ${o.rps >= s.rps ? 'met' : 'MISSED'})`);
      line.push(`added p50 ${fmt(o.p50 - d.p50, 2)} ms (≤ 1 ms: ${o.p50 - d.p50 <= 1 ? 'met' : 'MISSED'})`);
      // Requests a core can serve, from the least proxy CPU a request over the rounds: steadier than requests/s here.
      const leastCpu = (k: Kind): number | undefined => results.get(`${k}@${conns}`)?.reduce((a, x) => Math.min(a, x.cpuProxy), Infinity);
      const [oc, bc, sc] = [leastCpu('ours')!, leastCpu('bare')!, leastCpu('squid')];
      line.push(`by proxy CPU a request (${fmt(oc)} µs ours, ${fmt(bc)} bare${sc !== undefined ? `, ${fmt(sc)} Squid` : ''}): ours/bare ${fmt(bc / oc, 2)}${sc !== undefined ? `, ours/squid ${fmt(sc / oc, 2)}` : ''}`);
      const l = bestOf('logged', conns)!;
      const leastO = results.get(`ours@${conns}`)!.reduce((a, x) => Math.min(a, x.cpuProxy), Infinity);
      const leastL = results.get(`logged@${conns}`)!.reduce((a, x) => Math.min(a, x.cpuProxy), Infinity);
      line.push(`traffic log: logged/unlogged ${fmt(l.rps / o.rps, 2)} (≥ 0.90: ${l.rps / o.rps >= 0.9 ? 'met' : 'MISSED'}), by proxy CPU ${fmt(leastO / leastL, 2)}`);
      console.log(`  ${conns} connections: ${line.join('; ')}`);
    }
    for (const [mode] of MODES) {
      const ot = bestT(mode, 'ours')!;
      const sqt = bestT(mode, 'squid');
      const leastCpu = (k: Kind): number | undefined => tunnels.get(`${mode}:${k}`)?.reduce((a, x) => Math.min(a, x.cpuProxy), Infinity);
      const [oc, bc, sc] = [leastCpu('ours')!, leastCpu('bare')!, leastCpu('squid')];
      console.log(`  CONNECT, ${mode} TLS: ours/bare ${ratio(ot.tps, bestT(mode, 'bare')!.tps)}${sqt ? `, ours/squid ${ratio(ot.tps, sqt.tps)}` : ''}, ours/direct ${ratio(ot.tps, bestT(mode, 'direct')!.tps)}; added p50 ${fmt(ot.p50 - bestT(mode, 'direct')!.p50, 2)} ms; ` +
        `by proxy CPU a tunnel (${fmt(oc)} µs ours, ${fmt(bc)} bare${sc !== undefined ? `, ${fmt(sc)} Squid` : ''}): ours/bare ${fmt(bc / oc, 2)}${sc !== undefined ? `, ours/squid ${fmt(sc / oc, 2)}` : ''}`);
    }
  } finally {
    // Proxies first, so their pooled sockets to the origin close before it does.
    await squid?.stop();
    await Promise.all(children.filter((c) => c !== origin).map((c) => c.close()));
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 1,000,000 requests through Schoolgate, sampling its memory every 2 s. */
async function longRun(
  once: (opts: AcOptions, cap: number, onResponse?: (status: number, ms: number, bytes: number) => void) => Promise<AcResult>,
  ours: Child, origin: Child, requests: AcRequest[], reloads: number,
): Promise<void> {
  const TOTAL = env('BENCH_LONG_REQUESTS', 1_000_000);
  const CONNS = env('BENCH_LONG_CONNECTIONS', 50);
  const CAP = env('BENCH_LONG_SECONDS', 900);
  const WARM = Math.min(100_000, Math.floor(TOTAL / 10));
  const HEAP = process.env.BENCH_LONG_HEAP;
  const url = `http://127.0.0.1:${ours.port}`;

  // Estimate first: 20,000 requests.
  const m0 = await ours.mem();
  let n = 0;
  const e0 = performance.now();
  await once({ url, connections: CONNS, pipelining: 1, amount: 20_000, requests, setupClient: spread(requests, CONNS) }, 60, () => void n++);
  const rate = n / ((performance.now() - e0) / 1000);
  console.log(`Estimate: ${fmt(rate)} req/s at ${CONNS} connections, so ${fmt(TOTAL)} requests take about ${fmt(TOTAL / rate)} s (cap ${CAP} s). RSS at start ${fmt(m0.rss / 2 ** 20, 1)} MiB, after the estimate ${fmt((await ours.mem()).rss / 2 ** 20, 1)} MiB.`);

  interface Sample { t: number; responses: number; mem: NodeJS.MemoryUsage }
  const samples: Sample[] = [];
  const lat = new Float32Array(TOTAL + 1000);
  /** When each response came (s since t0): the latency of requests during reloads against the rest. */
  const when = new Float32Array(TOTAL + 1000);
  let done = 0;
  let ok2xx = 0;
  let last = 0;
  let warmGc: Sample | undefined;
  const s0 = await origin.stats();
  const c0 = await ours.cpu();
  const t0 = performance.now();
  let sampling = true;
  // Reloads (BENCH_LONG_RELOADS): SIGHUP, as `schoolgate lists reload` sends it, at every
  // TOTAL / (reloads + 1) responses; one at a time (the next waits until the previous has
  // finished), each one's memory read as soon as the child says it finished.
  interface Reload { k: number; sentAt: number; sentT: number; doneAt?: number; doneT?: number; mem?: NodeJS.MemoryUsage; snapshot?: number }
  const reloadLog: Reload[] = [];
  const reloadDue = (): boolean => reloads > 0 && reloadLog.length < reloads && done >= ((reloadLog.length + 1) * TOTAL) / (reloads + 1) && (reloadLog.at(-1)?.doneAt !== undefined || reloadLog.length === 0);
  const sendReload = (): void => {
    reloadLog.push({ k: reloadLog.length + 1, sentAt: done, sentT: (performance.now() - t0) / 1000 });
    ours.proc.kill('SIGHUP');
  };
  const sampler = (async () => {
    let nextSample = 0;
    while (sampling) {
      const t = (performance.now() - t0) / 1000;
      if (t >= nextSample) {
        samples.push({ t, responses: done, mem: await ours.mem() });
        nextSample = t + 2;
        // Once, just after warm-up: what survives a full collection (the same again at the end).
        if (warmGc === undefined && done >= WARM) warmGc = { t: (performance.now() - t0) / 1000, responses: done, mem: await ours.mem(true, HEAP ? join(HEAP, 'warm.heapsnapshot') : undefined) };
      }
      if (reloads > 0) {
        const pending = reloadLog.at(-1);
        if (pending && pending.doneAt === undefined) {
          const st = await ours.stats();
          if ((st.reloads ?? 0) >= pending.k) Object.assign(pending, { doneAt: done, doneT: (performance.now() - t0) / 1000, mem: await ours.mem(), snapshot: st.snapshot });
        }
        if (reloadDue()) sendReload();
      }
      await new Promise((r) => setTimeout(r, reloads > 0 ? 250 : 2000));
    }
  })();
  const r = await once({ url, connections: CONNS, pipelining: 1, amount: TOTAL, timeout: 10, requests, setupClient: spread(requests, CONNS) }, CAP, (status, ms) => {
    if (done < lat.length) [lat[done], when[done]] = [ms, (performance.now() - t0) / 1000];
    done++;
    if (status >= 200 && status <= 299) ok2xx++;
    last = performance.now();
  });
  sampling = false;
  await sampler;
  // A reload still running when the traffic ended: wait for it (its memory is read idle).
  const unfinished = reloadLog.at(-1);
  if (unfinished && unfinished.doneAt === undefined) {
    const w0 = performance.now();
    while ((((await ours.stats()).reloads) ?? 0) < unfinished.k && performance.now() - w0 < 120_000) await new Promise((res) => setTimeout(res, 250));
    Object.assign(unfinished, { doneAt: done, doneT: (performance.now() - t0) / 1000, mem: await ours.mem(), snapshot: (await ours.stats()).snapshot });
  }
  const wall = (last - t0) / 1000;
  const cpu = (await ours.cpu()) - c0;
  const s1 = await origin.stats();
  // Idle for 5 s, then the final figure, then again after a full collection.
  await new Promise((res) => setTimeout(res, 5000));
  const final = await ours.mem();
  const finalGc = await ours.mem(true, HEAP ? join(HEAP, 'end.heapsnapshot') : undefined);
  samples.push({ t: (performance.now() - t0) / 1000, responses: done, mem: final });
  // Latency of the responses that came while a reload ran (SIGHUP sent → the child said it had
  // finished, seen within 250 ms: the swap and what follows it are inside), against the others.
  const windows = reloadLog.filter((x) => x.doneT !== undefined).map((x) => [x.sentT, x.doneT!] as const);
  const during: number[] = [];
  const outside: number[] = [];
  for (let i = 0; i < Math.min(done, lat.length); i++) (windows.some(([a, b]) => when[i]! >= a && when[i]! <= b) ? during : outside).push(lat[i]!);
  const sorted = lat.subarray(0, Math.min(done, lat.length)).sort();
  // The RSS after warm-up: the mean of the samples over the next 100,000 responses (the heap
  // saws up and down by tens of MiB between collections, so one sample is a matter of luck).
  const window = samples.filter((x) => x.responses >= WARM && x.responses < 2 * WARM);
  const after = samples.filter((x) => x.responses >= WARM);
  if (window.length === 0 || after.length === 0) throw new Error(`the long run ended before warm-up was over: ${done} responses, ${r.errors} errors, ${r.timeouts} timeouts, reloads ${JSON.stringify(reloadLog)}`);
  const warm = window.reduce((a, x) => a + x.mem.rss, 0) / window.length;
  const max = after.reduce((a, b) => (b.mem.rss > a.mem.rss ? b : a));
  const min = after.reduce((a, b) => (b.mem.rss < a.mem.rss ? b : a));
  // Least-squares slope of RSS against responses after warm-up: MiB per 100,000 requests.
  const mx = after.reduce((a, x) => a + x.responses, 0) / after.length;
  const my = after.reduce((a, x) => a + x.mem.rss, 0) / after.length;
  const slope = after.reduce((a, x) => a + (x.responses - mx) * (x.mem.rss - my), 0) / Math.max(1, after.reduce((a, x) => a + (x.responses - mx) ** 2, 0));
  const mb = (n: number): string => fmt(n / 2 ** 20, 1);
  const pct = (a: number, b: number): string => `${a >= b ? '+' : ''}${fmt(((a - b) / b) * 100, 1)} %`;
  console.log(`\nLong run: ${fmt(done)} responses (${fmt(ok2xx)} 2xx, ${fmt(done - ok2xx)} other: ${Object.entries(r.statusCodeStats).map(([k, v]) => `${v.count}×${k}`).join(' ')}; ${r.errors + r.timeouts} errors) in ${fmt(wall)} s = ${fmt(done / wall)} req/s at ${CONNS} connections; origin answered ${fmt(s1.count - s0.count)}, accepted ${s1.sockets - s0.sockets} new connections; p50 ${fmt(quantile(sorted, 0.5), 2)} ms, p99 ${fmt(quantile(sorted, 0.99), 2)} ms; Schoolgate CPU ${fmt(cpu / done)} µs a request.`);
  console.log(`RSS of the Schoolgate process, sampled every 2 s (${samples.length} samples):`);
  console.log(`  after warm-up (mean of the ${window.length} samples from ${fmt(WARM / 1000)}k to ${fmt((2 * WARM) / 1000)}k responses): ${mb(warm)} MiB`);
  console.log(`  maximum after warm-up (at ${fmt(max.responses / 1000)}k responses, ${fmt(max.t)} s): ${mb(max.mem.rss)} MiB, ${pct(max.mem.rss, warm)}; minimum ${mb(min.mem.rss)} MiB, ${pct(min.mem.rss, warm)}`);
  console.log(`  final (5 s after the last response): ${mb(final.rss)} MiB, ${pct(final.rss, warm)}; trend after warm-up ${slope >= 0 ? '+' : ''}${fmt((slope * 100_000) / 2 ** 20, 2)} MiB per 100k requests`);
  // The heap takes a few hundred thousand requests to settle: the spread over the last 70 %.
  const late = samples.filter((x) => x.responses >= 0.3 * done).map((x) => x.mem.rss);
  if (late.length > 0) {
    const lateMean = late.reduce((x, y) => x + y, 0) / late.length;
    console.log(`  over the last 70 % of the run (${late.length} samples from ${fmt((0.3 * done) / 1000)}k): ${mb(Math.min(...late))}–${mb(Math.max(...late))} MiB, mean ${mb(lateMean)}, within ${pct(Math.min(...late), lateMean)} / ${pct(Math.max(...late), lateMean)} of it`);
  }
  const flat = [max.mem.rss, min.mem.rss, final.rss].every((x) => Math.abs(x - warm) / warm <= 0.1);
  console.log(`  flat within ±10 % of the post-warm-up figure (maximum, minimum and final): ${flat ? 'met' : 'MISSED'}`);
  if (warmGc) {
    console.log(`  after a full GC: at ${fmt(warmGc.responses / 1000)}k responses RSS ${mb(warmGc.mem.rss)} MiB, heap used ${mb(warmGc.mem.heapUsed)} MiB, external ${mb(warmGc.mem.external)} MiB (array buffers ${mb(warmGc.mem.arrayBuffers)}); ` +
      `at the end RSS ${mb(finalGc.rss)} MiB (${pct(finalGc.rss, warmGc.mem.rss)}), heap used ${mb(finalGc.heapUsed)} MiB (${pct(finalGc.heapUsed, warmGc.mem.heapUsed)}), external ${mb(finalGc.external)} MiB`);
  }
  if (reloads > 0) {
    const base = m0.rss;
    console.log(`  reloads (BENCH_LONG_RELOADS=${reloads}; SIGHUP at every ${fmt(TOTAL / (reloads + 1) / 1000)}k responses, one at a time): ${reloadLog.length} sent, ${reloadLog.filter((x) => x.doneAt !== undefined).length} finished; RSS at start ${mb(base)} MiB, heap used ${mb(m0.heapUsed)} MiB`);
    const rrows: (string | number)[][] = [['reload', 'sent at', 'took s', 'snapshot', 'RSS MiB', 'vs after warm-up', 'heap used MiB', 'external MiB']];
    for (const x of reloadLog) {
      rrows.push([x.k, `${fmt(x.sentAt / 1000)}k`, x.doneT === undefined ? '–' : fmt(x.doneT - x.sentT, 1), x.snapshot ?? '–',
        x.mem ? mb(x.mem.rss) : '–', x.mem ? pct(x.mem.rss, warm) : '–', x.mem ? mb(x.mem.heapUsed) : '–', x.mem ? mb(x.mem.external) : '–']);
    }
    console.log(table(rrows));
    const ds = Float64Array.from(during).sort();
    const os_ = Float64Array.from(outside).sort();
    console.log(`  latency while reloading (${fmt(ds.length)} responses): p50 ${fmt(quantile(ds, 0.5), 2)} ms, p99 ${fmt(quantile(ds, 0.99), 2)} ms, p99.9 ${fmt(quantile(ds, 0.999), 2)} ms, max ${fmt(ds.at(-1) ?? NaN, 1)} ms; ` +
      `otherwise (${fmt(os_.length)}): p50 ${fmt(quantile(os_, 0.5), 2)} ms, p99 ${fmt(quantile(os_, 0.99), 2)} ms, p99.9 ${fmt(quantile(os_, 0.999), 2)} ms, max ${fmt(os_.at(-1) ?? NaN, 1)} ms`);
  }
  const every = Math.max(1, Math.floor(samples.length / 14));
  console.log(`  series (responses: RSS MiB / heap used MiB): ${samples.filter((_, i) => i % every === 0 || i === samples.length - 1).map((x) => `${fmt(x.responses / 1000)}k: ${mb(x.mem.rss)} / ${mb(x.mem.heapUsed)}`).join(', ')}`);
}

const role = process.argv[2];
if (role === 'origin') await runOrigin();
else if (role === 'bare') await runBare();
else if (role === 'schoolgate') await runSchoolgate(Number(process.argv[3]), Number(process.argv[4]), process.argv[5]!, Number(process.argv[6]), process.argv[7] === 'traffic', process.argv[8] === 'reloads');
else if (role === undefined || role === '--long') await main();
else throw new Error(`unknown role ${role}`);
