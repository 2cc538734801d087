// Writes traffic rows: interns the text columns, inserts the rows and keeps the hourly and daily
// rollups, all in one transaction per batch. It runs in the writer thread (traffic-worker.ts)
// and in the benchmark generator; it never runs on the proxy's event loop.
import type { Database, Statement } from 'better-sqlite3';
import { ACTIONS, timeOfId, type TrafficTuple } from './traffic-entry.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** text → id for one dictionary table, with the day each entry was last used. */
class Interner {
  private readonly cache = new Map<string, { id: number; seen: number }>();
  private readonly find: Statement;
  private readonly insert: Statement;
  private readonly touch: Statement;

  constructor(db: Database, table: string, private readonly max: number) {
    this.find = db.prepare(`SELECT id, seen FROM ${table} WHERE text = ?`);
    this.insert = db.prepare(`INSERT INTO ${table} (text, seen) VALUES (?, ?)`);
    this.touch = db.prepare(`UPDATE ${table} SET seen = ? WHERE id = ?`);
  }

  id(text: string, day: number): number {
    let hit = this.cache.get(text);
    if (hit === undefined) {
      const row = this.find.get(text) as { id: number; seen: number } | undefined;
      hit = row ?? { id: Number(this.insert.run(text, day).lastInsertRowid), seen: day };
      // A plain Map, emptied when full: the working set (today's hosts and paths) refills it
      // within a batch or two, and the cost stays one Map lookup a column.
      if (this.cache.size >= this.max) this.cache.clear();
      this.cache.set(text, hit);
    }
    if (hit.seen < day) {
      this.touch.run(day, hit.id);
      hit.seen = day;
    }
    return hit.id;
  }

  /** Forget cached ids (after retention deleted entries). */
  clear(): void {
    this.cache.clear();
  }
}

export interface WriteResult {
  /** Rows stored by this call. */
  readonly written: number;
  /** Rows already stored (a replayed spill file): skipped, not counted twice in the rollups. */
  readonly duplicates: number;
}

export class TrafficWriter {
  private readonly hosts: Interner;
  private readonly paths: Interner;
  private readonly terms: Interner;
  private readonly people: Interner;
  private readonly clients: Interner;
  private readonly labels: Interner;
  private readonly insert: Statement;
  private readonly hourly: Statement;
  private readonly daily: Statement;
  private readonly devices: Statement;
  private readonly dayOf: (ms: number) => string;
  private readonly writeBatch: import('better-sqlite3').Transaction<(rows: readonly TrafficTuple[]) => WriteResult>;

  constructor(private readonly db: Database, timeZone: string, cacheSize = 200_000) {
    this.hosts = new Interner(db, 'hosts', cacheSize);
    this.paths = new Interner(db, 'paths', cacheSize);
    this.terms = new Interner(db, 'terms', cacheSize / 10);
    this.people = new Interner(db, 'people', cacheSize / 10);
    this.clients = new Interner(db, 'clients', cacheSize / 10);
    this.labels = new Interner(db, 'labels', cacheSize / 10);
    this.insert = db.prepare(`INSERT OR IGNORE INTO traffic
      (id, client, person, grp, method, scheme, host, path, cats, action, rule_kind, rule, status, up, down, ms, term, alert)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.hourly = db.prepare(`INSERT INTO traffic_hourly (hour, grp, action, requests, bytes) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET requests = requests + excluded.requests, bytes = bytes + excluded.bytes`);
    this.daily = db.prepare(`INSERT INTO blocked_daily (day, grp, host, cats, attempts) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET attempts = attempts + excluded.attempts`);
    this.devices = db.prepare(`INSERT INTO person_devices (person, client, first_id, last_id) VALUES (?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET first_id = min(first_id, excluded.first_id), last_id = max(last_id, excluded.last_id)`);
    this.dayOf = localDay(timeZone);
    this.writeBatch = db.transaction((rows: readonly TrafficTuple[]) => this.writeRows(rows));
  }

  /**
   * Stores a batch in one transaction; all or nothing. IMMEDIATE takes the write lock first, so
   * waiting for another writer goes through the busy timeout (a deferred transaction that has
   * read would fail at once instead of waiting).
   */
  write(rows: readonly TrafficTuple[]): WriteResult {
    return this.writeBatch.immediate(rows);
  }

  /**
   * The newest id stored: one key lookup per device (the table has no rowid to take the maximum
   * of), so a restart is quick whatever the size of the log.
   */
  lastId(): number {
    return (this.db.prepare('SELECT max((SELECT max(id) FROM traffic WHERE client = c.id)) FROM clients c').pluck().get() as number | null) ?? 0;
  }

  /** After retention deleted dictionary entries, cached ids may point at nothing. */
  forgetCachedIds(): void {
    for (const i of [this.hosts, this.paths, this.terms, this.people, this.clients, this.labels]) i.clear();
  }

  private writeRows(rows: readonly TrafficTuple[]): WriteResult {
    const hours = new Map<string, [hour: number, grp: number, action: number, requests: number, bytes: number]>();
    const days = new Map<string, [day: string, grp: number, host: number, cats: number, attempts: number]>();
    const spans = new Map<string, [person: number, client: number, first: number, last: number]>();
    let written = 0;
    for (const r of rows) {
      const [id, client, user, group, method, scheme, host, path, categories, action, ruleKind, rule, status, up, down, ms, term, alert] = r;
      const t = timeOfId(id);
      const day = Math.floor(t / DAY_MS);
      const grp = this.labels.id(group, day);
      const hostId = this.hosts.id(host, day);
      const cats = categories === '' ? null : this.labels.id(categories, day);
      const clientId = this.clients.id(client, day);
      const personId = user === null ? null : this.people.id(user, day);
      const info = this.insert.run(
        id, clientId, personId, grp, this.labels.id(method, day), scheme,
        hostId, path === null ? null : this.paths.id(path, day), cats, action, ruleKind, rule === null ? null : this.labels.id(rule, day),
        status, up, down, ms, term === null ? null : this.terms.id(term, day), alert,
      );
      if (info.changes === 0) continue;
      written++;
      if (personId !== null) {
        const pk = `${personId}/${clientId}`;
        const span = spans.get(pk);
        if (span) {
          span[2] = Math.min(span[2], id);
          span[3] = Math.max(span[3], id);
        } else spans.set(pk, [personId, clientId, id, id]);
      }
      const hour = Math.floor(t / HOUR_MS);
      const hk = `${hour}/${grp}/${action}`;
      const h = hours.get(hk);
      if (h) {
        h[3]++;
        h[4] += up + down;
      } else hours.set(hk, [hour, grp, action, 1, up + down]);
      if (action === ACTIONS.block) {
        const local = this.dayOf(t);
        const dk = `${local}/${grp}/${hostId}/${cats ?? 0}`;
        const d = days.get(dk);
        if (d) d[4]++;
        else days.set(dk, [local, grp, hostId, cats ?? 0, 1]);
      }
    }
    for (const h of hours.values()) this.hourly.run(...h);
    for (const d of days.values()) this.daily.run(...d);
    for (const d of spans.values()) this.devices.run(...d);
    return { written, duplicates: rows.length - written };
  }
}

/** YYYY-MM-DD in the school's time zone, worked out once per quarter hour (every zone's offset is a multiple of 15 minutes). */
export function localDay(timeZone: string): (ms: number) => string {
  const format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  let slot = -1;
  let text = '';
  return (ms: number): string => {
    const s = Math.floor(ms / 900_000);
    if (s !== slot) {
      slot = s;
      text = format.format(ms);
    }
    return text;
  };
}
