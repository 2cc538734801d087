// proxy.workers benchmark: requests/s through the real `schoolgate start` (traffic log on, as it
// always is there) with `workers: 1` and with `workers: 2`, both running, measured in the same
// run in alternating rounds, against an origin in a child process of its own; the ratio is what counts
// on this shared, noisy machine. Nothing is pinned: the workers need both cores, which they share
// with the load generator (this process, autocannon) and the origin, so the ratio here is a
// floor, not what a machine with cores to spare for the proxy would give.
//
//   node --import tsx bench/workers.ts
//
// Environment: BENCH_WORKERS (the counts compared, default "1,2"), BENCH_CONNECTIONS (default 50),
// BENCH_SECONDS (a round, default 5), BENCH_ROUNDS (rounds of each, default 8; best and median
// reported), BENCH_HOSTS (distinct site names, default 50, 20 paths each).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { stringify as stringifyYaml } from 'yaml';
import { benchConfig, codeVersion, fmt, requireShared, table } from './lib.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), '..');
const BODY = Buffer.from('x'.repeat(1023) + '\n'); // 1 KiB

interface AcRequest { path?: string; headers?: Record<string, string> }
interface AcResult { requests: { average: number }; errors: number; timeouts: number; non2xx: number; '2xx': number; duration: number }
interface AcOptions {
  url: string; connections: number; duration: number; requests: AcRequest[];
  setupClient?: (client: { setRequests(r: AcRequest[]): void }) => void;
}
type Autocannon = (opts: AcOptions, cb: (err: Error | null, r: AcResult) => void) => unknown;

/** Each connection starts at its own place in the list (autocannon starts them all at the first). */
function spread(requests: AcRequest[], connections: number): AcOptions['setupClient'] {
  let k = 0;
  const stride = Math.max(1, Math.floor(requests.length / connections));
  return (client) => {
    const off = (k++ * stride) % requests.length;
    client.setRequests([...requests.slice(off), ...requests.slice(0, off)]);
  };
}

const env = (name: string, fallback: string): string => process.env[name] ?? fallback;

/** The origin: a keep-alive node:http server answering 1 KiB, in a process of its own. */
function origin(): void {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': BODY.length });
    res.end(BODY);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.on('disconnect', () => process.exit(0));
}

function startOrigin(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, 'origin'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((res, rej) => {
    child.once('message', (m: { port: number }) => res({ child, port: m.port }));
    child.once('exit', (code) => rej(new Error(`the origin exited (${code})`)));
  });
}

interface Running { readonly child: ChildProcess; readonly port: number; stop(): Promise<void> }

/** Resident memory (MiB) of a process and of each of its children: Linux /proc. */
function treeRssMiB(pid: number): { primary: number; workers: number[] } {
  const rss = (p: string): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const workers: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) workers.push(rss(name));
    } catch {
      // gone meanwhile
    }
  }
  return { primary: rss(String(pid)), workers };
}

/** CPU ms (user + system) of a process and its children (the workers, whose threads included): Linux /proc. */
function treeCpuMs(pid: number, childrenToo = true): number {
  const ticks = (stat: string): { ppid: number; cpu: number } => {
    // Fields after the command's closing parenthesis: state ppid … utime(14) stime(15).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), cpu: Number(f[11]) + Number(f[12]) };
  };
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const t = ticks(readFileSync(`/proc/${name}/stat`, 'utf8'));
      if (Number(name) === pid || (childrenToo && t.ppid === pid)) total += t.cpu;
    } catch {
      // gone meanwhile
    }
  }
  return total * 10; // USER_HZ is 100 on Linux
}

/** `schoolgate start` with this many workers, every name sent to the origin's address; any admin port. */
async function startSchoolgate(dir: string, workers: number): Promise<Running> {
  const doc = benchConfig();
  // All the load comes from one address, as from behind NAT: its share of a site is raised (429s otherwise).
  doc.proxy = { workers, networks: [{ cidr: '127.0.0.0/8', group: 'ks2' }], resolve: { '*': '127.0.0.1' }, limits: { upstreamPerClient: 128 } };
  doc.admin = { ...(doc.admin ?? {}), port: 0 };
  const file = join(dir, `config-${workers}.yaml`);
  writeFileSync(file, stringifyYaml(doc));
  const child = spawn(process.execPath, [join(ROOT, 'bin/schoolgate.js'), 'start', '--config', file, '--data', join(dir, `data-${workers}`), '--port', '0'], {
    env: { ...process.env, SCHOOLGATE_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const port = await new Promise<number>((res, rej) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+),"workers":\d+,"msg":"Schoolgate is running"/.exec(out);
      if (m) res(Number(m[1]));
      // Only the start is read; the rest is let through unread.
      if (out.length > 1_000_000) out = out.slice(-10_000);
    });
    child.once('exit', (code) => rej(new Error(`schoolgate exited (${code})\n${out}`)));
  });
  return {
    child, port,
    stop: () => new Promise((res) => {
      child.once('exit', () => res());
      child.kill('SIGTERM');
    }),
  };
}

async function main(): Promise<void> {
  requireShared();
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const counts = env('BENCH_WORKERS', '1,2').split(',').map(Number);
  const connections = Number(env('BENCH_CONNECTIONS', '50'));
  const seconds = Number(env('BENCH_SECONDS', '5'));
  const rounds = Number(env('BENCH_ROUNDS', '8'));
  const hosts = Number(env('BENCH_HOSTS', '50'));
  const dir = mkdtempSync(join(os.tmpdir(), 'schoolgate-bench-workers-'));
  const started = Date.now();
  const loadBefore = os.loadavg();
  const o = await startOrigin();
  // Names in no list (allowed for KS2), each with 20 paths: classified, decided, logged, relayed.
  const requests: AcRequest[] = [];
  for (let h = 0; h < hosts; h++) {
    for (let p = 0; p < 20; p++) requests.push({ path: `http://www.site-${h}.example:${o.port}/page-${p}?n=${h * 20 + p}`, headers: { host: `www.site-${h}.example:${o.port}`, accept: 'text/html' } });
  }
  const results = new Map<number, number[]>(counts.map((c) => [c, []]));
  // CPU (all of Schoolgate's processes) a request: what the primary's relaying adds, whatever the load.
  const cpu = new Map<number, number[]>(counts.map((c) => [c, []]));
  // Of which the primary process (with one worker, the one process; with more, the relaying and the traffic writer).
  const primaryCpu = new Map<number, number[]>(counts.map((c) => [c, []]));
  const problems: string[] = [];
  // Both started once, before any round, each with a data folder of its own; rounds alternate
  // between them back to back, so each pair meets the machine in much the same state.
  const running = new Map<number, Running>();
  const memory = new Map<number, { primary: number; workers: number[] }>();
  try {
    for (const workers of counts) running.set(workers, await startSchoolgate(dir, workers));
    const load = (workers: number, duration: number): Promise<AcResult> => new Promise((res, rej) => {
      const url = `http://127.0.0.1:${running.get(workers)!.port}`;
      autocannon({ url, connections, duration, requests, setupClient: spread(requests, connections) }, (err, r) => (err ? rej(err) : res(r)));
    });
    // A warm-up of each (JIT, upstream pools), not counted.
    for (const workers of counts) await load(workers, 3);
    for (let round = 0; round < rounds; round++) {
      for (const workers of counts) {
        const pid = running.get(workers)!.child.pid!;
        const cpuBefore = treeCpuMs(pid);
        const primaryBefore = treeCpuMs(pid, false);
        const r = await load(workers, seconds);
        const cpuUs = ((treeCpuMs(pid) - cpuBefore) * 1000) / Math.max(1, r['2xx']);
        primaryCpu.get(workers)!.push(((treeCpuMs(pid, false) - primaryBefore) * 1000) / Math.max(1, r['2xx']));
        const rps = r['2xx'] / r.duration;
        results.get(workers)!.push(rps);
        cpu.get(workers)!.push(cpuUs);
        if (r.errors + r.timeouts + r.non2xx > 0) problems.push(`workers ${workers}, round ${round + 1}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`);
        console.error(`round ${round + 1}, workers ${workers}: ${fmt(rps)} requests/s, ${fmt(cpuUs)} µs of Schoolgate CPU a request; load ${fmt(os.loadavg()[0]!, 1)}`);
      }
    }
    for (const [workers, sg] of running) memory.set(workers, treeRssMiB(sg.child.pid!));
  } finally {
    for (const sg of running.values()) await sg.stop();
    o.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = results.get(counts[0]!)!;
  const cores = os.cpus();
  console.log(`\nproxy.workers benchmark: node ${process.version}, ${cores.length} × ${cores[0]?.model ?? '?'}; ${new Date().toISOString()}; code ${codeVersion()}`);
  console.log(`Load average (1/5/15 min) ${loadBefore.map((x) => fmt(x, 2)).join(' / ')} before, ${os.loadavg().map((x) => fmt(x, 2)).join(' / ')} after; ${Math.round((Date.now() - started) / 1000)} s in all.`);
  console.log(`${connections} connections, ${seconds} s a round, ${rounds} rounds each, alternating; ${requests.length} URLs on ${hosts} names; traffic log on; nothing pinned.\n`);
  console.log(table([
    ['workers', 'requests/s by round', 'median', 'best', '÷ first, round by round', 'median ÷ first', 'best ÷ first', 'CPU µs a request (median)', 'of which the primary'],
    ...counts.map((c) => {
      const xs = results.get(c)!;
      // Each round's pair ran back to back, so its ratio is the least disturbed by the machine's drift.
      const paired = xs.map((x, i) => fmt(x / base[i]!, 2)).join(', ');
      return [c, xs.map((x) => fmt(x)).join(', '), fmt(median(xs)), fmt(Math.max(...xs)), paired, fmt(median(xs) / median(base), 2), fmt(Math.max(...xs) / Math.max(...base), 2), fmt(median(cpu.get(c)!)), fmt(median(primaryCpu.get(c)!))];
    }),
  ]));
  for (const [workers, m] of memory) console.log(`\nworkers ${workers}: resident memory after the rounds: primary ${fmt(m.primary)} MiB${m.workers.length > 0 ? `, workers ${m.workers.map((w) => fmt(w)).join(' + ')} MiB` : ''}.`);
  if (problems.length > 0) console.log(`\nNot all answers were 2xx:\n${problems.join('\n')}`);
}

if (process.argv[2] === 'origin') origin();
else await main();
