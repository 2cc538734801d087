// Digests on a schedule: the daily one at the end of the school day (Monday to Friday) and the
// weekly one, at times written in the school's wall-clock time (the safeguarding file's
// `digests:`). At each run the scheduler writes the digest's outbox row and kicks the queue,
// which delivers it like any notification (in this process, or through BullMQ). The daily digest
// covers everything since the previous daily digest's end (a Monday's covers the weekend; one
// sent by hand with `schoolgate digest --send-now` moves the start on); the weekly covers the
// last seven days. A run missed while Schoolgate was stopped is sent when it starts again, and
// several processes running the scheduler write one row per run between them.
import type { Checker } from '../config/check.js';
import type { SchoolgateConfig } from '../config/load.js';
import type { KeyPath } from '../config/yaml.js';
import type { Logger } from '../log.js';
import { addDays, parseDays, parseTime, SchoolClock } from '../policy/time.js';
import type { AlertService } from './service.js';
import type { AlertStore } from './store.js';

export const DIGEST_PERIODS = ['daily', 'weekly'] as const;
export type DigestPeriod = (typeof DIGEST_PERIODS)[number];

/** When a digest runs: a minute of the day on the days of a mask (bit 0 = Monday). */
export interface DigestTime {
  readonly days: number;
  readonly minute: number;
  /** As written ("16:00", "fri 16:30"). */
  readonly text: string;
}

/** null: that digest is off. */
export type DigestSchedule = Readonly<Record<DigestPeriod, DigestTime | null>>;

const SCHOOL_DAYS = 0x1f;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** The scheduler looks at least this often, so a reload's new times and a clock set right count. */
const MAX_SLEEP_MS = 60_000;
/** After a run could not be written (the database busy, the disk full), try again after this. */
const RETRY_MS = 10_000;

export const DEFAULT_DIGESTS: DigestSchedule = {
  daily: { days: SCHOOL_DAYS, minute: 16 * 60, text: '16:00' },
  weekly: { days: 1 << 4, minute: 16 * 60 + 30, text: 'fri 16:30' },
};

const FIX: Readonly<Record<DigestPeriod, string>> = {
  daily: 'write a time such as "16:00" (school days, Monday to Friday), days and a time such as "mon-thu 15:30", or "off"',
  weekly: 'write one day and a time such as "fri 16:30", or "off"',
};

/** The safeguarding file's `digests: { daily: "16:00", weekly: "fri 16:30" }`; defaults where unsaid. */
export function parseDigestSchedule(check: Checker, v: unknown): DigestSchedule {
  if (v === undefined) return DEFAULT_DIGESTS;
  const o = check.object(['digests'], v, DIGEST_PERIODS) ?? {};
  const read = (period: DigestPeriod): DigestTime | null => {
    const written = o[period];
    if (written === undefined) return DEFAULT_DIGESTS[period];
    const at: KeyPath = ['digests', period];
    if (written === false || written === 'off') return null;
    const text = check.string(at, written);
    if (text === undefined) return DEFAULT_DIGESTS[period];
    const m = /^(?:(.*\S)\s+)?(\S+)$/.exec(text.trim());
    const days = m?.[1] === undefined ? (period === 'daily' ? SCHOOL_DAYS : 0) : parseDays(m[1]);
    const minute = parseTime(m?.[2] ?? '', 'start');
    const problem = typeof days === 'object' ? days : typeof minute === 'object' ? minute : null;
    if (problem) return check.fail(at, problem.error.replace(/^start time/, 'time'), problem.fix) ?? DEFAULT_DIGESTS[period];
    if (typeof days !== 'number' || typeof minute !== 'number' || days === 0 || (period === 'weekly' && (days & (days - 1)) !== 0)) {
      return check.fail(at, `"${text}" is not ${period === 'weekly' ? 'one day and a time' : 'a time, or days and a time'}`, FIX[period]) ?? DEFAULT_DIGESTS[period];
    }
    return { days, minute, text };
  };
  return { daily: read('daily'), weekly: read('weekly') };
}

// Wall-clock arithmetic ----------------------------------------------------------------------

/** Local minus UTC at the instant, in minutes. */
function offsetAt(clock: SchoolClock, ms: number): number {
  const l = clock.local(ms);
  return (Date.parse(`${l.date}T00:00Z`) / MINUTE_MS + l.minute) - Math.floor(ms / MINUTE_MS);
}

/**
 * The instant of a local date and minute. A time the clocks pass twice (autumn) is its first
 * instant; one they skip (spring) is where it would have been had they not gone forward.
 */
export function localInstant(clock: SchoolClock, date: string, minute: number): number {
  const naive = Date.parse(`${date}T00:00Z`) + minute * MINUTE_MS;
  const before = naive - offsetAt(clock, naive - 12 * 3_600_000) * MINUTE_MS;
  const after = naive - offsetAt(clock, naive + 12 * 3_600_000) * MINUTE_MS;
  for (const t of [Math.min(before, after), Math.max(before, after)]) {
    const l = clock.local(t);
    if (l.date === date && l.minute === minute) return t;
  }
  return before;
}

/** The run times of `t` on the eight local days from `date` on (step 1) or back (step -1). */
function* runs(t: DigestTime, clock: SchoolClock, date: string, step: 1 | -1): Generator<number> {
  for (let i = 0; i <= 8; i++) {
    const d = addDays(date, i * step);
    const weekday = (new Date(`${d}T00:00Z`).getUTCDay() + 6) % 7;
    if ((t.days >> weekday) & 1) yield localInstant(clock, d, t.minute);
  }
}

/** The first run strictly after `after` (epoch ms). */
export function nextRun(t: DigestTime, clock: SchoolClock, after: number): number {
  for (const at of runs(t, clock, addDays(clock.local(after).date, -1), 1)) if (at > after) return at;
  throw new RangeError(`digest time "${t.text}" names no day`);
}

/** The last run at or before `atOrBefore`. */
export function previousRun(t: DigestTime, clock: SchoolClock, atOrBefore: number): number {
  for (const at of runs(t, clock, addDays(clock.local(atOrBefore).date, 1), -1)) if (at <= atOrBefore) return at;
  throw new RangeError(`digest time "${t.text}" names no day`);
}

/**
 * The range of a digest ending at `to`: a daily one from the previous daily digest's end (24
 * hours when there is none); a weekly one from the same wall-clock time seven days before.
 */
export function digestRange(period: DigestPeriod, store: AlertStore, clock: SchoolClock, to: number): { from: number; to: number } {
  if (period === 'daily') return { from: Math.min(store.lastDigestEnd('daily') ?? to - DAY_MS, to), to };
  const l = clock.local(to);
  return { from: localInstant(clock, addDays(l.date, -7), l.minute) + (to % MINUTE_MS), to };
}

/** Writes the digest's outbox row, unless a digest of the period already reaches `to`; returns its id or null. */
export function addDigestRow(alerts: Pick<AlertService, 'db' | 'store'>, period: DigestPeriod, clock: SchoolClock, to: number, now: number): number | null {
  // One write transaction: two processes scheduling the same run write one row between them.
  return alerts.db.transaction(() => {
    if ((alerts.store.lastDigestEnd(period) ?? -Infinity) >= to) return null;
    const range = digestRange(period, alerts.store, clock, to);
    return alerts.store.addDigest(period, range.from, range.to, now);
  }).immediate();
}

export interface DigestSchedulerOptions {
  readonly config: () => Pick<SchoolgateConfig, 'school' | 'safeguarding'>;
  readonly log: Logger;
  /** Tests move the clock. */
  readonly now?: () => number;
}

/** Runs the digests in this process while it runs: start() with the process, stop() before closing the alerts. */
export class DigestScheduler {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  /** A run that could not be written is tried again this soon, not at the next run's time. */
  private failed = false;
  /** The last run done (or found done) of each period. */
  private readonly done = new Map<DigestPeriod, number>();

  constructor(private readonly alerts: Pick<AlertService, 'db' | 'store' | 'queue'>, private readonly opts: DigestSchedulerOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.tick();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Writes the row of each run due by now and not yet done; returns the outbox ids written. */
  runDue(): number[] {
    const cfg = this.opts.config();
    const clock = new SchoolClock(cfg.school.timezone);
    const now = this.now();
    const written: number[] = [];
    this.failed = false;
    for (const period of DIGEST_PERIODS) {
      const t = cfg.safeguarding.digests[period];
      if (t === null) continue;
      const due = previousRun(t, clock, now);
      if (due <= this.since(period, now)) continue;
      try {
        const id = addDigestRow(this.alerts, period, clock, due, now);
        this.done.set(period, due);
        if (id !== null) {
          written.push(id);
          this.opts.log.info({ period, outbox: id, to: new Date(due).toISOString() }, 'digest: written to the outbox');
        }
      } catch (err) {
        this.failed = true;
        this.opts.log.error({ period, err: (err as Error).message }, 'digest: could not be written; trying again shortly');
      }
    }
    if (written.length > 0) this.alerts.queue.kick();
    return written;
  }

  /** The last run done: at first, the last digest's end (so a run missed while stopped is sent now), or now before the first digest ever. */
  private since(period: DigestPeriod, now: number): number {
    let done = this.done.get(period);
    if (done === undefined) this.done.set(period, (done = this.alerts.store.lastDigestEnd(period) ?? now));
    return done;
  }

  /** When the next run of any period is (Infinity when both are off). */
  nextDue(): number {
    const cfg = this.opts.config();
    const clock = new SchoolClock(cfg.school.timezone);
    const now = this.now();
    return Math.min(...DIGEST_PERIODS.map((p) => cfg.safeguarding.digests[p]).map((t) => (t === null ? Infinity : nextRun(t, clock, now))));
  }

  private tick(): void {
    this.timer = null;
    this.runDue();
    const wait = Math.max(0, Math.min(this.nextDue() - this.now(), this.failed ? RETRY_MS : MAX_SLEEP_MS));
    this.timer = setTimeout(() => this.tick(), wait);
    this.timer.unref();
  }
}
