// schoolgate users add|list|disable|enable|passwd|import: the people and shared logins who sign
// in to the proxy. A password is only ever read from standard input (a pipe, or typed at a
// prompt that does not show it), never from the command line, and never printed.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ReadStream } from 'node:tty';
import { loadCommandConfig } from './config.js';
import { openDatabase, type Database } from '../store/db.js';
import { SchemaError } from '../store/migrations.js';
import { parseRoles, ROLES, type Role } from '../store/user-rules.js';
import { UserError, UserStore, type GroupIds, type UserRow } from '../store/users.js';
import { COMMON_HELP, COMMON_OPTIONS, formatTable, helpText, parse, paths, UsageError, type CommandSpec, type Io } from './command.js';

const PASSWORD_STDIN = { 'password-stdin': { type: 'boolean' } } as const;
const PASSWORD_STDIN_HELP = {
  'password-stdin': 'read the password from standard input: a pipe (printf \'%s\' "$PW" | …) or, at a terminal, a prompt that does not show it',
} as const;

const ADD_OPTIONS = { ...COMMON_OPTIONS, group: { type: 'string', short: 'g' }, name: { type: 'string' }, shared: { type: 'boolean' }, role: { type: 'string', multiple: true }, email: { type: 'string' }, ...PASSWORD_STDIN } as const;
const ROLES_OPTIONS = { ...COMMON_OPTIONS, role: { type: 'string', multiple: true }, email: { type: 'string' } } as const;
const ROLE_HELP = `a staff role in the web app: ${ROLES.join(', ')} (repeat, or separate with commas; none for pupils)`;
const LIST_OPTIONS = { ...COMMON_OPTIONS, json: { type: 'boolean' } } as const;
const PASSWD_OPTIONS = { ...COMMON_OPTIONS, ...PASSWORD_STDIN } as const;
const IMPORT_OPTIONS = { ...COMMON_OPTIONS, 'dry-run': { type: 'boolean' } } as const;

const specs = {
  add: {
    name: 'users add',
    summary: 'add a user who signs in to the proxy',
    usage: 'users add USERNAME (--group G | --role R) [--name "Display Name"] [--email ADDRESS] [--shared] --password-stdin [--config FILE] [--data DIR]',
    details: 'USERNAME: 1 to 64 letters, digits, dots, underscores, @ or hyphens; case does not matter when\nsigning in. The password (at least 8 characters; 4 for a --shared login) is read from standard\ninput, never from the command line: printf \'%s\' "$PW" | schoolgate users add …',
    options: ADD_OPTIONS,
    help: { ...COMMON_HELP, ...PASSWORD_STDIN_HELP, group: 'the group the user belongs to (a group of the policy: ks1, ks2, staff, …; staff when only --role is given)', name: 'the name staff see in reports', shared: 'a year-group or visitor login used by several people (password may be 4 characters)', role: ROLE_HELP, email: 'where the staff app tells them about their unblock requests' },
    positionals: { min: 1, max: 1 },
  },
  roles: {
    name: 'users roles',
    summary: 'set the staff roles (and e-mail address) of a user',
    usage: 'users roles USERNAME [--role R ...] [--email ADDRESS] [--config FILE] [--data DIR]',
    details: 'Replaces the user\'s roles with those given; with no --role, the user has no role in the web app.',
    options: ROLES_OPTIONS,
    help: { ...COMMON_HELP, role: ROLE_HELP, email: 'where the staff app tells them about their unblock requests' },
    positionals: { min: 1, max: 1 },
  },
  list: {
    name: 'users list',
    summary: 'list the users',
    usage: 'users list [--json] [--config FILE] [--data DIR]',
    options: LIST_OPTIONS,
    help: { ...COMMON_HELP, json: 'print a JSON array' },
  },
  disable: {
    name: 'users disable',
    summary: 'stop a user signing in (the user and their history are kept)',
    usage: 'users disable USERNAME [--config FILE] [--data DIR]',
    options: COMMON_OPTIONS,
    help: COMMON_HELP,
    positionals: { min: 1, max: 1 },
  },
  enable: {
    name: 'users enable',
    summary: 'let a disabled user sign in again',
    usage: 'users enable USERNAME [--config FILE] [--data DIR]',
    options: COMMON_OPTIONS,
    help: COMMON_HELP,
    positionals: { min: 1, max: 1 },
  },
  passwd: {
    name: 'users passwd',
    summary: 'set a user\'s password',
    usage: 'users passwd USERNAME --password-stdin [--config FILE] [--data DIR]',
    details: 'The new password is read from standard input, never from the command line.',
    options: PASSWD_OPTIONS,
    help: { ...COMMON_HELP, ...PASSWORD_STDIN_HELP },
    positionals: { min: 1, max: 1 },
  },
  import: {
    name: 'users import',
    summary: 'add or update users from a CSV file',
    usage: 'users import FILE.csv [--dry-run] [--config FILE] [--data DIR]',
    details: [
      'FILE.csv (or - for standard input) starts with a header row naming its columns:',
      '  username,group,password[,name][,shared]',
      'then one user a row. A user who exists already gets the row\'s group and password (and its name',
      'and shared flag when those cells are filled in); a disabled user stays disabled. Put a field',
      'that holds a comma or a double quote in double quotes, with "" for a quote. shared is yes/no.',
      'A row with a problem is reported with its line number and skipped; the others are imported.',
      'Passwords are never printed. Exit code 1 when any row was refused.',
    ].join('\n'),
    options: IMPORT_OPTIONS,
    help: { ...COMMON_HELP, 'dry-run': 'check the file and say what would change, writing nothing' },
    positionals: { min: 1, max: 1 },
  },
} as const satisfies {
  add: CommandSpec<typeof ADD_OPTIONS>; roles: CommandSpec<typeof ROLES_OPTIONS>; list: CommandSpec<typeof LIST_OPTIONS>; disable: CommandSpec<typeof COMMON_OPTIONS>;
  enable: CommandSpec<typeof COMMON_OPTIONS>; passwd: CommandSpec<typeof PASSWD_OPTIONS>; import: CommandSpec<typeof IMPORT_OPTIONS>;
};

type Action = keyof typeof specs;

function overview(): string {
  return [
    'schoolgate users - the people and shared logins who sign in to the proxy',
    '',
    'Usage: schoolgate users ACTION [options]',
    '',
    'Actions:',
    ...Object.entries(specs).map(([action, s]) => `  ${action.padEnd(8)} ${s.summary}`),
    '',
    'Run "schoolgate users ACTION --help" for each. Every action takes --config FILE and --data DIR;',
    'the users are kept in DIR/schoolgate.db. Passwords are read from standard input only.',
    'Every change is recorded in the audit chain ("schoolgate audit list") as made by the',
    'operating-system user running the command, or by SCHOOLGATE_ACTOR=NAME when that is set.',
  ].join('\n');
}

/** Where a password is read from: process.stdin, or a stream in tests. */
export type PasswordInput = NodeJS.ReadableStream & Partial<Pick<ReadStream, 'isTTY' | 'setRawMode'>>;

export async function usersCommand(argv: string[], io: Io, stdin: PasswordInput = process.stdin): Promise<number> {
  refusePasswordArgument(argv);
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') {
    io.out(overview());
    return action === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(specs, action)) throw new UsageError(`unknown users action "${action}": use ${Object.keys(specs).join(', ')}\nRun "schoolgate users --help" for usage.`);
  try {
    return await run(action as Action, rest, io, stdin);
  } catch (err) {
    if (err instanceof UserError) throw new UsageError(err.message);
    if (err instanceof SchemaError) return io.err(`schoolgate users: ${err.message}`), 1;
    throw err;
  }
}

async function run(action: Action, argv: string[], io: Io, stdin: PasswordInput): Promise<number> {
  switch (action) {
    case 'add': {
      const spec = specs.add;
      const { values, positionals, help } = parse(spec, argv);
      if (help) return io.out(helpText(spec)), 0;
      const username = positionals[0]!;
      const roles = rolesOf(values.role);
      if (values.group === undefined && roles.length === 0) throw new UsageError(`--group is required: one of ${groupList(paths(values))}`);
      requirePasswordStdin(values['password-stdin'], spec.usage);
      return withStore(values, async (store) => {
        // Staff accounts made with only --role belong to the staff group.
        const group = values.group ?? 'staff';
        // Check what can be checked before asking for the password.
        if (!store.groupIds().includes(group)) throw new UsageError(`unknown group "${group}": use one of ${store.groupIds().join(', ')}`);
        if (store.get(username)) throw new UsageError(`user "${username}" already exists: use "schoolgate users passwd ${username} --password-stdin" to change the password`);
        const password = await readPassword(stdin, io, `password for ${username}`);
        const user = await store.add({ username, group, password, displayName: values.name, shared: values.shared === true, roles, email: values.email });
        io.out(`added ${describe(user)}`);
        return 0;
      });
    }
    case 'roles': {
      const spec = specs.roles;
      const { values, positionals, help } = parse(spec, argv);
      if (help) return io.out(helpText(spec)), 0;
      const roles = rolesOf(values.role);
      return withStore(values, (store) => {
        if (!store.get(positionals[0]!)) throw new UsageError(`no user "${positionals[0]}": "schoolgate users list" shows them`);
        const user = store.setRoles(positionals[0]!, roles, values.email);
        io.out(`${user.username}: ${user.roles.length ? `roles ${user.roles.join(', ')}` : 'no staff roles'}${user.email ? `, e-mail ${user.email}` : ''}`);
        return 0;
      });
    }
    case 'list': {
      const spec = specs.list;
      const { values, help } = parse(spec, argv);
      if (help) return io.out(helpText(spec)), 0;
      return withStore(values, (store) => {
        const users = store.list();
        if (values.json) io.out(JSON.stringify(users));
        else if (users.length === 0) io.out('no users yet: add one with "schoolgate users add USERNAME --group G --password-stdin"');
        else io.out(table(users));
        return 0;
      });
    }
    case 'disable':
    case 'enable': {
      const spec = specs[action];
      const { values, positionals, help } = parse(spec, argv);
      if (help) return io.out(helpText(spec)), 0;
      return withStore(values, (store) => {
        const user = action === 'disable' ? store.disable(positionals[0]!) : store.enable(positionals[0]!);
        io.out(action === 'disable' ? `disabled ${user.username}: they can no longer sign in` : `enabled ${user.username}: they can sign in again`);
        return 0;
      });
    }
    case 'passwd': {
      const spec = specs.passwd;
      const { values, positionals, help } = parse(spec, argv);
      if (help) return io.out(helpText(spec)), 0;
      requirePasswordStdin(values['password-stdin'], spec.usage);
      return withStore(values, async (store) => {
        const user = store.get(positionals[0]!);
        if (!user) throw new UsageError(`no user "${positionals[0]}": "schoolgate users list" shows them`);
        const password = await readPassword(stdin, io, `new password for ${user.username}`);
        await store.setPassword(user.username, password);
        io.out(`changed the password of ${user.username}`);
        return 0;
      });
    }
    case 'import': {
      const spec = specs.import;
      const { values, positionals, help } = parse(spec, argv);
      if (help) return io.out(helpText(spec)), 0;
      const file = positionals[0]!;
      const name = file === '-' ? '(stdin)' : resolve(file);
      let text: string;
      try {
        text = file === '-' ? await readAll(stdin, 64 * 1024 * 1024) : readFileSync(name, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${name}: ${(err as Error).message}`);
      }
      const dryRun = values['dry-run'] === true;
      return withStore(values, async (store) => {
        const result = await store.importCsv(text, { dryRun });
        io.out(`${name}: ${dryRun ? `would add ${result.added}, update ${result.updated} (dry run: nothing written)` : `added ${result.added}, updated ${result.updated}`}${result.errors.length ? `; ${result.errors.length} row${result.errors.length === 1 ? '' : 's'} refused` : ''}`);
        for (const e of result.errors) io.err(`${name}:${e.line}: ${e.message}`);
        return result.errors.length > 0 ? 1 : 0;
      });
    }
  }
}

function rolesOf(values: readonly string[] | undefined): readonly Role[] {
  const roles = parseRoles((values ?? []).join(','));
  if ('error' in roles) throw new UsageError(`--role: ${roles.error}`);
  return roles;
}

/** Opens the database and a UserStore whose groups come from the configuration, read only if needed. */
async function withStore<T>(values: { config?: string | boolean | undefined; data?: string | boolean | undefined }, body: (store: UserStore) => T | Promise<T>): Promise<T> {
  const { config, data } = paths(values);
  let groups: GroupIds | undefined;
  let db: Database | undefined;
  try {
    db = openDatabase(data);
    const store = new UserStore(db, { groups: () => (groups ??= loadCommandConfig(config, data).policy.groups) });
    return await body(store);
  } finally {
    db?.close();
  }
}

function groupList({ config, data }: { config: string; data: string }): string {
  return [...loadCommandConfig(config, data).policy.groups.keys()].join(', ');
}

/** --password, --password=…, --passwd, --pass: refused before parsing, and the value is never repeated. */
function refusePasswordArgument(argv: readonly string[]): void {
  const end = argv.indexOf('--');
  const options = end === -1 ? argv : argv.slice(0, end);
  if (options.some((a) => /^--pass(?:word|wd)?(?:=|$)/i.test(a))) {
    throw new UsageError('a password is never taken from the command line, where the process list and shell history would keep it: use --password-stdin and pipe it in (printf \'%s\' "$PW" | schoolgate users add …) or type it at the prompt');
  }
}

function requirePasswordStdin(given: boolean | undefined, usage: string): void {
  if (given !== true) throw new UsageError(`--password-stdin is required: the password is read from standard input, never from the command line\nUsage: schoolgate ${usage}`);
}

const MAX_PASSWORD_INPUT = 64 * 1024;

/** The password from a pipe (one line; a final line break is dropped), or typed twice at a terminal, unseen. */
async function readPassword(stdin: PasswordInput, io: Io, what: string): Promise<string> {
  if (stdin.isTTY && stdin.setRawMode) {
    const first = await readHidden(stdin, io, `Type the ${what} (it is not shown), then Enter:`);
    const again = await readHidden(stdin, io, 'Type it again:');
    if (first !== again) throw new UsageError('the two passwords typed differ: nothing was changed');
    return first;
  }
  const text = await readAll(stdin, MAX_PASSWORD_INPUT).catch((err: Error) => {
    throw new UsageError(`cannot read the password from standard input: ${err.message}`);
  });
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new UsageError(`no password on standard input: pipe it in, e.g. printf '%s' "$PW" | schoolgate …`);
  if (/[\r\n]/.test(password)) throw new UsageError('standard input holds more than one line: give only the password');
  return password;
}

function readAll(stdin: NodeJS.ReadableStream, limit: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer | string): void => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += b.length;
      if (size > limit) {
        cleanup();
        reject(new Error(`more than ${limit} bytes`));
        return;
      }
      chunks.push(b);
    };
    const onEnd = (): void => (cleanup(), resolvePromise(Buffer.concat(chunks).toString('utf8')));
    const onError = (err: Error): void => (cleanup(), reject(err));
    const cleanup = (): void => {
      stdin.off('data', onData).off('end', onEnd).off('error', onError);
      stdin.pause();
    };
    stdin.on('data', onData).on('end', onEnd).on('error', onError);
    stdin.resume();
  });
}

/** Reads one line from a terminal in raw mode, echoing nothing. Ctrl-C or Ctrl-D cancels. */
function readHidden(stdin: PasswordInput, io: Io, prompt: string): Promise<string> {
  io.err(prompt);
  return new Promise((resolvePromise, reject) => {
    let typed = '';
    const done = (err?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      if (err) reject(err);
      else resolvePromise(typed);
    };
    const onData = (chunk: Buffer | string): void => {
      const s = chunk.toString();
      if (s.startsWith('\u001b')) return; // arrow keys and other escape sequences
      for (const ch of s) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || (ch === '\u0004' && typed === '')) return done(new UsageError('cancelled: nothing was changed'));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.setRawMode!(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}

function describe(user: UserRow): string {
  return `${user.username}${user.displayName ? ` (${user.displayName})` : ''}, group ${user.group}${user.shared ? ', shared login' : ''}${user.roles.length ? `, roles ${user.roles.join(', ')}` : ''}`;
}

function table(users: readonly UserRow[]): string {
  // Roles and e-mail: who can sign in to the staff app, and who hears about their requests.
  const rows = [['username', 'group', 'login', 'status', 'roles', 'e-mail', 'name', 'added'], ...users.map((u) => [
    u.username, u.group, u.shared ? 'shared' : 'personal', u.disabled ? 'disabled' : 'enabled', u.roles.join(',') || '-', u.email ?? '-',
    u.displayName ?? '', u.createdAt?.slice(0, 10) ?? '',
  ])];
  return formatTable(rows);
}
