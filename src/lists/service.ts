// The live list service of a running Schoolgate: holds the current Classifier snapshot,
// rebuilds it off the event loop on reload, and swaps it in with one assignment. Requests in
// flight keep the snapshot they started with; a failed reload leaves the old one serving. The
// DSL's phrases change more often than the lists: they are swapped in over the same lists.
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
}

export class ListService {
  private snapshot: Classifier;
  private parts: ClassifierParts;
  private cfg: SchoolgateConfig;
  /** phraseSignature() of the DSL's phrases in the snapshot: what the live-phrase watcher compares. */
  private dslSignature: string;
  private running: Promise<boolean> | null = null;
  private pending = false;
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
    const { classifier, parts, report } = await loadLists(cfg, { dataDir: deps.dataDir, worker: true });
    logReport(deps.log, report, 'lists loaded');
    logWarnings(deps.log, cfg);
    return new ListService(deps, cfg, classifier, parts, report.dslSignature);
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
   * Re-reads the configuration and rebuilds every list in a worker, then swaps. Calls during
   * a reload are folded into one more reload after it. Resolves true if the swap happened.
   */
  reload(reason: string): Promise<boolean> {
    if (this.running) {
      this.pending = true;
      return this.running.then(() => this.running ?? true);
    }
    this.running = this.rebuild(reason).finally(() => {
      this.running = null;
      this.reloads++;
      if (this.pending) {
        this.pending = false;
        void this.reload('reload requested during the previous one');
      }
    });
    return this.running;
  }

  private async rebuild(reason: string): Promise<boolean> {
    const log = this.deps.log;
    log.info({ reason }, 'reloading configuration and lists');
    try {
      const cfg = loadConfig(this.deps.configFile);
      const { classifier, parts, report } = await loadLists(cfg, { dataDir: this.deps.dataDir, worker: true });
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
  log.info({ lists: report.stats.length, entries, skipped, buildMs: Math.round(report.buildMs), dslPhrases: report.dslPhrases, phrases: report.phrasesFrom }, msg);
  if (report.phraseCacheProblem !== null) log.warn({ problem: report.phraseCacheProblem }, 'compiled phrase rules not kept on disk (the next start compiles them again)');
  for (const e of report.errors) log.warn({ problem: e }, 'list not loaded');
  for (const p of report.phraseProblems) log.warn({ problem: p }, 'DSL phrase not used');
}
