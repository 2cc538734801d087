// The soak test's traffic (bench/soak.ts): every kind of client a school's proxy meets, at a
// bounded rate, over loopback only. Every name is a reserved one (*.test, *.invalid) or a search
// engine's, and the proxy sends them all to the local origin (proxy.resolve "*").
//
//   keep-alive clients  pages (sizes 256 B–64 KiB), POSTs, blocked pages, harmless searches, a
//                       closed port (502), a slow origin, the proxy's own pages, reports of a concern
//   alerting requests   searches and list entries that raise safeguarding alerts, each from a
//                       device address of its own (a new alert) or from a few regular devices
//                       (alerts that fold), on a new connection each
//   tunnels             CONNECT to a TLS echo server (pupils) and a TCP echo server (staff), held
//                       1–15 s exchanging data; refused ones (blocked host, domain fronting, pupils'
//                       non-TLS bytes); a few held for the whole run
//   upgrades            WebSocket-style upgrades to the origin, echoing; a blocked one
//   awkward clients     slow senders, slow readers, clients that give up mid-header, mid-body, or
//                       sit idle on a keep-alive connection
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { seededRandom } from './lib.js';

export interface Targets {
  readonly proxyPort: number;
  readonly originPort: number;
  /** A port nobody listens on: the proxy answers 502. */
  readonly closedPort: number;
  readonly tlsPort: number;
  readonly tcpPort: number;
  /** The TLS echo server's name (its certificate's) and the CA that signed it. */
  readonly tlsName: string;
  readonly caPem: string;
}

export interface TrafficOptions {
  /** Requests a second from the keep-alive clients (alerting ones come on top). */
  readonly rate: number;
  readonly clients: number;
  /** Alerting requests as a share of `rate`. */
  readonly alertShare: number;
  /** A new tunnel every this many ms (at most `maxTunnels` open at once). */
  readonly tunnelEveryMs: number;
  readonly maxTunnels: number;
  readonly longTunnels: number;
  readonly upgradeEveryMs: number;
  readonly awkwardEveryMs: number;
  readonly seed: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Counting.

/** Outcomes by kind of request ("page" -> "200" -> n), what was not expected, and latencies. */
export class Tally {
  readonly outcomes = new Map<string, Map<string, number>>();
  readonly unexpected = new Map<string, number>();
  readonly examples: string[] = [];
  /** Keep-alive request latencies (ms) since the last take(), slow-origin requests left out. */
  private window: number[] = [];
  /** Alerting requests the proxy answered (any HTTP status), by the concern they should raise. */
  readonly alertsAnswered = new Map<string, number>();
  readonly alertsSent = new Map<string, number>();

  record(kind: string, outcome: string, expected: readonly string[]): void {
    const m = this.outcomes.get(kind) ?? this.outcomes.set(kind, new Map()).get(kind)!;
    m.set(outcome, (m.get(outcome) ?? 0) + 1);
    if (!expected.includes(outcome)) {
      const key = `${kind}: ${outcome}`;
      this.unexpected.set(key, (this.unexpected.get(key) ?? 0) + 1);
      if (this.examples.length < 30) this.examples.push(`${new Date().toISOString()} ${key}`);
    }
  }

  latency(ms: number): void {
    this.window.push(ms);
  }

  /** Latencies since the last call, sorted, and a fresh window. */
  take(): number[] {
    const w = this.window.sort((a, b) => a - b);
    this.window = [];
    return w;
  }

  total(kind?: string): number {
    let n = 0;
    for (const [k, m] of this.outcomes) if (kind === undefined || k === kind) for (const v of m.values()) n += v;
    return n;
  }

  unexpectedTotal(): number {
    let n = 0;
    for (const v of this.unexpected.values()) n += v;
    return n;
  }
}

function errorName(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? e?.message ?? String(err);
}

// ---------------------------------------------------------------------------------------------
// One HTTP request through the proxy.

interface Answer { readonly status: number; readonly bytes: number }

function viaProxy(t: Targets, opts: { url: string; method?: string; body?: string; agent?: http.Agent | false; localAddress?: string; headers?: Record<string, string>; timeoutMs?: number }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const host = /^http:\/\/([^/]+)/.exec(opts.url)?.[1] ?? '';
    const headers: Record<string, string> = { host, accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'user-agent': 'schoolgate-soak', ...opts.headers };
    if (opts.body !== undefined) {
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(opts.body));
    }
    const req = http.request({
      host: '127.0.0.1', port: t.proxyPort, path: opts.url, method: opts.method ?? 'GET', headers, agent: opts.agent ?? false,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end(opts.body);
  });
}

// ---------------------------------------------------------------------------------------------
// What the requests are.

const PAGE_SIZES = [256, 1024, 2048, 4096, 16384, 65536];
const HARMLESS = ['weather tomorrow london', 'times tables games year 4', 'volcano facts for kids', 'how do plants grow', 'roman britain homework'];

interface Pick { readonly kind: string; readonly url: string; readonly method?: string; readonly body?: string; readonly expected: readonly string[] }

/** A request for a keep-alive client of `group` (pupils see blocks where staff see warnings). */
function pickRequest(t: Targets, rnd: () => number, n: number, staff: boolean): Pick {
  const o = t.originPort;
  const r = rnd();
  const site = `www${n % 40}.allowed.soak.test`;
  if (r < 0.64) return { kind: 'page', url: `http://${site}:${o}/size/${PAGE_SIZES[n % PAGE_SIZES.length]}?n=${n}`, expected: ['200'] };
  if (r < 0.70) return { kind: 'post', url: `http://${site}:${o}/form`, method: 'POST', body: `field=${'y'.repeat(200 + (n % 2000))}`, expected: ['200'] };
  if (r < 0.82) {
    // games and gambling are blocked for pupils and raise nothing; staff are warned about games.
    const cat = n % 2 === 0 ? 'games' : 'gambling';
    return { kind: 'blocked', url: `http://play${n % 25}.${cat}.soak.test:${o}/`, expected: staff && cat === 'games' ? ['200', '403'] : ['403'] };
  }
  if (r < 0.92) {
    const term = HARMLESS[n % HARMLESS.length]!.replace(/ /g, '+');
    const url = n % 2 === 0 ? `http://www.google.com:${o}/search?q=${term}` : `http://www.bing.com:${o}/search?q=${term}`;
    return { kind: 'search', url, expected: ['200'] };
  }
  if (r < 0.95) return { kind: 'closed-port', url: `http://down.allowed.soak.test:${t.closedPort}/`, expected: ['502'] };
  // A slow origin holds this client's connection for 1.5 s: a few only.
  if (r < 0.955) return { kind: 'slow-origin', url: `http://${site}:${o}/slow`, expected: ['200'] };
  if (r < 0.999) return { kind: 'own-page', url: n % 2 === 0 ? 'http://schoolgate.invalid/concern?ref=soak' : `http://${site}:${o}/size/512`, expected: ['200'] };
  return { kind: 'concern', url: 'http://schoolgate.invalid/concern', method: 'POST', body: `ref=soak${n}&url=${encodeURIComponent(`http://${site}/`)}&text=soak+test+report+${n}`, expected: ['200'] };
}

/** What an alerting request raises (one concern each) and whether it is sent at once. */
export interface AlertScenario {
  readonly name: string;
  readonly category: string;
  readonly weight: number;
  url(o: number, n: number): string;
}

export const ALERT_SCENARIOS: readonly AlertScenario[] = [
  // Suicide: every severity is sent at once.
  { name: 'suicide search (danger, at once)', category: 'suicide', weight: 3, url: (o) => `http://www.google.com:${o}/search?q=i+want+to+kill+myself` },
  { name: 'suicide list (caution, at once)', category: 'suicide', weight: 2, url: (o, n) => `http://help${n % 20}.suicide.soak.test:${o}/page` },
  // Self-harm: a search is danger (at once), a list entry caution (digest).
  { name: 'self-harm search (danger, at once)', category: 'self-harm', weight: 2, url: (o) => `http://www.bing.com:${o}/search?q=how+to+self+harm` },
  { name: 'self-harm list (caution, digest)', category: 'self-harm', weight: 2, url: (o, n) => `http://forum${n % 20}.self-harm.soak.test:${o}/` },
  // Advisory and caution: digest only.
  { name: 'bullying list (advisory, digest)', category: 'bullying', weight: 1, url: (o, n) => `http://chat${n % 10}.bullying.soak.test:${o}/` },
  { name: 'drugs search (caution, digest)', category: 'substance-misuse', weight: 1, url: (o) => `http://www.google.com:${o}/search?q=buy+weed` },
];

const WEIGHTS = ALERT_SCENARIOS.reduce((a, s) => a + s.weight, 0);

function pickScenario(rnd: () => number): AlertScenario {
  let r = rnd() * WEIGHTS;
  for (const s of ALERT_SCENARIOS) {
    r -= s.weight;
    if (r < 0) return s;
  }
  return ALERT_SCENARIOS[0]!;
}

// ---------------------------------------------------------------------------------------------
// The generator.

export class Traffic {
  readonly tally = new Tally();
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private readonly agents: http.Agent[] = [];
  /** Sockets of long or awkward operations, destroyed at stop. */
  private readonly open = new Set<net.Socket>();
  private tunnelsOpen = 0;
  private freshDevice = 0;
  private readonly rnd: () => number;
  readonly longTunnelDeaths: string[] = [];

  constructor(private readonly t: Targets, private readonly o: TrafficOptions) {
    // Seeded, so two runs send the same mix.
    this.rnd = seededRandom(o.seed);
  }

  start(): void {
    const { clients, rate } = this.o;
    for (let i = 0; i < clients; i++) {
      // Most clients are KS2 pupils; one in four is staff.
      const staff = i % 4 === 3;
      const localAddress = staff ? `127.2.0.${10 + i}` : `127.0.0.${10 + i}`;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress });
      this.agents.push(agent);
      this.loops.push(this.keepAliveClient(i, agent, (clients / rate) * 1000, staff));
    }
    if (this.o.alertShare > 0) this.loops.push(this.alerting(1000 / (rate * this.o.alertShare)));
    this.loops.push(this.tunnels());
    for (let i = 0; i < this.o.longTunnels; i++) this.loops.push(this.longTunnel(i));
    this.loops.push(this.upgrades());
    this.loops.push(this.awkward());
  }

  /** Stops starting anything, cuts what is long-running, and waits for every loop to end. */
  async stop(): Promise<void> {
    this.stopping = true;
    await sleep(50);
    for (const s of this.open) s.destroy();
    await Promise.all(this.loops);
    for (const a of this.agents) a.destroy();
  }

  private track(s: net.Socket): net.Socket {
    this.open.add(s);
    s.once('close', () => this.open.delete(s));
    return s;
  }

  /** Waits to the next slot of a loop that runs every `everyMs`; false once stopping. */
  private async pace(state: { next: number }, everyMs: number): Promise<boolean> {
    state.next += everyMs;
    const now = performance.now();
    if (state.next < now - 2_000) state.next = now; // fell far behind (a slow answer): catch up at most 2 s
    while (!this.stopping && performance.now() < state.next) await sleep(Math.min(250, state.next - performance.now()));
    return !this.stopping;
  }

  private async keepAliveClient(i: number, agent: http.Agent, everyMs: number, staff: boolean): Promise<void> {
    const state = { next: performance.now() + (everyMs * i) / this.o.clients };
    let n = i * 100_000;
    while (await this.pace(state, everyMs)) {
      const p = pickRequest(this.t, this.rnd, n++, staff);
      const t0 = performance.now();
      try {
        const a = await viaProxy(this.t, { url: p.url, method: p.method, body: p.body, agent });
        this.tally.record(p.kind, String(a.status), p.expected);
        if (p.kind !== 'slow-origin') this.tally.latency(performance.now() - t0);
      } catch (err) {
        this.tally.record(p.kind, errorName(err), p.expected);
      }
    }
  }

  /** Alerting requests: 60 % from a device address never used before (a new alert), the rest from 40 regular devices (folds). */
  private async alerting(everyMs: number): Promise<void> {
    const state = { next: performance.now() };
    let n = 0;
    const inflight = new Set<Promise<void>>();
    while (await this.pace(state, everyMs)) {
      const s = pickScenario(this.rnd);
      const staff = this.rnd() < 0.15;
      let address: string;
      if (this.rnd() < 0.6) {
        const d = ++this.freshDevice;
        // 127.1.x.y (pupils) or 127.2.x.y from .1.1 up (staff), never .0 or .255
        address = `127.${staff ? 2 : 1}.${1 + Math.floor(d / 250)}.${1 + (d % 250)}`;
      } else address = `127.${staff ? 2 : 1}.0.${1 + Math.floor(this.rnd() * 40)}`;
      const url = s.url(this.t.originPort, n++);
      this.tally.alertsSent.set(s.category, (this.tally.alertsSent.get(s.category) ?? 0) + 1);
      const p = viaProxy(this.t, { url, localAddress: address, headers: { connection: 'close' } }).then((a) => {
        this.tally.alertsAnswered.set(s.category, (this.tally.alertsAnswered.get(s.category) ?? 0) + 1);
        this.tally.record(`alert: ${s.name}`, String(a.status), ['200', '403']);
      }, (err: unknown) => this.tally.record(`alert: ${s.name}`, errorName(err), ['200', '403']));
      const done = p.finally(() => inflight.delete(done));
      inflight.add(done);
    }
    await Promise.all(inflight);
  }

  // Tunnels ---------------------------------------------------------------------------------

  /** CONNECT through the proxy; resolves with the socket once answered 200, or rejects with "CONNECT <status>". */
  private connect(host: string, port: number, localAddress: string): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = this.track(net.connect({ host: '127.0.0.1', port: this.t.proxyPort, localAddress }));
      let head = Buffer.alloc(0);
      const timer = setTimeout(() => fail(new Error('timeout')), 30_000);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      const onData = (d: Buffer): void => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        clearTimeout(timer);
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'))?.[1] ?? '???';
        if (status !== '200') return fail(new Error(`CONNECT ${status}`));
        resolve(socket);
      };
      socket.on('data', onData);
      socket.on('error', (e: NodeJS.ErrnoException) => fail(new Error(e.code ?? e.message)));
      socket.on('end', () => fail(new Error('closed before the CONNECT answer')));
      socket.on('connect', () => socket.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
    });
  }

  /** Sends `rounds` messages over a stream, one every `gapMs`, each echoed back whole before the next. */
  private async echo(stream: net.Socket, rounds: number, gapMs: number): Promise<void> {
    for (let i = 0; i < rounds && !this.stopping; i++) {
      const msg = randomBytes(64 + ((i * 997) % 4000));
      await new Promise<void>((resolve, reject) => {
        let got = Buffer.alloc(0);
        const timer = setTimeout(() => done(new Error('echo timeout')), 30_000);
        const onData = (d: Buffer): void => {
          got = Buffer.concat([got, d]);
          if (got.length >= msg.length) done(got.subarray(0, msg.length).equals(msg) ? undefined : new Error('echo mismatch'));
        };
        const onClose = (): void => done(new Error('closed mid-echo'));
        const done = (e?: Error): void => {
          clearTimeout(timer);
          stream.off('data', onData);
          stream.off('close', onClose);
          if (e) reject(e);
          else resolve();
        };
        stream.on('data', onData);
        stream.once('close', onClose);
        stream.write(msg);
      });
      if (gapMs > 0) await sleep(gapMs);
    }
  }

  private tlsOver(raw: net.Socket, servername: string): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ socket: raw, servername, ca: this.t.caPem, rejectUnauthorized: servername === this.t.tlsName });
      this.track(s);
      const timer = setTimeout(() => { s.destroy(); reject(new Error('TLS timeout')); }, 30_000);
      s.once('secureConnect', () => { clearTimeout(timer); resolve(s); });
      s.once('error', (e: NodeJS.ErrnoException) => { clearTimeout(timer); s.destroy(); reject(new Error(e.code ?? e.message)); });
      s.once('close', () => { clearTimeout(timer); reject(new Error('closed in the handshake')); });
    });
  }

  private async oneTunnel(kind: string, n: number): Promise<void> {
    const t = this.t;
    const holdRounds = 2 + (n % 30); // 2–31 echoes, 500 ms apart: 1–15 s
    try {
      if (kind === 'tls') {
        const raw = await this.connect(t.tlsName, t.tlsPort, '127.0.0.2');
        const s = await this.tlsOver(raw, t.tlsName);
        await this.echo(s, holdRounds, 500);
        s.end();
        s.destroy();
        this.tally.record('tunnel: TLS (pupil)', 'ok', ['ok']);
      } else if (kind === 'tcp') {
        const s = await this.connect(`echo.soak.test`, t.tcpPort, '127.2.0.2');
        await this.echo(s, holdRounds, 500);
        s.destroy();
        this.tally.record('tunnel: TCP (staff)', 'ok', ['ok']);
      } else if (kind === 'blocked') {
        const s = await this.connect(`vpn${n % 5}.gambling.soak.test`, t.tlsPort, '127.0.0.2');
        s.destroy();
        this.tally.record('tunnel: blocked host', 'CONNECT 200', ['CONNECT 403']);
      } else if (kind === 'fronting') {
        // SNI different from the CONNECT host: the proxy must close the tunnel.
        const raw = await this.connect(t.tlsName, t.tlsPort, '127.0.0.2');
        const s = await this.tlsOver(raw, 'other.soak.test');
        s.destroy();
        this.tally.record('tunnel: domain fronting', 'handshake completed', ['closed in the handshake', 'ECONNRESET']);
      } else {
        // A pupil sending bytes that are not TLS: closed.
        const s = await this.connect('echo.soak.test', t.tcpPort, '127.0.0.2');
        if (this.stopping) throw new Error('cut at stop'); // echo() would send nothing
        await this.echo(s, 1, 0);
        s.destroy();
        this.tally.record('tunnel: pupil not TLS', 'echoed', ['closed mid-echo', 'ECONNRESET']);
      }
    } catch (err) {
      const name = kind === 'tls' ? 'tunnel: TLS (pupil)' : kind === 'tcp' ? 'tunnel: TCP (staff)' : kind === 'blocked' ? 'tunnel: blocked host' : kind === 'fronting' ? 'tunnel: domain fronting' : 'tunnel: pupil not TLS';
      const outcome = this.stopping ? 'cut at stop' : (err as Error).message;
      this.tally.record(name, outcome, kind === 'blocked' ? ['CONNECT 403', 'cut at stop'] : kind === 'fronting' || kind === 'plain' ? ['closed in the handshake', 'closed mid-echo', 'ECONNRESET', 'cut at stop'] : ['ok', 'cut at stop']);
    }
  }

  private async tunnels(): Promise<void> {
    const state = { next: performance.now() };
    const inflight = new Set<Promise<void>>();
    let n = 0;
    while (await this.pace(state, this.o.tunnelEveryMs)) {
      if (this.tunnelsOpen >= this.o.maxTunnels) continue;
      const r = n % 20;
      const kind = r < 13 ? 'tls' : r < 16 ? 'tcp' : r < 18 ? 'blocked' : r < 19 ? 'fronting' : 'plain';
      this.tunnelsOpen++;
      const p = this.oneTunnel(kind, n++).finally(() => {
        this.tunnelsOpen--;
        inflight.delete(p);
      });
      inflight.add(p);
    }
    await Promise.all(inflight);
  }

  /** A tunnel held for the whole run, one echo every 20 s (well inside the idle timeout); reopened if it dies. */
  private async longTunnel(i: number): Promise<void> {
    while (!this.stopping) {
      const opened = new Date().toISOString();
      try {
        const raw = await this.connect(this.t.tlsName, this.t.tlsPort, `127.0.0.${3 + i}`);
        const s = await this.tlsOver(raw, this.t.tlsName);
        while (!this.stopping) {
          await this.echo(s, 1, 0);
          for (let k = 0; k < 80 && !this.stopping; k++) await sleep(250);
        }
        s.destroy();
        this.tally.record('tunnel: held all run', 'ok to the end', ['ok to the end']);
      } catch (err) {
        if (this.stopping) {
          this.tally.record('tunnel: held all run', 'ok to the end', ['ok to the end']);
          return;
        }
        const what = `long tunnel ${i} (opened ${opened}) died at ${new Date().toISOString()}: ${(err as Error).message}`;
        if (this.longTunnelDeaths.length < 20) this.longTunnelDeaths.push(what);
        this.tally.record('tunnel: held all run', 'died', ['ok to the end']);
        await sleep(1_000);
      }
    }
  }

  // Upgrades --------------------------------------------------------------------------------

  private async oneUpgrade(n: number): Promise<void> {
    const blocked = n % 5 === 4;
    const host = blocked ? `ws${n % 3}.games.soak.test:${this.t.originPort}` : `ws${n % 7}.allowed.soak.test:${this.t.originPort}`;
    const kind = blocked ? 'upgrade: blocked' : 'upgrade: WebSocket';
    const expected = blocked ? ['403', 'cut at stop'] : ['101 + echo', 'cut at stop'];
    try {
      const socket = this.track(net.connect({ host: '127.0.0.1', port: this.t.proxyPort, localAddress: '127.0.0.2' }));
      const status = await new Promise<string>((resolve, reject) => {
        let head = Buffer.alloc(0);
        const timer = setTimeout(() => reject(new Error('timeout')), 30_000);
        const onData = (d: Buffer): void => {
          head = Buffer.concat([head, d]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          clearTimeout(timer);
          socket.off('data', onData);
          resolve(/^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'))?.[1] ?? '???');
        };
        socket.on('data', onData);
        socket.on('error', (e: NodeJS.ErrnoException) => { clearTimeout(timer); reject(new Error(e.code ?? e.message)); });
        socket.on('connect', () => socket.write(`GET http://${host}/chat HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`));
      });
      if (status === '101') {
        await this.echo(socket, 3 + (n % 15), 300);
        this.tally.record(kind, '101 + echo', expected);
      } else this.tally.record(kind, status, expected);
      socket.destroy();
    } catch (err) {
      this.tally.record(kind, this.stopping ? 'cut at stop' : (err as Error).message, expected);
    }
  }

  private async upgrades(): Promise<void> {
    const state = { next: performance.now() };
    const inflight = new Set<Promise<void>>();
    let n = 0;
    while (await this.pace(state, this.o.upgradeEveryMs)) {
      if (inflight.size >= 10) continue;
      const p = this.oneUpgrade(n++).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
  }

  // Awkward clients -------------------------------------------------------------------------

  /** A raw connection to the proxy; resolves with everything it received when it closes (or at `maxMs`). */
  private raw(localAddress: string, write: (s: net.Socket) => Promise<void>, maxMs: number): Promise<{ text: string; closedBy: 'proxy' | 'us' }> {
    return new Promise((resolve) => {
      const s = this.track(net.connect({ host: '127.0.0.1', port: this.t.proxyPort, localAddress }));
      const chunks: Buffer[] = [];
      let ours = false;
      const timer = setTimeout(() => { ours = true; s.destroy(); }, maxMs);
      s.on('data', (d: Buffer) => { if (chunks.length < 64) chunks.push(d); });
      s.on('error', () => {});
      s.once('close', () => {
        clearTimeout(timer);
        resolve({ text: Buffer.concat(chunks).toString('latin1'), closedBy: ours || this.stopping ? 'us' : 'proxy' });
      });
      s.once('connect', () => void write(s).catch(() => s.destroy()));
    });
  }

  private async oneAwkward(n: number): Promise<void> {
    const o = this.t.originPort;
    const which = n % 5;
    const statusOf = (text: string): string => /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? (text === '' ? 'nothing' : 'garbled');
    if (which === 0) {
      // Slow sender: the request trickles in over about 5 s (the header timeout is 30 s).
      const req = `GET http://slow.allowed.soak.test:${o}/size/1024 HTTP/1.1\r\nHost: slow.allowed.soak.test:${o}\r\nUser-Agent: soak-slow\r\nConnection: close\r\n\r\n`;
      const r = await this.raw('127.0.0.4', async (s) => {
        for (let i = 0; i < req.length && !s.destroyed; i += 8) {
          s.write(req.slice(i, i + 8));
          await sleep(5_000 / (req.length / 8));
        }
      }, 60_000);
      this.tally.record('awkward: slow sender', this.stopping ? 'cut at stop' : statusOf(r.text), ['200', 'cut at stop']);
    } else if (which === 1) {
      // Slow reader: 2 MiB with a 150 ms pause after each chunk read (several seconds).
      try {
        const status = await new Promise<string>((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port: this.t.proxyPort, path: `http://big.allowed.soak.test:${o}/big`, headers: { host: `big.allowed.soak.test:${o}` }, agent: false, localAddress: '127.0.0.4' }, (res) => {
            this.track(res.socket);
            let bytes = 0;
            res.on('data', (chunk: Buffer) => {
              bytes += chunk.length;
              res.pause();
              setTimeout(() => res.resume(), 150);
            });
            res.on('end', () => resolve(bytes === 2 << 20 ? String(res.statusCode) : `short body (${bytes})`));
            res.on('error', reject);
            res.on('close', () => { if (!res.complete) reject(new Error('closed mid-body')); });
          });
          req.on('error', reject);
          req.end();
        });
        this.tally.record('awkward: slow reader', status, ['200']);
      } catch (err) {
        this.tally.record('awkward: slow reader', this.stopping ? 'cut at stop' : errorName(err), ['200', 'cut at stop']);
      }
    } else if (which === 2) {
      // Gives up mid-header and sits there: the proxy should answer 408 and close after 30 s.
      const t0 = performance.now();
      const r = await this.raw('127.0.0.5', async (s) => { s.write(`GET http://half.allowed.soak.test:${o}/ HTTP/1.1\r\nHost: half.allow`); }, 75_000);
      const secs = Math.round((performance.now() - t0) / 1000);
      this.tally.record('awkward: half a header', this.stopping ? 'cut at stop' : r.closedBy === 'us' ? 'never closed by the proxy' : `${statusOf(r.text)}${secs < 25 || secs > 40 ? ` after ${secs} s` : ''}`, ['408', 'cut at stop']);
    } else if (which === 3) {
      // Aborts mid-body: reads the first bytes of 2 MiB and closes.
      const r = await this.raw('127.0.0.4', async (s) => {
        s.write(`GET http://big.allowed.soak.test:${o}/big HTTP/1.1\r\nHost: big.allowed.soak.test:${o}\r\n\r\n`);
        s.once('data', () => setTimeout(() => s.destroy(), 20));
      }, 30_000);
      this.tally.record('awkward: abort mid-body', this.stopping ? 'cut at stop' : statusOf(r.text), ['200', 'cut at stop']);
    } else {
      // One request on a keep-alive connection, then idle: the proxy closes it after 60 s.
      const t0 = performance.now();
      const r = await this.raw('127.0.0.6', async (s) => {
        s.write(`GET http://idle.allowed.soak.test:${o}/size/256 HTTP/1.1\r\nHost: idle.allowed.soak.test:${o}\r\n\r\n`);
      }, 90_000);
      const secs = Math.round((performance.now() - t0) / 1000);
      this.tally.record('awkward: idle keep-alive', this.stopping ? 'cut at stop' : r.closedBy === 'us' ? 'never closed by the proxy' : `${statusOf(r.text)}, closed${secs < 55 || secs > 75 ? ` after ${secs} s` : ''}`, ['200, closed', 'cut at stop']);
    }
  }

  private async awkward(): Promise<void> {
    const state = { next: performance.now() };
    const inflight = new Set<Promise<void>>();
    let n = 0;
    while (await this.pace(state, this.o.awkwardEveryMs)) {
      if (inflight.size >= 12) continue;
      const p = this.oneAwkward(n++).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
  }
}
