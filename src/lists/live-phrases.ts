// A running Schoolgate's view of the DSL's phrases: ten times a second it asks SQLite whether
// another connection committed to alerts.db (PRAGMA data_version, no query, microseconds; on its
// own timer, or told by the CommitWatch `schoolgate start` shares with the proxy's snapshot), and
// only then whether the phrases in force differ from those the live classifier has; if they do,
// the DSL's phrases alone are compiled and laid over the files' (phrase-overlay.ts: a few
// milliseconds; the files' 5,000 rules are not compiled again) and swapped in. So
// `schoolgate phrases add` is in use within half a second of its commit, usually a tenth, and
// requests are held up for milliseconds, not the second a compile of every rule took
// (npm run bench:phrase-pickup).
import { EventEmitter } from 'node:events';
import type { Database } from 'better-sqlite3';
import { phraseMatcherWith, phraseSignature, readPhrasesInForce } from '../alerts/dsl-phrases.js';
import { messageOf, type Logger } from '../log.js';
import type { ListService } from './service.js';

export const PHRASE_CHECK_MS = 100;

/** What a swap brought in: 'changed' is emitted with it once the new phrases are in use. */
export interface PhrasesChanged {
  /** phraseSignature() of the phrases now in use. */
  readonly signature: string;
  /** The DSL's phrases in use (bad rows left out). */
  readonly used: number;
  /** Reading them and compiling them, on the event loop. */
  readonly ms: number;
}

export class LivePhrases extends EventEmitter<{ changed: [PhrasesChanged] }> {
  private timer: NodeJS.Timeout | null = null;
  private dataVersion = -1;

  /** `db`: alerts.db, on a connection of this process (its own commits do not move data_version: call changed()). */
  constructor(private readonly service: ListService, private readonly db: Database, private readonly log: Logger, private readonly everyMs = PHRASE_CHECK_MS) {
    super();
  }

  /** Checks once now (the lists were loaded before alerts.db was opened here), then on the timer. */
  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** After this process itself changed the phrases. */
  changed(): void {
    this.dataVersion = -1;
    this.check();
  }

  /** True when other phrases were swapped in. Never throws: the proxy keeps the phrases it has. */
  check(): boolean {
    try {
      const version = this.db.pragma('data_version', { simple: true }) as number;
      if (version === this.dataVersion) return false;
      this.dataVersion = version;
      // A reload since the last look may already have brought these phrases in.
      if (phraseSignature(this.db) === this.service.dslPhrases) return false;
      this.swap();
      return true;
    } catch (err) {
      this.log.error({ err: messageOf(err) }, 'DSL phrases: could not be read or compiled; the phrases in use stay');
      return false;
    }
  }

  private swap(): void {
    const started = performance.now();
    const { phrases, signature } = readPhrasesInForce(this.db);
    let used = 0;
    let skipped: string[] = [];
    // The files' phrases compiled for this configuration are kept; only the DSL's are compiled.
    this.service.usePhrases(signature, (config) => {
      const built = phraseMatcherWith(config.phrases, phrases);
      used = built.used;
      skipped = built.skipped;
      return built.matcher;
    });
    const ms = Math.round((performance.now() - started) * 10) / 10;
    for (const problem of skipped) this.log.warn({ problem }, 'DSL phrase not used');
    this.log.info({ dslPhrases: used, signature, ms }, 'DSL phrases changed: now in use');
    this.emit('changed', { signature, used, ms });
  }
}
