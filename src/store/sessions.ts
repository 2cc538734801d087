// Staff app sessions. The cookie holds a random token; the table holds only its SHA-256, so a
// copy of the database opens no session. Each session has its own CSRF token, which every form
// and every API change must send back. Sessions end at sign-out, after `lifetimeMs` (a school
// day), and when the person is disabled.
import { createHash, randomBytes } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';

export interface Session {
  readonly userId: number;
  readonly csrf: string;
  readonly expiresAt: Date;
}

const HOUR = 3_600_000;

export class SessionStore {
  readonly #now: () => Date;
  readonly #lifetimeMs: number;
  readonly #sql: {
    insert: Statement<[string, number, string, string, string, string | null]>;
    get: Statement<[string], { user_id: number; csrf: string; expires_at: string; disabled: number }>;
    remove: Statement<[string]>;
    removeUser: Statement<[number]>;
    purge: Statement<[string]>;
  };

  constructor(db: Database, options: { now?: () => Date; lifetimeMs?: number } = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#lifetimeMs = options.lifetimeMs ?? 10 * HOUR;
    this.#sql = {
      insert: db.prepare('INSERT INTO sessions (id, user_id, csrf, created_at, expires_at, address) VALUES (?, ?, ?, ?, ?, ?)'),
      get: db.prepare('SELECT s.user_id, s.csrf, s.expires_at, u.disabled FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?'),
      remove: db.prepare('DELETE FROM sessions WHERE id = ?'),
      removeUser: db.prepare('DELETE FROM sessions WHERE user_id = ?'),
      purge: db.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
    };
  }

  /** Starts a session; the token goes in the cookie and is never stored. */
  create(userId: number, address: string | null): { token: string; session: Session } {
    const token = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const now = this.#now();
    const expiresAt = new Date(now.getTime() + this.#lifetimeMs);
    this.#sql.purge.run(now.toISOString());
    this.#sql.insert.run(idOf(token), userId, csrf, now.toISOString(), expiresAt.toISOString(), address);
    return { token, session: { userId, csrf, expiresAt } };
  }

  /** The live session for a cookie token, or null (unknown, expired, or its person disabled). */
  find(token: string | undefined): Session | null {
    if (!token || token.length > 100) return null;
    const row = this.#sql.get.get(idOf(token));
    if (!row) return null;
    if (row.disabled !== 0 || new Date(row.expires_at) <= this.#now()) {
      this.#sql.remove.run(idOf(token));
      return null;
    }
    return { userId: row.user_id, csrf: row.csrf, expiresAt: new Date(row.expires_at) };
  }

  end(token: string): void {
    this.#sql.remove.run(idOf(token));
  }

  /** Ends every session of one person (password changed, roles taken away). */
  endAllFor(userId: number): void {
    this.#sql.removeUser.run(userId);
  }
}

function idOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
