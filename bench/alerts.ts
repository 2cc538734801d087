// Alerts benchmark, two parts, each measured against its alternative in the same run (this
// 2-core machine is shared and varies 1.5× between runs):
//
// (i) What raising alerts costs the proxy. autocannon over loopback through one Schoolgate
//     (createProxyServer: the shipped configuration with the shared bench set, traffic log off,
//     AlertService on with the in-process queue, a webhook receiver on loopback as the only
//     channel) to a local origin answering 1 KiB. Two request mixes, alternated round by round:
//       none  99 % the first traffic-sample URLs that KS2 may open and that raise nothing, and
//             every 100th request a Google search for "weather tomorrow london"
//       alerting  the same, but every 100th request (BENCH_ALERT_SHARE) is a Google search for "i want to kill myself":
//             a suicide alert at danger, which is sent at once
//     autocannon cannot give each connection its own source address, so the searches (in both
//     mixes alike) are sent by distinct signed-in pupils (Proxy-Authorization, a network with
//     auth: optional, a verifier that accepts anyone): every danger search is a new alert with
//     its own outbox row and webhook call, none folds into another. Each run waits for the
//     receiver to have every alert raised before the next starts, and the proxy's CPU is counted
//     until then, so deliveries that finish after the last response are in it. Each alert's time
//     from raise() (its journal write, before the answer) until the proxy's thread hears that the
//     writer thread committed it to alerts.db is collected too: "alert stored" p50 / p99 / max.
// (ii) Alerts a second end to end: N alerts (distinct pupils, so each notifies) raised through
//     AlertService.raise in a Schoolgate process, 100 at a time between turns of the event loop,
//     timed until the webhook receiver has all N. In-process delivery, and BullMQ on the local
//     Redis under a key prefix of this run's own (deleted afterwards).
//
//   npm run bench:alerts
//
// Schoolgate processes are pinned to core 0, this process (autocannon, the webhook receiver) and
// the origin to core 1 (taskset; BENCH_PIN=0 turns that off). Environment: BENCH_AMOUNT (requests
// a run, default 20000), BENCH_SECONDS (time cap a run, default 20), BENCH_ROUNDS (default 3),
// BENCH_CONNECTIONS (default "10,50"), BENCH_URLS (distinct traffic URLs, default 1000), BENCH_PROFILE
// (a folder: CPU profiles of the Schoolgate processes),
// BENCH_ALERT_SHARE (the share of requests that are searches, default 0.01), BENCH_ALERTS (N,
// default 2000), BENCH_ALERT_ROUNDS (default 3), BENCH_REDIS (default
// redis://127.0.0.1:6379; "0" leaves BullMQ out).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { stringify as stringifyYaml } from 'yaml';
import { detect } from '../src/alerts/detect.js';
import { ExclusionSet } from '../src/alerts/exclusions.js';
import { AlertService } from '../src/alerts/service.js';
import { normaliseUrl } from '../src/classify/normalise-url.js';
import { loadConfig } from '../src/config/load.js';
import { Authenticator } from '../src/identity/auth.js';
import { loadLists } from '../src/lists/load.js';
import { createLogger } from '../src/log.js';
import { decide } from '../src/policy/decide.js';
import { createProxyServer } from '../src/proxy/server.js';
import { BenchChild, PIN, pin } from './child.js';
import { benchConfig, codeVersion, fmt, requireShared, table, trafficUrls } from './lib.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(import.meta.dirname, '..');
const BODY = Buffer.from('x'.repeat(1023) + '\n');
const DANGER = 'i want to kill myself';
const HARMLESS = 'weather tomorrow london';
const env = (name: string, fallback: number): number => (process.env[name] === undefined ? fallback : Number(process.env[name]));
/** One request in this many is a search (BENCH_ALERT_SHARE, default 0.01: one in 100). */
const EVERY = Math.max(2, Math.round(1 / env('BENCH_ALERT_SHARE', 0.01)));
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const searchPath = (originPort: number, q: string): string => `http://www.google.com:${originPort}/search?q=${q.replace(/ /g, '+')}`;

// ---------------------------------------------------------------------------------------------
// Child processes: the origin, and Schoolgate (proxy + AlertService). They talk over IPC.

type Ask = { id: number } & ({ type: 'cpu' } | { type: 'counts' } | { type: 'raise'; n: number; tag: string } | { type: 'stored' });
type Reply = { id: number } & ({ cpu: number } | { alerts: number; outbox: number; delivered: number } | { raiseMs: number; raised: number } | Stored);
/** How long alerts took from raise() until the writer thread's commit was heard, since the last ask. */
interface Stored { n: number; p50: number; p99: number; max: number }
interface Ready { port: number; urls?: string[]; info?: string }

function serve(server: http.Server, ready: Ready, answer?: (m: Ask) => Promise<Reply>, close: () => Promise<void> = async () => {}): void {
  let closing = false;
  const quit = (): void => {
    if (closing) return;
    closing = true;
    server.closeAllConnections();
    server.close();
    void close().finally(() => process.exit(0));
  };
  process.on('message', (m: Ask | { type: 'close' }) => {
    if (m.type === 'close') return quit();
    void answer?.(m).then((r) => process.send!(r));
  });
  process.on('disconnect', quit);
  process.send!(ready);
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function runOrigin(): Promise<void> {
  const server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length }).end(BODY);
  });
  serve(server, { port: await listen(server) });
}

/** Schoolgate on the bench configuration (as bench/proxy.ts runs it), plus alerts to `hookUrl`, delivered in-process or through Redis. */
async function runSchoolgate(originPort: number, hookUrl: string, redisUrl: string, prefix: string, want: number): Promise<void> {
  // The queue is what this run says, whatever the environment says.
  delete process.env.SCHOOLGATE_REDIS_URL;
  const tmp = mkdtempSync(join(os.tmpdir(), 'schoolgate-bench-alerts-'));
  const doc = benchConfig();
  doc.proxy = { ...(doc.proxy ?? {}), networks: [{ cidr: '127.0.0.1/32', group: 'ks2', auth: 'optional' }], resolve: { '*': '127.0.0.1' } };
  // The shipped safeguarding file with one recipient: the webhook receiver (no e-mail).
  const shipped = readFileSync(join(ROOT, 'config', 'safeguarding.yaml'), 'utf8');
  writeFileSync(join(tmp, 'safeguarding.yaml'), `${shipped.slice(0, shipped.indexOf('\nrecipients:'))}\nrecipients:\n  dsl: []\n  webhooks:\n    - { url: "${hookUrl}", secret: "bench-webhook-secret-0123456789" }\n`);
  doc.safeguarding = join(tmp, 'safeguarding.yaml');
  if (redisUrl) doc.redis = { url: redisUrl, prefix };
  else delete doc.redis;
  writeFileSync(join(tmp, 'bench.yaml'), stringifyYaml(doc));
  const config = loadConfig(join(tmp, 'bench.yaml'));
  const { classifier, report } = await loadLists(config, { dataDir: join(tmp, 'data') });
  const log = createLogger({ level: 'warn', destination: 2 });
  // Each alert's time from raise() (its journal write, before the answer) until this thread hears
  // the writer thread committed it to alerts.db: an upper bound of "on disk in SQLite".
  let storedMs: number[] = [];
  const alerts = await AlertService.start({ dataDir: join(tmp, 'data'), config: () => config, log, onStored: (ms) => storedMs.push(ms) });
  // Anyone who signs in is a KS2 pupil: what is measured is the alert, not the password check.
  const auth = new Authenticator({ verify: async (username) => ({ ok: true, user: { username, group: 'ks2' } }) });
  const proxy = createProxyServer({ source: { classifier, config }, log, auth, alerts });

  // The first `want` traffic URLs that KS2 may open and that raise no alert.
  const none = new ExclusionSet([]);
  const urls: string[] = [];
  let skipped = 0;
  for (const line of trafficUrls()) {
    if (urls.length >= want) break;
    const m = /^http:\/\/([a-z0-9.-]+[a-z])(\/[A-Za-z0-9\-._~:/?@!$&'()*+,;=%]*)?$/.exec(line);
    if (!m || line.length > 300) continue;
    const url = `http://${m[1]}:${originPort}${m[2] ?? '/'}`;
    const c = classifier.classify(url, normaliseUrl(url));
    const d = decide({ group: 'ks2' }, c, config.policy, Date.now());
    if (d.action === 'allow' && detect(c, d, config.safeguarding, none, 'ks2').length === 0) urls.push(url);
    else skipped++;
  }
  const danger = searchPath(originPort, DANGER);
  const dc = classifier.classify(danger, normaliseUrl(danger));
  const dd = decide({ group: 'ks2' }, dc, config.policy, Date.now());
  const harmless = searchPath(originPort, HARMLESS);
  const hc = classifier.classify(harmless, normaliseUrl(harmless));
  const hd = decide({ group: 'ks2' }, hc, config.policy, Date.now());
  const info = `${report.stats.length} lists, ${classifier.matcher.domainCount.toLocaleString('en-GB')} names; alerts delivered ${alerts.queue.mode}${redisUrl ? ` (${redisUrl}, prefix ${prefix})` : ''}; ` +
    `${urls.length} plain URLs (allowed for KS2, raising nothing; ${skipped} skipped on the way); the danger search: ${dd.action}, raises ${detect(dc, dd, config.safeguarding, none, 'ks2').map((a) => `${a.category} (${a.severity})`).join(', ')}; ` +
    `the harmless one: ${hd.action}, raises ${detect(hc, hd, config.safeguarding, none, 'ks2').length}`;
  const count = (sql: string): number => alerts.db.prepare(sql).pluck().get() as number;
  serve(proxy.server, { port: await listen(proxy.server), urls, info }, async (m) => {
    if (m.type === 'cpu') {
      const u = process.cpuUsage();
      return { id: m.id, cpu: u.user + u.system };
    }
    if (m.type === 'stored') {
      const s = storedMs.sort((a, b) => a - b);
      storedMs = [];
      const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
      return { id: m.id, n: s.length, p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? NaN };
    }
    if (m.type === 'counts') return { id: m.id, alerts: count('SELECT count(*) FROM alerts'), outbox: count('SELECT count(*) FROM outbox'), delivered: count("SELECT count(*) FROM outbox WHERE state = 'delivered'") };
    // Distinct pupils, 100 raised between turns of the event loop (as requests would let the delivery run).
    let raised = 0;
    const t0 = performance.now();
    for (let i = 0; i < m.n; i++) {
      if (alerts.raise(dc, dd, { client: '127.0.0.1', user: `${m.tag}-${i}`, group: 'ks2', trafficId: null }) !== null) raised++;
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    return { id: m.id, raiseMs: performance.now() - t0, raised };
  }, async () => {
    await alerts.close();
    rmSync(tmp, { recursive: true, force: true });
  });
}

// ---------------------------------------------------------------------------------------------
// This process: the children, autocannon, the webhook receiver.

/** A child of this file (bench/child.ts), with the alert queries of this benchmark. */
class Child extends BenchChild<Ask, Reply | Ready> {
  constructor(name: string, args: string[], core: number) {
    super(name, args, { module: SELF, core, profile: name === 'schoolgate' });
  }

  counts(): Promise<{ alerts: number; outbox: number; delivered: number }> {
    return this.ask({ type: 'counts' });
  }

  raise(n: number, tag: string): Promise<{ raiseMs: number; raised: number }> {
    return this.ask({ type: 'raise', n, tag });
  }

  stored(): Promise<Stored> {
    return this.ask({ type: 'stored' });
  }
}

interface Call { readonly delivery: string; readonly at: number }

/** Webhook calls by path (one Schoolgate process each): X-Schoolgate-Delivery and when it came. */
function webhookReceiver(): { server: http.Server; calls(path: string): Call[]; count(path: string): number } {
  const calls = new Map<string, Call[]>();
  const of = (path: string): Call[] => calls.get(path) ?? calls.set(path, []).get(path)!;
  const server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      of(req.url ?? '').push({ delivery: String(req.headers['x-schoolgate-delivery']), at: performance.now() });
      res.writeHead(204).end();
    });
  });
  return { server, calls: of, count: (path) => of(path).length };
}

async function until(check: () => boolean, maxMs: number): Promise<boolean> {
  const end = Date.now() + maxMs;
  while (!check()) {
    if (Date.now() > end) return false;
    await pause(5);
  }
  return true;
}

interface AcRequest { path: string; headers: Record<string, string> }
interface AcResult { errors: number; timeouts: number; statusCodeStats: Record<string, { count: number }> }
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, r: AcResult) => void) => { on(e: 'response', fn: () => void): void; stop(): void };

type Mix = 'none' | 'alerting';
interface Run { rps: number; responses: number; cpuUs: number; raised: number; notified: number; drainMs: number; statuses: string; errors: number; stored: Stored }

async function main(): Promise<void> {
  requireShared();
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const AMOUNT = env('BENCH_AMOUNT', 20_000);
  const SECONDS = env('BENCH_SECONDS', 20);
  const ROUNDS = env('BENCH_ROUNDS', 3);
  const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '10,50').split(',').map(Number);
  const URLS = env('BENCH_URLS', 1000);
  const N = env('BENCH_ALERTS', 2000);
  const ALERT_ROUNDS = env('BENCH_ALERT_ROUNDS', 3);
  const REDIS = process.env.BENCH_REDIS ?? 'redis://127.0.0.1:6379';
  const prefix = `sgbench-${randomBytes(4).toString('hex')}`;
  const started = Date.now();
  const loadBefore = os.loadavg();
  const pinnedSelf = pin(process.pid, 1);

  const hook = webhookReceiver();
  const hookPort = await listen(hook.server);
  const origin = new Child('origin', [], 1);
  const children: Child[] = [origin];
  let redisNote = '';
  try {
    const originPort = (await origin.start()).port;
    const ours = new Child('schoolgate', [String(originPort), `http://127.0.0.1:${hookPort}/inproc`, '', '', String(URLS)], 0);
    children.push(ours);
    // BullMQ mode for part (ii), if the local Redis answers.
    let queued: Child | null = null;
    if (REDIS !== '0') {
      const probe = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        await probe.ping();
        queued = new Child('schoolgate', [String(originPort), `http://127.0.0.1:${hookPort}/bullmq`, REDIS, prefix, '0'], 0);
        children.push(queued);
      } catch (err) {
        redisNote = `BullMQ left out: ${REDIS} did not answer (${(err as Error).message})`;
      } finally {
        probe.disconnect();
      }
    } else redisNote = 'BullMQ left out (BENCH_REDIS=0)';
    const ready = await ours.start();
    const queuedReady = await queued?.start();
    const urls = ready.urls ?? [];
    if (urls.length < URLS) throw new Error(`only ${urls.length} usable traffic URLs`);

    // (i) requests/s, none vs alerting.
    const accept = 'text/html,application/xhtml+xml,*/*;q=0.8';
    const hostOf = (u: string): string => /^http:\/\/([^/]+)/.exec(u)![1]!;
    let runNo = 0;
    /** Connection k's requests for one run: every EVERY-th a search by a pupil of its own. */
    const listFor = (mix: Mix, run: number, k: number, length: number, conns: number): AcRequest[] => Array.from({ length }, (_, j): AcRequest => {
      if (j % EVERY === EVERY - 1) {
        const path = searchPath(originPort, mix === 'none' ? HARMLESS : DANGER);
        return { path, headers: { host: hostOf(path), accept, 'proxy-authorization': `Basic ${Buffer.from(`r${run}c${k}n${j}:pw`).toString('base64')}` } };
      }
      const url = urls[(k * Math.floor(urls.length / conns) + j) % urls.length]!;
      return { path: url, headers: { host: hostOf(url), accept } };
    });
    const once = async (mix: Mix, conns: number): Promise<Run> => {
      const run = runNo++;
      const per = Math.ceil(AMOUNT / conns);
      let k = 0;
      const before = await ours.counts();
      const hooks0 = hook.count('/inproc');
      const cpu0 = await ours.cpu();
      await ours.stored();
      let responses = 0;
      let last = 0;
      const t0 = performance.now();
      const r = await new Promise<AcResult>((ok, fail) => {
        const inst = autocannon({
          url: `http://127.0.0.1:${ready.port}`, connections: conns, pipelining: 1, amount: AMOUNT, timeout: 10,
          requests: listFor(mix, run, 0, 1, conns), setupClient: (client: { setRequests(r: AcRequest[]): void }) => client.setRequests(listFor(mix, run, k++, per, conns)),
        }, (err, res) => {
          clearTimeout(watchdog);
          if (err) fail(err);
          else ok(res);
        });
        const watchdog = setTimeout(() => inst.stop(), SECONDS * 1000);
        inst.on('response', () => {
          responses++;
          last = performance.now();
        });
      });
      const ended = performance.now();
      // Every alert raised is delivered before the next run; its delivery is counted in the CPU.
      const after = await ours.counts();
      const raised = after.alerts - before.alerts;
      await until(() => hook.count('/inproc') - hooks0 >= raised, 60_000);
      const drainMs = performance.now() - ended;
      const cpu = (await ours.cpu()) - cpu0;
      const stored = await ours.stored();
      return {
        rps: responses / ((last - t0) / 1000), responses, cpuUs: cpu / responses, raised, notified: hook.count('/inproc') - hooks0, drainMs, stored,
        statuses: Object.entries(r.statusCodeStats).map(([s, v]) => `${v.count}×${s}`).join(' '), errors: r.errors + r.timeouts,
      };
    };
    const results = new Map<string, Run[]>();
    // Warm-up (not counted): the JIT, the pools, the first alerts.
    await once('alerting', CONNECTIONS[0]!);
    await once('none', CONNECTIONS[0]!);
    for (let round = 0; round < ROUNDS; round++) {
      for (const conns of CONNECTIONS) {
        const order: Mix[] = round % 2 === 0 ? ['none', 'alerting'] : ['alerting', 'none'];
        for (const mix of order) {
          const r = await once(mix, conns);
          const key = `${mix}@${conns}`;
          results.set(key, [...(results.get(key) ?? []), r]);
          process.stderr.write(`  round ${round + 1}, ${conns} conns, ${mix}: ${fmt(r.rps)} req/s, ${fmt(r.cpuUs)} µs CPU a request, ${r.raised} alerts, ${r.notified} notified, drained ${fmt(r.drainMs)} ms after; stored p99 ${r.stored.n > 0 ? `${fmt(r.stored.p99, 1)} ms` : "-"}\n`);
        }
      }
    }

    // (ii) alerts/s end to end.
    const modes: [string, Child, string][] = [['in-process', ours, '/inproc']];
    if (queued) modes.push(['BullMQ', queued, '/bullmq']);
    const e2e = new Map<string, { raiseMs: number; firstMs: number; allMs: number; raised: number; got: number; dup: number; stored: Stored; cpuUs: number }[]>();
    for (let round = 0; round < ALERT_ROUNDS; round++) {
      for (const [mode, child, path] of round % 2 === 0 ? modes : [...modes].reverse()) {
        const before = hook.count(path);
        const t0 = performance.now();
        await child.stored();
        // The process's CPU (every thread: the journal's writer, delivery) from the first raise
        // until the receiver has the last alert: what an alert costs, whatever the machine's load.
        const cpu0 = await child.cpu();
        const r = await child.raise(N, `e2e-${mode}-${round}`);
        const ok = await until(() => hook.count(path) - before >= r.raised, 120_000);
        const cpuUs = ((await child.cpu()) - cpu0) / Math.max(1, r.raised);
        // A little longer, to see anything delivered twice.
        await pause(500);
        const calls = hook.calls(path).slice(before);
        const allMs = ok ? calls[r.raised - 1]!.at - t0 : NaN;
        const list = e2e.get(mode) ?? [];
        list.push({ raiseMs: r.raiseMs, firstMs: (calls[0]?.at ?? NaN) - t0, allMs, raised: r.raised, got: calls.length, dup: calls.length - new Set(calls.map((c) => c.delivery)).size, stored: await child.stored(), cpuUs });
        e2e.set(mode, list);
        process.stderr.write(`  alerts end to end, ${mode}, round ${round + 1}: ${r.raised} raised in ${fmt(r.raiseMs)} ms, all delivered after ${fmt(allMs)} ms\n`);
      }
    }

    // Report.
    const cpus = os.cpus();
    console.log(`\nAlerts benchmark: node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? '?'}; ${new Date().toISOString()}`);
    console.log(`Load average (1/5/15 min) ${loadBefore.map((x) => fmt(x, 2)).join(' / ')} before, ${os.loadavg().map((x) => fmt(x, 2)).join(' / ')} after; ${Math.round((Date.now() - started) / 1000)} s in all; code ${codeVersion()}.`);
    console.log(PIN ? `Pinned: Schoolgate on core 0, autocannon + webhook receiver (${pinnedSelf ? 'pinned' : 'NOT pinned'}) and the origin on core 1.` : 'Not pinned.');
    console.log(`Schoolgate: ${ready.info}`);
    if (queuedReady) console.log(`Schoolgate for BullMQ: ${queuedReady.info}`);
    if (redisNote) console.log(redisNote);
    console.log(`\n(i) Requests/s with ${fmt(100 / EVERY, 1)} % of requests raising an alert vs none: ${fmt(AMOUNT)} requests a run, ${ROUNDS} rounds (the order of the two mixes alternating), 1 KiB answers, one search in ${EVERY} (by a distinct signed-in pupil), best round shown.\n`);
    const best = (key: string): Run => results.get(key)!.reduce((a, b) => (b.rps > a.rps ? b : a));
    const least = (key: string): number => Math.min(...results.get(key)!.map((r) => r.cpuUs));
    const rows: (string | number)[][] = [['mix', 'conns', 'req/s', 'rounds', 'CPU µs/req (rounds)', 'alerts raised', 'webhook calls', 'drained after (ms)', 'alert stored p50 / p99 / max ms (n)', 'statuses', 'errors']];
    for (const conns of CONNECTIONS) {
      for (const mix of ['none', 'alerting'] as Mix[]) {
        const list = results.get(`${mix}@${conns}`)!;
        const b = best(`${mix}@${conns}`);
        rows.push([mix, conns, fmt(b.rps), list.map((r) => `${fmt(r.rps / 1000, 1)}k`).join(' / '), `${fmt(least(`${mix}@${conns}`))} (${list.map((r) => fmt(r.cpuUs)).join(' / ')})`,
          list.map((r) => r.raised).join(' / '), list.map((r) => r.notified).join(' / '), list.map((r) => fmt(r.drainMs)).join(' / '), storedSummary(list.map((r) => r.stored)), b.statuses, list.reduce((a, r) => a + r.errors, 0)]);
      }
    }
    console.log(table(rows));
    console.log('\nCost of raising alerts (target ≤ 5 %):');
    for (const conns of CONNECTIONS) {
      const n = results.get(`none@${conns}`)!;
      const a = results.get(`alerting@${conns}`)!;
      const paired = a.map((r, i) => fmt((1 - r.rps / n[i]!.rps) * 100, 1)).join(' / ');
      const byRps = 1 - best(`alerting@${conns}`).rps / best(`none@${conns}`).rps;
      const byCpu = least(`alerting@${conns}`) / least(`none@${conns}`) - 1;
      // The proxy's CPU for one alert (raising, storing, delivering), from the difference of the two mixes.
      const perAlert = ((least(`alerting@${conns}`) - least(`none@${conns}`)) * AMOUNT) / (a.reduce((x, r) => x + r.raised, 0) / a.length);
      console.log(`  ${conns} connections: by best req/s ${fmt(byRps * 100, 1)} % (${byRps <= 0.05 ? 'met' : 'MISSED'}); round by round ${paired} %; by least proxy CPU a request ${fmt(byCpu * 100, 1)} % (${byCpu <= 0.05 ? 'met' : 'MISSED'}), about ${fmt(perAlert)} µs of CPU an alert`);
    }
    if (ALERT_ROUNDS > 0) {
      console.log(`\n(ii) Alerts a second end to end: ${fmt(N)} alerts raised through AlertService.raise (distinct pupils, 100 between turns of the event loop) until the webhook receiver has them all; ${ALERT_ROUNDS} rounds, modes alternating.\n`);
      const erows: (string | number)[][] = [['delivery', 'alerts/s (rounds)', 'best', 'raise ms (rounds)', 'first call ms', 'all delivered ms', 'alert stored p50 / p99 / max ms (n)', 'calls', 'repeated', 'CPU µs an alert (rounds)']];
      for (const [mode] of modes) {
        const list = e2e.get(mode)!;
        erows.push([mode, list.map((r) => fmt(r.raised / (r.allMs / 1000))).join(' / '), fmt(Math.max(...list.map((r) => r.raised / (r.allMs / 1000)))), list.map((r) => fmt(r.raiseMs)).join(' / '),
          list.map((r) => fmt(r.firstMs)).join(' / '), list.map((r) => fmt(r.allMs)).join(' / '), storedSummary(list.map((r) => r.stored)), list.map((r) => `${r.got}/${r.raised}`).join(' '), list.reduce((a, r) => a + r.dup, 0), list.map((r) => fmt(r.cpuUs)).join(' / ')]);
      }
      console.log(table(erows));
      // The target by CPU: an alert's CPU, once every 1/share requests, against a request's.
      const perAlert = Math.min(...e2e.get('in-process')!.map((r) => r.cpuUs));
      console.log(`\nBy CPU, in-process delivery: ${fmt(perAlert)} µs an alert (least of the rounds); with ${fmt(100 / EVERY, 1)} % of requests raising one, ${fmt(perAlert / EVERY)} µs more a request: ` +
        CONNECTIONS.map((conns) => {
          const base = least(`none@${conns}`);
          return `${fmt((perAlert / EVERY / base) * 100, 1)} % of the ${fmt(base)} µs a request at ${conns} connections (≤ 5 %: ${perAlert / EVERY / base <= 0.05 ? 'met' : 'MISSED'})`;
        }).join(', '));
    }
  } finally {
    await Promise.all(children.filter((c) => c !== origin).map((c) => c.close()));
    await origin.close();
    hook.server.closeAllConnections();
    hook.server.close();
    if (REDIS !== '0' && !redisNote) await deleteKeys(REDIS, prefix);
  }
}

/** The worst round's alert-stored figures (the p99 that matters is the highest seen), with the alerts counted. */
function storedSummary(rounds: readonly Stored[]): string {
  const with_ = rounds.filter((s) => s.n > 0);
  if (with_.length === 0) return '-';
  const worst = with_.reduce((a, b) => (b.p99 > a.p99 ? b : a));
  return `${fmt(worst.p50, 1)} / ${fmt(worst.p99, 1)} / ${fmt(Math.max(...with_.map((s) => s.max)), 1)} (${with_.reduce((a, s) => a + s.n, 0)})`;
}

/** Removes this run's keys from the shared Redis. */
async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    let removed = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) removed += await redis.del(...keys);
    } while (cursor !== '0');
    console.log(`Redis: ${removed} keys under ${prefix}: removed.`);
  } finally {
    redis.disconnect();
  }
}

const role = process.argv[2];
if (role === 'origin') await runOrigin();
else if (role === 'schoolgate') await runSchoolgate(Number(process.argv[3]), process.argv[4]!, process.argv[5] ?? '', process.argv[6] ?? '', Number(process.argv[7]));
else if (role === undefined) await main();
else throw new Error(`unknown role ${role}`);
