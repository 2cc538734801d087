// Bad input on both sides of the proxy, over raw sockets: requests Node's parser refuses (and
// that must never reach an origin half-understood), CONNECTs it refuses, upstreams that fail
// (no such name, refused, silent), and clients that leave half-way, 10,000 times over.
import http from 'node:http';
import net from 'node:net';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Proxy } from '../../src/proxy/server.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, listen, startProxy } from '../helpers/proxy.js';
import { connectRaw, eventually, parseReply, rawRequest, readHead, readUntilClose, unusedPort } from '../helpers/raw-http.js';

/** An origin that notes each request as its headers arrive, and whether its body ever completed. */
interface Watched {
  readonly server: http.Server;
  port: number;
  /** Sockets accepted; still open; still open after carrying a request (the rest never carried one). */
  connections: number;
  openSockets: number;
  openUsedSockets: number;
  /** Requests whose headers arrived; whose body ended; that closed before the body ended. */
  arrived: string[];
  completed: number;
  aborted: number;
  /** Requests not yet closed. */
  open: number;
  /** Resolves when a request for `url` arrives (however early it is asked for). */
  arrival(url: string): Promise<http.ServerResponse>;
}

/** `answer` decides what the origin does once a request has arrived (default: read the body, then "ok"). */
async function watchedOrigin(answer?: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Watched> {
  const waiting = new Map<string, (res: http.ServerResponse) => void>();
  const early = new Map<string, http.ServerResponse>();
  const used = new WeakSet<net.Socket>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (!used.has(req.socket) && !req.socket.destroyed) {
      used.add(req.socket);
      w.openUsedSockets++;
      req.socket.once('close', () => w.openUsedSockets--);
    }
    w.arrived.push(url);
    w.open++;
    req.on('end', () => w.completed++);
    req.on('close', () => {
      w.open--;
      if (!req.complete) w.aborted++;
    });
    const wake = waiting.get(url);
    if (wake) {
      waiting.delete(url);
      wake(res);
    } else early.set(url, res);
    if (answer) return answer(req, res);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.on('connection', (s: net.Socket) => {
    w.connections++;
    w.openSockets++;
    s.on('close', () => w.openSockets--);
  });
  const w: Watched = {
    server, port: 0, connections: 0, openSockets: 0, openUsedSockets: 0, arrived: [], completed: 0, aborted: 0, open: 0,
    arrival: (url) => {
      const res = early.get(url);
      if (res) {
        early.delete(url);
        return Promise.resolve(res);
      }
      return new Promise((r) => waiting.set(url, r));
    },
  };
  w.port = await listen(server);
  return w;
}

function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)))]).finally(() => clearTimeout(timer));
}

const proxyConnections = (p: Proxy): Promise<number> => new Promise((resolve, reject) => p.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

const tmp = tempDir();
// 127.0.0.1 is a KS2 pupil (filtered, TLS required in tunnels); loopback destinations allowed.
const NETWORKS = 'proxy:\n  networks:\n    - { cidr: 127.0.0.1/32, group: ks2 }\n  allowPrivate: [127.0.0.0/8]\n';
let proxy: Proxy;
let proxyPort = 0;
/** Default limits (30 s upstream timeout), so an upstream left open is not tidied by a 1 s timeout. */
let patient: Proxy;
let patientPort = 0;
/** Reached only by well-formed requests: every malformed one is aimed at it. */
let bait: Watched;
let silent: net.Server;
let silentPort = 0;
let silentOpen = 0;
let refusedPort = 0;

beforeAll(async () => {
  bait = await watchedOrigin();
  silent = net.createServer((c) => {
    silentOpen++;
    c.on('close', () => silentOpen--);
    c.on('error', () => {});
    c.resume(); // reads the request, never answers
  });
  silentPort = await new Promise<number>((r) => silent.listen(0, '127.0.0.1', () => r((silent.address() as net.AddressInfo).port)));
  refusedPort = await unusedPort();
  ({ proxy, port: proxyPort } = await startProxy(tmp.dir, `${NETWORKS}  connectPorts: [443, ${refusedPort}]\n  limits:\n    upstreamTimeoutSeconds: 1\n`));
  ({ proxy: patient, port: patientPort } = await startProxy(tmp.dir, NETWORKS));
});

afterAll(async () => {
  silent.close();
  await closeAll(bait.server, proxy, patient);
  tmp.cleanup();
});

/** Sends `request` raw; expects the proxy to answer `status` and close, with nothing new reaching the bait origin. */
async function refused(request: string, status: number): Promise<ReturnType<typeof parseReply>> {
  const before = { connections: bait.connections, arrived: bait.arrived.length };
  const reply = await rawRequest(proxyPort, request);
  expect(reply.closed).toBe(true);
  const parsed = parseReply(reply.text);
  expect(parsed.status).toBe(status);
  // The whole reply is one response: nothing of a second (smuggled) request was answered.
  expect(reply.text.match(/HTTP\/1\.1 \d{3}/g)).toHaveLength(1);
  expect({ connections: bait.connections, arrived: bait.arrived.length }).toEqual(before);
  return parsed;
}

describe('requests the parser refuses', () => {
  const at = (path: string): string => `http://127.0.0.1:${bait.port}${path}`;

  it('control: a well-formed request does reach the bait origin', async () => {
    const reply = await rawRequest(proxyPort, `GET ${at('/control')} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(parseReply(reply.text)).toMatchObject({ status: 200, body: 'ok' });
    expect(bait.arrived).toContain('/control');
  });

  it('answers a malformed request line 400 and closes', async () => {
    await refused('GARBAGE\r\n\r\n', 400);
    await refused(`G<T ${at('/bad-method')} HTTP/1.1\r\nHost: x\r\n\r\n`, 400);
    await refused(`GET ${at('/bad-version')} HTTP/1.2\r\nHost: x\r\n\r\n`, 400);
    await refused(`GET ${at('/trailing')} HTTP/1.1 extra\r\nHost: x\r\n\r\n`, 400);
    await refused(`GET ${at('/a b')} HTTP/1.1\r\nHost: x\r\n\r\n`, 400);
    await refused(`GET ${at('/ctl\x01')} HTTP/1.1\r\nHost: x\r\n\r\n`, 400);
  });

  it('refuses a request line with no HTTP version (HTTP/0.9) or a version other than 1.x, rather than relaying it as HTTP/1.1', async () => {
    // llhttp takes "GET url" (no version) as HTTP/0.9, headers and all, and accepts "HTTP/2.0"
    // in a text request line; the proxy must not turn either into an HTTP/1.1 request upstream.
    for (const request of [`GET ${at('/no-version')}\r\nHost: x\r\n\r\n`, `GET ${at('/http-2')} HTTP/2.0\r\nHost: x\r\n\r\n`]) {
      const before = bait.arrived.length;
      const reply = await rawRequest(proxyPort, request);
      expect(reply.closed).toBe(true);
      expect([400, 505]).toContain(parseReply(reply.text).status);
      expect(bait.arrived.slice(before)).toEqual([]);
    }
  });

  it('refuses Content-Length with Transfer-Encoding (400, closed), so nothing is smuggled to the origin', async () => {
    const smuggled = `GET ${at('/smuggled')} HTTP/1.1\r\nHost: x\r\n\r\n`;
    // CL.TE: a length that covers only the terminating chunk; TE.CL: a length that swallows the rest.
    await refused(`POST ${at('/clte')} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`, 400);
    await refused(`POST ${at('/tecl')} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: ${smuggled.length + 5}\r\n\r\n0\r\n\r\n${smuggled}`, 400);
    // Transfer-Encoding that does not end in chunked cannot be framed at all.
    await refused(`POST ${at('/te-identity')} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n${smuggled}`, 400);
    expect(bait.arrived).not.toContain('/smuggled');
  });

  it('refuses two Content-Length headers (conflicting, and even equal) and a list of lengths', async () => {
    await refused(`POST ${at('/cl2')} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, 400);
    // llhttp refuses any repeated Content-Length, even an equal one (RFC 9112 6.3 allows either).
    await refused(`POST ${at('/cl2-same')} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, 400);
    await refused(`POST ${at('/cl-list')} HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!`, 400);
  });

  it('refuses obs-fold (a header line starting with a space or a tab) and whitespace before the colon', async () => {
    await refused(`GET ${at('/fold-space')} HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n`, 400);
    await refused(`GET ${at('/fold-tab')} HTTP/1.1\r\nHost: x\r\nX-A: b\r\n\tc\r\n\r\n`, 400);
    // A folded line that would otherwise hide a second Host or Content-Length.
    await refused(`POST ${at('/fold-cl')} HTTP/1.1\r\nHost: x\r\nX-A: b\r\n Content-Length: 40\r\nContent-Length: 0\r\n\r\n`, 400);
    await refused(`GET ${at('/space-colon')} HTTP/1.1\r\nHost : x\r\n\r\n`, 400);
  });

  // Node 20's llhttp (9.x, strict unless --insecure-http-parser) wants CRLF everywhere: a bare LF
  // after the request line, after a header, at the end of the head, or throughout is a 400.
  it('refuses bare LF line endings in the request head', async () => {
    await refused(`GET ${at('/lf-all')} HTTP/1.1\nHost: x\n\n`, 400);
    await refused(`GET ${at('/lf-request-line')} HTTP/1.1\nHost: x\r\n\r\n`, 400);
    await refused(`GET ${at('/lf-header')} HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n`, 400);
    await refused(`GET ${at('/lf-end')} HTTP/1.1\r\nHost: x\r\n\n`, 400);
  });

  it('answers a bare LF inside a chunked body 400 and aborts the request already sent upstream', async () => {
    // The head is valid, so the request goes upstream as its first chunk arrives; the broken
    // chunk line that follows must abort it rather than complete it.
    const socket = await connectRaw(proxyPort);
    const reply = readUntilClose(socket);
    const arrived = bait.arrival('/lf-chunk');
    const before = { completed: bait.completed, aborted: bait.aborted };
    socket.write(`POST ${at('/lf-chunk')} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
    await deadline(arrived, 10_000, 'the request never reached the origin');
    socket.write('5\nworld\n0\n\n');
    const { text, closed } = await reply;
    expect(closed).toBe(true);
    expect(parseReply(text).status).toBe(400);
    expect(await eventually(() => bait.aborted > before.aborted)).toBe(true);
    expect(bait.completed).toBe(before.completed);
  });

  it('closes without writing a 400 into a response already under way when the body turns bad', async () => {
    // The origin answers at once with half its body; the client's next chunk line is broken.
    // The response has begun, so a status line now would land inside its body: the only
    // honest end is to close the connection (as Node's own clientError default does).
    const early = await watchedOrigin((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('a'.repeat(50));
    });
    try {
      const socket = await connectRaw(proxyPort);
      socket.write(`POST http://127.0.0.1:${early.port}/early HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
      const head = await readHead(socket);
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      const rest = readUntilClose(socket);
      socket.resume();
      socket.write('5\nworld\n');
      const { text, closed } = await rest;
      expect(closed).toBe(true);
      expect(text).not.toContain('HTTP/1.1 400');
      expect(text).toBe('a'.repeat(50));
    } finally {
      await closeAll(early.server);
    }
  });
});

describe('CONNECT requests the proxy refuses', () => {
  it('answers a CONNECT without a port 400 and closes', async () => {
    const { closed, text } = await rawRequest(proxyPort, 'CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n');
    expect(closed).toBe(true);
    const reply = parseReply(text);
    expect(reply.status).toBe(400);
    expect(reply.headers.get('x-schoolgate-reason')).toBe('CONNECT needs host:port');
  });

  it('answers a CONNECT to a port not in proxy.connectPorts 403 with X-Schoolgate-Reason', async () => {
    const { closed, text } = await rawRequest(proxyPort, 'CONNECT example.com:8443 HTTP/1.1\r\nHost: example.com:8443\r\n\r\n');
    expect(closed).toBe(true);
    const reply = parseReply(text);
    expect(reply.status).toBe(403);
    expect(reply.headers.get('x-schoolgate-reason')).toBe('port 8443 is not allowed for tunnels');
  });

  it('answers 502 before any tunnel when the upstream port refuses the connection', async () => {
    const socket = await connectRaw(proxyPort);
    const reply = readUntilClose(socket);
    socket.write(`CONNECT localhost:${refusedPort} HTTP/1.1\r\nHost: localhost:${refusedPort}\r\n\r\n`);
    const r = await reply;
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 502 /);
    expect(r.text).toMatch(/x-schoolgate-reason: the site refused the connection/i);
  });
});

describe('upstream failures', () => {
  it('answers 502 naming the host when its name does not resolve', async () => {
    // .invalid never resolves (RFC 6761); the resolver here answers NXDOMAIN at once.
    const reply = await rawRequest(proxyPort, 'GET http://nothing-here.invalid/ HTTP/1.1\r\nHost: nothing-here.invalid\r\nAccept: text/html\r\nConnection: close\r\n\r\n');
    expect(reply.closed).toBe(true);
    const page = parseReply(reply.text);
    expect(page.status).toBe(502);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toContain('nothing-here.invalid could not be found');
  });

  it('answers 502 when the upstream refuses the connection', async () => {
    const reply = await rawRequest(proxyPort, `GET http://127.0.0.1:${refusedPort}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const page = parseReply(reply.text);
    expect(page.status).toBe(502);
    expect(page.body).toContain(`127.0.0.1 refused the connection`);
  });

  it('answers 504 when the upstream accepts and never answers, after proxy.limits.upstreamTimeoutSeconds, and closes that connection', async () => {
    const before = silentOpen;
    const reply = await rawRequest(proxyPort, `GET http://127.0.0.1:${silentPort}/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const page = parseReply(reply.text);
    expect(page.status).toBe(504);
    expect(page.body).toContain('127.0.0.1 did not answer in time');
    expect(await eventually(() => silentOpen === before)).toBe(true);
  });
});

describe('clients that leave half-way', () => {
  const upload = (port: number, path: string): string =>
    `POST http://127.0.0.1:${port}${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n${'x'.repeat(1000)}`;

  it('aborts the upstream request when the client leaves mid-upload', async () => {
    const sink = await watchedOrigin();
    try {
      const socket = await connectRaw(patientPort);
      const arrived = sink.arrival('/upload');
      socket.write(upload(sink.port, '/upload'));
      await deadline(arrived, 10_000, 'the request never reached the origin');
      socket.destroy();
      expect(await eventually(() => sink.aborted === 1 && sink.openSockets === 0)).toBe(true);
      expect(sink.completed).toBe(0);
    } finally {
      await closeAll(sink.server);
    }
  });

  it('closes the upstream connection when the client leaves before the upstream answers', async () => {
    // The origin starts a long download only after the client has gone: the proxy must not
    // keep reading it (or hold the connection) for a client that is no longer there.
    const sink = await watchedOrigin((req) => req.resume());
    try {
      const socket = await connectRaw(patientPort);
      const arrived = sink.arrival('/late');
      socket.write(`GET http://127.0.0.1:${sink.port}/late HTTP/1.1\r\nHost: x\r\n\r\n`);
      const res = await deadline(arrived, 10_000, 'the request never reached the origin');
      socket.destroy();
      expect(await eventually(async () => (await proxyConnections(patient)) === 0)).toBe(true);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024);
      let sent = 0;
      const pump = (): void => {
        while (!res.destroyed && sent < 1024 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return;
        }
      };
      res.on('drain', pump);
      pump();
      // With the upstream closed, the origin's response closes; kept open, it stalls for good
      // (longer than the 30 s upstream timeout: the paused body is never timed out). So the
      // bound stays below 30 s, and still gives a slow machine hundreds of times what it needs.
      expect(await eventually(() => res.destroyed || sink.openSockets === 0, 25_000)).toBe(true);
    } finally {
      await closeAll(sink.server);
    }
  });

  // 10,000 uploads is CPU work that a busy, shared machine stretches well past the suite's
  // two minutes; the test measures no time, so it gets ten.
  it('leaks nothing after 10,000 clients leave mid-upload', async () => {
    // A fresh proxy and origin, so every socket and request counted here belongs to this test.
    const { proxy: fresh, port } = await startProxy(tmp.dir, NETWORKS);
    const sink = await watchedOrigin((req) => req.resume());
    // Full collections make heapUsed comparable between two points; vitest's forks do not run
    // with --expose-gc, so the flag is switched on here and gc() taken from a new context.
    let gc = globalThis.gc;
    if (!gc) {
      v8.setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as NodeJS.GCFunction;
    }
    const heap = (): number => {
      gc!();
      gc!();
      return process.memoryUsage().heapUsed;
    };
    try {
      const one = async (id: number): Promise<void> => {
        const socket = await connectRaw(port);
        const arrived = sink.arrival(`/abort/${id}`);
        socket.write(upload(sink.port, `/abort/${id}`));
        await deadline(arrived, 10_000, `request ${id} never reached the origin`);
        socket.destroy();
      };
      const CONCURRENCY = 50;
      const run = async (from: number, to: number): Promise<void> => {
        let next = from;
        const worker = async (): Promise<void> => {
          while (next < to) await one(next++);
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      };
      /**
       * What "nothing leaked" means here. The proxy holds no client connection. The origin has no
       * request still open, and every origin socket that carried a request is closed: each
       * carried an upload aborted half-way, which leaves the connection unusable, so none may
       * sit in the proxy's keep-alive pool. Under concurrency undici also dials connections for
       * queued requests that another connection then serves; those never carry a byte and stay
       * in the pool (until undici's or the origin's idle timeout), reused by later requests. They
       * are bounded by the requests in flight at once, so at most CONCURRENCY, however many
       * requests came before: that is checked after 1,000 and again after 10,000.
       */
      const settled = async (): Promise<{ proxy: number; requests: number; usedSockets: number; idleWithinBound: boolean }> => {
        const state = async () => ({
          proxy: await proxyConnections(fresh), requests: sink.open, usedSockets: sink.openUsedSockets,
          idleWithinBound: sink.openSockets - sink.openUsedSockets <= CONCURRENCY,
        });
        await eventually(async () => {
          const s = await state();
          return s.proxy === 0 && s.requests === 0 && s.usedSockets === 0 && s.idleWithinBound;
        }, 60_000, 50);
        return state();
      };
      const clean = { proxy: 0, requests: 0, usedSockets: 0, idleWithinBound: true };

      await run(0, 1_000);
      expect(await settled()).toEqual(clean);
      const heapAfter1k = heap();
      const rssAfter1k = process.memoryUsage().rss;
      const started = Date.now();
      await run(1_000, 10_000);
      const seconds = (Date.now() - started) / 1000;
      expect(await settled()).toEqual(clean);
      const growth = heap() - heapAfter1k;
      const rssGrowth = process.memoryUsage().rss - rssAfter1k;
      console.log(`10,000 aborted uploads: last 9,000 in ${seconds.toFixed(1)} s; heapUsed growth after gc ${(growth / 1e6).toFixed(2)} MB, RSS growth ${(rssGrowth / 1e6).toFixed(1)} MB; idle pooled upstream sockets ${sink.openSockets}`);
      expect(sink.arrived).toHaveLength(10_000);
      expect(sink.aborted).toBe(10_000);
      expect(sink.completed).toBe(0);
      // After a full gc the heap of this process (client, proxy and origin together) moves by a
      // few MB between runs; a leak of one IncomingMessage, socket or undici request per abort
      // (several KB each) would add tens of MB over 9,000. 20 MB catches anything from ~2 KB a
      // request up while leaving room for V8's own caches and code.
      expect(growth).toBeLessThan(20 * 1024 * 1024);

      // And the proxy still works.
      const ok = await rawRequest(port, `GET http://127.0.0.1:${bait.port}/after-aborts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(parseReply(ok.text)).toMatchObject({ status: 200, body: 'ok' });
    } finally {
      await closeAll(sink.server, fresh);
    }
  }, 600_000);
});
