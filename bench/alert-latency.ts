// How long an alert takes to be on disk, and what raising one costs the event loop: the journal
// and writer thread (src/alerts/journal.ts, what the proxy does now) against storing it in a
// SQLite transaction on the event loop (AlertStore.raise, what it did before), in the same run,
// rounds alternating. Alerts are raised at a steady rate (BENCH_RATE a second, default 50: far
// more than a school raises), each a new danger alert (a pupil of its own) with its outbox row.
//
//   node --import tsx bench/alert-latency.ts
//
// Figures per mode: the event loop's time in the raise call (p50 / p99 / max µs), and the time
// until the alert is in alerts.db: for the journal, from append() until this thread hears the
// writer committed it (an upper bound); for the old path, the call itself. Also the event loop's
// delay while raising (perf_hooks.monitorEventLoopDelay p99), which a waiting request would see.
// Environment: BENCH_RATE (alerts/s), BENCH_ALERTS (a round, default 1000), BENCH_ROUNDS (default 3).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { openAlertsDatabase } from '../src/alerts/db.js';
import type { AlertCandidate } from '../src/alerts/detect.js';
import { AlertJournal } from '../src/alerts/journal.js';
import { AlertStore, type FoldRule } from '../src/alerts/store.js';
import { minimalSafeguardingConfig } from '../src/alerts/taxonomy.js';
import { createLogger } from '../src/log.js';
import { codeVersion, fmt, table } from './lib.js';

const env = (name: string, fallback: number): number => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const RATE = env('BENCH_RATE', 50);
const N = env('BENCH_ALERTS', 1000);
const ROUNDS = env('BENCH_ROUNDS', 3);
const TERM = 'i want to kill myself';
const candidate: AlertCandidate = {
  category: 'suicide', severity: 'danger', illegal: false, action: 'allow',
  triggers: [{ kind: 'phrase', severity: 'danger', source: 'search', category: 'suicide', phrase: 'kill myself', weight: 10, text: TERM }],
  searchTerm: { engine: 'google', raw: TERM, partial: false }, url: `https://www.google.example/search?q=${TERM.replaceAll(' ', '+')}`,
};
const cfg = minimalSafeguardingConfig();
const rules: FoldRule[] = [{ windowMs: cfg.foldWindowMs, immediate: ['danger'] }];

interface Round { callUs: number[]; storedMs: number[]; loopP99Ms: number }

const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

/** Raises N alerts at RATE a second with `raise`, which resolves when the alert is in alerts.db. */
async function paced(tag: string, raise: (i: number) => Promise<unknown>): Promise<Round> {
  const callUs: number[] = [];
  const storedMs: number[] = [];
  const waits: Promise<unknown>[] = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    // Steady pacing: the i-th alert at t0 + i / RATE.
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const a = performance.now();
    const p = raise(i);
    callUs.push((performance.now() - a) * 1000);
    waits.push(p.then(() => storedMs.push(performance.now() - a)));
  }
  await Promise.all(waits);
  loop.disable();
  process.stderr.write(`  ${tag}: p99 call ${fmt(pct(callUs, 0.99))} µs, p99 stored ${fmt(pct(storedMs, 0.99), 2)} ms\n`);
  return { callUs, storedMs, loopP99Ms: loop.percentile(99) / 1e6 };
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(os.tmpdir(), 'schoolgate-bench-alert-latency-'));
  const log = createLogger({ level: 'warn', destination: 2 });
  const loadBefore = os.loadavg();
  const journalDir = join(tmp, 'journal');
  openAlertsDatabase(journalDir).close();
  const journal = new AlertJournal({ dataDir: journalDir, log, onNotify: () => {} });
  await journal.ready;
  const syncDb = openAlertsDatabase(join(tmp, 'sync'));
  const store = new AlertStore(syncDb);
  const results = { journal: [] as Round[], sync: [] as Round[] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['journal', 'sync'] as const) : (['sync', 'journal'] as const);
      for (const mode of order) {
        const who = (i: number) => ({ at: Date.now(), client: '10.0.0.1', user: `r${round}-${mode}-${i}`, group: 'ks2', trafficId: null });
        results[mode].push(await paced(`round ${round + 1}, ${mode}`, mode === 'journal'
          ? (i) => journal.append(who(i), [candidate], rules)
          : (i) => Promise.resolve(store.raise([candidate], who(i), cfg))));
      }
    }
  } finally {
    await journal.close();
    syncDb.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  const cpus = os.cpus();
  console.log(`\nAlert latency: node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? '?'}; ${new Date().toISOString()}; code ${codeVersion()}.`);
  console.log(`Load average (1/5/15 min) ${loadBefore.map((x) => fmt(x, 2)).join(' / ')} before, ${os.loadavg().map((x) => fmt(x, 2)).join(' / ')} after.`);
  console.log(`${fmt(N)} new danger alerts a round at ${RATE}/s, ${ROUNDS} rounds, modes alternating; figures over all rounds (worst round's event-loop p99).\n`);
  const rows: (string | number)[][] = [['mode', 'raise call p50 / p99 / max (µs)', 'in alerts.db p50 / p99 / max (ms)', 'event-loop delay p99 (ms, worst round)']];
  for (const mode of ['journal', 'sync'] as const) {
    const call = results[mode].flatMap((r) => r.callUs);
    const stored = results[mode].flatMap((r) => r.storedMs);
    rows.push([mode === 'journal' ? 'journal + writer thread (now)' : 'SQLite on the event loop (before)',
      `${fmt(pct(call, 0.5))} / ${fmt(pct(call, 0.99))} / ${fmt(Math.max(...call))}`,
      `${fmt(pct(stored, 0.5), 2)} / ${fmt(pct(stored, 0.99), 2)} / ${fmt(Math.max(...stored), 2)}`,
      fmt(Math.max(...results[mode].map((r) => r.loopP99Ms)), 2)]);
  }
  console.log(table(rows));
}

await main();
