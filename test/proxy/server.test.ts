// The proxy end to end: real sockets, a real origin server, real curl, real TLS.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Proxy } from '../../src/proxy/server.js';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startOrigin, startProxy, startTlsOrigin, type SeenRequest } from '../helpers/proxy.js';

const run = promisify(execFile);
const tmp = tempDir();
let seen: SeenRequest[];
let origin: http.Server;
let tlsOrigin: https.Server;
let originPort = 0;
let tlsPort = 0;
let proxy: Proxy;
let strict: Proxy;
let proxyPort = 0;
let strictPort = 0;
let caPem = '';
const caFile = join(tmp.dir, 'ca.pem');

beforeAll(async () => {
  ({ server: origin, port: originPort, seen } = await startOrigin());
  ({ server: tlsOrigin, port: tlsPort, caPem } = await startTlsOrigin());
  writeFileSync(caFile, caPem);
  const networks = `proxy:\n  networks:\n    - { cidr: 127.0.0.1/32, group: ks2 }\n  connectPorts: [443, ${tlsPort}]\n`;
  ({ proxy, port: proxyPort } = await startProxy(tmp.dir, `${networks}  allowPrivate: [127.0.0.0/8]\n`));
  ({ proxy: strict, port: strictPort } = await startProxy(tmp.dir, networks));
});

afterAll(async () => {
  await closeAll(origin, tlsOrigin, proxy, strict);
  tmp.cleanup();
});

const curl = (args: string[]) => run('curl', ['-s', '--max-time', '10', ...args]).then((r) => r.stdout, (e: { stdout?: string; code?: number }) => `curl exit ${e.code}: ${e.stdout ?? ''}`);

describe('HTTP forwarding', () => {
  it('relays a GET and its answer, with Via and without proxy-only headers', async () => {
    const out = await curl(['-x', `http://127.0.0.1:${proxyPort}`, '-D', '-', '-H', 'Proxy-Connection: keep-alive', `http://127.0.0.1:${originPort}/hello?x=1`]);
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    expect(out).toMatch(/x-origin: yes/i);
    expect(out).toMatch(/via: 1\.1 schoolgate/i);
    expect(out).toContain('hello GET /hello?x=1');
    const req = seen.at(-1)!;
    expect(req.headers.via).toBe('1.1 schoolgate');
    expect(req.headers['proxy-connection']).toBeUndefined();
    expect(req.headers['x-forwarded-for']).toBeUndefined();
  });

  it('sends the request line\'s host upstream, whatever Host header the client sent', async () => {
    await curl(['-x', `http://127.0.0.1:${proxyPort}`, '-H', 'Host: gambling.selftest.invalid', `http://127.0.0.1:${originPort}/vhost`]);
    expect(seen.at(-1)).toMatchObject({ url: '/vhost', headers: { host: `127.0.0.1:${originPort}` } });
  });

  it('streams a 5 MB upload intact', async () => {
    const file = join(tmp.dir, 'upload.bin');
    const data = Buffer.alloc(5 * 1024 * 1024, 7);
    writeFileSync(file, data);
    const out = await curl(['-x', `http://127.0.0.1:${proxyPort}`, '--data-binary', `@${file}`, '-H', 'Content-Type: application/octet-stream', `http://127.0.0.1:${originPort}/upload`]);
    expect(out).toBe('hello POST /upload');
    expect(seen.at(-1)!.sha).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('relays HEAD without a body, and a chunked upload intact', async () => {
    const head = await curl(['-x', `http://127.0.0.1:${proxyPort}`, '-I', `http://127.0.0.1:${originPort}/head`]);
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(seen.at(-1)!.method).toBe('HEAD');
    const file = join(tmp.dir, 'chunked.bin');
    const data = Buffer.from('x'.repeat(100_000));
    writeFileSync(file, data);
    const out = await curl(['-x', `http://127.0.0.1:${proxyPort}`, '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file}`, `http://127.0.0.1:${originPort}/chunked`]);
    expect(out).toBe('hello POST /chunked');
    expect(seen.at(-1)!.sha).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('answers OPTIONS itself when Max-Forwards is 0, and passes it on otherwise', async () => {
    const count = seen.length;
    const own = await curl(['-x', `http://127.0.0.1:${proxyPort}`, '-X', 'OPTIONS', '-D', '-', '-H', 'Max-Forwards: 0', `http://127.0.0.1:${originPort}/opt`]);
    expect(own).toMatch(/^HTTP\/1\.1 200/);
    expect(own).toMatch(/allow: GET, HEAD/i);
    expect(seen.length).toBe(count);
    await curl(['-x', `http://127.0.0.1:${proxyPort}`, '-X', 'OPTIONS', '-H', 'Max-Forwards: 3', `http://127.0.0.1:${originPort}/opt`]);
    expect(seen.at(-1)).toMatchObject({ method: 'OPTIONS', headers: { 'max-forwards': '2' } });
  });

  it('blocks by policy with a block page naming the category and a reference', async () => {
    const out = await curl(['-x', `http://127.0.0.1:${proxyPort}`, '-D', '-', 'http://gambling.selftest.invalid/bet?x=<b>']);
    expect(out).toMatch(/^HTTP\/1\.1 403/);
    expect(out).toContain('Category: gambling');
    expect(out).toMatch(/Reference: [0-9A-F]{8}/);
  });

  it('escapes the URL in the HTML block page', async () => {
    const out = await curl(['-x', `http://127.0.0.1:${proxyPort}`, '-H', 'Accept: text/html', 'http://gambling.selftest.invalid/%3Cscript%3Ealert(1)%3C/script%3E']);
    expect(out).toContain('<!doctype html>');
    expect(out).not.toContain('<script>');
  });

  it('shows only the IWF splash for illegal content', async () => {
    const out = await curl(['-x', `http://127.0.0.1:${proxyPort}`, 'http://iwf.selftest.invalid/some/page']);
    expect(out).toContain('Internet Watch Foundation');
    expect(out).not.toContain('iwf.selftest.invalid');
  });

  it('refuses private destinations unless the configuration allows them', async () => {
    const out = await curl(['-x', `http://127.0.0.1:${strictPort}`, '-D', '-', `http://127.0.0.1:${originPort}/secret`]);
    expect(out).toMatch(/^HTTP\/1\.1 403/);
    const byName = await curl(['-x', `http://127.0.0.1:${strictPort}`, '-D', '-', `http://localhost:${originPort}/secret`]);
    expect(byName).toMatch(/^HTTP\/1\.1 403/);
  });

  it('detects a request that loops back through itself', async () => {
    const out = await curl(['-x', `http://127.0.0.1:${proxyPort}`, '-D', '-', '-H', 'Via: 1.1 schoolgate', `http://127.0.0.1:${originPort}/`]);
    expect(out).toMatch(/^HTTP\/1\.1 508/);
  });

  it('answers for itself: health, PAC file, status', async () => {
    expect(await curl([`http://127.0.0.1:${proxyPort}/healthz`])).toBe('ok\n');
    const pac = await curl(['-D', '-', `http://127.0.0.1:${proxyPort}/proxy.pac`]);
    expect(pac).toMatch(/content-type: application\/x-ns-proxy-autoconfig/i);
    expect(pac).toContain(`PROXY 127.0.0.1:${proxyPort}`);
    expect(await curl([`http://127.0.0.1:${proxyPort}/`])).toContain('Schoolgate for Example Primary School');
  });
});

describe('upgrades over plain HTTP', () => {
  it('relays a WebSocket-style upgrade and then the bytes both ways', async () => {
    const echo = http.createServer();
    echo.on('upgrade', (req, socket) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Path: ${req.url}\r\nX-Via: ${req.headers.via}\r\n\r\n`);
      socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    });
    const echoPort = await new Promise<number>((r) => echo.listen(0, '127.0.0.1', () => r((echo.address() as import('node:net').AddressInfo).port)));
    const reply = await new Promise<{ status: number; path: string; via: string; data: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxyPort, path: `http://127.0.0.1:${echoPort}/chat?room=5`, headers: { Connection: 'Upgrade', Upgrade: 'websocket' } });
      req.on('upgrade', (res, socket) => {
        socket.write('ping');
        socket.once('data', (d: Buffer) => {
          resolve({ status: res.statusCode!, path: String(res.headers['x-path']), via: String(res.headers['x-via']), data: d.toString() });
          socket.destroy();
        });
      });
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    echo.closeAllConnections();
    echo.close();
    expect(reply).toEqual({ status: 101, path: '/chat?room=5', via: '1.1 schoolgate', data: 'echo:ping' });
  });

  it('closes the upstream connection when the client leaves first', async () => {
    // Every connection the proxy opens to the silent server, and a promise of its close.
    const upstream: Promise<void>[] = [];
    let arrived: () => void = () => {};
    const allArrived = new Promise<void>((r) => { arrived = r; });
    const silent = net.createServer((c) => {
      upstream.push(new Promise((r) => c.on('close', () => r())));
      c.on('error', () => {});
      c.resume(); // reads, never answers
      if (upstream.length === 10) arrived();
    });
    const silentPort = await new Promise<number>((r) => silent.listen(0, '127.0.0.1', () => r((silent.address() as net.AddressInfo).port)));
    const clients = await Promise.all(Array.from({ length: 10 }, () => new Promise<net.Socket>((resolve) => {
      const c = net.connect(proxyPort, '127.0.0.1', () => {
        c.write(`GET http://127.0.0.1:${silentPort}/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
        resolve(c);
      });
      c.on('error', () => {});
    })));
    // Every upgrade is waiting on the silent server; then every client leaves.
    await allArrived;
    for (const c of clients) c.destroy();
    // The proxy must close each upstream connection: awaited, so a proxy that kept one open
    // fails on the test timeout rather than on a guess at how long closing takes.
    await Promise.all(upstream);
    silent.close();
    expect(upstream.length).toBe(10);
  });

  it('refuses an upgrade to a blocked site', async () => {
    const status = await new Promise<number>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: proxyPort, path: 'http://gambling.selftest.invalid/ws', headers: { Connection: 'Upgrade', Upgrade: 'websocket' } });
      req.on('response', (res) => resolve(res.statusCode!));
      req.on('upgrade', () => resolve(101));
      req.on('error', () => resolve(-1));
      req.end();
    });
    expect(status).toBe(403);
  });
});

describe('CONNECT tunnels', () => {
  it('tunnels TLS to an allowed host, with the SNI matching', async () => {
    const out = await curl(['-x', `http://127.0.0.1:${proxyPort}`, '--cacert', caFile, `https://localhost:${tlsPort}/`]);
    expect(out).toBe('secure hello');
  });

  it('refuses a tunnel to a blocked site before dialling', async () => {
    const out = await run('curl', ['-s', '-v', '--max-time', '10', '-x', `http://127.0.0.1:${proxyPort}`, 'https://gambling.selftest.invalid/'])
      .then((r) => r.stderr, (e: { stderr: string }) => e.stderr);
    expect(out).toMatch(/< HTTP\/1\.1 403/);
    expect(out).toMatch(/X-Schoolgate-Reason: KS2 pupils filter level: gambling is blocked/i);
  });

  it('refuses ports that are not allowed and bare IP tunnels for pupils', async () => {
    const port = await run('curl', ['-s', '-v', '--max-time', '10', '-x', `http://127.0.0.1:${proxyPort}`, 'https://localhost:8443/']).then((r) => r.stderr, (e: { stderr: string }) => e.stderr);
    expect(port).toMatch(/X-Schoolgate-Reason: port 8443 is not allowed/i);
    const ip = await run('curl', ['-s', '-v', '-k', '--max-time', '10', '-x', `http://127.0.0.1:${proxyPort}`, `https://127.0.0.1:${tlsPort}/`]).then((r) => r.stderr, (e: { stderr: string }) => e.stderr);
    expect(ip).toMatch(/X-Schoolgate-Reason: tunnels to bare IP addresses are blocked/i);
  });

  /** Opens a CONNECT tunnel and resolves with the raw socket after the 200. */
  function tunnel(authority: string): Promise<import('node:net').Socket> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: authority });
      req.on('connect', (res, socket) => (res.statusCode === 200 ? resolve(socket) : reject(new Error(`status ${res.statusCode}`))));
      req.on('error', reject);
      req.end();
    });
  }

  it('closes a tunnel whose TLS server name is not the CONNECT host (domain fronting)', async () => {
    const socket = await tunnel(`localhost:${tlsPort}`);
    const outcome = await new Promise<string>((resolve) => {
      const t = tls.connect({ socket, servername: 'gambling.selftest.invalid', ca: caPem, rejectUnauthorized: false });
      t.on('secureConnect', () => resolve('connected'));
      t.on('error', (e) => resolve(`error: ${e.message}`));
      t.on('close', () => resolve('closed'));
    });
    expect(outcome).not.toBe('connected');
  });

  it('closes a tunnel that does not start TLS, for pupils', async () => {
    const socket = await tunnel(`localhost:${tlsPort}`);
    const outcome = await new Promise<string>((resolve) => {
      socket.on('data', () => resolve('data'));
      socket.on('close', () => resolve('closed'));
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    });
    expect(outcome).toBe('closed');
  });
});
