// The proxy writes the traffic log: one row per request and per tunnel, with who, what, what
// the filter did, the status, bytes and time, into a real SQLite file through the writer thread.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { Proxy } from '../../src/proxy/server.js';
import { openDatabase } from '../../src/store/db.js';
import { TrafficLog } from '../../src/store/traffic-log.js';
import { tempDir } from '../helpers/lists.js';
import { lastTrafficRows, loggedRow, type TrafficRow } from '../helpers/traffic-rows.js';
import { closeAll, startOrigin, startProxy, startTlsOrigin, viaProxy } from '../helpers/proxy.js';

const tmp = tempDir();
const dataDir = join(tmp.dir, 'store');
let origin: http.Server;
let tlsOrigin: http.Server;
let originPort = 0;
let tlsPort = 0;
let proxy: Proxy;
let proxyPort = 0;
let traffic: TrafficLog;

beforeAll(async () => {
  ({ server: origin, port: originPort } = await startOrigin());
  ({ server: tlsOrigin, port: tlsPort } = await startTlsOrigin());
  openDatabase(dataDir).close();
  const yaml = `proxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n    - { cidr: 127.0.1.0/24, group: staff }\n  connectPorts: [443, ${tlsPort}]\n  resolve:\n    "*.test": 127.0.0.1\n    www.google.com: 127.0.0.1\n    "*.selftest.invalid": 127.0.0.1\n`;
  const started = await startProxy(tmp.dir, yaml, undefined, {
    traffic: (traffic = await TrafficLog.open({ dataDir, timeZone: 'Europe/London', config: { queries: new Map([['staff', 'redact']]), batchRows: 100, flushMs: 20, maxPendingRows: 10_000 }, retention: { traffic: 90, reports: 730, alerts: 2557, concerns: 2557 }, log: createLogger({ level: 'silent' }) })),
  });
  ({ proxy, port: proxyPort } = started);
});

afterAll(async () => {
  await closeAll(origin, tlsOrigin, proxy);
  await traffic.close();
  tmp.cleanup();
});

function get(url: string, localAddress = '127.0.0.1') {
  return viaProxy(proxyPort, url, { localAddress, accept: '*/*' });
}

/** CONNECT, then (if established and asked) a real TLS handshake through the tunnel; then close. */
function tunnel(host: string, port: number, handshake: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: proxyPort, host: '127.0.0.1' }, () => s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
    s.once('data', (d) => {
      const first = d.toString('latin1').split('\r\n')[0]!;
      if (!handshake || !first.includes(' 200 ')) {
        s.destroy();
        return resolve(first);
      }
      const secure = tls.connect({ socket: s, servername: host, rejectUnauthorized: false }, () => {
        secure.destroy();
        resolve(first);
      });
      secure.on('error', reject);
    });
    s.on('error', reject);
  });
}

const lastRows = (n: number): Promise<TrafficRow[]> => lastTrafficRows(traffic, dataDir, n);

describe('the traffic log, written by the proxy', () => {
  it('records an allowed request with its status, bytes and search term', async () => {
    const a = await get(`http://www.google.com:${originPort}/search?q=volcano+facts&hl=en`);
    expect(a.status).toBe(200);
    const [row] = await lastRows(1);
    expect(row).toMatchObject({ client: '127.0.0.1', person: null, grp: 'ks2', method: 'GET', scheme: 0, host: 'www.google.com', action: 0, status: 200, term: 'volcano facts' });
    expect(row!.down).toBeGreaterThan(a.body.length);
    expect(row!.up).toBeGreaterThan(0);
  });

  it('records a blocked request with the categories and the rule that won', async () => {
    expect((await get('http://gambling.selftest.invalid/odds?team=x')).status).toBe(403);
    const [row] = await lastRows(1);
    expect(row).toMatchObject({ host: 'gambling.selftest.invalid', path: '/odds?team=x', cats: 'gambling', action: 2, rule_kind: 6, status: 403 });
    expect(row!.rule).toMatch(/gambling/);
  });

  it('redacts the query for staff, keeping the path', async () => {
    await get(`http://news.test:${originPort}/article?id=42&token=secret`, '127.0.1.9');
    const [row] = await lastRows(1);
    expect(row).toMatchObject({ client: '127.0.1.9', grp: 'staff', path: '/article?[redacted]', term: null });
  });

  it('records an illegal-list block for everyone', async () => {
    await get('http://iwf.selftest.invalid/x', '127.0.1.9');
    const [row] = await lastRows(1);
    expect(row).toMatchObject({ grp: 'staff', action: 2, rule_kind: 1, cats: 'iwf' });
  });

  it('records a tunnel when it closes, with the bytes each way, and a refused one at once', async () => {
    expect(await tunnel('games.selftest.invalid', tlsPort, false)).toBe('HTTP/1.1 403 Forbidden');
    expect(await tunnel('tls.test', 9, false)).toBe('HTTP/1.1 403 Forbidden');
    expect(await tunnel('tls.test', tlsPort, true)).toBe('HTTP/1.1 200 Connection Established');
    // The row is written when the proxy sees the tunnel's client side close.
    await loggedRow(traffic, dataDir, (r) => r.host === 'tls.test' && r.status === 200);
    const [games, port, joined] = await lastRows(3);
    expect(games).toMatchObject({ method: 'CONNECT', scheme: 1, host: 'games.selftest.invalid', path: null, cats: 'games', action: 2, status: 403 });
    expect(port).toMatchObject({ host: 'tls.test', action: 4, rule_kind: 7, rule: 'port 9 is not allowed for tunnels', status: 403 });
    expect(joined).toMatchObject({ host: 'tls.test', action: 0, status: 200 });
    expect(joined!.up).toBeGreaterThan(100);
    expect(joined!.down).toBeGreaterThan(100);
  });
});
