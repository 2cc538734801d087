// What a pupil's machine could try against the proxy, over real sockets: requests smuggled behind
// an upgrade, uploads that trickle, one device holding a site's connections, tunnels to places
// the proxy cannot reach, and requests in asterisk form.
import { once, EventEmitter } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SchoolgateConfig } from '../../src/config/load.js';
import type { AlertService } from '../../src/alerts/service.js';
import type { Proxy } from '../../src/proxy/server.js';
import type { TrafficLog } from '../../src/store/traffic-log.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, listen, startProxy, startRecordingProxy, viaProxy, type RecordingProxy } from '../helpers/proxy.js';
import { connectRaw, eventually, readHead, readUntilClose, unusedPort } from '../helpers/raw-http.js';
import { lastTrafficRows, loggedRow as loggedTrafficRow, type TrafficRow } from '../helpers/traffic-rows.js';

const tmp = tempDir();
const dataDir = join(tmp.dir, 'data');
/** Requests that reached the origin, as "host path". */
const seen: string[] = [];
/** Requests the origin holds unanswered until the test lets them go. */
const held: http.ServerResponse[] = [];
/** Emits 'held' each time the origin holds another request. */
const originEvents = new EventEmitter();
/** Connections the WebSocket origin switched, ended when the tests are done. */
const upgraded = new Set<net.Socket>();
let origin: http.Server;
let originPort = 0;
let wsOrigin: http.Server;
let wsPort = 0;
let proxy: Proxy;
let proxyPort = 0;
let strict: Proxy;
let strictPort = 0;
let alerts: AlertService;
let traffic: TrafficLog;
let recording: RecordingProxy;
let config: SchoolgateConfig;
/** A port tunnels may use, with nothing listening on it. */
let refusingPort = 0;

beforeAll(async () => {
  // A server that ignores Upgrade and keeps the connection open, as most static servers do.
  origin = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push(`${req.headers.host} ${req.url}`);
      if (req.url === '/hold') {
        held.push(res);
        return void originEvents.emit('held');
      }
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'keep-alive' });
      res.end(`origin saw ${req.url}`);
    });
  });
  originPort = await listen(origin);
  // A WebSocket-style server: 101, then echoes what follows.
  wsOrigin = http.createServer((_req, res) => res.end('not an upgrade'));
  wsOrigin.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    seen.push(`${req.headers.host} ${req.url} (upgrade)`);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    // "bye" ends the connection from the server's side, as a WebSocket close does.
    const echo = (d: Buffer): void => void (d.toString() === 'bye' ? socket.end() : socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    if (head.length > 0) echo(head);
    socket.on('data', echo);
    socket.on('error', () => {});
  });
  wsPort = await listen(wsOrigin);
  refusingPort = await unusedPort();
  mkdirSync(join(tmp.dir, 'block-list'));
  writeFileSync(join(tmp.dir, 'block-list', 'urls'), 'site.example.test/secret\n');
  const yaml = `proxy:
  networks:
    - { cidr: 127.0.0.0/8, group: ks2 }
  connectPorts: [443, ${originPort}, ${wsPort}, ${refusingPort}]
  allowPrivate: [127.0.0.0/8]
  resolve:
    www.google.com: 127.0.0.1
    "*.example.test": 127.0.0.1
    "*.selftest.invalid": 127.0.0.1
  limits:
    bodyIdleSeconds: 1
    bodyMinBytesPerSecond: 200
    upstreamPerClient: 2
    upstreamTimeoutSeconds: 600
lists:
  sources:
    - name: test-block
      format: list
      path: ${join(tmp.dir, 'block-list')}
      category: school-blocked
      role: block
`;
  ({ proxy, port: proxyPort, config, alerts, traffic } = recording = await startRecordingProxy(tmp.dir, yaml));
  // The same, without the loopback allowance: the machine's own name (which resolves to
  // loopback) is then a private destination.
  ({ proxy: strict, port: strictPort } = await startProxy(tmp.dir, yaml.replace(/^  allowPrivate: .*\n/m, ''), undefined, { traffic }));
});

afterAll(async () => {
  for (const res of held) res.end();
  for (const socket of upgraded) socket.destroy();
  await closeAll(strict, origin, wsOrigin);
  await recording?.close();
  tmp.cleanup();
});

const UPGRADE = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

/** Writes `text` to a new connection to the proxy in one write, and collects the reply until it closes. */
async function oneWrite(text: string, port = proxyPort): Promise<{ text: string; closed: boolean }> {
  const socket = await connectRaw(port);
  const reply = readUntilClose(socket, 30_000);
  socket.write(text);
  return reply;
}

function responseCount(text: string): number {
  return text.match(/^HTTP\/1\.[01] \d{3}/gm)?.length ?? 0;
}

describe('upgrades', () => {
  it('sends nothing the client wrote after an upgrade request when the server does not switch', async () => {
    const host = `site.example.test:${originPort}`;
    const before = seen.length;
    const reply = await oneWrite(
      `GET http://${host}/chat HTTP/1.1\r\nHost: ${host}\r\n${UPGRADE}\r\n`
      + `GET /secret HTTP/1.1\r\nHost: ${host}\r\n\r\n`
      + `GET /anything HTTP/1.1\r\nHost: adult.selftest.invalid:${originPort}\r\n\r\n`
      + `GET /search?q=how+to+hide+my+cuts+from+mum HTTP/1.1\r\nHost: www.google.com:${originPort}\r\n\r\n`,
    );
    // The server's answer to the upgrade request, relayed as an ordinary response, then the end.
    expect(reply.closed).toBe(true);
    expect(responseCount(reply.text)).toBe(1);
    expect(reply.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply.text).toContain('origin saw /chat');
    expect(seen.slice(before)).toEqual([`${host} /chat`]);
    // Logged as what happened: the server answered 200, it did not switch.
    expect(await loggedRow((r) => r.path === '/chat')).toMatchObject({ method: 'GET', host: 'site.example.test', status: 200 });
  });

  it('decides an upgrade request\'s URL as any request: a listed path gets the block page and the server is never asked', async () => {
    const host = `site.example.test:${originPort}`;
    const before = seen.length;
    const reply = await oneWrite(`GET http://${host}/secret/room HTTP/1.1\r\nHost: ${host}\r\nAccept: text/html\r\n${UPGRADE}\r\n`);
    expect(reply.text).toMatch(/^HTTP\/1\.1 403 /);
    expect(reply.text).toContain(config.school.name);
    expect(seen.length).toBe(before);
  });

  it('raises the alert and applies safe search for an upgrade request\'s URL, as for any request', async () => {
    const host = `www.google.com:${originPort}`;
    const before = seen.length;
    await oneWrite(`GET http://${host}/search?q=how+do+i+hide+my+cuts HTTP/1.1\r\nHost: ${host}\r\n${UPGRADE}\r\n`);
    expect(await alerts.settle()).toBe(true);
    const a = alerts.store.list(config.safeguarding, { limit: 20 }).find((x) => x.searchTerm === 'how do i hide my cuts');
    expect(a).toMatchObject({ category: 'self-harm', searchTerm: 'how do i hide my cuts', group: 'ks2' });
    const [asked] = seen.slice(before);
    expect(asked).toMatch(/^www\.google\.com:\d+ \/search\?/);
    expect(asked).toMatch(/[?&]safe=active(&|$)/);
  });

  it('joins a real upgrade on 101, and what the client sent behind the request arrives after it', async () => {
    const host = `ws.example.test:${wsPort}`;
    const socket = await connectRaw(proxyPort);
    socket.write(`GET http://${host}/socket HTTP/1.1\r\nHost: ${host}\r\n${UPGRADE}\r\nfirst`);
    const head = await readHead(socket, 30_000);
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head).toMatch(/upgrade: websocket/i);
    const echoed = await new Promise<string>((resolve) => {
      let got = '';
      socket.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes('echo:second')) resolve(got);
      });
      socket.resume();
      socket.write('second');
    });
    expect(echoed).toBe('echo:firstecho:second');
    const closed = new Promise((r) => socket.once('close', r));
    socket.write('bye');
    await closed;
    expect(await loggedRow((r) => r.path === '/socket')).toMatchObject({ host: 'ws.example.test', status: 101 });
  });
});

describe('pipelined requests', () => {
  it('an upgrade pipelined behind another request closes that connection and leaves the proxy running', async () => {
    const host = `site.example.test:${originPort}`;
    const reply = await oneWrite(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET http://${host}/chat HTTP/1.1\r\nHost: ${host}\r\n${UPGRADE}\r\n`);
    expect(reply.closed).toBe(true);
    expect((await oneWrite('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).text).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('a client that leaves with answers still queued gives back its share of the site', async () => {
    const site = `share-left.example.test:${originPort}`;
    const socket = await connectRaw(proxyPort);
    // One held request, then two more behind it on the same connection: the share (2) is full.
    socket.write([`GET http://${site}/hold HTTP/1.1\r\nHost: ${site}\r\n\r\n`, `GET http://${site}/quick HTTP/1.1\r\nHost: ${site}\r\n\r\n`, `GET http://${site}/quick HTTP/1.1\r\nHost: ${site}\r\n\r\n`].join(''));
    await holding(1);
    socket.destroy();
    for (const res of held.splice(0)) res.end('released');
    // Node never closes the queued answers' responses; the connection's close must free them.
    expect(await eventually(async () => (await viaProxy(proxyPort, `http://${site}/quick`)).status === 200)).toBe(true);
    expect((await viaProxy(proxyPort, `http://${site}/quick`)).status).toBe(200);
  });
});

describe('upgrade protocols', () => {
  it('relays WebSocket only: another protocol is refused before any server is asked', async () => {
    const host = `ws.example.test:${wsPort}`;
    const before = seen.length;
    const reply = await oneWrite(`GET http://${host}/socket HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: TLS/1.0\r\n\r\n`);
    expect(reply.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply.text).toContain('WebSocket upgrades only');
    expect(seen.length).toBe(before);
  });
});

describe('request bodies and one device\'s share of a site', () => {
  it('ends an upload whose body stops arriving with 408, and frees the site\'s connection', async () => {
    const host = `site.example.test:${originPort}`;
    const socket = await connectRaw(proxyPort);
    const reply = readUntilClose(socket, 60_000);
    socket.write(`POST http://${host}/upload HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 100\r\n\r\n0123456789`);
    const r = await reply;
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.text).toMatch(/stopped waiting for this upload/);
  });

  it('ends an upload that trickles in below the minimum rate, though bytes keep coming', async () => {
    const host = `site.example.test:${originPort}`;
    const socket = await connectRaw(proxyPort);
    const reply = readUntilClose(socket, 60_000);
    socket.write(`POST http://${host}/upload HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 100000\r\n\r\n`);
    // One byte at a time, often enough that the idle limit alone would never end it.
    const drip = setInterval(() => socket.write('x'), 100);
    const r = await reply;
    clearInterval(drip);
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.text).toMatch(/bytes\/s/);
  });

  it('lets one device hold only its share of a site\'s connections; other devices are still served', async () => {
    const site = `http://share.example.test:${originPort}`;
    const first = viaProxy(proxyPort, `${site}/hold`);
    const second = viaProxy(proxyPort, `${site}/hold`);
    await holding(2);
    const third = await viaProxy(proxyPort, `${site}/quick`);
    expect(third.status).toBe(429);
    expect(third.body).toMatch(/already has 2 requests open/);
    const other = await viaProxy(proxyPort, `${site}/quick`, { localAddress: '127.0.0.2' });
    expect(other.status).toBe(200);
    expect(other.body).toBe('origin saw /quick');
    // Another site is not this one: the same device is served there.
    expect((await viaProxy(proxyPort, `http://other.example.test:${originPort}/quick`)).status).toBe(200);
    for (const res of held.splice(0)) res.end('released');
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect((await viaProxy(proxyPort, `${site}/quick`)).status).toBe(200);
  });
});

describe('tunnels the proxy cannot open', () => {
  const connect = async (authority: string): Promise<{ text: string; closed: boolean }> =>
    oneWrite(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);

  it('answers a name that resolves to a private address with 403 before 200, and logs it refused', async () => {
    const name = hostname().toLowerCase();
    const reply = await oneWrite(`CONNECT ${name}:443 HTTP/1.1\r\nHost: ${name}:443\r\n\r\n`, strictPort);
    expect(reply.text).toMatch(/^HTTP\/1\.1 403 /);
    expect(reply.text).toContain('private or local address');
    expect(await loggedRow((r) => r.host === name)).toMatchObject({ method: 'CONNECT', status: 403, rule: 'private or local address' });
  });

  it('answers a name that does not resolve with 502 before 200, and logs it refused', async () => {
    const reply = await connect('no-such-host.invalid:443');
    expect(reply.text).toMatch(/^HTTP\/1\.1 502 /);
    expect(reply.text).toContain('no such site');
    expect(await loggedRow((r) => r.host === 'no-such-host.invalid')).toMatchObject({ method: 'CONNECT', status: 502, rule: expect.stringContaining('no such site') as unknown });
  });

  it('answers a server that refuses the connection with 502 before 200', async () => {
    const reply = await connect(`refusing.example.test:${refusingPort}`);
    expect(reply.text).toMatch(/^HTTP\/1\.1 502 /);
    expect(reply.text).toContain('refused the connection');
    expect(await loggedRow((r) => r.host === 'refusing.example.test')).toMatchObject({ method: 'CONNECT', status: 502, rule: 'the site refused the connection' });
  });

  it('still tunnels to a destination it can reach', async () => {
    const socket = await connectRaw(proxyPort);
    socket.write(`CONNECT ws.example.test:${wsPort} HTTP/1.1\r\nHost: ws.example.test:${wsPort}\r\n\r\n`);
    expect(await readHead(socket, 30_000)).toMatch(/^HTTP\/1\.1 200 /);
    socket.destroy();
  });
});

describe('asterisk-form requests', () => {
  it('answers OPTIONS * itself, and looks up no host called *', async () => {
    const reply = await oneWrite('OPTIONS * HTTP/1.1\r\nHost: site.example.test\r\nConnection: close\r\n\r\n');
    expect(reply.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply.text).toMatch(/\r\nallow: [A-Z, ]*OPTIONS/i);
    const rows = await lastTrafficRows(traffic, dataDir, 50);
    expect(rows.some((r) => r.host === '*')).toBe(false);
  });

  it('refuses any other method with * as its target', async () => {
    const reply = await oneWrite('GET * HTTP/1.1\r\nHost: site.example.test\r\nConnection: close\r\n\r\n');
    expect(reply.text).toMatch(/^HTTP\/1\.1 400 /);
  });
});

/** The traffic-log row a test's request left (recorded when the proxy sees the connection close). */
const loggedRow = (match: (r: TrafficRow) => boolean): Promise<TrafficRow> => loggedTrafficRow(traffic, dataDir, match);

/** Resolves once the origin holds `n` requests unanswered: it says so as each one arrives. */
async function holding(n: number): Promise<void> {
  while (held.length < n) await once(originEvents, 'held');
}
