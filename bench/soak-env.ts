// The soak test's surroundings (bench/soak.ts), all on loopback: an origin (HTTP, with upgrades),
// a TLS echo server and a TCP echo server for CONNECT tunnels, a redis-server of its own that can
// be stopped and started again empty, and the two receivers of alert notifications (SMTP and a
// webhook), each of which can be taken down for an outage and records the X-Schoolgate-Delivery
// id of everything it accepted.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { SMTPServer } from 'smtp-server';
import { verifySignature } from '../src/alerts/notify-webhook.js';

/** A TCP port nobody listens on at this moment (listen on 0, read it, close). */
export async function sparePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function listenOn(server: net.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((r) => server.close(() => r()));
}

// ---------------------------------------------------------------------------------------------
// The origin: every name is sent here by the proxy (proxy.resolve "*").

export interface Origin {
  readonly port: number;
  /** Requests answered, and upgrades joined. */
  readonly stats: { requests: number; upgrades: number };
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(64 * 1024, 'x');

/**
 * GET /size/N answers N bytes; /big answers 2 MiB in 64 KiB writes; /slow answers after 1.5 s;
 * POST answers with the length it read; anything else 2 KiB. An Upgrade is answered 101 and
 * echoes whatever arrives until either side closes.
 */
export async function startOrigin(): Promise<Origin> {
  const stats = { requests: 0, upgrades: 0 };
  const sockets = new Set<net.Socket>();
  const server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    stats.requests++;
    let read = 0;
    req.on('data', (d: Buffer) => (read += d.length));
    req.on('end', () => {
      const url = req.url ?? '/';
      const path = url.replace(/^https?:\/\/[^/]+/, '').split('?')[0]!;
      if (req.method === 'POST') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(`read ${read}\n`);
      if (path === '/slow') return void setTimeout(() => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>slow</p>'), 1_500);
      if (path === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(32 * CHUNK.length) });
        let sent = 0;
        const more = (): void => {
          while (sent < 32) {
            sent++;
            if (!res.write(CHUNK)) return void res.once('drain', more);
          }
          res.end();
        };
        res.on('close', () => (sent = 32));
        return more();
      }
      const m = /^\/size\/(\d+)$/.exec(path);
      const n = m ? Math.min(Number(m[1]), 1 << 20) : 2048;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(n) });
      res.end(n <= CHUNK.length ? CHUNK.subarray(0, n) : Buffer.alloc(n, 'x'));
    });
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    stats.upgrades++;
    socket.on('error', () => socket.destroy());
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  const port = await listenOn(server);
  return {
    port, stats, close: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await closeServer(server);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Echo servers at the far end of CONNECT tunnels.

export interface EchoServer {
  readonly port: number;
  readonly stats: { connections: number; open: number };
  close(): Promise<void>;
}

function echoOn(server: net.Server, stats: { connections: number; open: number }, sockets: Set<net.Socket>, event: 'connection' | 'secureConnection'): void {
  server.on(event, (s: net.Socket) => {
    stats.connections++;
    stats.open++;
    sockets.add(s);
    s.on('error', () => s.destroy());
    s.once('close', () => {
      stats.open--;
      sockets.delete(s);
    });
    s.pipe(s);
  });
}

/** TLS echo: the certificate is for `name`, signed by the CA the clients are given. */
export async function startTlsEcho(keyPem: string, certPem: string): Promise<EchoServer> {
  const stats = { connections: 0, open: 0 };
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: keyPem, cert: certPem });
  server.on('tlsClientError', () => {});
  echoOn(server, stats, sockets, 'secureConnection');
  const port = await listenOn(server);
  return { port, stats, close: async () => { for (const s of sockets) s.destroy(); await closeServer(server); } };
}

export async function startTcpEcho(): Promise<EchoServer> {
  const stats = { connections: 0, open: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer();
  echoOn(server, stats, sockets, 'connection');
  const port = await listenOn(server);
  return { port, stats, close: async () => { for (const s of sockets) s.destroy(); await closeServer(server); } };
}

// ---------------------------------------------------------------------------------------------
// Redis of our own (never the shared one on 6379).

export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  readonly running: boolean;
  /** SIGTERM (or SIGKILL: a crash) and wait for it to exit. Nothing is saved: it comes back empty. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  start(): Promise<void>;
}

export async function startRedis(dir: string): Promise<OwnRedis> {
  const port = await sparePort();
  let child: ChildProcess | null = null;
  const start = (): Promise<void> => new Promise((resolve, reject) => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    let ready = false;
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (ready) return;
      out += d;
      if (out.includes('Ready to accept connections')) {
        ready = true;
        out = '';
        resolve();
      }
    });
    proc.stderr!.resume();
    proc.once('error', (err) => reject(new Error(`redis-server could not be started (is it installed?): ${err.message}`)));
    proc.once('exit', (code) => {
      if (!ready) reject(new Error(`redis-server exited (${code}) before it was ready:\n${out.slice(-2000)}`));
    });
  });
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    await exited;
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start, get running() { return child !== null; } };
}

// ---------------------------------------------------------------------------------------------
// Receivers. Each keeps the delivery ids it accepted (a Map id -> times seen), not the messages.

export type OutageMode = 'closed' | 'refusing';

export interface Receiver {
  readonly port: number;
  /** X-Schoolgate-Delivery id -> how many times it was accepted. */
  readonly seen: Map<string, number>;
  /** Attempts refused during an outage (a 4xx/5xx answer; connections refused are not seen). */
  readonly refused: { count: number };
  /** Problems with what arrived: unsigned or badly signed webhooks, messages without an id. */
  readonly problems: string[];
  readonly down: OutageMode | null;
  /** An outage: 'closed' stops listening; 'refusing' answers every delivery with a failure. */
  goDown(mode: OutageMode): Promise<void>;
  comeBack(): Promise<void>;
  close(): Promise<void>;
}

function note(seen: Map<string, number>, id: string): void {
  seen.set(id, (seen.get(id) ?? 0) + 1);
}

/** What a receiver keeps, and whether it is down (its server's handler reads `down`). */
interface ReceiverState {
  readonly seen: Map<string, number>;
  readonly refused: { count: number };
  readonly problems: string[];
  down: OutageMode | null;
}

const receiverState = (): ReceiverState => ({ seen: new Map(), refused: { count: 0 }, problems: [], down: null });

/**
 * A receiver on `port` with its outages: `close` stops its server, `reopen` starts a new one on
 * the same port after a 'closed' outage.
 */
function withOutages(state: ReceiverState, port: number, close: () => Promise<void>, reopen: () => Promise<void>): Receiver {
  return {
    port, seen: state.seen, refused: state.refused, problems: state.problems, get down() { return state.down; },
    async goDown(mode) {
      state.down = mode;
      if (mode === 'closed') await close();
    },
    async comeBack() {
      if (state.down === 'closed') await reopen();
      state.down = null;
    },
    close: async () => {
      if (state.down !== 'closed') await close();
    },
  };
}

/** An SMTP server (no TLS, no auth) that records each message's X-Schoolgate-Delivery header. */
export async function startSmtpReceiver(): Promise<Receiver> {
  const state = receiverState();
  const { seen, refused, problems } = state;
  const make = (): SMTPServer => new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false, closeTimeout: 1_000, size: 10 << 20,
    onData(stream, _session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (state.down === 'refusing') {
          refused.count++;
          const err = new Error('soak: mailbox temporarily unavailable') as Error & { responseCode: number };
          err.responseCode = 451;
          return done(err);
        }
        const text = Buffer.concat(chunks).toString('latin1');
        const head = text.slice(0, Math.max(0, text.indexOf('\r\n\r\n')));
        const id = /^X-Schoolgate-Delivery:\s*(\S+)/im.exec(head)?.[1];
        if (id) note(seen, id);
        else if (problems.length < 20) problems.push(`e-mail without X-Schoolgate-Delivery: ${head.slice(0, 200)}`);
        done();
      });
    },
  });
  let server = make();
  server.on('error', () => {});
  const port = await listenOn(server.server);
  const close = (): Promise<void> => new Promise((r) => server.close(() => r()));
  return withOutages(state, port, close, async () => {
    server = make();
    server.on('error', () => {});
    await listenOn(server.server, port);
  });
}

/** A webhook endpoint that checks the HMAC signature and records each delivery id. */
export async function startWebhookReceiver(secret: string): Promise<Receiver & { readonly url: string }> {
  const state = receiverState();
  const { seen, refused, problems } = state;
  const make = (): http.Server => http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (state.down === 'refusing') {
        refused.count++;
        return void res.writeHead(503).end();
      }
      const raw = Buffer.concat(chunks);
      const id = String(req.headers['x-schoolgate-delivery'] ?? '');
      if (!verifySignature(raw, secret, req.headers['x-schoolgate-signature'] as string | undefined) && problems.length < 20) problems.push(`webhook ${id}: bad signature`);
      if (id) note(seen, id);
      else if (problems.length < 20) problems.push('webhook without X-Schoolgate-Delivery');
      res.writeHead(204).end();
    });
  });
  let server = make();
  const port = await listenOn(server);
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await closeServer(server);
  };
  // Object.assign keeps the receiver's `down` getter live (a spread would copy its value).
  return Object.assign(withOutages(state, port, close, async () => {
    server = make();
    await listenOn(server, port);
  }), { url: `http://127.0.0.1:${port}/hook` });
}
