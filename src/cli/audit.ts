// schoolgate audit verify|list: check the audit chain end to end, and read its newest rows.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog, type AuditRow } from '../store/audit.js';
import { DATABASE_FILE, openDatabase } from '../store/db.js';
import { SchemaError } from '../store/migrations.js';
import { COMMON_HELP, COMMON_OPTIONS, formatTable, helpText, parse, paths, UsageError, type CommandSpec, type Io } from './command.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  'expect-head': { type: 'string' },
  limit: { type: 'string', short: 'n' },
  actor: { type: 'string' },
  action: { type: 'string' },
  json: { type: 'boolean' },
} as const;
const spec = {
  name: 'audit',
  summary: 'verify the audit chain, or list its newest rows',
  usage: 'audit verify [--expect-head HASH] | audit list [--limit N] [--actor A] [--action X] [--json] [--config FILE] [--data DIR]',
  details: [
    'verify  check every row of the audit chain (data/schoolgate.db) against its hash and the',
    '        previous row\'s; exit 1 naming the first broken row and why. Prints the head hash:',
    '        keep it somewhere else (a notebook, an email) and give it later as --expect-head to',
    '        show that no rows up to it were cut off or rewritten, which the chain alone cannot.',
    'list    the newest rows first: time, actor, action, subject and detail.',
    '',
    'Changes made from the command line are recorded as the operating-system user running it (the',
    'person behind sudo, when there is one); set SCHOOLGATE_ACTOR=NAME to record a name instead.',
  ].join('\n'),
  options: OPTIONS,
  help: {
    ...COMMON_HELP,
    'expect-head': 'with verify: a head hash written down earlier that the chain must still hold',
    limit: 'with list: at most N rows (default 50)',
    actor: 'with list: only this actor\'s rows',
    action: 'with list: only rows of this action (user.added, policy.changed, …)',
    json: 'with list: print a JSON array',
  },
  positionals: { min: 1, max: 1 },
} as const satisfies CommandSpec<typeof OPTIONS>;

export async function auditCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, help } = parse(spec, argv);
  if (help) return io.out(helpText(spec)), 0;
  const action = positionals[0];
  if (action !== 'verify' && action !== 'list') throw new UsageError(`unknown audit action "${action}": use verify or list`);
  const { data } = paths(values);
  const file = join(data, DATABASE_FILE);
  // Opening would create an empty database, and an empty chain is intact: say the folder is wrong instead.
  if (!existsSync(file)) throw new UsageError(`no database at ${file}: is --data right?`);
  let db;
  try {
    db = openDatabase(data);
  } catch (err) {
    if (err instanceof SchemaError) return io.err(`schoolgate audit: ${err.message}`), 1;
    throw err;
  }
  try {
    const log = new AuditLog(db);
    return action === 'verify' ? verify(log, values['expect-head'], io) : list(log, values, io);
  } finally {
    db.close();
  }
}

function verify(log: AuditLog, expectHead: string | undefined, io: Io): number {
  if (expectHead !== undefined && !/^[0-9a-f]{64}$/i.test(expectHead)) throw new UsageError(`--expect-head: "${expectHead.slice(0, 80)}" is not a hash (64 hexadecimal digits)`);
  const result = log.verify(expectHead === undefined ? {} : { expectHead: expectHead.toLowerCase() });
  if (result.ok) {
    io.out(`audit chain intact: ${result.rows} row${result.rows === 1 ? '' : 's'}, head ${result.head}`);
    if (result.anchorId !== undefined) io.out(`expected head found at row ${result.anchorId}`);
    return 0;
  }
  if ('firstBroken' in result) {
    const b = result.firstBroken;
    io.err(`audit chain broken at row ${b.id}: ${b.reason}`);
    io.err(`the ${result.rows} row${result.rows === 1 ? '' : 's'} before it ${result.rows === 1 ? 'is' : 'are'} intact (last good hash ${result.head})`);
  } else {
    io.err(`audit chain does not hold the expected head ${result.missingHead}: rows were cut off its end, or it was rewritten (now ${result.rows} rows, head ${result.head})`);
  }
  return 1;
}

function list(log: AuditLog, values: { limit?: string | undefined; actor?: string | undefined; action?: string | undefined; json?: boolean | undefined }, io: Io): number {
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: "${values.limit}" is not a whole number of at least 1`);
  const rows = log.list({ limit, ...(values.actor !== undefined ? { actor: values.actor } : {}), ...(values.action !== undefined ? { action: values.action } : {}) });
  if (values.json) io.out(JSON.stringify(rows));
  else if (rows.length === 0) io.out('no audit rows');
  else io.out(table(rows));
  return 0;
}

function table(rows: readonly AuditRow[]): string {
  return formatTable([['id', 'at', 'actor', 'action', 'subject', 'detail'], ...rows.map((r) => [String(r.id), r.at, r.actor, r.action, r.subject, JSON.stringify(r.detail)])]);
}
