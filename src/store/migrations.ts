// The database schema as an ordered list of migrations. Each runs once, in its own transaction,
// and is recorded in schema_migrations; a database written by a newer Schoolgate is refused
// rather than guessed at. To change the schema, append a migration: never edit one that shipped.
import type { Database } from 'better-sqlite3';

export interface Migration {
  /** 1, 2, 3, … with no gaps, in order. */
  readonly version: number;
  /** A short name, recorded beside the version. */
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users',
    sql: `
      CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
        display_name  TEXT,
        group_id      TEXT    NOT NULL,
        password_hash TEXT    NOT NULL,
        disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        shared        INTEGER NOT NULL DEFAULT 0 CHECK (shared IN (0, 1)), -- year-group or visitor logins
        created_at    TEXT,
        updated_at    TEXT
      );
    `,
  },
];

/** The database cannot be used by this code: newer than it, or from a different line of migrations. */
export class SchemaError extends Error {
  override readonly name = 'SchemaError';
}

export interface MigrationReport {
  /** Versions applied by this call, in order. */
  readonly applied: number[];
  /** The schema version after this call. */
  readonly version: number;
}

/**
 * Brings the database up to the last migration. Safe to call on every open, and from two
 * processes at once: each migration re-checks inside an IMMEDIATE transaction that nobody
 * applied it meanwhile.
 */
export function runMigrations(db: Database, migrations: readonly Migration[] = MIGRATIONS, now: () => Date = () => new Date()): MigrationReport {
  checkList(migrations);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const latest = migrations.at(-1)?.version ?? 0;
  const appliedRows = (): { version: number; name: string }[] =>
    db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as { version: number; name: string }[];
  checkApplied(db, appliedRows(), migrations, latest);

  const applied: number[] = [];
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations) {
    const ran = db.transaction(() => {
      if (isApplied.get(m.version) !== undefined) return false;
      db.exec(m.sql);
      record.run(m.version, m.name, now().toISOString());
      return true;
    }).immediate();
    if (ran) applied.push(m.version);
  }
  checkApplied(db, appliedRows(), migrations, latest);
  return { applied, version: latest };
}

function checkList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" has version ${m.version}: versions must run 1, 2, 3, … without gaps (expected ${i + 1})`);
  });
}

function checkApplied(db: Database, rows: readonly { version: number; name: string }[], migrations: readonly Migration[], latest: number): void {
  const newest = rows.at(-1)?.version ?? 0;
  if (newest > latest) {
    throw new SchemaError(`${db.name} is at schema version ${newest}, but this Schoolgate knows versions up to ${latest}: it was written by a newer Schoolgate. Run that version (or newer), or restore a backup taken before the upgrade; this version will not touch it.`);
  }
  for (const row of rows) {
    const m = migrations[row.version - 1];
    if (m === undefined || m.version !== row.version || m.name !== row.name) {
      throw new SchemaError(`${db.name}: schema version ${row.version} was recorded as "${row.name}" but this Schoolgate's version ${row.version} is "${m?.name ?? '(none)'}": the database comes from a different build. Restore a backup made by this version.`);
    }
  }
}
