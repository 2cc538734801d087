// Proxy benchmark: autocannon over loopback against a local origin, three ways, measured in the
// same run because this 2-core shared machine varies 1.5× between runs:
//   direct    client → origin (a node:http server answering a fixed 1 KiB body, keep-alive)
//   bare      client → a bare Node relay (node:http + http.request, keep-alive Agent, no filtering) → origin
//   ours      client → Schoolgate (createProxyServer, configured lists + the shared bench set) → origin
//   blocked   client → Schoolgate, for http://gambling.selftest.invalid/ (KS2): the block-page path
//
//   node --import tsx bench/proxy.ts
//
// Environment: BENCH_AMOUNT (requests a run, default 20000), BENCH_SECONDS (time cap a run,
// default 10), BENCH_ROUNDS (default 2; the better round is reported), BENCH_CONNECTIONS
// (default "10,50"), BENCH_PROFILE (a folder: write a CPU profile of the Schoolgate process). The
// origin and each proxy run in their own process (forked from this file), so client, proxy and
// origin are separate event loops sharing the machine's cores.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(import.meta.dirname, '..');
const BODY = Buffer.from('x'.repeat(1023) + '\n'); // 1 KiB
const BLOCKED_URL = 'http://gambling.selftest.invalid/';

// ---------------------------------------------------------------------------------------------
// Child processes: origin, bare relay, Schoolgate. Each reports its port, answers CPU-usage and
// request-count queries over IPC, and closes its server when told to (or when the parent goes).

type ToChild = { type: 'cpu'; id: number } | { type: 'stats'; id: number } | { type: 'close' };
type FromChild =
  | { type: 'ready'; port: number; info?: string }
  | { type: 'cpu'; id: number; usage: NodeJS.CpuUsage }
  | { type: 'stats'; id: number; count: number; sockets: number; lastUrl: string; lastHost: string };

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function serveChild(server: http.Server, port: number, info: string | undefined, stats: () => { count: number; sockets: number; lastUrl: string; lastHost: string }, onClose: () => void = () => {}): void {
  const send = (m: FromChild): void => void process.send!(m);
  const close = (): void => {
    onClose();
    server.closeAllConnections();
    server.close(() => {
      process.disconnect?.();
      // Pooled upstream sockets may keep the loop alive until the origin times them out.
      setTimeout(() => process.exit(0), 500).unref();
    });
  };
  process.on('message', (m: ToChild) => {
    if (m.type === 'cpu') send({ type: 'cpu', id: m.id, usage: process.cpuUsage() });
    else if (m.type === 'stats') send({ type: 'stats', id: m.id, ...stats() });
    else if (m.type === 'close') close();
  });
  process.on('disconnect', () => {
    if (server.listening) close();
  });
  send({ type: 'ready', port, ...(info !== undefined ? { info } : {}) });
}

async function runOrigin(): Promise<void> {
  let count = 0;
  let sockets = 0;
  let lastUrl = '';
  let lastHost = '';
  const server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    count++;
    lastUrl = req.url ?? '';
    lastHost = req.headers.host ?? '';
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
  server.on('connection', () => sockets++);
  serveChild(server, await listen(server), undefined, () => ({ count, sockets, lastUrl, lastHost }));
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
    const up = http.request({ host: u.hostname, port: u.port || 80, path: u.pathname + u.search, method: req.method, headers, agent }, (ur) => {
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
  serveChild(server, await listen(server), undefined, () => ({ count, sockets: 0, lastUrl: '', lastHost: '' }), () => agent.destroy());
}

async function runSchoolgate(): Promise<void> {
  const { loadConfig } = await import('../src/config/load.js');
  const { loadLists } = await import('../src/lists/load.js');
  const { createLogger } = await import('../src/log.js');
  const { createProxyServer } = await import('../src/proxy/server.js');
  const { SHARED } = await import('./lib.js');
  const configDir = join(ROOT, 'config');
  const tmp = mkdtempSync(join(os.tmpdir(), 'schoolgate-bench-'));
  try {
    // The shipped configuration with absolute paths, UT1's download replaced by the shared bench
    // set (same squidGuard layout, mapped by the same categories.yaml), and its proxy section with
    // 127.0.0.1 put in KS2 and allowed to reach the loopback origin.
    const doc = parseYaml(readFileSync(join(configDir, 'default.yaml'), 'utf8')) as Record<string, any>;
    const abs = (p: string): string => resolve(configDir, p);
    doc.categories = abs(doc.categories);
    doc.search.engines = abs(doc.search.engines);
    doc.phrases.files = doc.phrases.files.map(abs);
    const sources = (doc.lists.sources as Record<string, unknown>[]).filter((s) => s.name !== 'ut1');
    for (const s of sources) if (typeof s.path === 'string') s.path = abs(s.path);
    sources.push({ name: 'bench', format: 'squidguard', path: join(SHARED, 'bench-set') });
    doc.lists.sources = sources;
    doc.proxy = { ...(doc.proxy ?? {}), networks: [{ cidr: '127.0.0.1/32', group: 'ks2' }], allowPrivate: ['127.0.0.0/8'] };
    const yaml = stringifyYaml(doc);
    const file = join(tmp, 'bench.yaml');
    writeFileSync(file, yaml);
    const config = loadConfig(file);
    const { classifier, report } = await loadLists(config, { dataDir: join(tmp, 'data') });
    const proxy = createProxyServer({ source: { classifier, config }, log: createLogger({ level: 'silent' }) });
    const info = `${report.stats.length} lists, ${classifier.matcher.domainCount.toLocaleString('en-GB')} names, built in ${Math.round(report.buildMs)} ms, ` +
      `classification cache ${classifier.matcher.isExpensive && config.classifier.cacheSize > 0 ? 'on' : 'off (no hashed or expression lists)'}` +
      (report.errors.length > 0 ? `; ${report.errors.length} load problems, first: ${report.errors[0]}` : '');
    serveChild(proxy.server, await listen(proxy.server), info, () => ({ count: 0, sockets: 0, lastUrl: '', lastHost: '' }), () => proxy.destroyTunnels());
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The client side (this process): autocannon, with latencies recorded exactly (autocannon's own
// histogram has 1 ms resolution, too coarse for loopback).

interface AcRequest { path?: string; method?: string; headers?: Record<string, string> }
interface AcOptions {
  url: string; connections: number; pipelining: number; amount?: number; duration?: number;
  requests?: AcRequest[]; headers?: Record<string, string>; timeout?: number;
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

class Child {
  private next = 0;
  private readonly waiting = new Map<number, (m: FromChild) => void>();
  readonly proc: ChildProcess;
  port = 0;
  info: string | undefined;
  readonly exited: Promise<void>;

  constructor(readonly name: string) {
    // BENCH_PROFILE=DIR writes a V8 CPU profile of the Schoolgate process into DIR on exit.
    const prof = name === 'schoolgate' && process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
    this.proc = fork(SELF, [name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...process.execArgv, ...prof] });
    this.exited = new Promise((r) => this.proc.once('exit', () => r()));
    this.proc.on('message', (m: FromChild) => {
      if (m.type === 'ready') return;
      this.waiting.get(m.id)?.(m);
      this.waiting.delete(m.id);
    });
  }

  ready(): Promise<void> {
    return new Promise((res, rej) => {
      this.proc.once('exit', (code) => rej(new Error(`${this.name} exited (${code}) before it was ready`)));
      this.proc.on('message', (m: FromChild) => {
        if (m.type === 'ready') {
          this.port = m.port;
          this.info = m.info;
          res();
        }
      });
    });
  }

  private ask<T extends FromChild>(type: 'cpu' | 'stats'): Promise<T> {
    const id = this.next++;
    return new Promise((r) => {
      this.waiting.set(id, r as (m: FromChild) => void);
      this.proc.send({ type, id } satisfies ToChild);
    });
  }

  async cpu(): Promise<number> {
    const m = await this.ask<Extract<FromChild, { type: 'cpu' }>>('cpu');
    return m.usage.user + m.usage.system;
  }

  stats(): Promise<Extract<FromChild, { type: 'stats' }>> {
    return this.ask('stats');
  }

  async close(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.connected) this.proc.send({ type: 'close' } satisfies ToChild);
    const timer = setTimeout(() => this.proc.kill(), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

interface Target {
  readonly name: string;
  readonly url: string; // where autocannon connects
  readonly requests: AcRequest[];
  readonly proxy: Child | null;
}

interface RunResult {
  rps: number;
  responses: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  statuses: string;
  cpuClient: number; // µs of CPU per response
  cpuOrigin: number;
  cpuProxy: number;
  cores: number; // total CPU seconds per wall second, all three processes
  originSockets: number; // TCP connections the origin accepted during the run
}

/** The commit measured, and whether src/ differed from it (others edit while benchmarks run). */
function codeVersion(): string {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
    const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).map((l) => l.slice(3));
    return `${git('rev-parse', '--short', 'HEAD')}${dirty.length > 0 ? ` (uncommitted in src/: ${dirty.join(', ')})` : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

async function main(): Promise<void> {
  const { fmt, requireShared, table, trafficUrls } = await import('./lib.js');
  requireShared();
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const AMOUNT = Number(process.env.BENCH_AMOUNT ?? 20_000);
  const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
  const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '10,50').split(',').map(Number);

  const children = [new Child('origin'), new Child('bare'), new Child('schoolgate')];
  const [origin, bare, ours] = children as [Child, Child, Child];
  try {
    await Promise.all(children.map((c) => c.ready()));
    const loadBefore = os.loadavg()[0]!;
    const originAt = `127.0.0.1:${origin.port}`;

    // 1,000 distinct request paths taken from the shared traffic sample, so the classifier's
    // phrase scan sees real paths (the host is always the loopback origin).
    const paths = [...new Set(trafficUrls(20_000).map((u) => /^https?:\/\/[^/]+(\/[\x21-\x7e]*)$/.exec(u)?.[1]).filter((p): p is string => p !== undefined && p.length <= 200))].slice(0, 1000);
    const accept = 'text/html,application/xhtml+xml,*/*;q=0.8';
    const targets: Target[] = [
      { name: 'direct', url: `http://${originAt}`, proxy: null, requests: paths.map((p) => ({ path: p, headers: { accept } })) },
      { name: 'bare Node relay', url: `http://127.0.0.1:${bare.port}`, proxy: bare, requests: paths.map((p) => ({ path: `http://${originAt}${p}`, headers: { host: originAt, accept } })) },
      { name: 'Schoolgate', url: `http://127.0.0.1:${ours.port}`, proxy: ours, requests: paths.map((p) => ({ path: `http://${originAt}${p}`, headers: { host: originAt, accept } })) },
      { name: 'Schoolgate, blocked (block page)', url: `http://127.0.0.1:${ours.port}`, proxy: ours, requests: [{ path: BLOCKED_URL, headers: { host: 'gambling.selftest.invalid', accept } }] },
    ];

    const once = (opts: AcOptions, onResponse?: (status: number, ms: number, bytes: number) => void): Promise<AcResult> =>
      new Promise((res, rej) => {
        // amount bounds the run; the watchdog bounds its time (autocannon ignores duration when amount is set).
        let watchdog: NodeJS.Timeout | undefined = undefined;
        const inst = autocannon(opts, (err, r) => {
          clearTimeout(watchdog);
          if (err) rej(err);
          else res(r);
        });
        watchdog = setTimeout(() => inst.stop(), SECONDS * 1000);
        if (onResponse) inst.on('response', (_c, status, bytes, ms) => onResponse(status, ms, bytes));
      });

    // Check that autocannon sends `path` verbatim as the request line (absolute form), that each
    // proxy relays it to the origin in origin form, and that the block page is served.
    console.log('Checks:');
    const before = (await origin.stats()).count;
    const direct = await once({ url: `http://${originAt}`, connections: 1, pipelining: 1, amount: 1, requests: [{ path: `http://${originAt}/verbatim?x=1` }] });
    const s1 = await origin.stats();
    console.log(`  autocannon path verbatim: origin got request line target "${s1.lastUrl}" (${s1.count - before} request, ${direct.non2xx} non-2xx)`);
    if (s1.lastUrl !== `http://${originAt}/verbatim?x=1`) throw new Error('autocannon did not send the absolute-form path verbatim');
    for (const t of targets.slice(1, 3)) {
      const b = (await origin.stats()).count;
      let minBytes = Infinity;
      const r = await once({ url: t.url, connections: 1, pipelining: 1, amount: 20, requests: [{ path: `http://${originAt}/via-proxy?y=2`, headers: { host: originAt } }] }, (_s, _ms, bytes) => {
        minBytes = Math.min(minBytes, bytes);
      });
      const s = await origin.stats();
      const ok2xx = r.statusCodeStats['200']?.count ?? 0;
      console.log(`  ${t.name}: 20 absolute-form requests → ${ok2xx} × 200, each ≥ ${minBytes} bytes (the 1 KiB body and headers); origin counted ${s.count - b}, last target "${s.lastUrl}", Host ${s.lastHost}`);
      if (ok2xx !== 20 || minBytes < BODY.length || s.count - b !== 20 || s.lastUrl !== '/via-proxy?y=2') throw new Error(`${t.name} did not relay to the origin`);
    }
    const block = await new Promise<{ status: number; reason: string; bytes: number }>((res, rej) => {
      http.get({ host: '127.0.0.1', port: ours.port, path: BLOCKED_URL, headers: { host: 'gambling.selftest.invalid', accept }, agent: false }, (r) => {
        let bytes = 0;
        r.on('data', (d: Buffer) => (bytes += d.length));
        r.on('end', () => res({ status: r.statusCode ?? 0, reason: String(r.headers['x-schoolgate-reason'] ?? ''), bytes }));
      }).on('error', rej);
    });
    console.log(`  block page: ${BLOCKED_URL} → ${block.status}, X-Schoolgate-Reason "${block.reason}", ${block.bytes} bytes of HTML`);
    if (block.status !== 403) throw new Error('the blocked URL was not blocked');

    const measure = async (t: Target, connections: number, amount: number): Promise<RunResult> => {
      const lat = new Float64Array(amount + 1000);
      let n = 0;
      let non2xx = 0;
      let last = 0;
      const c0 = process.cpuUsage();
      const o0 = await origin.cpu();
      const p0 = t.proxy ? await t.proxy.cpu() : 0;
      const s0 = (await origin.stats()).sockets;
      const t0 = performance.now();
      const r = await once({ url: t.url, connections, pipelining: 1, amount, timeout: 10, requests: t.requests }, (status, ms) => {
        if (n < lat.length) lat[n] = ms;
        n++;
        if (status < 200 || status > 299) non2xx++;
        last = performance.now();
      });
      // autocannon notices the end on its next 1 s tick; the time that counts ends at the last response.
      const wall = (last - t0) / 1000;
      const client = process.cpuUsage(c0);
      const o = (await origin.cpu()) - o0;
      const p = t.proxy ? (await t.proxy.cpu()) - p0 : 0;
      const originSockets = (await origin.stats()).sockets - s0;
      const clientUs = client.user + client.system;
      const sorted = lat.subarray(0, Math.min(n, lat.length)).sort();
      const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
      const statuses = Object.entries(r.statusCodeStats).map(([k, v]) => `${v.count}×${k}`).join(' ');
      return {
        rps: n / wall, responses: n, p50: at(0.5), p99: at(0.99), errors: r.errors + r.timeouts, non2xx, statuses,
        cpuClient: clientUs / n, cpuOrigin: o / n, cpuProxy: p / n, cores: (clientUs + o + p) / 1e6 / wall, originSockets,
      };
    };

    // Warm every path (JIT, pools) before anything is measured.
    for (const t of targets) await measure(t, 10, Math.min(AMOUNT, 5000));

    const results = new Map<string, RunResult[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const conns of CONNECTIONS) {
        for (const t of targets) {
          const r = await measure(t, conns, AMOUNT);
          const key = `${t.name}@${conns}`;
          results.set(key, [...(results.get(key) ?? []), r]);
          process.stderr.write(`  round ${round + 1}, ${conns} connections, ${t.name}: ${fmt(r.rps)} req/s\n`);
        }
      }
    }

    const cpu = os.cpus();
    console.log(`\nProxy benchmark: node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${fmt(os.totalmem() / 2 ** 30)} GiB; ${new Date().toISOString()}`);
    console.log(`Load average (1 min) ${fmt(loadBefore, 2)} before, ${fmt(os.loadavg()[0]!, 2)} after; "cores busy" is client + origin + proxy CPU time over each run's wall time (2 cores here).`);
    console.log(`Schoolgate: ${ours.info}; client 127.0.0.1 is KS2; code ${codeVersion()}`);
    console.log(`Each run: ${fmt(AMOUNT)} requests or ${SECONDS} s, whichever comes first; pipelining 1; ${paths.length} distinct paths; 1 KiB origin body.`);
    console.log(`Best of ${ROUNDS} rounds by requests/s (latency and CPU from that same round); ratios are best against best.\n`);
    const best = (key: string): RunResult => results.get(key)!.reduce((a, b) => (b.rps > a.rps ? b : a));
    const rows: (string | number)[][] = [['', 'conns', 'req/s', 'rounds', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'ours/bare', 'ours/direct', 'CPU µs/req client+origin+proxy', 'cores busy', 'origin sockets']];
    for (const conns of CONNECTIONS) {
      const d = best(`direct@${conns}`);
      const b = best(`bare Node relay@${conns}`);
      for (const t of targets) {
        const r = best(`${t.name}@${conns}`);
        rows.push([
          t.name, conns, fmt(r.rps), results.get(`${t.name}@${conns}`)!.map((x) => fmt(x.rps / 1000, 1) + 'k').join(' / '),
          fmt(r.p50, 2), fmt(r.p99, 2), r.errors, r.non2xx,
          t.name === 'Schoolgate' ? fmt(r.rps / b.rps, 2) : '',
          t.name === 'direct' ? '1.00' : fmt(r.rps / d.rps, 2),
          `${fmt(r.cpuClient)} + ${fmt(r.cpuOrigin)} + ${fmt(r.cpuProxy)}`, fmt(r.cores, 2), r.originSockets,
        ]);
      }
    }
    console.log(table(rows));
    // The same ratios paired round by round (each proxy run against the direct and bare runs just before it).
    const paired: string[] = [];
    for (const conns of CONNECTIONS) {
      const d = results.get(`direct@${conns}`)!;
      const b = results.get(`bare Node relay@${conns}`)!;
      const o = results.get(`Schoolgate@${conns}`)!;
      paired.push(`${conns} conns: ours/bare ${o.map((x, i) => fmt(x.rps / b[i]!.rps, 2)).join(' / ')}, ours/direct ${o.map((x, i) => fmt(x.rps / d[i]!.rps, 2)).join(' / ')}`);
    }
    console.log(`\nRound by round: ${paired.join('; ')}`);
    // CPU per request in the proxy process itself is steadier than requests/s on a shared machine.
    const cpuLine = CONNECTIONS.map((conns) => {
      const b = results.get(`bare Node relay@${conns}`)!;
      const o = results.get(`Schoolgate@${conns}`)!;
      const blk = results.get(`Schoolgate, blocked (block page)@${conns}`)!;
      return `${conns} conns: ours ${o.map((x) => fmt(x.cpuProxy)).join(' / ')}, bare ${b.map((x) => fmt(x.cpuProxy)).join(' / ')}, block page ${blk.map((x) => fmt(x.cpuProxy)).join(' / ')}`;
    });
    console.log(`Proxy process CPU µs per request, each round: ${cpuLine.join('; ')}`);
    const blocked = [...results.entries()].filter(([k]) => k.startsWith('Schoolgate, blocked')).flatMap(([, v]) => v.map((x) => x.statuses));
    console.log(`Blocked runs' statuses: ${[...new Set(blocked)].join('; ')}`);
  } finally {
    // Proxies first, so their pooled sockets to the origin close before it does.
    await Promise.all([bare.close(), ours.close()]);
    await origin.close();
  }
}

const role = process.argv[2];
if (role === 'origin') await runOrigin();
else if (role === 'bare') await runBare();
else if (role === 'schoolgate') await runSchoolgate();
else if (role === undefined) await main();
else throw new Error(`unknown role ${role}`);
