// Notice that another connection committed to a SQLite file: another process (the CLI, a second
// Schoolgate sharing the data folder) or another thread (the traffic writer). SQLite moves
// PRAGMA data_version on a connection whenever a different connection has committed; reading it
// is no query and costs microseconds, so one timer asks every watched file ten times a second,
// off the request path, and tells the listeners of a file that moved. A connection's own commits
// do not move its data_version: code that commits on the watched connection says so itself.
import type { Database, Statement } from 'better-sqlite3';
import { messageOf, type Logger } from '../log.js';

/** How often the files are asked: a change from another process is seen within this, usually half. */
export const COMMIT_CHECK_MS = 100;

interface Watched {
  readonly db: Database;
  /** PRAGMA data_version, prepared once (db.pragma() prepares it again at every call). */
  readonly read: Statement<[], number>;
  version: number;
  readonly listeners: (() => void)[];
}

export class CommitWatch {
  readonly #watched: Watched[] = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly log?: Logger, private readonly everyMs = COMMIT_CHECK_MS) {}

  /** Calls `listener` after each check that finds another connection committed to `db`'s file. */
  on(db: Database, listener: () => void): void {
    let w = this.#watched.find((x) => x.db === db);
    if (!w) {
      const read = db.prepare<[], number>('PRAGMA data_version').pluck();
      w = { db, read, version: read.get()!, listeners: [] };
      this.#watched.push(w);
    }
    w.listeners.push(listener);
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.check(), this.everyMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Asks every file now; a listener that throws is logged and the others still run. */
  check(): void {
    for (const w of this.#watched) {
      let version: number;
      try {
        if (!w.db.open) continue;
        version = w.read.get()!;
      } catch (err) {
        this.log?.error({ err: messageOf(err), file: w.db.name }, 'could not ask a database whether it changed; asking again at the next check');
        continue;
      }
      if (version === w.version) continue;
      w.version = version;
      for (const listener of w.listeners) {
        try {
          listener();
        } catch (err) {
          this.log?.error({ err: messageOf(err), file: w.db.name }, 'acting on a change to a database failed');
        }
      }
    }
  }
}
