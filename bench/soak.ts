// Soak test (issue 12): one Schoolgate process (`schoolgate start`, as deployed) under an hour of
// mixed traffic, with configuration reloads, Redis restarts that come back empty, and SMTP and
// webhook outages. Reports the proxy's RSS, open file descriptors and sockets from start to end,
// and the safeguarding alerts raised against the notifications the receivers actually got.
//
//   npm run bench:soak                   one hour (not part of npm test)
//   SOAK_MINUTES=3 npm run bench:soak    a short run; the fault intervals shrink with the duration
//
// Everything is on loopback, started by this script: an origin (HTTP, upgrades), a TLS and a TCP
// echo server for tunnels, a redis-server of its own on a spare port (never the shared 6379), an
// SMTP receiver and a webhook receiver, and the proxy as a child process on a generated
// configuration: small synthetic lists under reserved names (*.soak.test) in the squidGuard layout,
// including the safeguarding categories suicide, self-harm and bullying, alerts.redis pointing at
// its Redis, and the DSL with an e-mail and a webhook channel. Traffic: bench/soak-traffic.ts.
//
// Faults, each on its own timer (first one part-way into its interval, none ending after the traffic):
//   SIGHUP reload    every SOAK_RELOAD_S (default 120 s × minutes/60, at least 10 s); the config
//                    file changes between two variants, so each reload swaps in a new configuration
//   Redis restart    every SOAK_REDIS_EVERY_S (600 s scaled, at least 45 s), down SOAK_REDIS_DOWN_S
//                    (30 s scaled, at least 10 s); SIGTERM and SIGKILL in turn; it comes back empty
//   SMTP outage      every SOAK_SMTP_EVERY_S (600 s scaled, at least 45 s), for SOAK_SMTP_DOWN_S (90 s
//                    scaled, at least 10 s); the receiver stops listening, or answers 451, in turn
//   webhook outage   every SOAK_HOOK_EVERY_S (600 s scaled, at least 45 s), for SOAK_HOOK_DOWN_S (60 s
//                    scaled, at least 10 s); 503 answers, or not listening, in turn
//
// Other settings: SOAK_RATE (keep-alive requests/s, default 100), SOAK_CLIENTS (keep-alive
// clients, default 8), SOAK_ALERT_SHARE (alerting requests as a share of SOAK_RATE, default 0.01),
// SOAK_SAMPLE_S (default 60, less for short runs), SOAK_SETTLE_S (how long delivery may take to
// catch up after the traffic stops, default 300), SOAK_SEED, SOAK_KEEP=1 (keep the temp folder:
// config, data, proxy log, samples), SOAK_BENCH_SET=1 (also load the shared 1.7 M-entry bench set).
//
// Exits 1 on a lost alert (an answered alerting request with no alert stored, or a notification
// that did not reach both receivers by the settle deadline), a crash, or a proxy that does not
// exit cleanly on SIGTERM; 2 when it could not start.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { stringify as stringifyYaml } from 'yaml';
import { makeCert } from './connect.js';
import { benchConfig, benchSetSource, codeVersion } from './lib.js';
import { sparePort, startOrigin, startRedis, startSmtpReceiver, startTcpEcho, startTlsEcho, startWebhookReceiver, type OutageMode, type Receiver } from './soak-env.js';
import { ALERT_SCENARIOS, Traffic, type Targets } from './soak-traffic.js';
import { safeguardingWith } from '../test/helpers/receivers.js';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'schoolgate.js');
const TLS_NAME = 'secure.soak.test';
const HOOK_SECRET = 'soak-webhook-secret-0123456789abcdef';

const num = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}="${v}" is not a number`);
  return n;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MINUTES = num('SOAK_MINUTES', 60);
const SCALE = MINUTES / 60;
const S = {
  durationS: MINUTES * 60,
  rate: num('SOAK_RATE', 100),
  clients: Math.max(1, Math.round(num('SOAK_CLIENTS', 8))),
  alertShare: num('SOAK_ALERT_SHARE', 0.01),
  reloadS: num('SOAK_RELOAD_S', Math.max(10, 120 * SCALE)),
  redisEveryS: num('SOAK_REDIS_EVERY_S', Math.max(45, 600 * SCALE)),
  redisDownS: num('SOAK_REDIS_DOWN_S', Math.max(10, 30 * SCALE)),
  smtpEveryS: num('SOAK_SMTP_EVERY_S', Math.max(45, 600 * SCALE)),
  smtpDownS: num('SOAK_SMTP_DOWN_S', Math.max(10, 90 * SCALE)),
  hookEveryS: num('SOAK_HOOK_EVERY_S', Math.max(45, 600 * SCALE)),
  hookDownS: num('SOAK_HOOK_DOWN_S', Math.max(10, 60 * SCALE)),
  sampleS: num('SOAK_SAMPLE_S', Math.min(60, Math.max(10, Math.round((MINUTES * 60) / 12)))),
  settleS: num('SOAK_SETTLE_S', 300),
  seed: num('SOAK_SEED', 12),
};

// ---------------------------------------------------------------------------------------------
// The configuration: the shipped one with paths made absolute, UT1 replaced by synthetic lists.

/** Synthetic lists (squidGuard layout, a folder per category id): reserved names only. */
function writeLists(dir: string): void {
  const lists: Record<string, string[]> = {
    suicide: ['suicide.soak.test'],
    'self-harm': ['self-harm.soak.test'],
    bullying: ['bullying.soak.test'],
    drugs: ['drugs.soak.test'],
    adult: ['adult.soak.test'],
    games: ['games.soak.test'],
    gambling: ['gambling.soak.test'],
    'social-networking': ['social.soak.test'],
  };
  for (const [cat, domains] of Object.entries(lists)) {
    mkdirSync(join(dir, cat), { recursive: true });
    writeFileSync(join(dir, cat, 'domains'), `${domains.join('\n')}\n`);
  }
}

interface Ports { readonly tlsPort: number; readonly tcpPort: number; readonly smtpPort: number; readonly hookUrl: string; readonly redisUrl: string }

function writeConfig(tmp: string, ports: Ports, variant: number): string {
  const soakLists = { name: 'soak', format: 'squidguard', path: join(tmp, 'lists') };
  const doc = benchConfig(process.env.SOAK_BENCH_SET === '1' ? [soakLists, benchSetSource()] : [soakLists]);
  doc.school = { ...doc.school, name: 'Soak Test Primary', staffAppUrl: 'http://staff.soak.test' };
  doc.safeguarding = join(tmp, 'safeguarding.yaml');
  doc.redis = { url: ports.redisUrl, prefix: 'soak' };
  doc.admin = { ...doc.admin, host: '127.0.0.1' };
  doc.proxy = {
    host: '127.0.0.1',
    // Pupils on 127.0.x.x and 127.1.x.x, staff on 127.2.x.x, anything else a guest.
    networks: [{ cidr: '127.0.0.0/15', group: 'ks2' }, { cidr: '127.2.0.0/16', group: 'staff' }],
    defaultGroup: 'guest',
    connectPorts: [443, ports.tlsPort, ports.tcpPort],
    allowPrivate: [],
    resolve: { '*': '127.0.0.1' },
  };
  // The two variants differ in one guest block entry (and a comment), so each reload is a change.
  doc.policy.groups.guest.sites.block = [...doc.policy.groups.guest.sites.block, `reload-variant-${variant}.soak.test`];
  const file = join(tmp, 'soak.yaml');
  writeFileSync(file, `# Soak test configuration, variant ${variant}\n${stringifyYaml(doc)}`);
  return file;
}

function writeSafeguarding(tmp: string, ports: Ports): void {
  const shipped = readFileSync(join(ROOT, 'config', 'safeguarding.yaml'), 'utf8');
  writeFileSync(join(tmp, 'safeguarding.yaml'), safeguardingWith(shipped, ports.smtpPort, ports.hookUrl, HOOK_SECRET, { dsl: 'Soak DSL', deputy: 'Soak Deputy' }));
}

// ---------------------------------------------------------------------------------------------
// The proxy process and its log.

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

class ProxyProcess {
  readonly child: ChildProcess;
  readonly messages = new Map<string, number>();
  readonly stderrLines: string[] = [];
  readonly lastLines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | null = null;
  readonly ready: Promise<number>;
  private readonly watchers: { msg: string; resolve: () => void }[] = [];

  constructor(config: string, data: string, logFile: string) {
    const env: NodeJS.ProcessEnv = { ...process.env, SCHOOLGATE_LOG_LEVEL: 'info' };
    delete env.SCHOOLGATE_REDIS_URL;
    this.child = spawn(process.execPath, [BIN, 'start', '--config', config, '--data', data, '--port', '0', '--admin-port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(logFile);
    this.exited = new Promise((r) => this.child.once('exit', (code, signal) => {
      this.exit = { code, signal, at: Date.now() };
      r(this.exit);
    }));
    let onPort: (p: number) => void = () => {};
    this.ready = new Promise((res, rej) => {
      onPort = res;
      void this.exited.then((e) => rej(new Error(`schoolgate exited (${e.code ?? e.signal}) before it was running:\n${this.lastLines.join('\n')}\n${this.stderrLines.join('\n')}`)));
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      this.lastLines.push(line);
      if (this.lastLines.length > 40) this.lastLines.shift();
      let j: { level?: number; msg?: string; port?: number };
      try {
        j = JSON.parse(line) as typeof j;
      } catch {
        this.count(`(not JSON) ${line.slice(0, 80)}`);
        return;
      }
      const key = `${LEVELS[j.level ?? 30] ?? j.level}: ${j.msg ?? ''}`;
      this.count(key);
      if (j.msg === 'Schoolgate is running' && typeof j.port === 'number') onPort(j.port);
      for (const w of [...this.watchers]) if (w.msg === j.msg) {
        this.watchers.splice(this.watchers.indexOf(w), 1);
        w.resolve();
      }
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      log.write(`[stderr] ${line}\n`);
      if (this.stderrLines.length < 200) this.stderrLines.push(line);
    });
  }

  private count(key: string): void {
    this.messages.set(key, (this.messages.get(key) ?? 0) + 1);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves at the next log line with one of these messages, or false after `ms`. */
  next(msgs: readonly string[], ms: number): Promise<string | false> {
    return new Promise((resolveNext) => {
      const mine: { msg: string; resolve: () => void }[] = [];
      const timer = setTimeout(() => finish(false), ms);
      const finish = (v: string | false): void => {
        clearTimeout(timer);
        for (const w of mine) {
          const i = this.watchers.indexOf(w);
          if (i >= 0) this.watchers.splice(i, 1);
        }
        resolveNext(v);
      };
      for (const msg of msgs) {
        const w = { msg, resolve: () => finish(msg) };
        mine.push(w);
        this.watchers.push(w);
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Sampling the proxy process from outside: /proc and ss.

interface Sample {
  readonly t: number;
  readonly phase: string;
  readonly rssMiB: number;
  readonly hwmMiB: number;
  readonly threads: number;
  readonly fds: number;
  readonly sockets: number;
  readonly files: number;
  readonly pipes: number;
  readonly other: number;
  readonly tcp: Record<string, number>;
  readonly cpuPct: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly alerts: number;
  readonly outboxPending: number;
  readonly redisKeys: number | null;
}

function procStatus(pid: number): { rssKiB: number; hwmKiB: number; threads: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM'), threads: field('Threads') };
}

function procFds(pid: number): { fds: number; sockets: number; files: number; pipes: number; other: number; fileNames: string[] } {
  const out = { fds: 0, sockets: 0, files: 0, pipes: 0, other: 0, fileNames: [] as string[] };
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed while we looked
    }
    out.fds++;
    if (target.startsWith('socket:')) out.sockets++;
    else if (target.startsWith('pipe:')) out.pipes++;
    else if (target.startsWith('/')) {
      out.files++;
      out.fileNames.push(target);
    } else out.other++;
  }
  return out;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
}

/** The proxy's TCP sockets by state (ss shows the owning process for sockets it can see). */
function tcpStates(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    const text = execFileSync('ss', ['-tanpH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
    for (const line of text.split('\n')) {
      if (!line.includes(`pid=${pid},`)) continue;
      const state = line.split(/\s+/)[0]!;
      out[state] = (out[state] ?? 0) + 1;
    }
  } catch {
    out['(ss failed)'] = 1;
  }
  return out;
}

async function redisKeys(url: string): Promise<number | null> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  r.on('error', () => {});
  try {
    await r.connect();
    return await r.dbsize();
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// Reading data/alerts.db (read-only, beside the running proxy).

interface OutboxRow { id: number; kind: 'immediate' | 'digest'; state: string; created_at: number; relayed_at: number | null; done_at: number | null; attempts: number; last_error: string | null; category: string | null; severity: string | null }

class AlertsDb {
  private db: Database.Database | null = null;
  constructor(private readonly file: string) {}

  private open(): Database.Database | null {
    if (this.db) return this.db;
    if (!existsSync(this.file)) return null;
    this.db = new Database(this.file, { readonly: true, fileMustExist: true });
    this.db.pragma('busy_timeout = 5000');
    return this.db;
  }

  counts(): { alerts: number; events: number; pending: number } {
    const db = this.open();
    if (!db) return { alerts: 0, events: 0, pending: 0 };
    const a = db.prepare('SELECT count(*) AS n, coalesce(sum(count), 0) AS e FROM alerts').get() as { n: number; e: number };
    const p = db.prepare("SELECT count(*) FROM outbox WHERE state = 'pending'").pluck().get() as number;
    return { alerts: a.n, events: a.e, pending: p };
  }

  byCategory(): { category: string; alerts: number; events: number; notified: number }[] {
    const db = this.open();
    if (!db) return [];
    return db.prepare(`SELECT a.category, count(*) AS alerts, sum(a.count) AS events,
      (SELECT count(*) FROM outbox o JOIN alerts b ON b.id = o.alert_id WHERE b.category = a.category AND o.kind = 'immediate') AS notified
      FROM alerts a GROUP BY a.category ORDER BY a.category`).all() as { category: string; alerts: number; events: number; notified: number }[];
  }

  outbox(): OutboxRow[] {
    const db = this.open();
    if (!db) return [];
    return db.prepare(`SELECT o.id, o.kind, o.state, o.created_at, o.relayed_at, o.done_at, o.attempts, o.last_error, a.category, o.severity
      FROM outbox o LEFT JOIN alerts a ON a.id = o.alert_id ORDER BY o.id`).all() as OutboxRow[];
  }

  deliveries(): Map<number, Set<string>> {
    const db = this.open();
    const out = new Map<number, Set<string>>();
    if (!db) return out;
    for (const r of db.prepare('SELECT outbox_id, channel FROM deliveries').all() as { outbox_id: number; channel: string }[]) {
      (out.get(r.outbox_id) ?? out.set(r.outbox_id, new Set()).get(r.outbox_id)!).add(r.channel);
    }
    return out;
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }
}

// ---------------------------------------------------------------------------------------------
// Report helpers.

const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-GB') : '–');
const f1 = (n: number): string => (Number.isFinite(n) ? n.toLocaleString('en-GB', { minimumFractionDigits: 1, maximumFractionDigits: 1 }) : '–');
const signed = (n: number, fmt = f0): string => (n > 0 ? `+${fmt(n)}` : fmt(n));

function md(rows: (string | number)[][]): string {
  const [head, ...body] = rows;
  return [`| ${head!.join(' | ')} |`, `| ${head!.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function pct(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

// ---------------------------------------------------------------------------------------------

interface FaultEvent { readonly kind: string; readonly at: number; readonly detail: string }

async function main(): Promise<number> {
  const started = Date.now();
  const loadBefore = os.loadavg();
  const tmp = mkdtempSync(join(os.tmpdir(), 'schoolgate-soak-'));
  const data = join(tmp, 'data');
  const logFile = join(tmp, 'proxy.log');
  mkdirSync(join(tmp, 'lists'), { recursive: true });
  mkdirSync(join(tmp, 'redis'), { recursive: true });
  writeLists(join(tmp, 'lists'));
  const say = (s: string): void => void process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
  say(`${MINUTES} min, ${S.rate} req/s over ${S.clients} keep-alive clients + ${f1(S.rate * S.alertShare)} alerting req/s; reload every ${f0(S.reloadS)} s, Redis restart every ${f0(S.redisEveryS)} s (down ${f0(S.redisDownS)} s), SMTP outage every ${f0(S.smtpEveryS)} s (${f0(S.smtpDownS)} s), webhook outage every ${f0(S.hookEveryS)} s (${f0(S.hookDownS)} s); samples every ${f0(S.sampleS)} s; folder ${tmp}`);

  // Surroundings.
  const cert = makeCert(TLS_NAME);
  const origin = await startOrigin();
  const tlsEcho = await startTlsEcho(cert.keyPem, cert.certPem);
  const tcpEcho = await startTcpEcho();
  const redis = await startRedis(join(tmp, 'redis'));
  const smtp = await startSmtpReceiver();
  const hook = await startWebhookReceiver(HOOK_SECRET);
  const closedPort = await sparePort();
  const ports: Ports = { tlsPort: tlsEcho.port, tcpPort: tcpEcho.port, smtpPort: smtp.port, hookUrl: hook.url, redisUrl: redis.url };
  writeSafeguarding(tmp, ports);
  let variant = 0;
  const config = writeConfig(tmp, ports, variant);

  const proxy = new ProxyProcess(config, data, logFile);
  // Whatever happens to this script, its children go with it.
  process.once('exit', () => {
    if (!proxy.exit) proxy.child.kill('SIGKILL');
    void redis.stop('SIGKILL');
  });
  const t0Start = performance.now();
  let proxyPort: number;
  try {
    proxyPort = await proxy.ready;
  } catch (err) {
    say((err as Error).message);
    await Promise.all([origin.close(), tlsEcho.close(), tcpEcho.close(), redis.stop(), smtp.close(), hook.close()]);
    say(`kept ${tmp}`);
    return 2;
  }
  const startupMs = performance.now() - t0Start;
  const pid = proxy.pid;
  say(`schoolgate pid ${pid} listening on 127.0.0.1:${proxyPort} after ${f0(startupMs)} ms; redis ${redis.url}; smtp :${smtp.port}; webhook ${hook.url}`);
  const db = new AlertsDb(join(data, 'alerts.db'));
  const targets: Targets = { proxyPort, originPort: origin.port, closedPort, tlsPort: tlsEcho.port, tcpPort: tcpEcho.port, tlsName: TLS_NAME, caPem: cert.caPem };

  // Sampling.
  const samples: Sample[] = [];
  const soakT0 = performance.now();
  let lastCpu = { ticks: cpuTicks(pid), at: performance.now() };
  let lastReqs = 0;
  let traffic: Traffic | null = null;
  const clk = 100; // USER_HZ on Linux
  const sample = async (phase: string): Promise<Sample | null> => {
    if (proxy.exit) return null;
    try {
      const st = procStatus(pid);
      const fd = procFds(pid);
      const ticks = cpuTicks(pid);
      const now = performance.now();
      const cpuPct = ((ticks - lastCpu.ticks) / clk) / ((now - lastCpu.at) / 1000) * 100;
      lastCpu = { ticks, at: now };
      const reqs = traffic ? traffic.tally.total() : 0;
      const lat = traffic ? traffic.tally.take() : [];
      const dt = samples.length > 0 ? (now - soakT0) / 1000 - samples[samples.length - 1]!.t : 1;
      const c = db.counts();
      const s: Sample = {
        t: (now - soakT0) / 1000, phase, rssMiB: st.rssKiB / 1024, hwmMiB: st.hwmKiB / 1024, threads: st.threads,
        fds: fd.fds, sockets: fd.sockets, files: fd.files, pipes: fd.pipes, other: fd.other, tcp: tcpStates(pid), cpuPct,
        rps: (reqs - lastReqs) / dt, p50: pct(lat, 0.5), p99: pct(lat, 0.99), alerts: c.alerts, outboxPending: c.pending,
        redisKeys: redis.running ? await redisKeys(redis.url) : null,
      };
      lastReqs = reqs;
      samples.push(s);
      const tcp = Object.entries(s.tcp).map(([k, v]) => `${k} ${v}`).join(', ');
      say(`${phase.padEnd(14)} t=${f0(s.t)} s  RSS ${f1(s.rssMiB)} MiB  fds ${s.fds} (sockets ${s.sockets}, files ${s.files})  threads ${s.threads}  tcp {${tcp}}  cpu ${f0(s.cpuPct)} %  ${f0(s.rps)} req/s p50 ${f1(s.p50)} p99 ${f1(s.p99)} ms  alerts ${s.alerts}, outbox pending ${s.outboxPending}, redis keys ${s.redisKeys ?? 'down'}`);
      return s;
    } catch (err) {
      if (!proxy.exit) say(`sample failed: ${(err as Error).message}`);
      return null;
    }
  };
  const startFiles = procFds(pid).fileNames;

  await sleep(3_000);
  await sample('start (idle)');

  // Traffic and faults.
  traffic = new Traffic(targets, {
    rate: S.rate, clients: S.clients, alertShare: S.alertShare, tunnelEveryMs: 1_000, maxTunnels: 20, longTunnels: 3,
    upgradeEveryMs: 3_000, awkwardEveryMs: 4_000, seed: S.seed,
  });
  const trafficStart = performance.now();
  const trafficStartWall = Date.now();
  const trafficEnd = trafficStart + S.durationS * 1000;
  traffic.start();
  let crashed = false;
  let stopping = false;
  void proxy.exited.then((e) => {
    if (!stopping) {
      crashed = true;
      say(`SCHOOLGATE EXITED during the soak: code ${e.code}, signal ${e.signal}`);
    }
  });
  const events: FaultEvent[] = [];
  const event = (kind: string, detail: string): void => {
    events.push({ kind, at: (performance.now() - trafficStart) / 1000, detail });
    say(`${kind}: ${detail}`);
  };
  const margin = 5_000;
  /** Runs `run` at offset, offset + every, … while it would finish `margin` before the traffic ends. */
  const schedule = async (everyS: number, offsetS: number, lengthS: number, run: (n: number) => Promise<void>): Promise<void> => {
    for (let n = 0; ; n++) {
      const at = trafficStart + (offsetS + n * everyS) * 1000;
      if (at + lengthS * 1000 > trafficEnd - margin) return;
      while (performance.now() < at && !crashed) await sleep(Math.min(500, at - performance.now()));
      if (crashed) return;
      await run(n);
    }
  };
  const reloadTimes: number[] = [];
  let reloadProblems = 0;
  const faults: Promise<void>[] = [
    schedule(S.reloadS, S.reloadS, 0, async () => {
      variant ^= 1;
      writeConfig(tmp, ports, variant);
      const t = performance.now();
      const done = proxy.next(['lists reloaded', 'reload failed: the previous configuration and lists stay in use'], 60_000);
      proxy.child.kill('SIGHUP');
      const what = await done;
      const ms = performance.now() - t;
      if (what === 'lists reloaded') reloadTimes.push(ms);
      else reloadProblems++;
      event('reload', what === false ? 'SIGHUP: no "lists reloaded" within 60 s' : `SIGHUP → ${what} in ${f0(ms)} ms (variant ${variant})`);
    }),
    schedule(S.redisEveryS, S.redisEveryS * 0.5, S.redisDownS, async (n) => {
      const signal = n % 2 === 0 ? 'SIGTERM' : 'SIGKILL';
      const t = performance.now();
      await redis.stop(signal);
      await sleep(S.redisDownS * 1000);
      await redis.start();
      event('redis restart', `${signal}, down ${f1((performance.now() - t) / 1000)} s, back empty`);
    }),
    ...([['smtp', smtp, S.smtpEveryS, S.smtpDownS, 0.3], ['webhook', hook, S.hookEveryS, S.hookDownS, 0.8]] as [string, Receiver, number, number, number][]).map(([name, rx, every, down, offset]) =>
      schedule(every, every * offset, down, async (n) => {
        const mode: OutageMode = (name === 'smtp') === (n % 2 === 0) ? 'closed' : 'refusing';
        const t = performance.now();
        await rx.goDown(mode);
        await sleep(down * 1000);
        await rx.comeBack();
        event(`${name} outage`, `${mode === 'closed' ? 'not listening' : name === 'smtp' ? 'answering 451' : 'answering 503'} for ${f1((performance.now() - t) / 1000)} s`);
      })),
  ];

  // Sample every SOAK_SAMPLE_S until the traffic ends (or the proxy dies).
  let nextSample = trafficStart + S.sampleS * 1000;
  while (performance.now() < trafficEnd && !crashed) {
    await sleep(Math.min(1_000, Math.max(0, trafficEnd - performance.now())));
    if (performance.now() >= nextSample && performance.now() < trafficEnd - 2_000) {
      nextSample += S.sampleS * 1000;
      await sample('loaded');
    }
  }
  await sample('end of traffic');
  say('stopping the traffic');
  await traffic.stop();
  traffic.tally.take();
  await Promise.all(faults);
  // Everything back up (a fault cut short by a crash may have left something down).
  if (!redis.running) await redis.start();
  if (smtp.down) await smtp.comeBack();
  if (hook.down) await hook.comeBack();
  const trafficStopped = performance.now();

  // Settle: until every notification in the outbox has reached both receivers, or the deadline.
  const idOf = (r: OutboxRow): string => `schoolgate-${r.kind}-${r.id}`;
  const outstanding = (): { pending: number; missing: number } => {
    const rows = db.outbox();
    return { pending: rows.filter((r) => r.state === 'pending').length, missing: rows.filter((r) => !smtp.seen.has(idOf(r)) || !hook.seen.has(idOf(r))).length };
  };
  let settledAfter: number | null = null;
  if (!crashed) {
    const deadline = trafficStopped + S.settleS * 1000;
    let lastSay = 0;
    while (performance.now() < deadline && !proxy.exit) {
      const o = outstanding();
      if (o.pending === 0 && o.missing === 0) {
        settledAfter = performance.now() - trafficStopped;
        break;
      }
      if (performance.now() - lastSay > 15_000) {
        lastSay = performance.now();
        say(`settling: ${o.pending} outbox rows pending, ${o.missing} not yet at both receivers`);
      }
      await sleep(1_000);
    }
    say(settledAfter === null ? `NOT SETTLED within ${S.settleS} s` : `delivery settled ${f1(settledAfter / 1000)} s after the traffic stopped`);
    // Idle: let keep-alive connections (clients', upstream pool's) time out before the last sample.
    const idleUntil = trafficStopped + 35_000;
    while (performance.now() < idleUntil && !proxy.exit) await sleep(500);
  }
  await sample('end (idle)');
  const endFiles = proxy.exit ? [] : procFds(pid).fileNames;

  // The figures, from the database and the receivers.
  const rows = db.outbox();
  const delivered = db.deliveries();
  const byCategory = db.byCategory();
  const finalCounts = db.counts();
  db.close();

  // SIGTERM, and how long it takes to exit.
  stopping = true;
  let shutdown: { ms: number; code: number | null; signal: NodeJS.Signals | null; killed: boolean } | null = null;
  if (!proxy.exit) {
    const t = performance.now();
    proxy.child.kill('SIGTERM');
    const killer = setTimeout(() => proxy.child.kill('SIGKILL'), 30_000);
    const e = await proxy.exited;
    clearTimeout(killer);
    shutdown = { ms: performance.now() - t, code: e.code, signal: e.signal, killed: e.signal === 'SIGKILL' };
    say(`SIGTERM: exited after ${f0(shutdown.ms)} ms, code ${e.code}, signal ${e.signal}`);
  }
  const redisKeysAtEnd = await redisKeys(redis.url);
  await Promise.all([origin.close(), tlsEcho.close(), tcpEcho.close(), redis.stop(), smtp.close(), hook.close()]);

  // ---------------------------------------------------------------------------------------------
  // Report.
  const tally = traffic.tally;
  const out: string[] = [];
  const cpus = os.cpus();
  out.push(`## Soak run: ${f1(MINUTES)} min of traffic (${new Date(started).toISOString()})`);
  out.push('');
  out.push(`node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? '?'}; load ${loadBefore.map((x) => f1(x)).join(' / ')} before, ${os.loadavg().map((x) => f1(x)).join(' / ')} after; code ${codeVersion()}; ${f0((Date.now() - started) / 1000)} s in all.`);
  out.push(`Settings: ${S.rate} req/s over ${S.clients} keep-alive clients, alerting requests ${S.alertShare * 100} % on top; reload every ${f0(S.reloadS)} s; Redis restart every ${f0(S.redisEveryS)} s (down ${f0(S.redisDownS)} s); SMTP outage every ${f0(S.smtpEveryS)} s (${f0(S.smtpDownS)} s); webhook outage every ${f0(S.hookEveryS)} s (${f0(S.hookDownS)} s); schoolgate started in ${f0(startupMs)} ms.`);
  out.push('');

  // Resources.
  const loaded = samples.filter((s) => s.phase === 'loaded' || s.phase === 'end of traffic');
  const first = samples.find((s) => s.phase === 'start (idle)');
  const firstLoaded = loaded[0];
  const lastLoaded = loaded[loaded.length - 1];
  const endIdle = samples.find((s) => s.phase === 'end (idle)');
  const est = (s: Sample | undefined): number => (s ? (s.tcp.ESTAB ?? 0) : NaN);
  const cw = (s: Sample | undefined): number => (s ? (s.tcp['CLOSE-WAIT'] ?? 0) : NaN);
  const max = (get: (s: Sample) => number): number => Math.max(...samples.map(get).filter(Number.isFinite));
  const resRow = (name: string, get: (s: Sample) => number, fmt: (n: number) => string): string[] => {
    const a = first ? get(first) : NaN;
    const b = endIdle ? get(endIdle) : NaN;
    return [name, fmt(a), firstLoaded ? fmt(get(firstLoaded)) : '–', lastLoaded ? fmt(get(lastLoaded)) : '–', fmt(max(get)), endIdle ? fmt(b) : '–', Number.isFinite(a) && Number.isFinite(b) ? signed(b - a, fmt) : '–'];
  };
  out.push('### The proxy process');
  out.push('');
  out.push(md([
    ['', 'start, idle', 'first loaded sample', 'end of traffic', 'max', 'end, idle (after settle)', 'idle end − idle start'],
    resRow('RSS, MiB', (s) => s.rssMiB, f1),
    resRow('open file descriptors', (s) => s.fds, f0),
    resRow('of which sockets', (s) => s.sockets, f0),
    resRow('of which files', (s) => s.files, f0),
    resRow('TCP established', est, f0),
    resRow('TCP close-wait', cw, f0),
    resRow('threads', (s) => s.threads, f0),
    resRow('redis keys', (s) => s.redisKeys ?? NaN, f0),
  ]));
  const xs = loaded.map((s) => s.t / 3600);
  const rssSlope = slope(xs, loaded.map((s) => s.rssMiB));
  const fdSlope = slope(xs, loaded.map((s) => s.fds));
  out.push('');
  const span = loaded.length > 1 ? loaded[loaded.length - 1]!.t - loaded[0]!.t : 0;
  const trend = span >= 600
    ? `RSS trend ${signed(rssSlope, f1)} MiB an hour, fds trend ${signed(fdSlope, f1)} an hour (least squares over ${f0(span / 60)} min)`
    : `no trend (under 10 minutes of samples)`;
  out.push(`Under load (${loaded.length} samples every ${f0(S.sampleS)} s): ${trend}; peak RSS (VmHWM) ${f1(max((s) => s.hwmMiB))} MiB; proxy CPU ${f0(Math.min(...loaded.map((s) => s.cpuPct)))}–${f0(Math.max(...loaded.map((s) => s.cpuPct)))} % of a core; keep-alive requests ${f0(Math.min(...loaded.map((s) => s.rps)))}–${f0(Math.max(...loaded.map((s) => s.rps)))}/s, latency p99 per sample (slow-origin requests left out) ${f0(Math.min(...loaded.map((s) => s.p99)))}–${f0(Math.max(...loaded.map((s) => s.p99)))} ms.`);
  // The samples over time: at most about a dozen rows, always the first and the last.
  const step = Math.max(1, Math.ceil(samples.length / 12));
  const shown = samples.filter((_, i) => i % step === 0 || i === samples.length - 1);
  out.push('');
  out.push(md([['min', 'phase', 'RSS MiB', 'fds', 'sockets', 'TCP estab.', 'threads', 'CPU %', 'req/s', 'p99 ms', 'alerts', 'outbox pending', 'redis keys'],
    ...shown.map((s) => [f1(s.t / 60), s.phase, f1(s.rssMiB), s.fds, s.sockets, s.tcp.ESTAB ?? 0, s.threads, f0(s.cpuPct), f0(s.rps), f0(s.p99), s.alerts, s.outboxPending, s.redisKeys ?? 'down'])]));
  out.push('');
  const newFiles = endFiles.filter((f) => !startFiles.includes(f));
  if (newFiles.length > 0) out.push(`Files open at the end that were not at the start: ${[...new Set(newFiles)].map((f) => f.replace(tmp, '<tmp>')).join(', ')}.`);
  out.push('');

  // Traffic.
  out.push('### Traffic');
  out.push('');
  const tRows: (string | number)[][] = [['kind', 'count', 'outcomes']];
  for (const [kind, m] of [...tally.outcomes].sort((a, b) => a[0].localeCompare(b[0]))) {
    tRows.push([kind, f0([...m.values()].reduce((a, b) => a + b, 0)), [...m].sort((a, b) => b[1] - a[1]).map(([o, n]) => `${n} × ${o}`).join(', ')]);
  }
  out.push(md(tRows));
  out.push('');
  out.push(`Unexpected outcomes: ${tally.unexpectedTotal()}${tally.unexpectedTotal() > 0 ? ` (${[...tally.unexpected].map(([k, n]) => `${n} × ${k}`).join('; ')})` : ''}.`);
  if (traffic.longTunnelDeaths.length > 0) out.push(`Tunnels held all run that died: ${traffic.longTunnelDeaths.join('; ')}.`);
  out.push(`Origin: ${origin.stats.requests} requests, ${origin.stats.upgrades} upgrades; TLS echo ${tlsEcho.stats.connections} tunnels; TCP echo ${tcpEcho.stats.connections}.`);
  out.push('');

  // Faults.
  out.push('### Faults');
  out.push('');
  const kinds = ['reload', 'redis restart', 'smtp outage', 'webhook outage'];
  out.push(md([['fault', 'times', 'when (s into the traffic) and what'], ...kinds.map((k) => {
    const ev = events.filter((e) => e.kind === k);
    return [k, ev.length, ev.map((e) => `${f0(e.at)}: ${e.detail}`).join('; ') || '–'];
  })]));
  if (reloadTimes.length > 0) out.push(`\nReloads: ${reloadTimes.length} swapped in, ${reloadProblems} failed or unconfirmed; SIGHUP to "lists reloaded" ${f0(Math.min(...reloadTimes))}–${f0(Math.max(...reloadTimes))} ms.`);
  out.push('');

  // Alerts.
  out.push('### Alerts: raised against delivered');
  out.push('');
  const answered = [...tally.alertsAnswered.values()].reduce((a, b) => a + b, 0);
  const sent = [...tally.alertsSent.values()].reduce((a, b) => a + b, 0);
  const cRows: (string | number)[][] = [['concern', 'alerting requests sent', 'answered', 'events stored (sum of counts)', 'alerts (after folding)', 'sent at once (outbox)']];
  const cats = new Set([...ALERT_SCENARIOS.map((s) => s.category), ...byCategory.map((c) => c.category)]);
  let storedShort = 0;
  let storedExtra = 0;
  for (const cat of [...cats].sort()) {
    const c = byCategory.find((x) => x.category === cat);
    const ans = tally.alertsAnswered.get(cat) ?? 0;
    const snt = tally.alertsSent.get(cat) ?? 0;
    const ev = c?.events ?? 0;
    if (ev < ans) storedShort += ans - ev;
    if (ev > snt) storedExtra += ev - snt;
    cRows.push([cat, snt, ans, ev, c?.alerts ?? 0, c?.notified ?? 0]);
  }
  cRows.push(['all', sent, answered, finalCounts.events, finalCounts.alerts, rows.filter((r) => r.kind === 'immediate').length]);
  out.push(md(cRows));
  out.push('');

  const dRows: (string | number)[][] = [['notifications', 'in the outbox', 'delivered (DB)', 'e-mails received', 'webhook calls received', 'at both receivers', 'pending at the end', 'failed for good', 'lost', 'received twice (e-mail / webhook)']];
  let lost = 0;
  const lostExamples: string[] = [];
  for (const kind of ['immediate', 'digest'] as const) {
    const rs = rows.filter((r) => r.kind === kind);
    const both = rs.filter((r) => smtp.seen.has(idOf(r)) && hook.seen.has(idOf(r)));
    const missing = rs.filter((r) => !(smtp.seen.has(idOf(r)) && hook.seen.has(idOf(r))));
    lost += missing.length;
    for (const r of missing.slice(0, 10)) {
      const ch = [...(delivered.get(r.id) ?? [])].map((c) => c.replace(/^webhook:.*/, 'webhook')).join('+') || 'none';
      lostExamples.push(`#${r.id} (${r.category ?? 'digest'} ${r.severity ?? ''}, ${r.state}, ${r.attempts} attempts, created ${f0((r.created_at - trafficStartWall) / 1000)} s in, relayed ${r.relayed_at ? 'yes' : 'no'}, channels recorded: ${ch}, e-mail ${smtp.seen.has(idOf(r)) ? 'got' : 'missing'}, webhook ${hook.seen.has(idOf(r)) ? 'got' : 'missing'}${r.last_error ? `, last error: ${r.last_error.slice(0, 160)}` : ''})`);
    }
    const twiceMail = rs.filter((r) => (smtp.seen.get(idOf(r)) ?? 0) > 1).length;
    const twiceHook = rs.filter((r) => (hook.seen.get(idOf(r)) ?? 0) > 1).length;
    dRows.push([kind, rs.length, rs.filter((r) => r.state === 'delivered').length, rs.filter((r) => smtp.seen.has(idOf(r))).length, rs.filter((r) => hook.seen.has(idOf(r))).length,
      both.length, rs.filter((r) => r.state === 'pending').length, rs.filter((r) => r.state === 'failed').length, missing.length, `${twiceMail} / ${twiceHook}`]);
  }
  out.push(md(dRows));
  const known = new Set(rows.map(idOf));
  const strangers = [...smtp.seen.keys(), ...hook.seen.keys()].filter((id) => !known.has(id));
  const imm = rows.filter((r) => r.kind === 'immediate' && r.done_at !== null).map((r) => (r.done_at! - r.created_at) / 1000).sort((a, b) => a - b);
  out.push('');
  out.push(`Raised to delivered (immediate, DB times): p50 ${f1(pct(imm, 0.5))} s, p99 ${f1(pct(imm, 0.99))} s, max ${f1(imm[imm.length - 1] ?? NaN)} s; ${imm.filter((s) => s > 300).length} took over 5 minutes. ` +
    `Delivery ${settledAfter === null ? `had NOT settled ${f0(S.settleS)} s after the traffic stopped` : `settled ${f1(settledAfter / 1000)} s after the traffic stopped`}. ` +
    `Receivers refused ${smtp.refused.count} e-mails (451) and ${hook.refused.count} webhook calls (503) during outages.`);
  if (storedShort > 0) out.push(`**${storedShort} answered alerting requests have no stored alert event.**`);
  if (storedExtra > 0) out.push(`${storedExtra} stored alert events more than alerting requests sent (traffic that should raise nothing raised something).`);
  if (strangers.length > 0) out.push(`Receivers got ${strangers.length} delivery ids that are not in the outbox: ${strangers.slice(0, 5).join(', ')}.`);
  if (smtp.problems.length + hook.problems.length > 0) out.push(`Receiver problems: ${[...smtp.problems, ...hook.problems].slice(0, 5).join('; ')}.`);
  if (lostExamples.length > 0) out.push(`Not at both receivers: ${lostExamples.join('; ')}.`);
  out.push('');

  // Shutdown and the log.
  out.push('### Shutdown and the log');
  out.push('');
  if (crashed) out.push(`**The proxy exited during the soak**: code ${proxy.exit?.code}, signal ${proxy.exit?.signal}. Last log lines:\n\n\`\`\`\n${proxy.lastLines.slice(-15).join('\n')}\n${proxy.stderrLines.slice(-15).join('\n')}\n\`\`\``);
  else if (shutdown) out.push(`SIGTERM: ${shutdown.killed ? `**did not exit within 30 s** (killed with SIGKILL after ${f0(shutdown.ms)} ms)` : `exited after ${f0(shutdown.ms)} ms with code ${shutdown.code}${shutdown.signal ? `, signal ${shutdown.signal}` : ''}`}. Redis keys left: ${redisKeysAtEnd ?? '?'}.`);
  const notable = [...proxy.messages].filter(([k]) => !k.startsWith('info:')).sort((a, b) => b[1] - a[1]);
  const infos = ['info: lists reloaded', 'info: alerts: Redis is back; relaying the outbox', 'info: configuration changed: version recorded in the audit log'];
  out.push(`Proxy log: ${infos.map((k) => `${proxy.messages.get(k) ?? 0} × "${k.slice(6)}"`).join(', ')}; warnings and errors: ${notable.length === 0 ? 'none' : notable.map(([k, n]) => `${n} × ${k}`).join('; ')}${proxy.stderrLines.length > 0 ? `; ${proxy.stderrLines.length} lines on stderr, the first: ${proxy.stderrLines[0]}` : ''}.`);
  out.push('');

  const failures: string[] = [];
  if (crashed) failures.push('the proxy crashed');
  if (lost > 0) failures.push(`${lost} notifications not delivered to both receivers`);
  if (storedShort > 0) failures.push(`${storedShort} answered alerting requests without a stored alert`);
  if (shutdown && (shutdown.killed || shutdown.code !== 0)) failures.push(`unclean shutdown (${shutdown.killed ? 'killed after 30 s' : `code ${shutdown.code}`})`);
  const warnings: string[] = [];
  if (tally.unexpectedTotal() > 0) warnings.push(`${tally.unexpectedTotal()} unexpected traffic outcomes`);
  if (first && endIdle && endIdle.fds > first.fds + 10) warnings.push(`${endIdle.fds - first.fds} more fds idle at the end than at the start`);
  if (endIdle && cw(endIdle) > 0) warnings.push(`${cw(endIdle)} sockets in CLOSE-WAIT at the end`);
  const errors = [...proxy.messages].filter(([k]) => k.startsWith('error:') || k.startsWith('fatal:')).reduce((a, [, n]) => a + n, 0);
  if (errors > 0) warnings.push(`${errors} error lines in the proxy's log`);
  if (proxy.stderrLines.length > 0) warnings.push(`${proxy.stderrLines.length} lines on the proxy's stderr`);
  out.push(`**Result: ${failures.length === 0 ? 'PASS' : `FAIL: ${failures.join('; ')}`}**${warnings.length > 0 ? `; check: ${warnings.join('; ')}` : ''}.`);

  const report = out.join('\n');
  console.log(`\n${report}\n`);
  writeFileSync(join(tmp, 'report.md'), `${report}\n`);
  writeFileSync(join(tmp, 'samples.json'), JSON.stringify({ settings: S, samples, events }, null, 1));
  const keep = process.env.SOAK_KEEP === '1' || failures.length > 0;
  if (keep) say(`kept ${tmp} (config, data, proxy.log, report.md, samples.json)`);
  else rmSync(tmp, { recursive: true, force: true });
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = await main();
