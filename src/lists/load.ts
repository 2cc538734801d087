// Turns the configuration into a Classifier: resolve every source to its lists, build the
// matcher (in a child process when called from a running proxy) and compile the phrase files'
// rules (in a worker thread there), and lay the DSL's own phrases (in the data folder's
// alerts.db) over them.
// Problems with one source are reported and the rest still load.
import { rmSync, statSync } from 'node:fs';
import { readDslPhrases, phraseMatcherWith } from '../alerts/dsl-phrases.js';
import { buildMatcherData, type MatcherData } from '../classify/build.js';
import { buildInChild, tableDir } from '../classify/build-child.js';
import { Classifier, type ClassifierParts } from '../classify/classifier.js';
import type { ListSpec, ListStats } from '../classify/lists.js';
import { Matcher } from '../classify/matcher.js';
import { phraseCacheDir } from '../classify/phrase-cache.js';
import { baseFromCache, baseKept, compileBaseInWorker, type PhraseEngine } from '../classify/phrase-overlay.js';
import { SearchTermExtractor } from '../classify/search-terms.js';
import { readTableFile } from '../classify/table-file.js';
import { keepTables, readKeptTables, seeTables, tablesKept } from '../classify/kept-tables.js';
import { keptFolder } from '../config/kept.js';
import type { SchoolgateConfig } from '../config/load.js';
import type { ListSourceConfig } from '../config/types.js';
import { sourceLists, sourceLocation } from './sources.js';

export interface LoadReport {
  /** Sources or lists that could not be loaded at all, and lists with unreadable files. */
  readonly errors: readonly string[];
  /** Those of `errors` that only say a source has never been downloaded (a fresh install): not failures. */
  readonly notDownloaded: readonly string[];
  readonly stats: readonly ListStats[];
  readonly buildMs: number;
  /** The DSL's phrases (`schoolgate phrases`) compiled with the files' ones. */
  readonly dslPhrases: number;
  /** DSL phrases left out, and why: the shipped phrases still load. */
  readonly phraseProblems: readonly string[];
  /** phraseSignature() of the DSL's phrases compiled in ('' when none could be read). */
  readonly dslSignature: string;
  /**
   * Where the phrase files' rules came from: compiled now, the cache of compiled rules in the
   * state folder, or already held (unchanged since the last load).
   */
  readonly phrasesFrom: 'compiled' | 'cache' | 'held';
  /** Why the compiled rules could not be kept in, or read from, that cache (they are in use all the same). */
  readonly phraseCacheProblem: string | null;
  /**
   * Where the lists' tables came from: built here, in a child process, read from the primary's
   * build, or read from the state folder's cache (kept-tables.ts: a start, the list files unchanged).
   */
  readonly tablesFrom: 'built' | 'child' | 'shared' | 'kept';
}

export interface LoadedLists {
  readonly classifier: Classifier;
  /** What the classifier was built from: a running Schoolgate swaps in new phrases over the same lists. */
  readonly parts: ClassifierParts;
  readonly report: LoadReport;
  /** The file the tables were built to, kept (`keepTables`): the caller removes it. */
  readonly tableFile: string | null;
}

export interface LoadOptions {
  readonly dataDir: string;
  /**
   * Build off the event loop and out of this process (a running proxy: the lists in a child
   * process, the phrase rules in a worker thread); the CLI builds in-process.
   */
  readonly worker?: boolean;
  /** With `worker`: keep the child's table file for proxy workers to read (tableFile). */
  readonly keepTables?: boolean;
  /**
   * With `worker`: a table file the primary process built (a proxy worker's start or reload).
   * Used if it holds the very lists this configuration names; else, or if it cannot be read,
   * the lists are built as without it.
   */
  readonly tablesFrom?: string;
  /**
   * With `worker`: a start, which reads the tables an earlier build of the same list files kept
   * in the state folder's cache (kept-tables.ts) rather than build them. A reload builds.
   */
  readonly fromKept?: boolean;
  /** Classify against this squidGuard folder instead of the configured sources (`classify --lists`). */
  readonly listsDir?: string;
  /**
   * The clock by which the list files are seen before a build, which is kept only if they had
   * settled by then (kept-tables.ts); a test may say later, as if they had.
   */
  readonly now?: () => number;
}

export function specsFor(config: SchoolgateConfig, opts: LoadOptions): { specs: ListSpec[]; errors: string[]; notDownloaded: string[] } {
  const specs: ListSpec[] = [];
  const errors: string[] = [];
  const notDownloaded: string[] = [];
  let sources: readonly ListSourceConfig[] = config.sources;
  let categoryOf = (name: string): string | undefined => config.categories.categoryOf(name);
  if (opts.listsDir !== undefined) {
    sources = [{ name: 'lists', format: 'squidguard', path: opts.listsDir, role: 'category', sensitive: false, refresh: null, minKeepRatio: 0.5 }];
    // A technician trying out a list folder sees unmapped lists under their own names.
    categoryOf = (name) => config.categories.categoryOf(name) ?? name;
  }
  for (const source of sources) {
    const location = sourceLocation(source, opts.dataDir);
    const found = sourceLists(source, location, categoryOf);
    specs.push(...found.specs);
    errors.push(...found.errors);
    if (found.notDownloaded) notDownloaded.push(...found.errors);
    if (source.sensitive && source.path !== undefined) errors.push(...exposedFiles(source.name, found.specs));
  }
  return { specs, errors, notDownloaded };
}

/**
 * An IWF-style list is licensed to the school and must be readable by its owner only. Such a
 * list still loads (not filtering it would be worse), but the technician is told to fix it.
 */
function exposedFiles(source: string, specs: readonly ListSpec[]): string[] {
  const out: string[] = [];
  for (const spec of specs) {
    for (const file of spec.files) {
      try {
        if ((statSync(file.path).mode & 0o077) !== 0) out.push(`${source}: ${file.path} can be read by other users; a sensitive list must be owner-only (chmod 600 ${file.path})`);
      } catch {
        // A missing file is reported when the list is built.
      }
    }
  }
  return out;
}

/**
 * The configured lists alone, built in-process, without the phrase rules: what `lists status`
 * reports. The same specs, tables and errors as loadLists.
 */
export function loadListTables(config: SchoolgateConfig, opts: LoadOptions): { matcher: Matcher; report: Pick<LoadReport, 'errors' | 'notDownloaded' | 'stats' | 'buildMs'> } {
  const { specs, errors, notDownloaded } = specsFor(config, opts);
  const data = buildMatcherData(specs);
  return { matcher: new Matcher(data), report: { errors: [...errors, ...listErrorsOf(data.stats)], notDownloaded, stats: data.stats, buildMs: data.buildMs } };
}

/** A list that could not be read, as the report says it. */
function listErrorsOf(stats: readonly ListStats[]): string[] {
  return stats.filter((s) => s.error !== undefined).map((s) => `${s.name}: ${s.error}`);
}

export async function loadLists(config: SchoolgateConfig, opts: LoadOptions): Promise<LoadedLists> {
  const { specs, errors, notDownloaded } = specsFor(config, opts);
  // In a running proxy the phrase files' rules are compiled in a worker too, beside the lists, and
  // kept in the state folder for the next start; a command reads them from there if it can.
  const cacheDir = phraseCacheDir(opts.dataDir);
  const [tables, phrasesFrom] = opts.worker
    ? await bothOffLoop(tablesOffLoop(specs, opts), compileBaseInWorker(config.phrases, cacheDir))
    : [{ data: buildMatcherData(specs), file: null, from: 'built' as const }, { from: baseFromCache(config.phrases, cacheDir) ? 'cache' as const : 'compiled' as const, cacheProblem: null }];
  const data = tables.data;
  const matcher = new Matcher(data);
  // Read after the lists are built, so a running Schoolgate swaps in the DSL's phrases as they
  // are at the swap, not as they were when a long build began.
  const phrases = configuredPhrases(config, opts.dataDir);
  const parts: ClassifierParts = {
    matcher,
    search: new SearchTermExtractor(config.searchEngines),
    phrases: phrases.matcher,
    cacheSize: config.classifier.cacheSize,
    searchModel: config.phrases.model,
  };
  // The search model is built when first asked for (classify/config.ts): in a running proxy it is
  // asked for here, with the lists, so that no request's first search waits for it; a command
  // builds it only if what it classifies is a search (a fifth of `classify URL`'s time otherwise).
  if (opts.worker) void config.phrases.model?.model;
  return {
    classifier: new Classifier(parts), parts,
    report: { errors: [...errors, ...listErrorsOf(data.stats)], notDownloaded, stats: data.stats, buildMs: data.buildMs, dslPhrases: phrases.used, phraseProblems: phrases.problems, dslSignature: phrases.signature,
      phrasesFrom: phrasesFrom.from === 'unchanged' ? 'held' : phrasesFrom.from, phraseCacheProblem: phrasesFrom.cacheProblem, tablesFrom: tables.from },
    tableFile: tables.file,
  };
}

/** Both builds; if the phrase rules fail, a table file kept for proxy workers is removed (the load failed). */
async function bothOffLoop<P>(tables: ReturnType<typeof tablesOffLoop>, phrases: Promise<P>): Promise<[Awaited<ReturnType<typeof tablesOffLoop>>, P]> {
  try {
    return await Promise.all([tables, phrases]);
  } catch (err) {
    const file = (await tables.catch(() => null))?.file;
    if (file) rmSync(file, { force: true });
    throw err;
  }
}

/**
 * The primary's tables if they are of these very lists, else (a start) those kept in the state
 * folder's cache from an earlier build of the same files, else a build in a child process, which
 * is kept there for the next start when this process keeps what it builds (config/kept.ts).
 */
async function tablesOffLoop(specs: readonly ListSpec[], opts: LoadOptions): Promise<{ data: MatcherData; file: string | null; from: 'child' | 'shared' | 'kept' }> {
  if (opts.tablesFrom !== undefined) {
    try {
      const data = readTableFile(opts.tablesFrom);
      if (JSON.stringify(data.lists) === JSON.stringify(specs)) return { data, file: null, from: 'shared' };
    } catch {
      // Removed already (a worker replaced after the others read it), or never written: build.
    }
  }
  const kept = keptFolder();
  if (opts.fromKept === true && kept !== null) {
    const data = readKeptTables(kept.dir, specs);
    // No file to hand out: proxy workers read the kept one themselves.
    if (data !== null) return { data, file: null, from: 'kept' };
  }
  const keep = kept?.write === true;
  // The list files as they are before the build reads them: kept under this name if they stay so.
  const seen = keep ? seeTables(kept.dir, specs, (opts.now ?? Date.now)()) : null;
  const built = await buildInChild(specs, { dir: tableDir(opts.dataDir), keep: opts.keepTables === true || keep });
  if (seen !== null) {
    try {
      keepTables(kept!.dir, seen, built.file!);
    } catch {
      // A cache that cannot be written costs the next start a build, never these lists.
    }
  }
  if (opts.keepTables !== true && built.file !== null) rmSync(built.file, { force: true });
  return { data: built.data, file: opts.keepTables === true ? built.file : null, from: 'child' };
}

/**
 * Whether a start would build nothing: the phrase rules and the lists' tables of this
 * configuration are both kept in the state folder's cache. A start with several proxy workers
 * builds first, once, when they are not, rather than have every worker build at once.
 */
export function builtKept(config: SchoolgateConfig, dataDir: string): boolean {
  const dir = phraseCacheDir(dataDir);
  return baseKept(config.phrases, dir) && tablesKept(dir, specsFor(config, { dataDir }).specs);
}

/** The configuration's phrase files with the DSL's phrases from dataDir/alerts.db laid over them. */
export function configuredPhrases(config: SchoolgateConfig, dataDir: string): { matcher: PhraseEngine; used: number; problems: string[]; signature: string } {
  const dsl = readDslPhrases(dataDir);
  const built = phraseMatcherWith(config.phrases, dsl.phrases);
  return { matcher: built.matcher, used: built.used, problems: [...(dsl.problem ? [dsl.problem] : []), ...built.skipped], signature: dsl.signature };
}
