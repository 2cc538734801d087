// The live list service of a running Schoolgate: holds the current Classifier snapshot,
// rebuilds it off the event loop (the lists in a child process, so the build's transient memory
// is never this process's) on reload, and swaps it in with one assignment. Requests in
// flight keep the snapshot they started with; a failed reload leaves the old one serving. The
// DSL's phrases change more often than the lists: they are swapped in over the same lists.
import { rmSync } from 'node:fs';
import { Classifier, type ClassifierParts } from '../classify/classifier.js';
import type { PhraseEngine } from '../classify/phrase-overlay.js';
import { formatProblem } from '../config/errors.js';
import { loadConfig, type SchoolgateConfig } from '../config/load.js';
import { messageOf, type Logger } from '../log.js';
import { loadLists, type LoadReport } from './load.js';

export interface ListServiceDeps {
  readonly configFile: string;
  readonly dataDir: string;
  readonly log: Logger;
  /**
   * Keep the file of each build of these lists for proxy workers (the primary with
   * proxy.workers above 1): takeTables() hands it over. Asked with the configuration built for.
   */
  readonly keepTables?: (config: SchoolgateConfig) => boolean;
  /** A proxy worker: the file of the primary's build at start (used if it holds these lists). */
  readonly tablesFrom?: string;
  /** The clock the list files are seen by before a build is kept (LoadOptions.now; tests). */
  readonly now?: () => number;
}

export class ListService {
  private snapshot: Classifier;
  private parts: ClassifierParts;
  private cfg: SchoolgateConfig;
  /** phraseSignature() of the DSL's phrases in the snapshot: what the live-phrase watcher compares. */
  private dslSignature: string;
  private running: Promise<boolean> | null = null;
  private pending = false;
  /** The table file the folded follow-up reload is to read (the latest asked for). */
  private pendingTables: string | undefined;
  /** The kept table file of the latest build, until takeTables(). */
  private tables: string | null = null;
  private readonly reloadListeners: ((config: SchoolgateConfig) => void)[] = [];
  /** Completed reloads, successful or not; for status pages and tests. */
  reloads = 0;

  private constructor(private readonly deps: ListServiceDeps, cfg: SchoolgateConfig, snapshot: Classifier, parts: ClassifierParts, dslSignature: string) {
    this.cfg = cfg;
    this.snapshot = snapshot;
    this.parts = parts;
    this.dslSignature = dslSignature;
  }

  /** Loads the configuration (or takes `cfg`, just loaded from deps.configFile) and every list. */
  static async start(deps: ListServiceDeps, cfg: SchoolgateConfig = loadConfig(deps.configFile)): Promise<ListService> {
    const loaded = await loadLists(cfg, { dataDir: deps.dataDir, worker: true, fromKept: true, keepTables: deps.keepTables?.(cfg) === true, ...(deps.tablesFrom === undefined ? {} : { tablesFrom: deps.tablesFrom }), ...(deps.now ? { now: deps.now } : {}) });
    logReport(deps.log, loaded.report, 'lists loaded');
    logWarnings(deps.log, cfg);
    const service = new ListService(deps, cfg, loaded.classifier, loaded.parts, loaded.report.dslSignature);
    service.tables = loaded.tableFile;
    return service;
  }

  /**
   * The kept table file of the latest build (keepTables), now the caller's to remove; null if
   * none was kept or it was taken already.
   */
  takeTables(): string | null {
    const file = this.tables;
    this.tables = null;
    return file;
  }

  /** The snapshot to classify with now. Take it once per request. */
  get classifier(): Classifier {
    return this.snapshot;
  }

  get config(): SchoolgateConfig {
    return this.cfg;
  }

  /** Which state of the DSL's phrases the snapshot was built with (phraseSignature()). */
  get dslPhrases(): string {
    return this.dslSignature;
  }

  /**
   * Swaps in other phrases over the lists in use (the DSL changed one), built for the
   * configuration in use: `build` runs here, synchronously, so no reload can swap in between.
   */
  usePhrases(signature: string, build: (config: SchoolgateConfig) => PhraseEngine): void {
    this.parts = { ...this.parts, phrases: build(this.cfg) };
    this.snapshot = new Classifier(this.parts);
    this.dslSignature = signature;
  }

  /** Calls listener with each configuration a reload swaps in (the one loaded at start is `config`). */
  onReload(listener: (config: SchoolgateConfig) => void): void {
    this.reloadListeners.push(listener);
  }

  /**
   * Re-reads the configuration and rebuilds every list off the event loop, then swaps. Calls
   * during a reload are folded into one more reload after it. Resolves true if the swap
   * happened. `tablesFrom`: a proxy worker's, the primary's build to read (see LoadOptions).
   */
  reload(reason: string, tablesFrom?: string): Promise<boolean> {
    if (this.running) {
      this.pending = true;
      this.pendingTables = tablesFrom;
      return this.running.then(() => this.running ?? true);
    }
    this.running = this.rebuild(reason, tablesFrom).finally(() => {
      this.running = null;
      this.reloads++;
      if (this.pending) {
        const tables = this.pendingTables;
        this.pending = false;
        this.pendingTables = undefined;
        void this.reload('reload requested during the previous one', tables);
      }
    });
    return this.running;
  }

  private async rebuild(reason: string, tablesFrom: string | undefined): Promise<boolean> {
    const log = this.deps.log;
    log.info({ reason }, 'reloading configuration and lists');
    try {
      const cfg = loadConfig(this.deps.configFile);
      const { classifier, parts, report, tableFile } = await loadLists(cfg, {
        dataDir: this.deps.dataDir, worker: true, keepTables: this.deps.keepTables?.(cfg) === true, ...(tablesFrom === undefined ? {} : { tablesFrom }), ...(this.deps.now ? { now: this.deps.now } : {}),
      });
      // A kept file nobody took (no worker was told of the last build) is not needed any more.
      if (this.tables !== null) rmSync(this.tables, { force: true });
      this.tables = tableFile;
      this.cfg = cfg;
      this.snapshot = classifier;
      this.parts = parts;
      this.dslSignature = report.dslSignature;
      logReport(log, report, 'lists reloaded');
      logWarnings(log, cfg);
      for (const listener of this.reloadListeners) {
        try {
          listener(cfg);
        } catch (err) {
          log.error({ err: messageOf(err) }, 'after the reload: a listener failed');
        }
      }
      return true;
    } catch (err) {
      log.error({ err: messageOf(err) }, 'reload failed: the previous configuration and lists stay in use');
      return false;
    }
  }
}

/** Deprecated settings, at every start and reload until the file is changed. */
function logWarnings(log: Logger, cfg: SchoolgateConfig): void {
  for (const w of cfg.warnings) log.warn({ problem: formatProblem(w) }, 'configuration: deprecated setting');
}

function logReport(log: Logger, report: LoadReport, msg: string): void {
  const entries = report.stats.reduce((n, s) => n + s.domains + s.urls + s.hashes + s.expressions, 0);
  const skipped = report.stats.reduce((n, s) => n + s.skipped, 0);
  log.info({ lists: report.stats.length, entries, skipped, buildMs: Math.round(report.buildMs), tables: report.tablesFrom, dslPhrases: report.dslPhrases, phrases: report.phrasesFrom }, msg);
  if (report.phraseCacheProblem !== null) log.warn({ problem: report.phraseCacheProblem }, 'compiled phrase rules not kept on disk (the next start compiles them again)');
  for (const e of report.errors) log.warn({ problem: e }, 'list not loaded');
  for (const p of report.phraseProblems) log.warn({ problem: p }, 'DSL phrase not used');
}
