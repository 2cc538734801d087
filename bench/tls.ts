// TLS certificate benchmark (`npm run bench:tls`): what HTTPS inspection pays for certificates.
//   (a) signing a leaf with node-forge's own RSA (forge.pki cert.sign): the thing mintLeaf avoids
//   (b) mintLeaf: forge encodes, Node's crypto signs on the thread pool; wall time a mint and
//       the event loop's busy time a mint (what other connections wait for)
//   (c) tls.createSecureContext for a minted leaf: what the CertificateCache saves a handshake
//   (d) full TLS handshakes a second on loopback with a cached context, P-256 leaf (ours) against
//       an RSA-2048 leaf, alternating rounds in the same run, with the server's CPU a handshake
// The machine is shared and noisy: compare the ratios within a run, not runs with each other.
// A server process (core 0) serves the handshakes; this process (core 1) runs the clients
// (taskset; BENCH_PIN=0 turns pinning off). Environment: BENCH_FORGE (forge signs, default 8),
// BENCH_MINTS (default 300), BENCH_CONTEXTS (default 300), BENCH_SECONDS (a handshake round,
// default 2), BENCH_ROUNDS (rounds of each leaf, default 3), BENCH_CLIENTS (concurrent
// handshaking clients, default 16).
import { fork, type ChildProcess } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import forge from 'node-forge';
import { initCa, loadCa, type SchoolCa } from '../src/tls/ca.js';
import { CertificateCache } from '../src/tls/cert-cache.js';
import { certNameFor } from '../src/tls/cert-name.js';
import { mintLeaf } from '../src/tls/mint.js';
import { pin } from './child.js';
import { codeVersion, fmt, table } from './lib.js';

const SELF = fileURLToPath(import.meta.url);
const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const FORGE = env('BENCH_FORGE', 8);
const MINTS = env('BENCH_MINTS', 300);
const CONTEXTS = env('BENCH_CONTEXTS', 300);
const SECONDS = env('BENCH_SECONDS', 2);
const ROUNDS = env('BENCH_ROUNDS', 3);
const CLIENTS = env('BENCH_CLIENTS', 16);
const HOST = 'www.example.com';

/** p50 and p99 of a list of milliseconds. */
function quantiles(ms: number[]): { p50: number; p99: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

/** The CA with its P-256 leaf key swapped for an RSA-2048 one: the comparison for (d). */
function withRsaLeaf(ca: SchoolCa): SchoolCa {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...ca, leafKey: privateKey, leafKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), leafPublicDer: createPublicKey(privateKey).export({ type: 'spki', format: 'der' }) };
}

// --- the handshake server (a child process) -------------------------------------------------

async function serve(dataDir: string): Promise<void> {
  const ca = loadCa(dataDir)!;
  const caches = { p256: new CertificateCache(ca), rsa: new CertificateCache(withRsaLeaf(ca)) };
  const servers: Record<string, number> = {};
  for (const [kind, cache] of Object.entries(caches)) {
    await cache.context(HOST); // cached before the clock starts: the hot path is measured
    const server = net.createServer((raw) => {
      const socket = new tls.TLSSocket(raw, {
        isServer: true,
        SNICallback: (name, done) => {
          const c = cache.context(name);
          if (c instanceof Promise) c.then((ctx) => done(null, ctx), done);
          else done(null, c);
        },
      });
      socket.on('secure', () => socket.end());
      socket.on('error', () => raw.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers[kind] = (server.address() as AddressInfo).port;
  }
  process.on('message', (m: { type: string }) => {
    if (m.type === 'usage') process.send!({ type: 'usage', cpu: process.cpuUsage() });
  });
  process.send!({ type: 'ready', servers, rootPem: ca.certPem });
}

// --- the measuring process ------------------------------------------------------------------

async function forgeSign(ca: SchoolCa): Promise<number[]> {
  const key = forge.pki.privateKeyFromPem(ca.key.export({ type: 'pkcs1', format: 'pem' }).toString());
  const pub = forge.pki.publicKeyFromPem(createPublicKey(ca.key).export({ type: 'spki', format: 'pem' }).toString());
  const times: number[] = [];
  for (let i = 0; i < FORGE; i++) {
    const cert = forge.pki.createCertificate();
    cert.publicKey = pub;
    cert.serialNumber = `01${i.toString(16).padStart(4, '0')}`;
    cert.validity.notBefore = new Date();
    cert.validity.notAfter = new Date(Date.now() + 7 * 86_400_000);
    cert.setSubject([{ name: 'commonName', value: HOST }]);
    cert.setIssuer([{ name: 'commonName', value: 'bench root' }]);
    cert.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 2, value: HOST }] }, { name: 'extKeyUsage', serverAuth: true }]);
    const t0 = performance.now();
    cert.sign(key, forge.md.sha256.create());
    times.push(performance.now() - t0);
  }
  return times;
}

async function mints(ca: SchoolCa): Promise<{ times: number[]; loopMs: number }> {
  const name = certNameFor(HOST);
  for (let i = 0; i < 20; i++) await mintLeaf(ca, name); // warm-up
  const times: number[] = [];
  const elu0 = performance.eventLoopUtilization();
  for (let i = 0; i < MINTS; i++) {
    const t0 = performance.now();
    await mintLeaf(ca, name);
    times.push(performance.now() - t0);
  }
  const elu = performance.eventLoopUtilization(elu0);
  return { times, loopMs: elu.active / MINTS };
}

async function contexts(ca: SchoolCa): Promise<number[]> {
  const leaf = await mintLeaf(ca, certNameFor(HOST));
  const times: number[] = [];
  for (let i = 0; i < CONTEXTS + 20; i++) {
    const t0 = performance.now();
    tls.createSecureContext({ key: ca.leafKeyPem, cert: leaf.certPem });
    if (i >= 20) times.push(performance.now() - t0);
  }
  return times;
}

/** Full handshakes (no resumption) by CLIENTS loops for SECONDS against `port`. */
async function handshakeRound(port: number, rootPem: string): Promise<{ count: number; ms: number; failed: number }> {
  let count = 0;
  let failed = 0;
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      await new Promise<void>((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port, servername: HOST, ca: rootPem });
        s.once('secureConnect', () => (count++, s.destroy(), resolve()));
        s.once('error', () => (failed++, s.destroy(), resolve()));
      });
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, loop));
  return { count, ms: performance.now() - t0, failed };
}

function ask<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { type: string }): void => {
      if (m.type === type) (child.off('message', on), resolve(m as T));
    };
    child.on('message', on);
    if (type !== 'ready') child.send({ type });
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'schoolgate-bench-tls-'));
  let child: ChildProcess | undefined;
  try {
    const ca = initCa(join(dir, 'data'), { schoolName: 'Bench School' });
    const started = new Date();
    console.log(`TLS certificate benchmark, ${started.toISOString()}, Node ${process.version}, code ${codeVersion()}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

    const forgeMs = quantiles(await forgeSign(ca));
    const mint = await mints(ca);
    const mintMs = quantiles(mint.times);
    const contextMs = quantiles(await contexts(ca));
    console.log('');
    console.log(table([
      ['', 'p50 ms', 'p99 ms', 'n'],
      ['(a) forge RSA sign (leaf)', fmt(forgeMs.p50, 2), fmt(forgeMs.p99, 2), FORGE],
      ['(b) mintLeaf (wall)', fmt(mintMs.p50, 3), fmt(mintMs.p99, 3), MINTS],
      ['(c) tls.createSecureContext', fmt(contextMs.p50, 3), fmt(contextMs.p99, 3), CONTEXTS],
    ]));
    console.log(`mintLeaf keeps the event loop busy ${fmt(mint.loopMs, 3)} ms a mint (the rest is the signature on the thread pool)`);
    console.log(`forge sign / mintLeaf, p50: ${fmt(forgeMs.p50 / mintMs.p50, 1)}×; forge sign / mintLeaf's event-loop time: ${fmt(forgeMs.p50 / mint.loopMs, 0)}×`);

    child = fork(SELF, ['serve', join(dir, 'data')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await ask<{ servers: Record<string, number>; rootPem: string }>(child, 'ready');
    const pinned = pin(child.pid!, 0) && pin(process.pid, 1);
    const rows: (string | number)[][] = [['round', 'leaf', 'handshakes/s', 'server CPU µs/handshake', 'failed']];
    const best: Record<string, { rate: number; cpu: number }> = { p256: { rate: 0, cpu: Infinity }, rsa: { rate: 0, cpu: Infinity } };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const kind of round % 2 === 1 ? ['p256', 'rsa'] : ['rsa', 'p256']) {
        const before = await ask<{ cpu: NodeJS.CpuUsage }>(child, 'usage');
        const r = await handshakeRound(ready.servers[kind]!, ready.rootPem);
        const after = await ask<{ cpu: NodeJS.CpuUsage }>(child, 'usage');
        // Counted by the clients: a client that closes straight after its Finished can leave the
        // server no time to report its own 'secure'.
        const cpu = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / Math.max(1, r.count);
        const rate = (r.count / r.ms) * 1000;
        best[kind] = { rate: Math.max(best[kind]!.rate, rate), cpu: Math.min(best[kind]!.cpu, cpu) };
        rows.push([round, kind === 'p256' ? 'P-256' : 'RSA-2048', fmt(rate), fmt(cpu), r.failed]);
      }
    }
    console.log('');
    console.log(`Full handshakes (TLS 1.3, no resumption), ${CLIENTS} clients, ${SECONDS} s a round, cached context; server ${pinned ? 'on core 0, clients on core 1' : 'not pinned'}:`);
    console.log(table(rows));
    console.log(`P-256 / RSA-2048: best handshakes/s ${fmt(best.p256!.rate / best.rsa!.rate, 2)}×; server CPU a handshake ${fmt(best.rsa!.cpu / best.p256!.cpu, 2)}× less with P-256`);
    console.log(`a createSecureContext (c) costs as much server time as ${fmt((contextMs.p50 * 1000) / best.p256!.cpu, 1)} cached P-256 handshakes`);
  } finally {
    child?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3]!);
else await main();

