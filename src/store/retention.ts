// Retention: what is older than the school keeps is deleted, a few thousand rows a step so that
// no step holds the write lock for long. Dictionary entries (hosts, paths with their queries,
// search terms, people, devices) go too once no kept row can refer to them: an entry last used
// before the oldest kept row's day is referred to only by rows already deleted.
import type { Database } from 'better-sqlite3';
import type { RetentionConfig } from './config.js';
import { idAtTime } from './traffic-entry.js';

export const PURGE_BATCH = 5_000;
const DAY_MS = 86_400_000;

export interface PurgeStep {
  readonly what: string;
  readonly deleted: number;
  /** True when dictionary entries went, so cached ids must be forgotten. */
  readonly dictionary: boolean;
}

interface Target {
  readonly what: string;
  readonly sql: string;
  /** The bound for the WHERE clause, or null to keep everything. */
  readonly bound: number | string | null;
  readonly dictionary?: boolean;
}

function targets(r: RetentionConfig, now: number): Target[] {
  const cutoff = (days: number | null): number | null => (days === null ? null : now - days * DAY_MS);
  const traffic = cutoff(r.traffic);
  const reports = cutoff(r.reports);
  const day = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / DAY_MS));
  const hostsDay = traffic === null || reports === null ? null : day(Math.min(traffic, reports));
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  const limited = (table: string, where: string): string => `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${where} LIMIT ${PURGE_BATCH})`;
  const dict = (table: string, bound: number | null): Target => ({ what: table, sql: limited(table, 'seen < ?'), bound, dictionary: true });
  return [
    // traffic is keyed by (client, id): a batch of one device's old rows at a time.
    { what: 'traffic', sql: `DELETE FROM traffic WHERE (client, id) IN (SELECT t.client, t.id FROM clients c JOIN traffic t ON t.client = c.id AND t.id < ? LIMIT ${PURGE_BATCH})`, bound: traffic === null ? null : idAtTime(traffic) },
    { what: 'person_devices', sql: `DELETE FROM person_devices WHERE (person, client) IN (SELECT person, client FROM person_devices WHERE last_id < ? LIMIT ${PURGE_BATCH})`, bound: traffic === null ? null : idAtTime(traffic) },
    { what: 'traffic_hourly', sql: `DELETE FROM traffic_hourly WHERE (hour, grp, action) IN (SELECT hour, grp, action FROM traffic_hourly WHERE hour < ? LIMIT ${PURGE_BATCH})`, bound: reports === null ? null : Math.floor(reports / 3_600_000) },
    { what: 'blocked_daily', sql: `DELETE FROM blocked_daily WHERE (day, grp, host, cats) IN (SELECT day, grp, host, cats FROM blocked_daily WHERE day < ? LIMIT ${PURGE_BATCH})`, bound: reports === null ? null : new Date(reports).toISOString().slice(0, 10) },
    dict('paths', day(traffic)), dict('terms', day(traffic)), dict('people', day(traffic)), dict('clients', day(traffic)), dict('hosts', hostsDay),
    { what: 'concerns', sql: limited('concerns', 'at < ?'), bound: iso(cutoff(r.concerns)) },
  ];
}

/** Deletes one batch of whatever is first past its retention; null when nothing is. */
export function purgeStep(db: Database, retention: RetentionConfig, now: number): PurgeStep | null {
  for (const t of targets(retention, now)) {
    if (t.bound === null) continue;
    const deleted = db.prepare(t.sql).run(t.bound).changes;
    if (deleted > 0) return { what: t.what, deleted, dictionary: t.dictionary === true };
  }
  return null;
}
