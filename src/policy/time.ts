// Schedules ("games for KS2 in golden time, fri 14:30-15:15") are written in the school's
// wall-clock time, so every check happens in local time: a window keeps its local hours across
// the clocks changing, a local time skipped in spring never matches, and one repeated in autumn
// matches both times. Pure: the caller passes the instant; nothing here reads the clock.

export const DEFAULT_TIME_ZONE = 'Europe/London';

const DAY_MINUTES = 1440;
const WEEK_MINUTES = 7 * DAY_MINUTES;
const MINUTE_MS = 60_000;

/** Day numbers: 0 = Monday … 6 = Sunday. */
export interface LocalTime {
  readonly day: number;
  readonly minute: number;
  /** 'YYYY-MM-DD' local date */
  readonly date: string;
}

const WEEKDAY: Readonly<Record<string, number>> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

export class SchoolClock {
  /** The canonical IANA name ("europe/london" is stored as "Europe/London"). */
  readonly timeZone: string;
  readonly #format: Intl.DateTimeFormat;
  // One entry is enough: requests arrive in time order, so nearly all fall in the last minute seen.
  #last: { readonly utcMinute: number; readonly local: LocalTime } | undefined;

  constructor(timeZone: string) {
    // Intl would quietly use the host's zone for undefined; a school must name its own.
    if (typeof timeZone !== 'string' || timeZone.trim() === '') {
      throw new RangeError('no time zone given; use an IANA name such as Europe/London');
    }
    try {
      // hourCycle h23: with hour12:false some ICU versions write midnight as "24".
      this.#format = new Intl.DateTimeFormat('en-US', {
        timeZone, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
      });
    } catch {
      throw new RangeError(`"${timeZone}" is not a time zone; use an IANA name such as Europe/London`);
    }
    this.timeZone = this.#format.resolvedOptions().timeZone;
  }

  /**
   * Local wall-clock day and minute of the instant. Memoised per UTC minute (decide() calls this
   * per request; Intl is slow). Seconds are dropped before converting, which is exact for every
   * offset in whole minutes (all zones since 1972).
   */
  local(now: Date | number): LocalTime {
    const ms = typeof now === 'number' ? now : now.getTime();
    if (!Number.isFinite(ms)) throw new RangeError(`SchoolClock.local: ${String(now)} is not a time`);
    const utcMinute = Math.floor(ms / MINUTE_MS);
    if (this.#last?.utcMinute !== utcMinute) this.#last = { utcMinute, local: this.#compute(utcMinute * MINUTE_MS) };
    return this.#last.local;
  }

  #compute(ms: number): LocalTime {
    const f: Record<string, string> = {};
    for (const p of this.#format.formatToParts(ms)) f[p.type] = p.value;
    const day = WEEKDAY[f.weekday ?? ''];
    if (day === undefined) throw new Error(`Intl gave an unexpected weekday "${f.weekday}"`);
    return Object.freeze({
      day,
      minute: (Number(f.hour) % 24) * 60 + Number(f.minute),
      date: `${(f.year ?? '').padStart(4, '0')}-${f.month}-${f.day}`,
    });
  }
}

export interface TimeWindow {
  /** bit mask, bit d set = day d (0 = Monday) */
  readonly days: number;
  /** minute of day, inclusive */
  readonly from: number;
  /** minute of day, exclusive; to <= from means the window runs past midnight into the next day (the day mask names the day it starts) */
  readonly to: number;
  /** as written, for explanations: "mon-fri 12:00-13:00" */
  readonly text: string;
}

export interface WindowError {
  readonly error: string;
  readonly fix: string;
  /** Which of the three values is wrong, so config errors point at its key and line. */
  readonly field?: 'days' | 'from' | 'to';
}

const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const DAY_ALIASES: Readonly<Record<string, number>> = {
  mon: 0, monday: 0, tue: 1, tues: 1, tuesday: 1, wed: 2, weds: 2, wednesday: 2,
  thu: 3, thur: 3, thurs: 3, thursday: 3, fri: 4, friday: 4, sat: 5, saturday: 5, sun: 6, sunday: 6,
};
const DAY_GROUPS: Readonly<Record<string, number>> = {
  'every day': 0x7f, everyday: 0x7f, daily: 0x7f, weekdays: 0x1f, weekends: 0x60,
};
const DAYS_FIX =
  'write days as mon, tue, wed, thu, fri, sat, sun: a range "mon-fri", a list "sat,sun" or "mon,wed-fri", or "every day", "weekdays" or "weekends"';
const TIME_FIX = 'write a 24-hour time as HH:MM, e.g. "08:45" or "15:15"';

/** Parses "mon-fri", "sat,sun", "mon,wed-fri", "every day"/"daily"/"weekdays"/"weekends" and "HH:MM" times ("24:00" allowed as an end). Returns the window or a human error message naming the fix. */
export function parseWindow(days: string, from: string, to: string): TimeWindow | WindowError {
  const mask = parseDays(days);
  if (typeof mask !== 'number') return { ...mask, field: 'days' };
  const start = parseTime(from, 'start');
  if (typeof start !== 'number') return { ...start, field: 'from' };
  const end = parseTime(to, 'end');
  if (typeof end !== 'number') return { ...end, field: 'to' };
  if (start === end) {
    // By the to <= from rule this would be 24 hours from the start; far more likely a slip.
    return {
      field: 'to',
      error: `start and end are both ${from.trim()}, so the window is either empty or a whole day`,
      fix: 'for the whole day write 00:00-24:00; otherwise give an end time different from the start',
    };
  }
  const text = `${days.trim().replace(/\s+/g, ' ')} ${from.trim()}-${to.trim()}`;
  return Object.freeze({ days: mask, from: start, to: end, text });
}

/** A day mask (bit 0 = Monday) from "mon-fri", "sat,sun", "weekdays", …, or the error and its fix. */
export function parseDays(written: string): number | WindowError {
  // Tolerate spaces around separators and the en dash that word processors put in ranges.
  const s = written.trim().toLowerCase().replace(/\s+/g, ' ').replace(/[–—]/g, '-').replace(/ ?([-,]) ?/g, '$1');
  if (s === '') return { error: 'no days given', fix: DAYS_FIX };
  let mask = 0;
  for (const item of s.split(',')) {
    if (item === '') return { error: `"${written.trim()}" has an empty item between commas`, fix: DAYS_FIX };
    const group = DAY_GROUPS[item];
    if (group !== undefined) {
      mask |= group;
      continue;
    }
    const ends = item.split('-');
    if (ends.length > 2 || ends.includes('')) {
      return { error: `"${item}" is not a day range`, fix: 'write a range as first-last, e.g. "mon-fri"' };
    }
    const [first, last] = ends.map((name) => DAY_ALIASES[name]);
    const unknown = ends.find((name) => DAY_ALIASES[name] === undefined);
    if (first === undefined || unknown !== undefined) {
      const name = unknown ?? item;
      // Every day name has distinct first two letters, so they are enough to guess a typo.
      const guess = DAY_NAMES.find((d) => name.length >= 2 && d.startsWith(name.slice(0, 2)));
      const where = name === written.trim().toLowerCase() ? '' : ` in "${written.trim()}"`;
      return { error: `"${name}"${where} is not a day`, fix: `${guess ? `did you mean "${guess}"? ` : ''}${DAYS_FIX}` };
    }
    // A range may wrap past Sunday ("fri-mon" is Friday to Monday).
    for (let d = first; ; d = (d + 1) % 7) {
      mask |= 1 << d;
      if (d === (last ?? first)) break;
    }
  }
  return mask;
}

/** Minute of the day from "HH:MM" ("24:00" as an end), or the error and its fix. */
export function parseTime(written: string, which: 'start' | 'end'): number | WindowError {
  const s = written.trim();
  if (s === '') return { error: `no ${which} time given`, fix: TIME_FIX };
  const m = /^(\d{1,2}):(\d{2})$/.exec(s);
  if (!m) return { error: `${which} time "${s}" is not in HH:MM form`, fix: suggestTime(s) ?? TIME_FIX };
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  if (hour === 24 && minute === 0) {
    if (which === 'end') return DAY_MINUTES;
    return { error: `start time "${s}" is the end of the day`, fix: 'a window that starts at midnight starts at "00:00"' };
  }
  if (hour > 23) {
    return {
      error: `${which} time "${s}" has hour ${hour}, but hours run 00 to 23`,
      fix: `${TIME_FIX}; midnight at the end of a window is "24:00"`,
    };
  }
  if (minute > 59) {
    const carried = hour * 60 + minute;
    return {
      error: `${which} time "${s}" has minute ${minute}, but minutes run 00 to 59`,
      fix: carried < DAY_MINUTES ? `write "${hhmm(carried)}"` : TIME_FIX,
    };
  }
  return hour * 60 + minute;
}

/** For near misses ("9:5", "12.30", "1230", "2pm"), the HH:MM the technician probably meant. */
function suggestTime(s: string): string | undefined {
  const m = /^(\d{1,2})\s*[:.h]?\s*(\d{1,2})?\s*(am|pm)?$/i.exec(s);
  if (!m) return undefined;
  let hour = Number(m[1]);
  const minute = Number(m[2] ?? 0);
  const half = m[3]?.toLowerCase();
  if (half !== undefined) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (half === 'pm' ? 12 : 0);
  }
  if (hour > 23 || minute > 59) return undefined;
  return `write it as "${hhmm(hour * 60 + minute)}" (24-hour clock, two-digit minutes)`;
}

function hhmm(minuteOfDay: number): string {
  return `${String(Math.floor(minuteOfDay / 60)).padStart(2, '0')}:${String(minuteOfDay % 60).padStart(2, '0')}`;
}

export function inWindow(w: TimeWindow, t: LocalTime): boolean {
  if (w.from < w.to) return (w.days >> t.day) & 1 ? t.minute >= w.from && t.minute < w.to : false;
  // Past midnight: the evening part belongs to the day named, the morning part to the day after it.
  if (t.minute >= w.from) return ((w.days >> t.day) & 1) === 1;
  if (t.minute < w.to) return ((w.days >> ((t.day + 6) % 7)) & 1) === 1;
  return false;
}

/**
 * The next minute boundary (epoch ms, after `now`) at which inWindow could change for any of the
 * windows, or Infinity if it never can, so a decision may be cached until then. It may be early
 * (at a change of the clocks, or a boundary where nothing actually changes), never late.
 */
export function nextChange(windows: readonly TimeWindow[], clock: SchoolClock, now: Date | number): number {
  const ms = typeof now === 'number' ? now : now.getTime();
  const startMs = Math.floor(ms / MINUTE_MS) * MINUTE_MS;
  const t = clock.local(startMs);
  const weekMinute = t.day * DAY_MINUTES + t.minute;
  let ahead = Infinity;
  for (const w of windows) {
    const end = w.to + (w.to <= w.from ? DAY_MINUTES : 0);
    for (let d = 0; d < 7; d++) {
      if (!((w.days >> d) & 1)) continue;
      for (const edge of [d * DAY_MINUTES + w.from, d * DAY_MINUTES + end]) {
        // A boundary at this very minute has already happened; its next turn is a week away.
        ahead = Math.min(ahead, ((edge - weekMinute) % WEEK_MINUTES + WEEK_MINUTES) % WEEK_MINUTES || WEEK_MINUTES);
      }
    }
  }
  if (ahead === Infinity) return Infinity;
  // Local minutes track UTC minutes only while the offset holds; if the clocks change first, the
  // change is where the local time jumps, so stop there and let the caller ask again.
  const candidate = startMs + ahead * MINUTE_MS;
  const offset = offsetMinutes(clock, startMs);
  if (offsetMinutes(clock, candidate) === offset) return candidate;
  let lo = startMs / MINUTE_MS; // offset as at start
  let hi = candidate / MINUTE_MS; // offset changed
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMinutes(clock, mid * MINUTE_MS) === offset) lo = mid;
    else hi = mid;
  }
  return hi * MINUTE_MS;
}

/** Local minus UTC, in minutes, at a whole UTC minute. */
function offsetMinutes(clock: SchoolClock, ms: number): number {
  const t = clock.local(ms);
  return Date.parse(`${t.date}T00:00Z`) / MINUTE_MS + t.minute - ms / MINUTE_MS;
}

/** A local date ('YYYY-MM-DD') `days` later (or earlier): calendar arithmetic, no time zone involved. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * An ISO time as an instant: with a zone (Z, +01:00) as written, without one as wall-clock time
 * in `timeZone` (2026-11-20T14:45 is a quarter to three at the school). null when it is not a time.
 */
export function instantOf(text: string, timeZone: string): Date | null {
  // Only what people write: a date in years 1970-9999, a time, optionally seconds and a zone. A
  // date that does not exist (31 February) is refused, not rolled over.
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(text);
  if (!m) return null;
  const [, y, mo, day, h = '00', mi = '00', sec = '00'] = m;
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(day), Number(h), Number(mi), Number(sec)));
  if (Number(y) < 1970 || check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(day) || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return null;
  const hasZone = m[7] !== undefined;
  const d = new Date(hasZone ? text : `${text.length === 10 ? `${text}T00:00` : text}Z`);
  if (Number.isNaN(d.getTime())) return null;
  if (hasZone) return d;
  // Read as local wall time: shift by the zone's offset at that moment (twice, to settle across a change).
  let t = d.getTime();
  for (let i = 0; i < 2; i++) t = d.getTime() - offsetMs(new Date(t), timeZone);
  return new Date(t);
}

function offsetMs(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(at);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(at.getTime() / 1000) * 1000;
}
