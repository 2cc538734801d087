// Same-run A/B of two checkouts of Schoolgate: bench/proxy.ts's own Schoolgate child from each
// tree (AB_OLD, AB_NEW: their bench/proxy.ts), both pinned to core 0, the origin and this load
// generator on core 1, with short autocannon runs at AB_CONNS connections alternating between
// the two (the order flips each round), after one uncounted warm-up run each. Paired ratios,
// round by round, cancel most of a shared machine's drift; run it with both paths the same
// tree (an A/A) to see how much is left. Each tree needs the shared bench data beside it
// (../../shared/blocklists from its bench/ folder) and its node_modules.
//
//   AB_OLD=/tmp/ab/old/bench/proxy.ts AB_NEW=/tmp/ab/new/bench/proxy.ts node --import tsx bench/ab-trees.ts
//
// AB_ROUNDS (default 14), AB_AMOUNT (requests a run, default 8000), AB_CONNS (default 10),
// BENCH_PROFILE=DIR (a CPU profile of the new tree's process), AB_TRAFFIC=1 (both trees with their traffic log on), AB_MODE=connect (CONNECT tunnels as
// bench/proxy.ts makes them, AB_AMOUNT tunnels a run from AB_CONNS clients, full TLS handshakes;
// AB_RESUME=1 resumes the previous session instead), AB_TOGETHER=1 (both trees under load at
// once, each round: the machine's other work falls on both alike).
import { createRequire } from 'node:module';
import { BenchChild } from './child.js';
import { runTunnels } from './connect.js';

type Ready = { type: 'ready'; port: number; tlsPort?: number; caPem?: string; urls?: string[]; id?: undefined };
type Reply = { type: 'cpu'; id: number; usage: NodeJS.CpuUsage };
type Ask = { type: 'cpu'; id: number } | { type: 'close' };
interface AcRequest { path: string; headers: Record<string, string> }
interface AcResult { non2xx: number; errors: number; latency: { p50: number; p99: number } }
type Autocannon = (opts: object, cb: (err: Error | null, r: AcResult) => void) => unknown;

const env = (name: string, fallback: number): number => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const OLD = process.env.AB_OLD;
const NEW = process.env.AB_NEW;
if (!OLD || !NEW) throw new Error('set AB_OLD and AB_NEW to the two trees\' bench/proxy.ts');
const ROUNDS = env('AB_ROUNDS', 14);
const AMOUNT = env('AB_AMOUNT', 8000);
const CONNS = env('AB_CONNS', 10);
const CONNECT = process.env.AB_MODE === 'connect';
const TLS_NAME = 'secure.schoolgate-bench.example'; // bench/proxy.ts's
const what = CONNECT ? 'tunnel' : 'request';
const TOGETHER = process.env.AB_TOGETHER === '1';
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const origin = new BenchChild<Ask, Ready | Reply>('origin', [], { module: NEW, core: 1 });
const { tlsPort, caPem } = (await origin.start()) as Ready;
const schoolgate = (module: string, tag: string): BenchChild<Ask, Ready | Reply> =>
  new BenchChild('schoolgate', [String(origin.port), String(tlsPort), `/tmp/schoolgate-ab-${process.pid}-${tag}.log`, '1000', process.env.AB_TRAFFIC === '1' ? 'traffic' : 'none'], { module, core: 0, profile: tag === 'new' });
const trees = [['old', schoolgate(OLD, 'old')], ['new', schoolgate(NEW, 'new')]] as const;
const [ready] = await Promise.all(trees.map(([, c]) => c.start()));
const urls = (ready as Ready).urls ?? [];
const requests: AcRequest[] = urls.map((u) => ({ path: u, headers: { host: /^http:\/\/([^/]+)/.exec(u)![1]!, accept: 'text/html' } }));

/** One run: each connection starts at its own place in the URL list, as bench/proxy.ts does. */
async function run(port: number): Promise<AcResult> {
  if (CONNECT) {
    const r = await runTunnels({ proxyPort: port, name: TLS_NAME, tlsPort: tlsPort!, caPem: caPem! }, CONNS, AMOUNT, 600, process.env.AB_RESUME === '1');
    const sorted = [...r.latencies].sort((a, b) => a - b);
    const at = (q: number): number => Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(2));
    return { non2xx: [...r.failures.values()].reduce((a, b) => a + b, 0), errors: 0, latency: { p50: at(0.5), p99: at(0.99) } };
  }
  let k = 0;
  const stride = Math.max(1, Math.floor(requests.length / CONNS));
  const setupClient = (c: { setRequests(r: AcRequest[]): void }): void => {
    const off = (k++ * stride) % requests.length;
    c.setRequests([...requests.slice(off), ...requests.slice(0, off)]);
  };
  return new Promise((res, rej) => {
    autocannon({ url: `http://127.0.0.1:${port}`, connections: CONNS, pipelining: 1, amount: AMOUNT, requests, setupClient }, (err, r) => (err ? rej(err) : res(r)));
  });
}

for (const [, c] of trees) await run(c.port); // warm-up: JIT and upstream pools
const rows = { old: [] as { rps: number; cpu: number }[], new: [] as { rps: number; cpu: number }[] };
/** One tree's run, timed and its CPU taken around it. */
async function measure(tree: 'old' | 'new', child: (typeof trees)[number][1], round: number): Promise<void> {
  const c0 = await child.cpu();
  const t0 = performance.now();
  const r = await run(child.port);
  const rps = AMOUNT / ((performance.now() - t0) / 1000);
  const cpu = ((await child.cpu()) - c0) / AMOUNT;
  rows[tree].push({ rps, cpu });
  console.log(`round ${round} ${tree}: ${Math.round(rps)} ${what}s/s, proxy CPU ${cpu.toFixed(0)} µs a ${what}, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non-2xx + errors ${r.non2xx + r.errors}`);
}
for (let i = 0; i < ROUNDS; i++) {
  // AB_TOGETHER=1: both trees loaded at the same time, so whatever else the machine does falls
  // on both alike (they share core 0); their requests/s then halve, their CPU a request is what counts.
  if (TOGETHER) await Promise.all(trees.map(([tree, child]) => measure(tree, child, i + 1)));
  else for (const [tree, child] of i % 2 === 0 ? trees : [...trees].reverse()) await measure(tree, child, i + 1);
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
for (const k of ['rps', 'cpu'] as const) {
  const paired = rows.new.map((r, i) => r[k] / rows.old[i]![k]);
  const label = k === 'rps' ? `${what}s/s` : `proxy CPU µs a ${what}`;
  console.log(`${label}: median old ${median(rows.old.map((r) => r[k])).toFixed(0)}, new ${median(rows.new.map((r) => r[k])).toFixed(0)}; new/old paired by round, median ${median(paired).toFixed(3)} (${paired.map((x) => x.toFixed(2)).join(' ')})`);
}
await Promise.all([...trees.map(([, c]) => c.close()), origin.close()]);
