// How long a running Schoolgate's event loop is held up when a shipped phrase file changes and
// the configuration is reloaded (SIGHUP, `schoolgate lists reload`, a save in the staff app),
// and how soon the changed rules are in use.
//
//   npm run bench:phrase-reload            (node --import tsx bench/phrase-reload.ts)
//   BENCH_ROUNDS=9 npm run bench:phrase-reload
//
// The shipped configuration is copied to a temporary folder; each round adds a rule to the copy
// of en/bullying.yaml ("zorblax quiggle" and a letter, so every round's rules differ from the
// last's) and reloads. Three ways, alternated round by round so all see the same machine:
//
//   before   as a reload ran before the phrase rules were compiled in a worker (re-enacted here,
//            as the old code did it): every phrase file parsed again, the lists built in a
//            worker, then every rule compiled on the event loop;
//   worker   ListService.reload() with the phrase files' parsed forms forgotten first: every
//            file parsed again on the event loop, the rules compiled in a worker thread;
//   now      ListService.reload() as it runs: only the changed file parsed again, the rules
//            compiled in a worker thread.
//
// stall: the longest event-loop delay (perf_hooks.monitorEventLoopDelay, 1 ms resolution) from
// the write until 50 ms after the new rules are in use; pickup: from the write to the new
// rules being in use. Medians of the rounds (max in brackets).
//
// Then the parts of it on the event loop, each a median of BENCH_ROUNDS: compiling the shipped
// rules (what a reload did there before), and what is left of it now: the compiled matcher
// arriving (a message's clone of it, received with receiveMessageOnPort, and its classes given
// back), and reading the configuration with one phrase file changed and with every one.
// Last, whether a matcher sent from the worker matches as fast as one compiled in-process (the
// dev searches, 20,000 paths of the shared traffic and a page made of searches, alternated).
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { buildInChild, tableDir } from '../src/classify/build-child.js';
import { Classifier } from '../src/classify/classifier.js';
import { Matcher } from '../src/classify/matcher.js';
import { AddressGate } from '../src/classify/address-anchors.js';
import { NearIndex } from '../src/classify/evasions.js';
import { compileInChild } from '../src/classify/phrase-build-child.js';
import { PageFold, TextBuffer } from '../src/classify/page-fold.js';
import { forgetPhraseFiles } from '../src/classify/phrase-file.js';
import { basePhrases } from '../src/classify/phrase-overlay.js';
import { buildPhraseMatcher, MATCHER_CLASSES, type PhraseSettings } from '../src/classify/phrases.js';
import { WordTable } from '../src/classify/word-table.js';
import { SearchTermExtractor } from '../src/classify/search-terms.js';
import { loadConfig } from '../src/config/load.js';
import { configuredPhrases, specsFor } from '../src/lists/load.js';
import { ListService } from '../src/lists/service.js';
import { createLogger } from '../src/log.js';
import { pack, unpack } from '../src/worker-transfer.js';
import { fmt, SHARED, table } from './lib.js';

const ROOT = resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MODES = ['before', 'worker', 'now'] as const;
type Mode = (typeof MODES)[number];

interface Sample {
  readonly pickupMs: number;
  readonly stallMs: number;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'schoolgate-phrase-reload-'));
  try {
    const configDir = join(tmp, 'config');
    cpSync(join(ROOT, 'config'), configDir, { recursive: true });
    const configFile = join(configDir, 'default.yaml');
    writeFileSync(configFile, readFileSync(configFile, 'utf8').replaceAll('../blocklists/', `${join(ROOT, 'blocklists')}/`));
    const changed = join(configDir, 'phrases/en/bullying.yaml');
    const shipped = readFileSync(changed, 'utf8');
    const dataDir = join(tmp, 'data');
    const log = createLogger({ level: 'silent' });
    const service = await ListService.start({ configFile, dataDir, log });

    // The old reload, step by step: loadConfig, lists in a worker, then loadLists' in-process phrase compile.
    const reloadBefore = async (): Promise<Classifier> => {
      forgetPhraseFiles();
      const config = loadConfig(configFile);
      const { data } = await buildInChild(specsFor(config, { dataDir }).specs, { dir: tableDir(dataDir) });
      const phrases = configuredPhrases(config, dataDir);
      return new Classifier({ matcher: new Matcher(data), search: new SearchTermExtractor(config.searchEngines), phrases: phrases.matcher, cacheSize: config.classifier.cacheSize, searchModel: config.phrases.model });
    };
    const reloadNow = async (): Promise<Classifier> => {
      if (!(await service.reload('bench'))) throw new Error('the reload failed');
      return service.classifier;
    };

    const eld = monitorEventLoopDelay({ resolution: 1 });
    eld.enable();
    const results: Record<Mode, Sample[]> = { before: [], worker: [], now: [] };
    let round = 0;
    async function measure(mode: Mode): Promise<Sample> {
      const word = `zorblax quiggle ${String.fromCharCode(97 + (round++ % 26))}`;
      eld.reset();
      // The monitor does not count a block that begins in the tick it was reset in.
      await new Promise((r) => setTimeout(r, 20));
      const written = performance.now();
      writeFileSync(changed, `${shipped.trimEnd()}\n    "${word}": 12\n`);
      if (mode === 'worker') forgetPhraseFiles();
      const classifier = mode === 'before' ? await reloadBefore() : await reloadNow();
      const pickupMs = performance.now() - written;
      if (!classifier.classify(`https://www.google.com/search?q=${encodeURIComponent(word)}`).flagged.some((f) => f.category === 'bullying')) throw new Error(`${mode}: the new rule is not in use`);
      // The delay of a blocked loop is recorded by the monitor's next tick, after the block.
      await new Promise((r) => setTimeout(r, 50));
      return { pickupMs, stallMs: eld.max / 1e6 };
    }
    // One unmeasured round of each: the first compile of each path (and the worker's module loading) is slower.
    for (const mode of MODES) await measure(mode);
    for (let i = 0; i < ROUNDS; i++) {
      const order = i % 2 === 0 ? MODES : [...MODES].reverse();
      for (const mode of order) results[mode].push(await measure(mode));
    }
    eld.disable();
    if (process.env.BENCH_SAMPLES) console.log(results);

    const median = (xs: readonly number[]): number => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    };
    const cell = (mode: Mode, key: keyof Sample): string => `${fmt(median(results[mode].map((s) => s[key])), 0)} (${fmt(Math.max(...results[mode].map((s) => s[key])), 0)})`;
    const ratio = (mode: Mode, key: keyof Sample): string => `${fmt(median(results[mode].map((s) => s[key])) / median(results.before.map((s) => s[key])), 2)}×`;
    console.log(`phrase file reload: the shipped configuration (${basePhrases(service.config.phrases).size} rules), a rule added to en/bullying.yaml each round, ${ROUNDS} rounds, medians (max in brackets); ms`);
    console.log(table([
      ['reload', 'stall', 'vs before', 'pickup', 'vs before'],
      ...MODES.map((m) => [m, cell(m, 'stallMs'), ratio(m, 'stallMs'), cell(m, 'pickupMs'), ratio(m, 'pickupMs')]),
    ]));
    console.log('stall: longest event-loop delay from the write until the new rules are in use; pickup: write to the new rules in use.');
    console.log('before: files parsed and rules compiled on the event loop (as before, re-enacted); worker: files parsed on the event loop, rules compiled in a worker; now: only the changed file parsed, rules compiled in a worker.');
    parts(configFile, service.config.phrases);
    await matching(service.config.phrases);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The parts of a reload on the event loop, timed alone. */
function parts(configFile: string, settings: PhraseSettings): void {
  // As phrase-build-child.ts sends a matcher.
  const classes = [...MATCHER_CLASSES, AddressGate, NearIndex, PageFold, TextBuffer, WordTable];
  const times: Record<'compile' | 'arrive' | 'configOne' | 'configAll', number[]> = { compile: [], arrive: [], configOne: [], configAll: [] };
  const timed = <T>(into: number[], fn: () => T): T => {
    const started = performance.now();
    const out = fn();
    into.push(performance.now() - started);
    return out;
  };
  for (let i = 0; i < ROUNDS; i++) {
    const matcher = timed(times.compile, () => buildPhraseMatcher(settings));
    const { packed, transfer } = pack(matcher, classes);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage({ matcher, packed }, transfer);
    timed(times.arrive, () => {
      const { message } = receiveMessageOnPort(port2) as { message: { matcher: object; packed: typeof packed } };
      return unpack(message.matcher, message.packed, classes);
    });
    port1.close();
    timed(times.configOne, () => loadConfig(configFile));
    forgetPhraseFiles();
    timed(times.configAll, () => loadConfig(configFile));
  }
  const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!;
  const compile = median(times.compile);
  console.log(`\non the event loop, alone, medians of ${ROUNDS}; ms (and as a share of compiling the rules there)`);
  console.log(table([
    ['part', 'ms', 'vs compile'],
    ['compile the shipped rules (before: on the event loop)', fmt(compile, 0), '1.00×'],
    ['the compiled matcher arriving from the worker (now)', fmt(median(times.arrive), 1), `${fmt(median(times.arrive) / compile, 3)}×`],
    ['read the configuration, phrase files unchanged (now)', fmt(median(times.configOne), 0), `${fmt(median(times.configOne) / compile, 2)}×`],
    ['read the configuration, every phrase file parsed (before)', fmt(median(times.configAll), 0), `${fmt(median(times.configAll) / compile, 2)}×`],
  ]));
}

/** Matching with the matcher sent from the worker against one compiled here. */
async function matching(settings: PhraseSettings): Promise<void> {
  const here = buildPhraseMatcher(settings);
  const sent = (await compileInChild(settings, null)).compiled!.matcher;
  const searches = readFileSync(join(ROOT, 'test/fixtures/safeguarding/searches.dev.tsv'), 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t')[0]!);
  const traffic = join(SHARED, 'traffic.txt');
  const paths = existsSync(traffic) ? readFileSync(traffic, 'utf8').split('\n').filter(Boolean).slice(0, 20_000).map((u) => URL.parse(u)?.pathname ?? '/') : [];
  const page = searches.slice(0, 3000).join('. ');
  const run = (m: typeof here): number => {
    const started = performance.now();
    for (const q of searches) m.matchSearch(q);
    for (const p of paths) m.matchWords(p);
    for (let k = 0; k < 5; k++) m.matchPage(page);
    return performance.now() - started;
  };
  const times = { here: [] as number[], sent: [] as number[] };
  for (let r = 0; r < 2 * ROUNDS; r++) {
    const order = r % 2 === 0 ? (['here', 'sent'] as const) : (['sent', 'here'] as const);
    for (const which of order) times[which].push(run(which === 'here' ? here : sent));
  }
  const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!;
  console.log(`\nmatching ${searches.length} searches, ${paths.length} paths and 5 pages, medians of ${2 * ROUNDS}: compiled here ${fmt(median(times.here), 0)} ms, sent from the worker ${fmt(median(times.sent), 0)} ms (${fmt(median(times.sent) / median(times.here), 2)}×)`);
}

await main();
