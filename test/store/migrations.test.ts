// The real migrations, applied from an empty database and from each earlier version, keep what
// was there; the data folder and database file are owner-only.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { MIGRATIONS, runMigrations } from '../../src/store/migrations.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

const tables = (db: BetterSqlite3.Database): string[] =>
  db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];

describe('migrations', () => {
  it('creates the data folder and the database owner-only', () => {
    const dir = join(tmp.dir, 'fresh', 'data');
    openDatabase(dir).close();
    expect(statSync(dir).mode & 0o077).toBe(0);
    expect(statSync(join(dir, 'schoolgate.db')).mode & 0o077).toBe(0);
  });

  it.each(MIGRATIONS.map((m) => [m.version]))('brings a database at version %i up to the latest, keeping its rows', (from) => {
    const dir = join(tmp.dir, `from-${from}`);
    const fresh = openDatabase(join(tmp.dir, 'reference'));
    const want = tables(fresh);
    fresh.close();
    // A database as an older Schoolgate left it: migrations 1..from, with a user in it.
    const old = openDatabase(dir, { migrations: MIGRATIONS.slice(0, from) });
    old.prepare("INSERT INTO users (username, group_id, password_hash) VALUES ('alice', 'ks2', 'x')").run();
    old.close();
    const db = openDatabase(dir);
    try {
      expect(tables(db)).toEqual(want);
      expect(db.prepare('SELECT max(version) FROM schema_migrations').pluck().get()).toBe(MIGRATIONS.length);
      expect(db.prepare('SELECT username FROM users').pluck().all()).toEqual(['alice']);
      expect(runMigrations(db).applied).toEqual([]);
    } finally {
      db.close();
    }
  });
});
