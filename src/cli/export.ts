// schoolgate export (--user U | --ip A) --from T --to T [--csv|--json]: everything one person or
// one device did in a time range, from the traffic log, for subject-access requests and
// investigations. Reads the database read-only (it may run beside the proxy) and writes nothing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { loadCommandConfig } from './config.js';
import type { SchoolClock } from '../policy/time.js';
import { DATABASE_FILE } from '../store/db.js';
import { eachActivity, type ActivityRow } from '../store/queries.js';
import { COMMON_HELP, COMMON_OPTIONS, helpText, parse, paths, UsageError, type CommandSpec, type Io } from './command.js';
import { parseBound } from './times.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  user: { type: 'string', short: 'u' }, ip: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' },
  csv: { type: 'boolean' }, json: { type: 'boolean' },
} as const;
const spec = {
  name: 'export',
  summary: 'everything one person or device did in a time range, as CSV or JSON',
  usage: 'export (--user U | --ip A) --from T --to T [--csv | --json] [--config FILE] [--data DIR]',
  details: [
    'Prints the traffic log rows of one person (the username they signed in with, any case) or',
    'one device (its address) from --from up to, not including, --to, oldest first, on standard',
    'output: schoolgate export --user amy --from 2026-11-02 --to 2026-11-06 > amy.csv',
    '',
    'T is a date (2026-11-20: the start of that day for --from, the end of it for --to) or an',
    'ISO time (2026-11-20T14:45, in the school\'s time zone; 2026-11-20T14:45Z for UTC).',
    '',
    'CSV (the default): RFC 4180, a header row, fields with commas, quotes or line breaks quoted.',
    'JSON: one array, one object a line. Columns and keys: time (UTC), localTime (school time),',
    'user, client, group, method, scheme, host, path, categories, action, ruleKind, rule, status,',
    'up and down (bytes), ms, term (search term), alert, id. The number of rows goes to stderr.',
    'The database is opened read-only: nothing is written, not even an audit row.',
  ].join('\n'),
  options: OPTIONS,
  help: {
    ...COMMON_HELP,
    user: 'the person: a username, matched without regard to case',
    ip: 'the device: its address as the proxy saw it',
    from: 'start: a date or an ISO time, school time unless it has a zone',
    to: 'end (not included): a date (the whole day) or an ISO time',
    csv: 'CSV with a header row (the default)',
    json: 'a JSON array, one row object a line',
  },
} as const satisfies CommandSpec<typeof OPTIONS>;

/** CSV columns and JSON keys, in order. */
const COLUMNS = ['time', 'localTime', 'user', 'client', 'group', 'method', 'scheme', 'host', 'path', 'categories', 'action', 'ruleKind', 'rule',
  'status', 'up', 'down', 'ms', 'term', 'alert', 'id'] as const;
type ExportRow = { readonly [K in (typeof COLUMNS)[number]]: K extends keyof ActivityRow ? ActivityRow[K] : string };
/** Output is written in chunks of about this many characters. */
const CHUNK = 64 * 1024;

export async function exportCommand(argv: string[], io: Io): Promise<number> {
  const { values, help } = parse(spec, argv);
  if (help) return io.out(helpText(spec)), 0;
  if ((values.user === undefined) === (values.ip === undefined)) throw new UsageError('give --user USERNAME or --ip ADDRESS (one of them)');
  if (values.from === undefined || values.to === undefined) throw new UsageError('give --from and --to: a date (2026-11-20) or an ISO time (2026-11-20T14:45)');
  if (values.csv && values.json) throw new UsageError('give --csv or --json, not both');
  const { config, data } = paths(values);
  const clock = loadCommandConfig(config, data).policy.clock;
  const from = parseBound(values.from, clock.timeZone, '--from', false);
  const to = parseBound(values.to, clock.timeZone, '--to', true);
  if (to.getTime() <= from.getTime()) throw new UsageError(`--to (${to.toISOString()}) must be after --from (${from.toISOString()})`);
  const file = join(data, DATABASE_FILE);
  if (!existsSync(file)) throw new UsageError(`no database at ${file}: is --data right?`);
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    if (db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'traffic'").get() === undefined) {
      io.err(`schoolgate export: ${file} has no traffic log yet: start this version of Schoolgate once to bring the database up to date`);
      return 1;
    }
    const subject = values.user !== undefined ? { user: values.user } : { ip: values.ip! };
    const rows = eachActivity(db, { ...subject, from, to });
    const count = values.json ? writeJson(rows, clock, io) : writeCsv(rows, clock, io);
    io.err(`${count} row${count === 1 ? '' : 's'}: ${values.user !== undefined ? `user ${values.user}` : `device ${values.ip}`}, ${from.toISOString()} to ${to.toISOString()}`);
    return 0;
  } finally {
    db.close();
  }
}


function exportRow(r: ActivityRow, clock: SchoolClock): ExportRow {
  const ms = Date.parse(r.time);
  const local = clock.local(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  const localTime = `${local.date} ${two(Math.floor(local.minute / 60))}:${two(local.minute % 60)}:${two(Math.floor(ms / 1000) % 60)}`;
  return {
    time: r.time, localTime, user: r.user, client: r.client, group: r.group, method: r.method, scheme: r.scheme, host: r.host, path: r.path,
    categories: r.categories, action: r.action, ruleKind: r.ruleKind, rule: r.rule, status: r.status, up: r.up, down: r.down, ms: r.ms,
    term: r.term, alert: r.alert, id: r.id,
  };
}

/** Writes each row through `line`, in chunks; returns the number of rows. */
function writeRows(rows: Iterable<ActivityRow>, clock: SchoolClock, io: Io, first: string, line: (r: ExportRow, i: number) => string, last: string): number {
  let out = first;
  let n = 0;
  for (const r of rows) {
    out += line(exportRow(r, clock), n++);
    if (out.length >= CHUNK) {
      io.out(out);
      out = '';
    }
  }
  out += last;
  if (out !== '') io.out(out);
  return n;
}

function writeCsv(rows: Iterable<ActivityRow>, clock: SchoolClock, io: Io): number {
  return writeRows(rows, clock, io, `${COLUMNS.join(',')}\r\n`, (r) => `${COLUMNS.map((c) => csvField(r[c])).join(',')}\r\n`, '');
}

function writeJson(rows: Iterable<ActivityRow>, clock: SchoolClock, io: Io): number {
  return writeRows(rows, clock, io, '[', (r, i) => `${i === 0 ? '\n' : ',\n'}${JSON.stringify(r)}`, '\n]\n');
}

/** RFC 4180: a field with a comma, a double quote or a line break goes in double quotes, each quote doubled. */
export function csvField(v: string | number | null | readonly string[]): string {
  const s = v === null ? '' : Array.isArray(v) ? v.join(',') : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
