// How soon a running Schoolgate uses a phrase the DSL changed, and how long its event loop is
// held up meanwhile: `schoolgate phrases add|weight|remove` commits from another process, and
// the in-process list service (the shipped configuration and its ~5,100 rules) picks it up.
//
//   npm run bench:phrase-pickup            (node --import tsx bench/phrase-pickup.ts)
//   BENCH_ROUNDS=9 npm run bench:phrase-pickup
//   BENCH_DSL_PHRASES=100 npm run bench:phrase-pickup   (with 100 DSL phrases in force already)
//
// Then what the DSL's phrases cost each classification once in use (classificationCost).
//
// Each round adds a phrase, re-weights a shipped one, removes the added one and gives the
// shipped one its weight back. Pickup is from the writer's commit to the new classifier being
// in use (both clocks are performance.timeOrigin + now()); the stall is the longest event-loop
// delay (perf_hooks.monitorEventLoopDelay, 1 ms resolution) from the commit until 50 ms after
// the pickup. Each change is made at a random moment between two checks. Measured for the overlay (src/lists/live-phrases.ts) and, as the baseline in the
// same run, the way it was done before: polling four times a second and compiling every rule
// again on the event loop. Medians of the rounds (the machine is shared and noisy).
import { spawn } from 'node:child_process';
import { once, EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Database } from 'better-sqlite3';
import { openAlertsDatabase } from '../src/alerts/db.js';
import { dslPhraseEntry, PhraseChanges, phraseSignature, readPhrasesInForce } from '../src/alerts/dsl-phrases.js';
import { buildMatcherData } from '../src/classify/build.js';
import { Classifier } from '../src/classify/classifier.js';
import { Matcher } from '../src/classify/matcher.js';
import { basePhrases, layeredPhrases } from '../src/classify/phrase-overlay.js';
import { buildPhraseMatcher, type PhraseEntry } from '../src/classify/phrases.js';
import { SearchTermExtractor } from '../src/classify/search-terms.js';
import { loadConfig, type SchoolgateConfig } from '../src/config/load.js';
import { createLogger } from '../src/log.js';
import { LivePhrases, type PhrasesChanged } from '../src/lists/live-phrases.js';
import { ListService } from '../src/lists/service.js';
import { openDatabase } from '../src/store/db.js';
import { fmt, percentiles, seededRandom, SHARED, table } from './lib.js';

const ROOT = resolve(import.meta.dirname, '..');
const CONFIG = join(ROOT, 'config/default.yaml');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SEEDED = Number(process.env.BENCH_DSL_PHRASES ?? 0);
const now = (): number => performance.timeOrigin + performance.now();

interface Op {
  readonly action: 'add' | 'weight' | 'remove' | 'seed';
  readonly category: string;
  readonly phrase: string;
  readonly weight?: number;
}

/** The CLI's side, in a process of its own: one change per line of stdin, answered with its commit time. */
async function writer(data: string): Promise<void> {
  const config = loadConfig(CONFIG);
  const alerts = openAlertsDatabase(data);
  const mainDb = openDatabase(data);
  const changes = new PhraseChanges({ alerts, main: mainDb, phrases: config.phrases, actor: 'bench.dsl' });
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    const op = JSON.parse(line) as Op;
    const reason = 'bench';
    if (op.action === 'seed') for (const e of seedPhrases(op.weight!)) changes.add({ ...e, language: 'en', reason });
    else if (op.action === 'add') changes.add({ category: op.category, phrase: op.phrase, weight: op.weight!, language: 'en', reason });
    else if (op.action === 'weight') changes.weight({ category: op.category, phrase: op.phrase, weight: op.weight!, reason });
    else changes.remove({ category: op.category, phrase: op.phrase, reason });
    process.stdout.write(`${JSON.stringify({ at: now() })}\n`);
  }
  alerts.close();
  mainDb.close();
}

/** The DSL's phrases already in force before the measured changes (BENCH_DSL_PHRASES): words, prefixes and combinations with a word class. */
function seedPhrases(n: number): { category: string; phrase: string; weight: number; within?: number }[] {
  return Array.from({ length: n }, (_, i) => {
    // Letters only: digits fold as leetspeak ("4" is "a").
    const word = `blorp${[...i.toString(26)].map((c) => String.fromCharCode(97 + parseInt(c, 26))).join('')}`;
    if (i % 5 === 1) return { category: 'self-harm', phrase: `${word}*`, weight: 8 };
    if (i % 5 === 2) return { category: 'suicide', phrase: `@self + ${word}`, weight: 12, within: 4 };
    return { category: 'bullying', phrase: `${word} quiggle`, weight: 6 };
  });
}

/**
 * What the DSL's phrases cost each classification once in use: the shipped phrases alone
 * against the same with three DSL phrases laid over them (a word, a prefix combination with a
 * class, a re-weighted shipped phrase), over the shared traffic (or BENCH_TRAFFIC, a file of one
 * URL a line), with no domain lists, so the phrase engine is most of the cost. Medians of 3.
 */
function classificationCost(config: SchoolgateConfig, shipped: PhraseEntry): void {
  const file = process.env.BENCH_TRAFFIC ?? join(SHARED, 'traffic.txt');
  if (!existsSync(file)) {
    console.log(`\nclassification cost: no traffic at ${file} (set BENCH_TRAFFIC to a file of URLs)`);
    return;
  }
  const urls = readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, 200_000).map((l) => Buffer.from(l).toString());
  const more: PhraseEntry[] = [
    { category: 'bullying', phrase: 'zorblax quiggle', weight: 12, language: 'en', file: 'DSL', line: 1 },
    { category: 'self-harm', phrase: '@self + snorfle*', weight: 20, within: 4, intent: true, language: 'en', file: 'DSL', line: 2 },
    { ...shipped, weight: 2, file: 'DSL', line: 3 },
  ];
  const parts = { matcher: new Matcher(buildMatcherData([])), search: new SearchTermExtractor(config.searchEngines), cacheSize: 0 };
  const alone = new Classifier({ ...parts, phrases: basePhrases(config.phrases) });
  const layered = new Classifier({ ...parts, phrases: layeredPhrases(config.phrases, more) });
  const classify = (c: Classifier) => (u: string): unknown => {
    try {
      return c.classify(u);
    } catch {
      return null; // a URL that does not parse
    }
  };
  const runs: { alone: { p50: number; p99: number }; layered: { p50: number; p99: number } }[] = [];
  for (let r = 0; r < 3; r++) runs.push({ alone: percentiles(urls, classify(alone)), layered: percentiles(urls, classify(layered)) });
  const med = (xs: number[]): number => xs.sort((a, b) => a - b)[1]!;
  const a50 = med(runs.map((r) => r.alone.p50));
  const l50 = med(runs.map((r) => r.layered.p50));
  const a99 = med(runs.map((r) => r.alone.p99));
  const l99 = med(runs.map((r) => r.layered.p99));
  console.log(`\nclassification of ${urls.length} URLs (no domain lists), medians of 3: p50 ${fmt(a50 / 1000, 2)} µs with the shipped phrases alone, ${fmt(l50 / 1000, 2)} µs with 3 DSL phrases laid over them (${fmt(l50 / a50, 2)}×); p99 ${fmt(a99 / 1000, 1)} µs, ${fmt(l99 / 1000, 1)} µs (${fmt(l99 / a99, 2)}×)`);
}

/** The way a running Schoolgate picked up a change before the overlay: every rule compiled again, on the event loop. */
class RebuildingPhrases extends EventEmitter<{ changed: [PhrasesChanged] }> {
  private timer: NodeJS.Timeout | null = null;
  private dataVersion = -1;
  constructor(private readonly service: ListService, private readonly db: Database) {
    super();
  }
  start(): void {
    this.timer = setInterval(() => this.check(), 250);
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
  private check(): void {
    const version = this.db.pragma('data_version', { simple: true }) as number;
    if (version === this.dataVersion) return;
    this.dataVersion = version;
    if (phraseSignature(this.db) === this.service.dslPhrases) return;
    const started = performance.now();
    const { phrases, signature } = readPhrasesInForce(this.db);
    this.service.usePhrases(signature, (config) => buildPhraseMatcher(config.phrases, phrases.map(dslPhraseEntry)));
    this.emit('changed', { signature, used: phrases.length, ms: performance.now() - started });
  }
}

interface Sample {
  readonly op: string;
  readonly pickupMs: number;
  readonly stallMs: number;
  readonly compileMs: number;
}

async function main(): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), 'schoolgate-phrase-pickup-'));
  const log = createLogger({ level: 'silent' });
  try {
    openAlertsDatabase(data).close();
    const service = await ListService.start({ configFile: CONFIG, dataDir: data, log });
    const shipped = service.config.phrases.entries.find((e) => e.category === 'bullying' && e.weight >= 10 && /^[a-z]+ [a-z]+$/.test(e.phrase))!;
    const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--writer', data], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const reply = async (): Promise<string> => {
      const r = await replies.next();
      if (r.done) throw new Error('the writer stopped');
      return r.value;
    };
    if (await reply() !== 'ready') throw new Error('the writer did not start');
    if (SEEDED > 0) {
      child.stdin!.write(`${JSON.stringify({ action: 'seed', category: '', phrase: '', weight: SEEDED })}\n`);
      await reply();
    }
    const db = openAlertsDatabase(data);
    const eld = monitorEventLoopDelay({ resolution: 1 });
    eld.enable();

    const round = (i: number): Op[] => [
      { action: 'add', category: 'bullying', phrase: `zorblax quiggle ${String.fromCharCode(97 + (i % 26))}`, weight: 12 },
      { action: 'weight', category: 'bullying', phrase: shipped.phrase, weight: 2 },
      { action: 'remove', category: 'bullying', phrase: `zorblax quiggle ${String.fromCharCode(97 + (i % 26))}` },
      { action: 'remove', category: 'bullying', phrase: shipped.phrase },
    ];
    const label = (op: Op): string => (op.action === 'add' ? 'add a phrase' : op.action === 'weight' ? 're-weight a shipped phrase' : op.phrase === shipped.phrase ? 'remove the re-weighting' : 'remove the added phrase');

    // Each change waits a random part of the slower poll first, so that it lands anywhere between two checks.
    const random = seededRandom(14);
    async function measure(watcher: EventEmitter<{ changed: [PhrasesChanged] }>, op: Op): Promise<Sample> {
      await new Promise((r) => setTimeout(r, random() * 250));
      const changed = once(watcher, 'changed') as Promise<[PhrasesChanged]>;
      eld.reset();
      child.stdin!.write(`${JSON.stringify(op)}\n`);
      const { at } = JSON.parse(await reply()) as { at: number };
      const [event] = await changed;
      const pickedUp = now();
      // The delay of a blocked loop is recorded by the monitor's next tick, after the block.
      await new Promise((r) => setTimeout(r, 50));
      return { op: label(op), pickupMs: pickedUp - at, stallMs: eld.max / 1e6, compileMs: event.ms };
    }

    const results: Record<'overlay' | 'rebuild', Sample[]> = { overlay: [], rebuild: [] };
    for (let i = 0; i < ROUNDS; i++) {
      // Alternated, so both see the same machine.
      for (const mode of i % 2 === 0 ? (['overlay', 'rebuild'] as const) : (['rebuild', 'overlay'] as const)) {
        const watcher = mode === 'overlay' ? new LivePhrases(service, db, log) : new RebuildingPhrases(service, db);
        watcher.start();
        for (const op of round(i)) results[mode].push(await measure(watcher, op));
        watcher.stop();
      }
    }
    child.stdin!.end();
    await once(child, 'close');
    db.close();
    eld.disable();
    if (process.env.BENCH_SAMPLES) console.log(results);

    const median = (xs: readonly number[]): number => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    };
    const ops = [...new Set(results.overlay.map((s) => s.op))];
    const of = (mode: 'overlay' | 'rebuild', op: string | null, key: keyof Omit<Sample, 'op'>): number[] => results[mode].filter((s) => op === null || s.op === op).map((s) => s[key]);
    console.log(`DSL phrase pickup: the shipped configuration (${service.config.phrases.entries.length} rules), ${SEEDED} DSL phrases already in force, ${ROUNDS} rounds, medians (max in brackets); ms`);
    console.log(table([['change', 'pickup', 'before', 'ratio', 'stall', 'before', 'ratio', 'compile', 'before'], ...[...ops, null].map((op) => {
      const m = (mode: 'overlay' | 'rebuild', key: keyof Omit<Sample, 'op'>): number => median(of(mode, op, key));
      const max = (mode: 'overlay' | 'rebuild', key: keyof Omit<Sample, 'op'>): number => Math.max(...of(mode, op, key));
      return [
        op ?? 'all changes',
        `${fmt(m('overlay', 'pickupMs'), 1)} (${fmt(max('overlay', 'pickupMs'), 0)})`, `${fmt(m('rebuild', 'pickupMs'), 0)} (${fmt(max('rebuild', 'pickupMs'), 0)})`, `${fmt(m('overlay', 'pickupMs') / m('rebuild', 'pickupMs'), 2)}×`,
        `${fmt(m('overlay', 'stallMs'), 1)} (${fmt(max('overlay', 'stallMs'), 0)})`, `${fmt(m('rebuild', 'stallMs'), 0)} (${fmt(max('rebuild', 'stallMs'), 0)})`, `${fmt(m('overlay', 'stallMs') / m('rebuild', 'stallMs'), 3)}×`,
        `${fmt(m('overlay', 'compileMs'), 1)} (${fmt(max('overlay', 'compileMs'), 0)})`, `${fmt(m('rebuild', 'compileMs'), 0)} (${fmt(max('rebuild', 'compileMs'), 0)})`,
      ];
    })]));
    console.log('pickup: commit to the new phrases in use; stall: longest event-loop delay meanwhile; compile: reading and compiling on the event loop.');
    console.log('before: polling every 250 ms and compiling every rule again on the event loop (the baseline, measured in this run).');
    classificationCost(service.config, shipped);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--writer') await writer(process.argv[3]!);
else await main();
