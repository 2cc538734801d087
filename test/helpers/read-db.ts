// Reads a running Schoolgate's SQLite file from the test, on a read-only connection of its own
// closed at once, so the test never holds a lock the process under test would wait on.
import BetterSqlite3 from 'better-sqlite3';

export function readDb<T>(file: string, read: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}
