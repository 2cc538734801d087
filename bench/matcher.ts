// Matcher benchmark: our domain/URL matcher against the naive Map-of-strings baseline, both
// built from the full shared bench set (1.7 M domains, 43 k URLs) and run over the shared
// 200,000-URL traffic sample, in the same process so the ratios survive a noisy machine.
//
//   npm run bench:matcher            (node --expose-gc --import tsx bench/matcher.ts)
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { buildMatcherData } from '../src/classify/build.js';
import { Matcher } from '../src/classify/matcher.js';
import { normaliseUrl, type NormalisedUrl } from '../src/classify/normalise-url.js';
import { scanSquidGuard } from '../src/lists/squidguard.js';
import { SetBaseline } from './baseline.js';
import { fmt, percentiles, requireShared, settledMemory, SHARED, table, throughput, trafficLabels } from './lib.js';

requireShared();
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CACHE_SIZE = 10_000;
const dir = join(SHARED, 'bench-set');
const { specs } = scanSquidGuard(dir, { source: 'bench', role: 'category', sensitive: false, categoryOf: (n) => n });
const domainEntries = 1_694_097;

// --- build both, measuring memory in isolation ---
let m0 = await settledMemory();
let t0 = performance.now();
let data: ReturnType<typeof buildMatcherData> | null = buildMatcherData(specs);
const matcher = new Matcher(data);
const ourBuildMs = performance.now() - t0;
const listNames = data.lists.map((l) => l.listName);
const nameOf = new Map(data.lists.map((l) => [l.name, l.listName]));
data = null;
const ourBytes = (await settledMemory()) - m0;

m0 = await settledMemory();
t0 = performance.now();
const baseline = new SetBaseline(specs.map((s) => ({ name: s.listName, domains: join(dir, s.listName, 'domains'), urls: join(dir, s.listName, 'urls') })));
const baseBuildMs = performance.now() - t0;
const baseBytes = (await settledMemory()) - m0;

// --- traffic ---
const labelled = trafficLabels();
const urls: NormalisedUrl[] = labelled.map((l) => normaliseUrl(Buffer.from(l.url).toString()));
const hosts = urls.map((u) => u.host);

// --- agreement with the labels ---
let ourDisagree = 0;
let baseDisagree = 0;
const examples: string[] = [];
for (let i = 0; i < labelled.length; i++) {
  const want = labelled[i]!.expected.join('|');
  const ours = [...new Set(matcher.match(urls[i]!).map((m) => nameOf.get(m.list)!))].sort().join('|');
  const base = baseline.match(urls[i]!).map((id) => listNames[id]!).sort().join('|');
  if (ours !== want) {
    ourDisagree++;
    if (examples.length < 10) examples.push(`  ${labelled[i]!.url}\n    labels: ${want || '-'}  ours: ${ours || '-'}`);
  }
  if (base !== want) baseDisagree++;
}

// --- lookups ---
function cached<T>(fn: (u: NormalisedUrl) => T): (u: NormalisedUrl) => T {
  const cache = new LRUCache<string, { v: T }>({ max: CACHE_SIZE });
  return (u) => {
    const key = u.host + u.path + u.query;
    let hit = cache.get(key);
    if (!hit) cache.set(key, (hit = { v: fn(u) }));
    return hit.v;
  };
}
const ourMatch = (u: NormalisedUrl) => matcher.match(u);
const baseMatch = (u: NormalisedUrl) => baseline.match(u);
const results: (string | number)[][] = [['', 'ours', 'Map baseline', 'ours / baseline']];
const row = (label: string, a: number, b: number, digits = 0) => results.push([label, fmt(a, digits), fmt(b, digits), fmt(a / b, 2)]);

row('build time, ms', ourBuildMs, baseBuildMs);
row('memory per domain entry, bytes (heap + array buffers)', ourBytes / domainEntries, baseBytes / domainEntries, 1);
const hasOurs = throughput(hosts, ROUNDS, (h) => matcher.hasDomain(h));
const hasBase = throughput(hosts, ROUNDS, (h) => baseline.has(h));
row('domain has(), lookups/s uncached', hasOurs, hasBase);
const mOurs = throughput(urls, ROUNDS, ourMatch);
const mBase = throughput(urls, ROUNDS, baseMatch);
row('full match (domains + URLs, with entries), lookups/s uncached', mOurs, mBase);
const cOurs = throughput(urls, ROUNDS, cached(ourMatch));
const cBase = throughput(urls, ROUNDS, cached(baseMatch));
row(`full match behind lru-cache (${fmt(CACHE_SIZE)} URLs), lookups/s`, cOurs, cBase);
const pOurs = percentiles(urls, ourMatch);
const pBase = percentiles(urls, baseMatch);
row('full match p50, ns', pOurs.p50, pBase.p50);
row('full match p99, ns', pOurs.p99, pBase.p99);
row('traffic lines disagreeing with traffic.labels.tsv', ourDisagree, baseDisagree);

console.log(`Matcher benchmark: ${fmt(domainEntries)} domain entries (${fmt(matcher.domainCount)} distinct names incl. URL hosts), ${fmt(matcher.urlCount)} URL entries, ${fmt(urls.length)} traffic URLs; node ${process.version}, best of ${ROUNDS} rounds\n`);
console.log(table(results));
if (examples.length) console.log(`\nFirst disagreements:\n${examples.join('\n')}`);
