// Reading the traffic log back, for the admin pages, reports and `schoolgate export`: one
// person's or one device's activity, a person's searches, attempts at illegal content, the day's
// most blocked sites and categories, and the volume hour by hour. Each query reads through an
// index or a rowid range (a row's id is its time), never the whole table, and the report queries
// read the rollups the writer keeps. Read only: nothing here writes.
import type { Database, Statement } from 'better-sqlite3';
import { clientAddress } from '../net/ip.js';
import {
  ACTION_NAMES, idAtTime, RULE_KIND_NAMES, RULE_KINDS, SCHEME_NAMES, timeOfId, type LoggedAction, type TrafficEntry,
} from './traffic-entry.js';

const HOUR_MS = 3_600_000;

/** From (inclusive) to (exclusive). */
export interface TimeRange {
  readonly from: Date;
  readonly to: Date;
}

/** One request or tunnel as logged, its codes and interned ids turned back into text. */
export interface ActivityRow extends Omit<TrafficEntry, 'categories' | 'status' | 'up' | 'down' | 'ms'> {
  /** ISO 8601, UTC, to the millisecond. */
  readonly time: string;
  readonly categories: readonly string[];
  /** The table allows NULL here, though the writer always fills them. */
  readonly status: number | null;
  readonly up: number | null;
  readonly down: number | null;
  readonly ms: number | null;
}

export interface ActivityQuery extends TimeRange {
  /** A username, matched without regard to case (as signing in is); give user or ip, not both. */
  readonly user?: string;
  /** A device's address as logged (an IPv4-mapped IPv6 address is taken as its IPv4 address). */
  readonly ip?: string;
  /** At most this many rows (default: all). */
  readonly limit?: number;
  /** Newest first (default: oldest first). */
  readonly newestFirst?: boolean;
}

export interface SearchRow {
  readonly id: number;
  readonly time: string;
  readonly term: string;
  /** The search engine's host. */
  readonly host: string;
  readonly client: string;
  readonly action: LoggedAction;
}

export interface TopBlocked {
  readonly group: string;
  /** Blocked requests of this group that day. */
  readonly attempts: number;
  /** Most blocked first; ties in name order. */
  readonly sites: readonly { readonly host: string; readonly attempts: number }[];
  /**
   * Each category of a blocked request counts the attempt, so a site in two categories counts
   * in both; null is for blocks of sites in no category (an allow-list group, a site list).
   */
  readonly categories: readonly { readonly category: string | null; readonly attempts: number }[];
}

export interface HourVolume {
  /** The hour's start, ISO 8601 UTC. */
  readonly hour: string;
  readonly requests: number;
  /** Bytes both ways. */
  readonly bytes: number;
  /** Requests by what the filter did. */
  readonly actions: Readonly<Record<LoggedAction, number>>;
}

/** A row as ROW_SELECT gives it in raw mode (arrays are cheaper than objects for thousands of rows). */
type RawRow = [
  id: number, client: string | null, user: string | null, grp: string | null, method: string | null, scheme: number, host: string | null,
  path: string | null, cats: string | null, action: number, ruleKind: number, rule: string | null, status: number | null,
  up: number | null, down: number | null, ms: number | null, term: string | null, alert: number | null,
];

// LEFT JOINs keep traffic the outer loop, so the plan is always "traffic by index, then each
// dictionary by its primary key".
const ROW_SELECT = `SELECT t.id, c.text AS client, p.text AS user, g.text AS grp, m.text AS method, t.scheme, h.text AS host,
    pa.text AS path, ca.text AS cats, t.action, t.rule_kind, r.text AS rule, t.status, t.up, t.down, t.ms, te.text AS term, t.alert
  FROM traffic t
  LEFT JOIN clients c ON c.id = t.client LEFT JOIN people p ON p.id = t.person LEFT JOIN labels g ON g.id = t.grp
  LEFT JOIN labels m ON m.id = t.method LEFT JOIN hosts h ON h.id = t.host LEFT JOIN paths pa ON pa.id = t.path
  LEFT JOIN labels ca ON ca.id = t.cats LEFT JOIN labels r ON r.id = t.rule LEFT JOIN terms te ON te.id = t.term`;

/**
 * The devices a person used within the id range (person_devices), as SQL to put before the
 * query: their rows are then read device by device through traffic's key (client, id).
 */
function personDevices(ids: number): string {
  return `WITH devices AS (SELECT DISTINCT client FROM person_devices WHERE person IN (${Array(ids).fill('?').join(', ')}) AND last_id >= ? AND first_id < ?) `;
}

/**
 * The SQL of activity() for one or more person or client ids (exported for the query-plan test).
 * Parameters: for a person, the ids, from and to twice (devices, then rows); for a device, the
 * ids, from and to; then the limit if any.
 */
export function activitySql(column: 'person' | 'client', ids: number, newestFirst: boolean, limited: boolean): string {
  const list = Array(ids).fill('?').join(', ');
  const who = column === 'person' ? `t.client IN (SELECT client FROM devices) AND t.person IN (${list})` : `t.client IN (${list})`;
  return `${column === 'person' ? personDevices(ids) : ''}${ROW_SELECT} WHERE ${who} AND t.id >= ? AND t.id < ?
    ORDER BY t.id ${newestFirst ? 'DESC' : 'ASC'}${limited ? ' LIMIT ?' : ''}`;
}

/** The SQL of illegalAttempts(): `rule_kind = 1` written out, as the partial index traffic_illegal needs. */
export const ILLEGAL_SQL = `${ROW_SELECT} WHERE t.rule_kind = ${RULE_KINDS.illegal} AND t.id >= ? AND t.id < ? ORDER BY t.id LIMIT ?`;

export function searchTermsSql(ids: number): string {
  return `${personDevices(ids)}SELECT t.id, te.text AS term, h.text AS host, c.text AS client, t.action
    FROM traffic t LEFT JOIN terms te ON te.id = t.term LEFT JOIN hosts h ON h.id = t.host LEFT JOIN clients c ON c.id = t.client
    WHERE t.client IN (SELECT client FROM devices) AND t.person IN (${Array(ids).fill('?').join(', ')}) AND t.id >= ? AND t.id < ? AND t.term IS NOT NULL ORDER BY t.id LIMIT ?`;
}

export const TOP_BLOCKED_SQL = 'SELECT grp, host, cats, attempts FROM blocked_daily WHERE day = ?';
export const TOP_BLOCKED_GROUP_SQL = `${TOP_BLOCKED_SQL} AND grp = ?`;
export const HOURLY_SQL = 'SELECT hour, action, sum(requests) AS requests, sum(bytes) AS bytes FROM traffic_hourly WHERE hour >= ? AND hour < ? GROUP BY hour, action ORDER BY hour';
export const HOURLY_GROUP_SQL = 'SELECT hour, action, sum(requests) AS requests, sum(bytes) AS bytes FROM traffic_hourly WHERE hour >= ? AND hour < ? AND grp = ? GROUP BY hour, action ORDER BY hour';

/**
 * Everything one person or one device did in the range, oldest first, one row at a time (an
 * export of a year streams rather than filling memory). The connection runs nothing else until
 * the iteration ends (better-sqlite3's rule for an open iterator).
 */
export function* eachActivity(db: Database, q: ActivityQuery): Generator<ActivityRow> {
  const query = activityQuery(db, q);
  if (query === null) return;
  for (const raw of query.statement.iterate(...query.params) as IterableIterator<RawRow>) yield decodeRow(raw);
}

/** activity() as an array. */
export function activity(db: Database, q: ActivityQuery): ActivityRow[] {
  const query = activityQuery(db, q);
  return query === null ? [] : (query.statement.all(...query.params) as RawRow[]).map(decodeRow);
}

/** The statement and parameters for an activity query; null when it can have no rows. */
function activityQuery(db: Database, q: ActivityQuery): { statement: Statement; params: number[] } | null {
  const [from, to] = idRange(q);
  const limit = checkLimit(q.limit);
  if ((q.user === undefined) === (q.ip === undefined)) throw new TypeError('activity: give either user or ip');
  const ids = q.user !== undefined ? peopleIds(db, q.user) : clientIds(db, q.ip!);
  if (ids.length === 0 || limit === 0) return null;
  const person = q.user !== undefined;
  const sql = activitySql(person ? 'person' : 'client', ids.length, q.newestFirst === true, limit !== null);
  const params = [...(person ? [...ids, from, to] : []), ...ids, from, to, ...(limit === null ? [] : [limit])];
  return { statement: db.prepare(sql).raw(), params };
}

/** A person's searches in the range, oldest first (searches whose query was redacted are not logged with a term). */
export function searchTerms(db: Database, q: TimeRange & { readonly user: string; readonly limit?: number }): SearchRow[] {
  const [from, to] = idRange(q);
  const limit = checkLimit(q.limit) ?? -1;
  const ids = peopleIds(db, q.user);
  if (ids.length === 0) return [];
  const rows = db.prepare(searchTermsSql(ids.length)).all(...ids, from, to, ...ids, from, to, limit) as { id: number; term: string | null; host: string | null; client: string | null; action: number }[];
  return rows.map((r) => ({ id: r.id, time: isoOfId(r.id), term: r.term ?? '', host: r.host ?? '', client: r.client ?? '', action: nameOf(ACTION_NAMES, r.action) }));
}

/** Requests blocked by the illegal-content lists (IWF and the like), oldest first. */
export function illegalAttempts(db: Database, q: TimeRange & { readonly limit?: number }): ActivityRow[] {
  const [from, to] = idRange(q);
  const rows = db.prepare(ILLEGAL_SQL).raw().all(from, to, checkLimit(q.limit) ?? -1) as RawRow[];
  return rows.map(decodeRow);
}

/**
 * The most blocked sites and categories of a day (the school's local date), for each group that
 * had blocks (or just the one asked for), groups in name order. From the blocked_daily rollup.
 */
export function topBlocked(db: Database, q: { readonly day: string; readonly group?: string; readonly limit?: number }): TopBlocked[] {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(q.day)) throw new RangeError(`topBlocked: day "${q.day}" is not YYYY-MM-DD`);
  const limit = q.limit === undefined ? 10 : checkLimit(q.limit) ?? Infinity;
  let rows: { grp: number; host: number; cats: number; attempts: number }[];
  if (q.group === undefined) rows = db.prepare(TOP_BLOCKED_SQL).all(q.day) as typeof rows;
  else {
    const grp = labelId(db, q.group);
    rows = grp === undefined ? [] : db.prepare(TOP_BLOCKED_GROUP_SQL).all(q.day, grp) as typeof rows;
  }
  const byGroup = new Map<number, { attempts: number; sites: Map<number, number>; cats: Map<number, number> }>();
  for (const r of rows) {
    let g = byGroup.get(r.grp);
    if (g === undefined) byGroup.set(r.grp, (g = { attempts: 0, sites: new Map(), cats: new Map() }));
    g.attempts += r.attempts;
    g.sites.set(r.host, (g.sites.get(r.host) ?? 0) + r.attempts);
    g.cats.set(r.cats, (g.cats.get(r.cats) ?? 0) + r.attempts);
  }
  const text = dictionaryText(db);
  const out: TopBlocked[] = [];
  for (const [grp, g] of byGroup) {
    // Category sets ("adult,gambling") count for each category in them.
    const categories = new Map<string | null, number>();
    for (const [cats, n] of g.cats) {
      for (const c of cats === 0 ? [null] : (text('labels', cats) ?? '').split(',')) categories.set(c, (categories.get(c) ?? 0) + n);
    }
    out.push({
      group: text('labels', grp) ?? '',
      attempts: g.attempts,
      sites: top(g.sites, limit, (host) => text('hosts', host) ?? '').map(([host, attempts]) => ({ host, attempts })),
      categories: top(categories, limit, (c) => c).map(([category, attempts]) => ({ category, attempts })),
    });
  }
  return out.sort((a, b) => compareText(a.group, b.group));
}

/** Requests and bytes for each hour that overlaps the range and had traffic (of the group, if given). From traffic_hourly. */
export function hourlyVolume(db: Database, q: TimeRange & { readonly group?: string }): HourVolume[] {
  checkRange(q);
  const first = Math.floor(q.from.getTime() / HOUR_MS);
  const end = Math.ceil(q.to.getTime() / HOUR_MS);
  let rows: { hour: number; action: number; requests: number; bytes: number }[];
  if (q.group === undefined) rows = db.prepare(HOURLY_SQL).all(first, end) as typeof rows;
  else {
    const grp = labelId(db, q.group);
    rows = grp === undefined ? [] : db.prepare(HOURLY_GROUP_SQL).all(first, end, grp) as typeof rows;
  }
  const out: { hour: string; requests: number; bytes: number; actions: Record<LoggedAction, number> }[] = [];
  let last = -1;
  for (const r of rows) {
    if (r.hour !== last) {
      last = r.hour;
      out.push({ hour: new Date(r.hour * HOUR_MS).toISOString(), requests: 0, bytes: 0, actions: Object.fromEntries(ACTION_NAMES.map((a) => [a, 0])) as Record<LoggedAction, number> });
    }
    const h = out.at(-1)!;
    h.requests += r.requests;
    h.bytes += r.bytes;
    h.actions[nameOf(ACTION_NAMES, r.action)] += r.requests;
  }
  return out;
}

/** The people ids a username was logged under: sign-in ignores case, so "Amy" and "amy" are one person. */
function peopleIds(db: Database, user: string): number[] {
  return db.prepare('SELECT id FROM people WHERE text = ? COLLATE NOCASE ORDER BY id').pluck().all(user.trim()) as number[];
}

function clientIds(db: Database, ip: string): number[] {
  return db.prepare('SELECT id FROM clients WHERE text = ?').pluck().all(clientAddress(ip.trim().toLowerCase())) as number[];
}

function labelId(db: Database, text: string): number | undefined {
  return db.prepare('SELECT id FROM labels WHERE text = ?').pluck().get(text) as number | undefined;
}

function dictionaryText(db: Database): (table: 'labels' | 'hosts', id: number) => string | undefined {
  const statements = {
    labels: db.prepare('SELECT text FROM labels WHERE id = ?').pluck(),
    hosts: db.prepare('SELECT text FROM hosts WHERE id = ?').pluck(),
  };
  return (table, id) => statements[table].get(id) as string | undefined;
}

/** The `limit` largest counts, ties in name order; names are looked up only for the candidates. */
function top<K, N extends string | null>(counts: ReadonlyMap<K, number>, limit: number, name: (key: K) => N): [N, number][] {
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  const floor = sorted[Math.min(limit, sorted.length) - 1]?.[1] ?? Infinity;
  return sorted.filter(([, n]) => n >= floor)
    .map(([k, n]): [N, number] => [name(k), n])
    .sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]))
    .slice(0, limit);
}

function compareText(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

function decodeRow(r: RawRow): ActivityRow {
  const [id, client, user, group, method, scheme, host, path, cats, action, ruleKind, rule, status, up, down, ms, term, alert] = r;
  return {
    id, time: isoOfId(id), client: client ?? '', user, group: group ?? '', method: method ?? '', scheme: nameOf(SCHEME_NAMES, scheme),
    host: host ?? '', path, categories: cats === null ? [] : cats.split(','), action: nameOf(ACTION_NAMES, action),
    ruleKind: nameOf(RULE_KIND_NAMES, ruleKind), rule, status, up, down, ms, term, alert,
  };
}

/** A code's name; a code this version does not know (written by a newer one) shows as its number. */
function nameOf<K extends string>(names: readonly K[], code: number): K {
  return names[code] ?? (String(code) as K);
}

function isoOfId(id: number): string {
  return new Date(timeOfId(id)).toISOString();
}

function checkRange(q: TimeRange): void {
  if (!Number.isFinite(q.from.getTime()) || !Number.isFinite(q.to.getTime())) throw new RangeError('traffic query: from and to must be valid times');
}

function idRange(q: TimeRange): [from: number, to: number] {
  checkRange(q);
  return [idAtTime(q.from.getTime()), idAtTime(q.to.getTime())];
}

function checkLimit(limit: number | undefined): number | null {
  if (limit === undefined || limit === Infinity) return null;
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`traffic query: limit ${limit} is not a whole number`);
  return limit;
}
