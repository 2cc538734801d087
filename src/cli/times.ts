// The times a command takes as options (--at, --from, --to): ISO times read in the school's
// time zone unless they carry their own. Kept apart from the commands that use them, so that
// one command does not load another's dependencies for them.
import { instantOf } from '../policy/time.js';
import { UsageError } from './command.js';

/** An ISO time; without a zone it is read in the school's time zone. `option` names it in the error. */
export function parseAt(text: string, timeZone: string, option = '--at'): Date {
  const d = instantOf(text, timeZone);
  if (d === null) throw new UsageError(`${option}: "${text}" is not an ISO time (write 2026-11-20T14:45, or with a zone: 2026-11-20T14:45Z)`);
  return d;
}

/** A date is the start of that day (the end of it, for --to) in the school's time zone; otherwise an ISO time. */
export function parseBound(text: string, timeZone: string, option: string, end: boolean): Date {
  const t = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(t)) return parseAt(t, timeZone, option);
  const day = new Date(`${t}T00:00:00Z`);
  if (Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== t) throw new UsageError(`${option}: "${t}" is not a date`);
  if (end) day.setUTCDate(day.getUTCDate() + 1);
  return parseAt(`${day.toISOString().slice(0, 10)}T00:00`, timeZone, option);
}
