// What logging costs the proxy's event loop: the traffic log (record() into a batch, SQLite in a
// writer thread) against writing on the event loop itself, measured in the same run.
//
//   node --import tsx bench/traffic-log.ts
//
// For each way, ROWS rows (env BENCH_ROWS, default 200,000) built from the shared traffic
// sample are logged at a fixed offered rate (BENCH_RATE rows/s, default 20,000, in 10 ms ticks)
// and the script reports the event loop's busy time per row (performance.eventLoopUtilization)
// and its delay percentiles (monitorEventLoopDelay): what a request waiting on the same loop
// would feel. The ways:
//   nothing    the rows are built and dropped: the baseline each way's cost is measured against
//   naive      one INSERT of a text row (no interning) per request, its own transaction, on the loop
//   batched    the TrafficWriter's batched transaction, run on the loop every 250 ms
//   ours       TrafficLog.record(): the batch goes to the writer thread
// Each uses a fresh database in a temp folder.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createLogger } from '../src/log.js';
import { normaliseUrl } from '../src/classify/normalise-url.js';
import { openDatabase } from '../src/store/db.js';
import { toTuple, TrafficIds, type TrafficTuple } from '../src/store/traffic-entry.js';
import { TrafficLog, type NewTrafficEntry } from '../src/store/traffic-log.js';
import { TrafficWriter } from '../src/store/traffic-writer.js';
import { requireShared, trafficUrls } from './lib.js';

requireShared();
const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const RATE = Number(process.env.BENCH_RATE ?? 20_000);
const TICK_MS = 10;

const urls = trafficUrls(50_000).flatMap((u) => {
  try {
    return [normaliseUrl(u)];
  } catch {
    return [];
  }
});

function entry(i: number): NewTrafficEntry {
  const u = urls[i % urls.length]!;
  const blocked = i % 13 === 0;
  return {
    client: `10.1.${(i >> 8) & 7}.${i & 255}`, user: i % 3 ? `pupil${i % 997}` : null, group: i % 10 ? 'ks2' : 'staff', method: 'GET',
    scheme: u.scheme === 'https' ? 'https' : 'http', host: u.host, path: u.scheme === 'https' ? null : u.query ? `${u.path}?${u.query}` : u.path,
    categories: blocked ? 'games' : '', action: blocked ? 'block' : 'allow', ruleKind: blocked ? 'level' : 'default',
    rule: blocked ? 'KS2 pupils filter level: games is blocked' : 'no rule: allowed', status: blocked ? 403 : 200,
    up: 400 + (i % 300), down: 1000 + (i % 50_000), ms: 3 + (i % 40), term: null, alert: null,
  };
}

interface Result { name: string; busyUsPerRow: number; p50: number; p99: number; max: number; wallS: number; bytesPerRow: number }

/** Offers ROWS rows at RATE rows/s to `log`; measures the loop while it does. */
async function drive(name: string, dir: string, log: (e: NewTrafficEntry) => void, finish: () => Promise<void>): Promise<Result> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
  delay.enable();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      for (let k = 0; k < perTick && i < ROWS; k++, i++) log(entry(i));
      if (i >= ROWS) return resolve();
      setTimeout(tick, TICK_MS);
    };
    tick();
  });
  const elu = performance.eventLoopUtilization(elu0);
  delay.disable();
  const wallS = (performance.now() - t0) / 1000;
  await finish();
  const db = join(dir, 'schoolgate.db');
  const bytes = statSync(db).size + (statSync(`${db}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  return {
    name, wallS, bytesPerRow: bytes / ROWS,
    // Busy time of the main thread's loop only: the writer thread is not counted.
    busyUsPerRow: (elu.active * 1000) / ROWS,
    p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6,
  };
}

function fresh(): string {
  const dir = mkdtempSync(join(tmpdir(), 'schoolgate-bench-log-'));
  openDatabase(dir).close();
  return dir;
}

async function nothing(): Promise<Result> {
  const dir = fresh();
  let sink = 0;
  const r = await drive('nothing logged (building the rows only)', dir, (e) => {
    sink += e.up;
  }, async () => {});
  if (sink < 0) console.log(sink);
  rmSync(dir, { recursive: true, force: true });
  return { ...r, bytesPerRow: 0 };
}

async function naive(): Promise<Result> {
  const dir = fresh();
  const db = openDatabase(dir);
  db.exec(`CREATE TABLE naive (at INTEGER, client TEXT, person TEXT, grp TEXT, method TEXT, url TEXT, categories TEXT, action TEXT, rule TEXT,
    status INTEGER, up INTEGER, down INTEGER, ms INTEGER); CREATE INDEX naive_at ON naive (at); CREATE INDEX naive_client ON naive (client, at);`);
  const insert = db.prepare('INSERT INTO naive VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const r = await drive('naive: one INSERT a request, on the event loop', dir, (e) => {
    insert.run(Date.now(), e.client, e.user, e.group, e.method, `${e.host}${e.path ?? ''}`, e.categories, e.action, e.rule, e.status, e.up, e.down, e.ms);
  }, async () => {
    db.close();
  });
  rmSync(dir, { recursive: true, force: true });
  return r;
}

async function batchedOnLoop(): Promise<Result> {
  const dir = fresh();
  const db = openDatabase(dir);
  const writer = new TrafficWriter(db, 'Europe/London');
  const ids = new TrafficIds(0);
  let batch: TrafficTuple[] = [];
  const timer = setInterval(() => {
    writer.write(batch);
    batch = [];
  }, 250);
  const r = await drive('batched TrafficWriter, on the event loop', dir, (e) => {
    batch.push(toTuple(e, ids.next(Date.now())));
  }, async () => {
    clearInterval(timer);
    writer.write(batch);
    db.close();
  });
  rmSync(dir, { recursive: true, force: true });
  return r;
}

async function ours(): Promise<Result> {
  const dir = fresh();
  const log = await TrafficLog.open({
    dataDir: dir, timeZone: 'Europe/London', config: { queries: new Map([['staff', 'redact']]), batchRows: 2000, flushMs: 250, maxPendingRows: 100_000 },
    retention: { traffic: 90, reports: 730, alerts: 2557, concerns: 2557 }, log: createLogger({ level: 'silent' }),
  });
  const r = await drive('ours: TrafficLog.record(), SQLite in the writer thread', dir, (e) => void log.record(e), async () => {
    await log.close();
  });
  if (log.stats().stored !== ROWS) console.error(`only ${log.stats().stored} of ${ROWS} rows stored`);
  rmSync(dir, { recursive: true, force: true });
  return r;
}

const results: Result[] = [];
for (const run of [nothing, naive, batchedOnLoop, ours]) results.push(await run());
console.log(`\n${ROWS.toLocaleString()} rows offered at ${RATE.toLocaleString()} rows/s (Node ${process.version})\n`);
console.log('| | event-loop busy µs per row | loop delay p50 ms | p99 ms | max ms | wall s | bytes per row on disk |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  console.log(`| ${r.name} | ${r.busyUsPerRow.toFixed(2)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(1)} | ${r.wallS.toFixed(1)} | ${r.bytesPerRow.toFixed(1)} |`);
}
// What logging adds to the loop: each way's busy time less the rows' own construction.
const [none, naiveR, batchedR, oursR] = results as [Result, Result, Result, Result];
const added = (r: Result): number => r.busyUsPerRow - none.busyUsPerRow;
console.log(`\nloop time added per row: naive ${added(naiveR).toFixed(2)} µs, batched on the loop ${added(batchedR).toFixed(2)} µs, ours ${added(oursR).toFixed(2)} µs; ours / naive = ${(added(oursR) / added(naiveR)).toFixed(3)}`);
