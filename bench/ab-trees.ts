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
// AB_ROUNDS (default 14), AB_AMOUNT (requests a run, default 8000), AB_CONNS (default 10).
import { createRequire } from 'node:module';
import { BenchChild } from './child.js';

type Ready = { type: 'ready'; port: number; tlsPort?: number; urls?: string[]; id?: undefined };
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
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const origin = new BenchChild<Ask, Ready | Reply>('origin', [], { module: NEW, core: 1 });
const { tlsPort } = (await origin.start()) as Ready;
const schoolgate = (module: string, tag: string): BenchChild<Ask, Ready | Reply> =>
  new BenchChild('schoolgate', [String(origin.port), String(tlsPort), `/tmp/schoolgate-ab-${process.pid}-${tag}.log`, '1000', 'none'], { module, core: 0 });
const trees = [['old', schoolgate(OLD, 'old')], ['new', schoolgate(NEW, 'new')]] as const;
const [ready] = await Promise.all(trees.map(([, c]) => c.start()));
const urls = (ready as Ready).urls ?? [];
const requests: AcRequest[] = urls.map((u) => ({ path: u, headers: { host: /^http:\/\/([^/]+)/.exec(u)![1]!, accept: 'text/html' } }));

/** One run: each connection starts at its own place in the URL list, as bench/proxy.ts does. */
function run(port: number): Promise<AcResult> {
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
for (let i = 0; i < ROUNDS; i++) {
  for (const [tree, child] of i % 2 === 0 ? trees : [...trees].reverse()) {
    const c0 = await child.cpu();
    const t0 = performance.now();
    const r = await run(child.port);
    const rps = AMOUNT / ((performance.now() - t0) / 1000);
    const cpu = ((await child.cpu()) - c0) / AMOUNT;
    rows[tree].push({ rps, cpu });
    console.log(`round ${i + 1} ${tree}: ${Math.round(rps)} req/s, proxy CPU ${cpu.toFixed(0)} µs a request, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non-2xx + errors ${r.non2xx + r.errors}`);
  }
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
for (const k of ['rps', 'cpu'] as const) {
  const paired = rows.new.map((r, i) => r[k] / rows.old[i]![k]);
  const what = k === 'rps' ? 'req/s' : 'proxy CPU µs a request';
  console.log(`${what}: median old ${median(rows.old.map((r) => r[k])).toFixed(0)}, new ${median(rows.new.map((r) => r[k])).toFixed(0)}; new/old paired by round, median ${median(paired).toFixed(3)} (${paired.map((x) => x.toFixed(2)).join(' ')})`);
}
await Promise.all([...trees.map(([, c]) => c.close()), origin.close()]);
