// Concerns reported from the proxy's "report a concern" form. A report is written before the
// person is thanked, so a thank-you means the school has it.
import type { Database, Statement } from 'better-sqlite3';

export const MAX_CONCERN_TEXT = 2000;

export interface NewConcern {
  readonly at: Date;
  /** The block or warn page's reference, when the form was opened from one. */
  readonly reference: string | null;
  readonly url: string | null;
  readonly group: string;
  readonly user: string | null;
  /** The device's address, so the DSL can find the machine even for a shared login. */
  readonly address: string;
  readonly text: string;
}

export interface Concern extends NewConcern {
  readonly id: number;
}

interface Row {
  id: number; at: string; reference: string | null; url: string | null; group_id: string; username: string | null; address: string; text: string;
}

export class ConcernStore {
  private readonly insert: Statement;
  private readonly recent: Statement;

  constructor(db: Database) {
    this.insert = db.prepare('INSERT INTO concerns (at, reference, url, group_id, username, address, text) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.recent = db.prepare('SELECT * FROM concerns ORDER BY id DESC LIMIT ?');
  }

  /** Stores a report and returns its id. Text is trimmed and cut to MAX_CONCERN_TEXT characters. */
  record(c: NewConcern): number {
    const text = c.text.trim().slice(0, MAX_CONCERN_TEXT);
    if (text === '') throw new Error('a concern needs some text');
    const info = this.insert.run(c.at.toISOString(), c.reference, c.url?.slice(0, 4096) ?? null, c.group, c.user, c.address, text);
    return Number(info.lastInsertRowid);
  }

  /** The newest reports first. */
  list(limit = 100): Concern[] {
    return (this.recent.all(limit) as Row[]).map((r) => ({
      id: r.id, at: new Date(r.at), reference: r.reference, url: r.url, group: r.group_id, user: r.username, address: r.address, text: r.text,
    }));
  }
}
