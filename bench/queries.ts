// Times every traffic-log query (src/store/queries.ts) on a database filled by
// bench/traffic-gen.ts: each query BENCH_RUNS times (20) with random parameters (a random person,
// device, school day, group), median and worst against the 200 ms target.
//
//   BENCH_DIR=/tmp/schoolgate-traffic-… npm run bench:queries   (or: npm run bench:queries -- DIR)
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { parseAt } from '../src/cli/times.js';
import { DATABASE_FILE } from '../src/store/db.js';
import { activity, hourlyVolume, illegalAttempts, searchTerms, topBlocked } from '../src/store/queries.js';
import { fmt, seededRandom, table } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const TARGET_MS = 200;
const TZ = 'Europe/London';
const given = process.argv[2] ?? process.env.BENCH_DIR;
if (given === undefined || !existsSync(join(resolve(given), DATABASE_FILE))) {
  console.error('Give the folder bench/traffic-gen.ts filled: BENCH_DIR=DIR npm run bench:queries (or npm run bench:queries -- DIR)');
  process.exit(2);
}
const file = join(resolve(given), DATABASE_FILE);
const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
const rand = seededRandom(Number(process.env.BENCH_SEED ?? 7));
const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;

// The parameters come from the database itself.
const rows = db.prepare('SELECT count(*) FROM traffic').pluck().get() as number;
const people = db.prepare('SELECT text FROM people').pluck().all() as string[];
const clients = db.prepare('SELECT text FROM clients').pluck().all() as string[];
const days = db.prepare('SELECT DISTINCT day FROM blocked_daily ORDER BY day').pluck().all() as string[];
const groups = db.prepare('SELECT DISTINCT l.text FROM traffic_hourly h JOIN labels l ON l.id = h.grp').pluck().all() as string[];
const localDay = (day: string): { from: Date; to: Date } => {
  const next = new Date(Date.parse(`${day}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return { from: parseAt(`${day}T00:00`, TZ), to: parseAt(`${next}T00:00`, TZ) };
};
const term = { from: localDay(days[0]!).from, to: localDay(days.at(-1)!).to };

const queries: [name: string, run: () => unknown[]][] = [
  ['activity: a person, one school day', () => activity(db, { user: pick(people), ...localDay(pick(days)) })],
  ['activity: a person, the whole term (30 days)', () => activity(db, { user: pick(people), ...term })],
  ['activity: a person, the term, newest 100 (a page)', () => activity(db, { user: pick(people), ...term, newestFirst: true, limit: 100 })],
  ['activity: a device, one school day', () => activity(db, { ip: pick(clients), ...localDay(pick(days)) })],
  ['activity: a device, the whole term', () => activity(db, { ip: pick(clients), ...term })],
  ['searchTerms: a person, the whole term', () => searchTerms(db, { user: pick(people), ...term })],
  ['topBlocked: a day, every group, top 10', () => topBlocked(db, { day: pick(days), limit: 10 })],
  ['topBlocked: a day, one group, top 10', () => topBlocked(db, { day: pick(days), group: pick(groups), limit: 10 })],
  ['illegalAttempts: the whole term', () => illegalAttempts(db, term)],
  ['illegalAttempts: one school day', () => illegalAttempts(db, localDay(pick(days)))],
  ['hourlyVolume: one day, every group', () => hourlyVolume(db, localDay(pick(days)))],
  ['hourlyVolume: the whole term, one group', () => hourlyVolume(db, { ...term, group: pick(groups) })],
];

console.log(`Traffic queries: ${fmt(rows)} rows in ${file}, ${fmt(people.length)} people, ${fmt(clients.length)} devices, ${days.length} days (${days[0]} to ${days.at(-1)}), groups ${groups.join(', ')}`);
console.log(`${RUNS} runs each with random parameters, after one untimed run; node ${process.version}\n`);
const out: (string | number)[][] = [['query', 'rows (median)', 'median ms', 'p99 ms (worst of runs)', `< ${TARGET_MS} ms`]];
let failed = 0;
for (const [name, run] of queries) {
  run();
  const times: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const result = run();
    times.push(performance.now() - t0);
    counts.push(result.length);
  }
  times.sort((a, b) => a - b);
  counts.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const p99 = times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]!;
  if (p99 >= TARGET_MS) failed++;
  out.push([name, fmt(counts[Math.floor(counts.length / 2)]!), fmt(median, 1), fmt(p99, 1), p99 < TARGET_MS ? 'pass' : 'FAIL']);
}
db.close();
console.log(table(out));
console.log(`\n${failed === 0 ? 'every query' : `${failed} of ${queries.length} queries`} ${failed === 0 ? 'answered' : 'did not answer'} in under ${TARGET_MS} ms at p99`);
process.exitCode = failed === 0 ? 0 : 1;
