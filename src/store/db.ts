// Opens the Schoolgate database, data/schoolgate.db: WAL (readers never wait for the writer),
// foreign keys enforced, a busy timeout so a CLI command and the running proxy can share it,
// and the schema brought up to date. The composition root opens it once and passes it on.
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { MIGRATIONS, runMigrations, type Migration } from './migrations.js';

export type { Database } from 'better-sqlite3';

export const DATABASE_FILE = 'schoolgate.db';
/** How long a write waits for another connection's write to finish before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5_000;

export interface OpenOptions {
  /** The file in the data folder (schoolgate.db unless said). */
  readonly file?: string;
  /** Its migrations (MIGRATIONS for schoolgate.db; tests of the runner pass their own). */
  readonly migrations?: readonly Migration[];
  readonly now?: () => Date;
}

/** Opens (creating if need be) dataDir/schoolgate.db and migrates it. */
export function openDatabase(dataDir: string, options: OpenOptions = {}): Database {
  if (dataDir.trim() === '' || dataDir === ':memory:') {
    throw new Error(`openDatabase needs a data folder, not "${dataDir}": the database is always a real file (tests use a temporary folder)`);
  }
  const dir = resolve(dataDir);
  // Owner-only: the folder holds the traffic log, spill files and password hashes.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, options.file ?? DATABASE_FILE);
  // It holds password hashes: only the Schoolgate user may read it. SQLite gives the -wal and
  // -shm files the database file's permissions.
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  const db = new BetterSqlite3(file, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`${file}: could not switch to WAL journal mode (got "${String(mode)}"): is the folder on a network share?`);
    db.pragma('foreign_keys = ON');
    runMigrations(db, options.migrations ?? MIGRATIONS, options.now);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
