// A Schoolgate proxy in-process, on the shipped configuration plus test settings, and local
// origin servers (plain and TLS) to reach through it.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { loadLists } from '../../src/lists/load.js';
import { createLogger } from '../../src/log.js';
import type { Authenticator } from '../../src/identity/auth.js';
import { createProxyServer, type Proxy, type ProxyDeps } from '../../src/proxy/server.js';
import { makeCa, makeServerCert } from './list-server.js';
import { AlertService } from '../../src/alerts/service.js';
import { openDatabase } from '../../src/store/db.js';
import { TrafficLog } from '../../src/store/traffic-log.js';
import { CONFIG_DIR } from './policy.js';

export async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

export async function closeAll(...servers: (http.Server | Proxy)[]): Promise<void> {
  for (const x of servers) {
    const s = 'destroyTunnels' in x ? x.server : x;
    if ('destroyTunnels' in x) x.destroyTunnels();
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
}

/** Writes the shipped config.yaml with paths made absolute, plus `extra` YAML appended; returns its path. */
export function writeTestConfig(dir: string, extra: string): string {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  // The shipped proxy section is replaced by the test's own.
  const shipped = readFileSync(join(CONFIG_DIR, 'default.yaml'), 'utf8').replace(/\n# Where Schoolgate listens[\s\S]*$/, '\n');
  // So is any other top-level section the test brings its own of.
  let base = shipped;
  for (const [, key] of extra.matchAll(/^([a-z]+):/gm)) base = base.replace(new RegExp(`^${key}:\\n(?:(?: .*)?\\n)*`, 'm'), '');
  writeFileSync(file, base
    .replace(/^categories: categories\.yaml$/m, `categories: ${CONFIG_DIR}/categories.yaml`)
    .replace(/^  engines: search-engines\.yaml$/m, `  engines: ${CONFIG_DIR}/search-engines.yaml`)
    .replace(/^  neverIntercept: no-intercept\.yaml$/m, `  neverIntercept: ${CONFIG_DIR}/no-intercept.yaml`)
    // Any free port for the staff app: test files run side by side.
    .replace(/^  port: 8081$/m, '  port: 0')
    .replace(/^    - phrases\//gm, `    - ${CONFIG_DIR}/phrases/`)
    .replace(/\bfile: search-model\.json\b/, `file: ${CONFIG_DIR}/search-model.json`)
    .replace(/\bfile: post-model\.json\b/, `file: ${CONFIG_DIR}/post-model.json`)
    .replace(/path: \.\.\/blocklists/g, `path: ${CONFIG_DIR}/../blocklists`) + extra);
  return file;
}

/** An in-process proxy on the shipped configuration plus `extra` YAML. */
export async function startProxy(dir: string, extra: string, auth?: Authenticator, more: Pick<ProxyDeps, 'concerns' | 'traffic' | 'alerts' | 'tls'> & { log?: ProxyDeps['log'] } = {}): Promise<{ proxy: Proxy; port: number; config: SchoolgateConfig }> {
  const config = loadConfig(writeTestConfig(dir, extra));
  const { classifier } = await loadLists(config, { dataDir: join(dir, 'data') });
  const proxy = createProxyServer({ source: { classifier, config }, log: createLogger({ level: 'silent' }), ...(auth ? { auth } : {}), ...more });
  return { proxy, config, port: await listen(proxy.server) };
}

export interface RecordingProxy {
  readonly proxy: Proxy;
  readonly port: number;
  readonly config: SchoolgateConfig;
  /** Alerts raised, stored in `dir`/data/alerts.db. */
  readonly alerts: AlertService;
  /** The traffic log, in `dir`/data/schoolgate.db (read it with lastTrafficRows). */
  readonly traffic: TrafficLog;
  close(): Promise<void>;
}

/** An in-process proxy as `start` wires it for recording: alerts and the traffic log in `dir`/data. */
export async function startRecordingProxy(dir: string, extra: string, more: Pick<ProxyDeps, 'tls'> & { log?: ProxyDeps['log'] } = {}): Promise<RecordingProxy> {
  const dataDir = join(dir, 'data');
  const config = loadConfig(writeTestConfig(dir, extra));
  const silent = createLogger({ level: 'silent' });
  const alerts = await AlertService.start({ dataDir, config: () => config, log: silent });
  openDatabase(dataDir).close();
  const traffic = await TrafficLog.open({ dataDir, timeZone: 'Europe/London', config: config.log, retention: config.retention, log: silent });
  const { proxy, port } = await startProxy(dir, extra, undefined, { alerts, traffic, ...more });
  return {
    proxy, port, config, alerts, traffic,
    close: async () => {
      await closeAll(proxy);
      await alerts.close();
      await traffic.close();
    },
  };
}

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly sha: string;
}

/** A plain origin that records each request (and its body's SHA-256) and answers "hello METHOD URL". */
export async function startOrigin(): Promise<{ server: http.Server; port: number; seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const hash = createHash('sha256');
    req.on('data', (d: Buffer) => hash.update(d));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, sha: hash.digest('hex') });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', connection: 'keep-alive', 'x-origin': 'yes' });
      res.end(req.url === '/page' ? '<!doctype html><title>Origin</title><p id="hello">hello from the origin</p>' : `hello ${req.method} ${req.url}`);
    });
  });
  return { server, seen, port: await listen(server) };
}

/** A TLS origin for localhost, with the CA that signed it. */
export async function startTlsOrigin(): Promise<{ server: https.Server; port: number; caPem: string }> {
  const ca = makeCa('Schoolgate test CA');
  const cert = makeServerCert(ca);
  const server = https.createServer({ key: cert.keyPem, cert: cert.certPem }, (_req, res) => res.end('secure hello'));
  return { server, caPem: ca.certPem, port: await listen(server) };
}

export interface ProxiedAnswer { readonly status: number; readonly headers: http.IncomingHttpHeaders; readonly body: string }

/** An absolute-form request through the proxy, from `localAddress` (any 127.x address) if given. */
export function viaProxy(proxyPort: number, url: string, options: { method?: string; body?: string; localAddress?: string; accept?: string } = {}): Promise<ProxiedAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: options.accept ?? 'text/html' };
    if (options.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const req = http.request({ host: '127.0.0.1', port: proxyPort, path: url, method: options.method ?? 'GET', headers, agent: false, ...(options.localAddress ? { localAddress: options.localAddress } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
