// Whole-classification benchmark: normalise, lists, search term and phrases for each of the
// shared 200,000 traffic URLs, against a naive classifier (WHATWG URL parser + the Map
// baseline) measured in the same run. Also shows where an LRU cache pays and where it costs,
// and what the policy's decide() adds on top.
//
//   npm run bench:classify           (node --import tsx bench/classify.ts)
import { join, resolve } from 'node:path';
import { LRUCache } from 'lru-cache';
import { pathWords, type Classifier } from '../src/classify/classifier.js';
import { emojiMap } from '../src/classify/evasions.js';
import type { ListSpec } from '../src/classify/lists.js';
import { normaliseUrl, type NormalisedUrl } from '../src/classify/normalise-url.js';
import { buildPhraseMatcher } from '../src/classify/phrases.js';
import { loadConfig } from '../src/config/load.js';
import { decide } from '../src/policy/decide.js';
import { SetBaseline } from './baseline.js';
import { BENCH_SET, benchSetLists, iwfList, makeClassifier } from './classify-setup.js';
import { fmt, percentiles, requireShared, table, throughput, trafficUrls } from './lib.js';

requireShared();
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const config = loadConfig(resolve(import.meta.dirname, '../config/default.yaml'));
const specs = benchSetLists(config);
const make = (lists: ListSpec[], cacheSize: number): Classifier => makeClassifier(config, lists, cacheSize);
const plain = make([...specs, iwfList('iwf', 'domains'), iwfList('iwf', 'urls')], 0);
const hashed = make([...specs, iwfList('sha256', 'urls.sha256')], 0);
const hashedCached = make([...specs, iwfList('sha256', 'urls.sha256')], 20_000);
const baseline = new SetBaseline(specs.map((s) => ({ name: s.listName, domains: join(BENCH_SET, s.listName, 'domains'), urls: join(BENCH_SET, s.listName, 'urls') })));

const urls = trafficUrls();
const naive = (raw: string) => {
  const u = new URL(raw);
  const n: NormalisedUrl = { scheme: u.protocol.slice(0, -1), host: u.hostname, hostType: 'name', port: 0, path: u.pathname, query: u.search.slice(1) };
  return baseline.match(n);
};
const cacheAll = new LRUCache<string, ReturnType<Classifier['classify']>>({ max: 20_000 });
const cachedPlain = (raw: string) => {
  let r = cacheAll.get(raw);
  if (r === undefined) cacheAll.set(raw, (r = plain.classify(raw)));
  return r;
};

const rows: (string | number)[][] = [['', 'lookups/s', 'p50 ns', 'p99 ns', 'vs naive (throughput)']];
const naiveOps = throughput(urls, ROUNDS, naive);
const add = (label: string, fn: (u: string) => unknown) => {
  const ops = label === 'naive: new URL() + Map baseline, no search or phrases' ? naiveOps : throughput(urls, ROUNDS, fn);
  const p = percentiles(urls, fn);
  rows.push([label, fmt(ops), fmt(p.p50), fmt(p.p99), fmt(ops / naiveOps, 2)]);
};
add('naive: new URL() + Map baseline, no search or phrases', naive);
add('ours: whole classify, uncached', (u) => plain.classify(u));
add('ours: whole classify behind an lru-cache of 20,000 URLs', cachedPlain);
add('ours: with a hashed (SHA-256) IWF list, uncached', (u) => hashed.classify(u));
add('ours: with a hashed IWF list, cache on (cacheSize 20,000)', (u) => hashedCached.classify(u));
// The policy on top: decide() for KS2 at golden time on already-classified URLs, and both together.
const classified = urls.map((u) => plain.classify(u));
const at = new Date('2026-11-20T14:45:00Z');
const ks2 = { group: 'ks2' };
let c = 0;
const decideOnly = (_u: string) => decide(ks2, classified[c++ % classified.length]!, config.policy, at);
const decideOps = throughput(urls, ROUNDS, decideOnly);
c = 0;
const decideP = percentiles(urls, decideOnly);
rows.push(['decide() alone (KS2, on classified URLs)', fmt(decideOps), fmt(decideP.p50), fmt(decideP.p99), '']);
add('ours: classify + decide()', (u) => decide(ks2, plain.classify(u), config.policy, at));
// Normalisation alone, our scanner against the WHATWG parser.
const normOps = throughput(urls, ROUNDS, (u) => normaliseUrl(u));
const whatwgOps = throughput(urls, ROUNDS, (u) => new URL(u));
rows.push(['normaliseUrl alone', fmt(normOps), '', '', '']);
rows.push(['new URL() alone', fmt(whatwgOps), '', '', '']);

let searches = 0;
let flagged = 0;
for (const u of urls) {
  const c = plain.classify(u);
  if (c.searchTerm) searches++;
  if (c.flagged.length) flagged++;
}
console.log(`Classify benchmark: ${fmt(urls.length)} traffic URLs, ${fmt(plain.matcher.domainCount)} names, ${fmt(config.phrases.entries.length)} phrases, ${config.searchEngines.length} search engines; node ${process.version}, best of ${ROUNDS} rounds`);
// How many paths the phrase engine reads in full; the address gate answers the rest with one walk.
const engine = buildPhraseMatcher(config.phrases);
const emoji = emojiMap(config.phrases.emoji);
let readInFull = 0;
for (const u of urls) if (engine.addressGate.read(pathWords(normaliseUrl(u).path), emoji) !== null) readInFull++;
console.log(`(${fmt(searches)} URLs carry a search term, ${fmt(flagged)} are flagged by phrases; ${fmt(readInFull)} paths (${fmt((100 * readInFull) / urls.length, 2)} %) are read in full by the phrase engine)\n`);
console.log(table(rows));
