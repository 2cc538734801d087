// Traffic-log generator: fills a database with a school's worth of realistic rows through the
// real TrafficWriter, and reports the writer's sustained rows/s and the bytes a row costs on
// disk, table by table and index by index.
//
//   npm run bench:traffic-gen [-- DIR]      (node --import tsx bench/traffic-gen.ts [DIR])
//
// The school: 300 KS1 and 700 KS2 pupils and 100 staff signed in on 1,500 devices (KS1 150,
// KS2 700, staff 250, guest Wi-Fi 400 with nobody signed in), 30 school days from Monday
// 5 October 2026 (half term skipped, the clocks going back on the 25th), 08:30-15:30 in London
// with fewer requests at break and lunch. Each request is a URL of ../shared/blocklists/traffic.txt,
// classified by the real classifier (the bench-set lists and the synthetic IWF list) and decided
// by the shipped policy at the request's time; its row is built by the proxy's own decidedRow().
// URLs are drawn so that about 7 % of requests are blocked (the sample as it stands would make
// KS1, an allow-list group, nearly all blocks), and one in 10,000 is an attempt at a synthetic
// IWF URL; 3 % are searches (see searchUrl). Staff queries are redacted, as the shipped
// configuration says.
//
// Environment: BENCH_ROWS (10,000,000), BENCH_BATCH rows a transaction (2,000: the log's
// default batchRows), BENCH_DIR or the first argument (default: a new temporary folder, kept
// for `npm run bench:queries`), BENCH_HTTPS=inspect (default: every request logged with its
// path, as HTTPS inspection would; the heavier case) or tunnel (HTTPS as CONNECT tunnels, host
// only, as the proxy logs today), BENCH_FRESH_PATHS (the share of requests given a never-seen
// query, 0 by default: the sample's 200,000 URLs are reused), BENCH_SEED.
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Classification } from '../src/classify/classifier.js';
import { parseAt } from '../src/cli/times.js';
import { loadConfig } from '../src/config/load.js';
import { decide } from '../src/policy/decide.js';
import { decidedOutcome, decidedRow, refusedByProxy, type Outcome } from '../src/proxy/traffic-record.js';
import { DATABASE_FILE, openDatabase } from '../src/store/db.js';
import { toTuple, TrafficIds, type TrafficEntry, type TrafficTuple } from '../src/store/traffic-entry.js';
import { TrafficWriter } from '../src/store/traffic-writer.js';
import { benchSetLists, iwfList, makeClassifier } from './classify-setup.js';
import { fmt, requireShared, seededRandom, table, trafficUrls } from './lib.js';

requireShared();
const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 2_000);
const HTTPS = process.env.BENCH_HTTPS ?? 'inspect';
const FRESH = Number(process.env.BENCH_FRESH_PATHS ?? 0);
if (HTTPS !== 'inspect' && HTTPS !== 'tunnel') throw new Error(`BENCH_HTTPS must be inspect or tunnel, not "${HTTPS}"`);
const dir = resolve(process.argv[2] ?? process.env.BENCH_DIR ?? mkdtempSync(join(tmpdir(), 'schoolgate-traffic-')));

const TZ = 'Europe/London';
const MINUTE = 60_000;
/** Requests an hour, relative, in half hours from 08:30: break at 10:30, lunch 12:00-13:00, home time. */
const SLOTS = [0.6, 1, 1, 1, 0.7, 1, 1, 0.5, 0.5, 1, 1, 1, 1, 0.6];
const BLOCK_SHARE: Readonly<Record<string, number>> = { ks1: 0.05, ks2: 0.08, staff: 0.03, guest: 0.08 };
const GUEST_SHARE = 0.04;
const ILLEGAL_SHARE = 0.0001;
const SEARCH_SHARE = 0.03;
const REFUSED_SHARE = 0.002;
const CONTINUE_SHARE = 0.4;

const rand = seededRandom(Number(process.env.BENCH_SEED ?? 20261005));
const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
/** Log-normal around `median`, as sizes and durations are. */
const logNormal = (median: number, spread: number): number => Math.round(median * Math.exp(spread * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())));

// ---- the school ----
const range = (prefix: string, from: number, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${from + i}`);
const octets = (a: string, b: number, first: number, count: number): string[] => {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const host = first + i;
    out.push(`${a}.${b + Math.floor((host - 1) / 250)}.${((host - 1) % 250) + 1}`);
  }
  return out;
};
const DEVICES = { ks1: octets('10.1', 1, 1, 150), ks2: octets('10.1', 2, 1, 700), staff: octets('10.2', 0, 1, 250), guest: octets('192.168', 50, 1, 400) };
interface Person { readonly name: string; readonly group: 'ks1' | 'ks2' | 'staff'; readonly index: number }
const PEOPLE: Person[] = [
  ...range('pupil', 1001, 300).map((name, index) => ({ name, group: 'ks1' as const, index })),
  ...range('pupil', 1301, 700).map((name, index) => ({ name, group: 'ks2' as const, index })),
  ...range('staff', 101, 100).map((name, index) => ({ name: `${name}.teacher`, group: 'staff' as const, index })),
];
/** Pupils share the suite's devices, a different one each day; staff mostly use their own. */
function deviceOf(p: Person, day: number): string {
  if (p.group === 'staff') return rand() < 0.8 ? DEVICES.staff[p.index]! : pick(DEVICES.staff);
  const pool = DEVICES[p.group];
  return pool[(p.index * 13 + day * 7) % pool.length]!; // 13 is prime to 150 and 700: every device in use
}

function schoolDays(): string[] {
  const days: string[] = [];
  for (let d = new Date('2026-10-05T12:00:00Z'); days.length < 30; d = new Date(d.getTime() + 86_400_000)) {
    const date = d.toISOString().slice(0, 10);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6 && !(date >= '2026-10-26' && date <= '2026-10-30')) days.push(date);
  }
  return days;
}

// ---- the URLs, classified once; pools of what each group is allowed and blocked ----
const setupStart = performance.now();
const config = loadConfig(resolve(import.meta.dirname, '../config/default.yaml'));
const classifier = makeClassifier(config, [...benchSetLists(config), iwfList('iwf', 'domains'), iwfList('iwf', 'urls')]);
const urls = trafficUrls();
interface Url { readonly full: Classification; /** What a CONNECT to the host would be classified as. */ readonly tunnel: Classification }
const classified: Url[] = urls.map((u) => {
  const full = classifier.classify(u);
  const tunnel = HTTPS === 'tunnel' && full.url.scheme === 'https' ? classifier.classify(`https://${full.url.host}/`) : full;
  return { full, tunnel };
});
const reference = parseAt('2026-10-07T10:00', TZ);
const groups = ['ks1', 'ks2', 'staff', 'guest'] as const;
const pools = Object.fromEntries(groups.map((g) => {
  const allowed: number[] = [];
  const blocked: number[] = [];
  classified.forEach((u, i) => {
    const d = decide({ group: g }, u.tunnel, config.policy, reference);
    if (d.rule.kind === 'illegal') return;
    (d.action === 'block' ? blocked : allowed).push(i);
  });
  return [g, { allowed, blocked }];
})) as Record<(typeof groups)[number], { allowed: number[]; blocked: number[] }>;
const illegal = classified.flatMap((u, i) => (decide({ group: 'ks2' }, u.tunnel, config.policy, reference).rule.kind === 'illegal' ? [i] : []));
if (illegal.length === 0) throw new Error('no URL of the sample is on the illegal list: is iwf-synthetic there?');
// Searches: the sample has a few hundred; pupils search far more, and rarely the same words. A
// search is one of the sample's search URLs with its words replaced by one to three words drawn
// from the sample's search terms and paths.
const searchUrls = urls.filter((u, i) => classified[i]!.full.searchTerm !== null && /[?&]q=/.test(u));
const words = [...new Set(urls.flatMap((u) => u.replace(/^[a-z]+:\/\/[^/]*/, '').split(/[^a-z]+/)).filter((w) => w.length >= 3 && w.length <= 10))];
const searchUrl = (): string => {
  const q = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(words)).join('+');
  return pick(searchUrls).replace(/([?&]q=)[^&]*/, `$1${q}`);
};

// ---- rows ----
let fresh = 0;
function row(at: number, day: number): Omit<TrafficEntry, 'id'> {
  const guest = rand() < GUEST_SHARE;
  const person = guest ? null : pick(PEOPLE);
  const group = person?.group ?? 'guest';
  const address = person === null ? pick(DEVICES.guest) : deviceOf(person, day);
  const r = rand();
  const pool = pools[group];
  let u: Url;
  if (r < BLOCK_SHARE[group]! + SEARCH_SHARE && r >= BLOCK_SHARE[group]!) {
    const full = classifier.classify(searchUrl());
    u = { full, tunnel: HTTPS === 'tunnel' ? classifier.classify(`https://${full.url.host}/`) : full };
  } else u = classified[r < ILLEGAL_SHARE ? pick(illegal) : r < BLOCK_SHARE[group]! ? pick(pool.blocked) : pick(pool.allowed)]!;
  const tunnel = HTTPS === 'tunnel' && u.full.url.scheme === 'https';
  let c = tunnel ? u.tunnel : u.full;
  if (!tunnel && FRESH > 0 && rand() < FRESH) c = { ...c, url: { ...c.url, query: `${c.url.query}${c.url.query ? '&' : ''}_=${(fresh++).toString(36)}` } };
  const who = person === null ? { group } : { group, user: person.name };
  const decision = decide(who, c, config.policy, at, undefined);
  const refused = rand() < REFUSED_SHARE;
  const outcome: Outcome = refused ? refusedByProxy(tunnel ? 'the tunnel did not start with a TLS ClientHello' : 'the site could not be reached')
    : decidedOutcome(decision, decision.action === 'warn' && rand() < CONTINUE_SHARE);
  const post = !tunnel && rand() < 0.05;
  const base = decidedRow({
    address, who, method: tunnel ? 'CONNECT' : post ? 'POST' : 'GET', scheme: c.url.scheme === 'http' ? 'http' : 'https', url: c.url, withPath: !tunnel,
    classification: c, decision: refused ? null : decision, log: config.log,
  });
  const shown = outcome.action === 'block' || outcome.action === 'warn';
  const status = outcome.action === 'refused' ? 502 : outcome.action === 'block' ? 403 : shown ? 200 : tunnel ? 200 : pick([200, 200, 200, 200, 200, 200, 200, 200, 304, 302, 404]);
  return {
    ...base, ...outcome, status,
    up: shown ? logNormal(600, 0.3) : post ? logNormal(4_000, 1.2) : tunnel ? logNormal(3_000, 1) : logNormal(700, 0.3),
    down: outcome.action === 'refused' ? 0 : shown ? logNormal(2_600, 0.1) : tunnel ? logNormal(60_000, 1.8) : logNormal(15_000, 1.6),
    ms: shown ? logNormal(2, 0.5) : tunnel ? logNormal(20_000, 1.5) : logNormal(90, 1),
  };
}

/** Every request of the term in time order: each school day's rows spread over its half-hour slots. */
function* schedule(): Generator<{ at: number; day: number }> {
  const days = schoolDays();
  const weight = SLOTS.reduce((a, b) => a + b, 0);
  for (let d = 0; d < days.length; d++) {
    const dayRows = Math.floor(ROWS / days.length) + (d < ROWS % days.length ? 1 : 0);
    const start = parseAt(`${days[d]}T08:30`, TZ).getTime();
    let given = 0;
    for (let s = 0; s < SLOTS.length; s++) {
      const k = s === SLOTS.length - 1 ? dayRows - given : Math.round((dayRows * SLOTS[s]!) / weight);
      given += k;
      for (let i = 0; i < k; i++) yield { at: start + s * 30 * MINUTE + Math.floor(((i + rand()) / k) * 30 * MINUTE), day: d };
    }
  }
}

const db = openDatabase(dir);
if (db.prepare('SELECT 1 FROM traffic LIMIT 1').get() !== undefined) throw new Error(`${dir} already holds traffic: give an empty folder`);
const writer = new TrafficWriter(db, TZ);
const ids = new TrafficIds(0);
const setupMs = performance.now() - setupStart;
console.log(`Traffic generator: ${fmt(ROWS)} rows in batches of ${fmt(BATCH)} into ${join(dir, DATABASE_FILE)}; HTTPS ${HTTPS}, fresh paths ${FRESH}; node ${process.version}, SQLite ${db.prepare('SELECT sqlite_version()').pluck().get() as string}`);
console.log(`${fmt(urls.length)} URLs classified and pools built in ${fmt(setupMs / 1000, 1)} s; allowed/blocked per group: ${groups.map((g) => `${g} ${fmt(pools[g].allowed.length)}/${fmt(pools[g].blocked.length)}`).join(', ')}; illegal ${illegal.length}\n`);

let batch: TrafficTuple[] = [];
let writeMs = 0;
let written = 0;
let sliceMs = 0;
let sliceRows = 0;
const counts = { block: 0, warn: 0, continued: 0, refused: 0, illegal: 0, searches: 0, tunnels: 0 };
const wallStart = performance.now();
const progress: (string | number)[][] = [['rows', 'writer rows/s (this slice)', 'wall s', 'database MB']];
const flush = (): void => {
  const t0 = performance.now();
  const r = writer.write(batch);
  const ms = performance.now() - t0;
  if (r.written !== batch.length) throw new Error(`the writer stored ${r.written} of ${batch.length} rows`);
  writeMs += ms;
  sliceMs += ms;
  written += batch.length;
  sliceRows += batch.length;
  batch = [];
  const step = Math.max(1_000_000, Math.floor(ROWS / 10));
  if (written % step < BATCH || written === ROWS) {
    progress.push([fmt(written), fmt(sliceRows / (sliceMs / 1000)), fmt((performance.now() - wallStart) / 1000, 0), fmt(fileSize(dir) / 1e6, 0)]);
    console.log(progress.at(-1)!.join('  '));
    sliceMs = 0;
    sliceRows = 0;
  }
};
for (const { at, day } of schedule()) {
  const e = row(at, day);
  if (e.action === 'block' || e.action === 'warn' || e.action === 'continued' || e.action === 'refused') counts[e.action]++;
  if (e.ruleKind === 'illegal') counts.illegal++;
  if (e.term !== null) counts.searches++;
  if (e.method === 'CONNECT') counts.tunnels++;
  batch.push(toTuple(e, ids.next(at)));
  if (batch.length >= BATCH) flush();
}
if (batch.length > 0) flush();
const wallMs = performance.now() - wallStart;

// ---- size ----
db.pragma('wal_checkpoint(TRUNCATE)');
const pageSize = db.pragma('page_size', { simple: true }) as number;
const pages = db.pragma('page_count', { simple: true }) as number;
const freePages = db.pragma('freelist_count', { simple: true }) as number;
const walBytes = existsSync(join(dir, `${DATABASE_FILE}-wal`)) ? statSync(join(dir, `${DATABASE_FILE}-wal`)).size : 0;
const total = pages * pageSize + walBytes;
const objects = db.prepare(`SELECT name, count(*) AS pages, sum(pgsize) AS bytes, sum(payload) AS payload, sum(unused) AS unused
  FROM dbstat GROUP BY name ORDER BY bytes DESC`).all() as { name: string; pages: number; bytes: number; payload: number; unused: number }[];
const owner = new Map((db.prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')").all() as { name: string; tbl_name: string }[]).map((r) => [r.name, r.tbl_name]));
const dictionaries = ['hosts', 'paths', 'terms', 'people', 'clients', 'labels'].map((t) => `${t} ${fmt(db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number)}`);
db.close();

const pct = (n: number): string => `${fmt((100 * n) / written, 2)} %`;
console.log(`\n${fmt(written)} rows in ${fmt(wallMs / 1000, 0)} s (setup ${fmt(setupMs / 1000, 1)} s not counted)`);
console.log(table([
  ['', 'value'],
  ['writer, sustained rows/s (time inside TrafficWriter.write)', fmt(written / (writeMs / 1000))],
  ['whole loop rows/s (generating, classifying, deciding and writing)', fmt(written / (wallMs / 1000))],
  ['database bytes (page_count × page_size after a checkpoint, + WAL)', fmt(total)],
  ['bytes per row, everything (indexes, dictionaries, rollups)', fmt(total / written, 1)],
  ['free pages', fmt(freePages)],
]));
console.log(`\nblocked ${pct(counts.block)}, warned ${pct(counts.warn)}, continued ${pct(counts.continued)}, refused ${pct(counts.refused)}, illegal ${fmt(counts.illegal)} rows, searches with a term ${pct(counts.searches)}, tunnels ${pct(counts.tunnels)}`);
console.log(`dictionaries: ${dictionaries.join(', ')}\n`);
console.log(table([
  ['table or index (dbstat)', 'of table', 'MB', 'bytes/row', 'share', 'pages full'],
  ...objects.map((o) => [o.name, owner.get(o.name) ?? '', fmt(o.bytes / 1e6, 1), fmt(o.bytes / written, 2), `${fmt((100 * o.bytes) / (pages * pageSize), 1)} %`, `${fmt(100 - (100 * o.unused) / o.bytes, 0)} %`]),
]));
console.log(`\nBENCH_DIR=${dir} npm run bench:queries`);

function fileSize(d: string): number {
  return ['', '-wal'].reduce((n, s) => n + (existsSync(join(d, DATABASE_FILE + s)) ? statSync(join(d, DATABASE_FILE + s)).size : 0), 0);
}
