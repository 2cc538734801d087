// The `log:` and `retention:` sections: what the traffic log keeps, how it batches, and how long
// each kind of record is kept.
import type { Checker } from '../config/check.js';
import type { QueryLogging } from './traffic-entry.js';

export interface LogConfig {
  /** Per group: keep the query string, or redact it. Groups not named keep it. */
  readonly queries: ReadonlyMap<string, QueryLogging>;
  /** A batch is written when it reaches this many rows, or after flushMs. */
  readonly batchRows: number;
  readonly flushMs: number;
  /** Rows sent to the writer and not yet stored, past which new rows go to the spill file. */
  readonly maxPendingRows: number;
}

/** Days each kind is kept; null keeps it for ever. */
export interface RetentionConfig {
  readonly traffic: number | null;
  readonly reports: number | null;
  readonly alerts: number | null;
  readonly concerns: number | null;
}

const STAFF_GROUPS = ['staff'];

export function parseLogConfig(check: Checker, value: unknown, groups: ReadonlySet<string>): LogConfig {
  const root = value === undefined ? {} : check.object(['log'], value, ['queries', 'batchRows', 'flushMs', 'maxPendingRows']) ?? {};
  const queries = new Map<string, QueryLogging>(STAFF_GROUPS.filter((g) => groups.has(g)).map((g) => [g, 'redact']));
  if (root.queries !== undefined) {
    const q = check.object(['log', 'queries'], root.queries) ?? {};
    for (const [group, mode] of Object.entries(q)) {
      if (groups.size > 0 && !groups.has(group)) {
        check.fail(['log', 'queries', group], `unknown group "${group}"`, `use one of: ${[...groups].join(', ')}`);
        continue;
      }
      const m = check.string(['log', 'queries', group], mode, { oneOf: ['keep', 'redact'] });
      if (m !== undefined) queries.set(group, m as QueryLogging);
    }
  }
  const num = (key: string, fallback: number, min: number, max: number): number =>
    root[key] === undefined ? fallback : check.number(['log', key], root[key], { min, max, integer: true }) ?? fallback;
  return {
    queries,
    batchRows: num('batchRows', 2000, 1, 100_000),
    flushMs: num('flushMs', 250, 10, 10_000),
    maxPendingRows: num('maxPendingRows', 100_000, 1, 10_000_000),
  };
}

const RETENTION_DEFAULTS: RetentionConfig = { traffic: 90, reports: 730, alerts: 2557, concerns: 2557 };

export function parseRetentionConfig(check: Checker, value: unknown): RetentionConfig {
  const root = value === undefined ? {} : check.object(['retention'], value, Object.keys(RETENTION_DEFAULTS)) ?? {};
  const days = (key: keyof RetentionConfig): number | null => {
    const v = root[key];
    if (v === undefined) return RETENTION_DEFAULTS[key];
    if (v === 'forever') return null;
    if (typeof v === 'string') return check.fail(['retention', key], `"${v}" is not a number of days`, 'a number of days (90), or forever') ?? null;
    return check.number(['retention', key], v, { min: 1, max: 36_500, integer: true }) ?? RETENTION_DEFAULTS[key];
  };
  return { traffic: days('traffic'), reports: days('reports'), alerts: days('alerts'), concerns: days('concerns') };
}
