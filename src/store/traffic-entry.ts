// One traffic-log entry as the proxy records it, and the compact form (a flat array) in which
// it travels to the writer thread and the spill file. Numeric codes are stored in the database,
// so they may be added to but never renumbered.
import type { RuleKind } from '../policy/types.js';

export const SCHEMES = { http: 0, https: 1, ws: 2, wss: 3 } as const;
export type Scheme = keyof typeof SCHEMES;

/** allowed, warned (the warn page was shown), blocked, continued after a warning, refused by the proxy itself. */
export const ACTIONS = { allow: 0, warn: 1, block: 2, continued: 3, refused: 4 } as const;
export type LoggedAction = keyof typeof ACTIONS;

export const RULE_KINDS: Readonly<Record<RuleKind | 'proxy', number>> = {
  default: 0, illegal: 1, unblock: 2, user: 3, 'site-list': 4, schedule: 5, level: 6, proxy: 7,
};

/** Code → name, for reading rows back: SCHEME_NAMES[1] is 'https'. */
export const SCHEME_NAMES = namesOf(SCHEMES);
export const ACTION_NAMES = namesOf(ACTIONS);
export const RULE_KIND_NAMES = namesOf(RULE_KINDS);

function namesOf<K extends string>(codes: Readonly<Record<K, number>>): readonly K[] {
  const names: K[] = [];
  for (const [name, code] of Object.entries(codes) as [K, number][]) names[code] = name;
  return names;
}

export interface TrafficEntry {
  /** Time-ordered unique id: milliseconds since 1970 × 64 + a sequence number (TrafficIds). */
  readonly id: number;
  readonly client: string;
  readonly user: string | null;
  readonly group: string;
  readonly method: string;
  readonly scheme: Scheme;
  readonly host: string;
  /** Path and query as logged (the query may be redacted); null for a tunnel. */
  readonly path: string | null;
  /** Comma-joined categories, '' for none. */
  readonly categories: string;
  readonly action: LoggedAction;
  readonly ruleKind: RuleKind | 'proxy';
  readonly rule: string | null;
  readonly status: number;
  readonly up: number;
  readonly down: number;
  readonly ms: number;
  readonly term: string | null;
  readonly alert: number | null;
}

/** The flat form: cheaper to pass between threads and to write as a JSON line. */
export type TrafficTuple = [
  id: number, client: string, user: string | null, group: string, method: string, scheme: number,
  host: string, path: string | null, categories: string, action: number, ruleKind: number, rule: string | null,
  status: number, up: number, down: number, ms: number, term: string | null, alert: number | null,
];

export function toTuple(e: Omit<TrafficEntry, 'id'>, id: number): TrafficTuple {
  return [id, e.client, e.user, e.group, e.method, SCHEMES[e.scheme], e.host, e.path, e.categories, ACTIONS[e.action], RULE_KINDS[e.ruleKind], e.rule,
    e.status, e.up, e.down, e.ms, e.term, e.alert];
}

/** True when a parsed spill-file line has the tuple's shape (a torn last line does not). */
export function isTuple(v: unknown): v is TrafficTuple {
  return Array.isArray(v) && v.length === 18 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string' && typeof v[3] === 'string' && typeof v[6] === 'string';
}

// 64 a millisecond keeps ids under 2^49 until the year 2248, so SQLite stores each in 7 bytes
// (8 with × 1024) in the row and in every index entry.
export const ID_SHIFT = 64;

/** The time (ms since 1970) an id was made at. */
export function timeOfId(id: number): number {
  return Math.floor(id / ID_SHIFT);
}

/** The smallest id made at or after this time: time ranges are id ranges. */
export function idAtTime(ms: number): number {
  return ms * ID_SHIFT;
}

/**
 * Makes time-ordered unique ids. Up to 64 a millisecond (64,000 rows a second); beyond that the ids borrow from the
 * next millisecond, and they never go backwards even if the clock does (ids are unique keys: a
 * repeated id would make a replayed spill row look like one already stored).
 */
export class TrafficIds {
  /**
   * With several proxy processes (proxy.workers) each makes the ids of its `slot` out of `of`
   * (id % of === slot), so no two make the same one and none need ask another.
   */
  constructor(private latest: number, private readonly slot = 0, private readonly of = 1) {}

  /** The last id made (or the starting point). */
  get last(): number {
    return this.latest;
  }

  next(nowMs: number): number {
    let id = Math.max(this.latest + 1, nowMs * ID_SHIFT);
    if (this.of > 1) id += (this.slot - (id % this.of) + this.of) % this.of;
    this.latest = id;
    return id;
  }
}

export type QueryLogging = 'keep' | 'redact';

/** The path and query as they are logged: a redacted query keeps only that there was one. */
export function loggedPath(path: string, query: string, mode: QueryLogging): string {
  if (query === '') return path;
  return mode === 'keep' ? `${path}?${query}` : `${path}?[redacted]`;
}
