import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { UserStore } from '../../src/store/users.js';
import { ROOT, schoolgate as run, type Run } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir('schoolgate-users-cli-');
afterAll(tmp.cleanup);
let n = 0;
const freshData = (): string => join(tmp.dir, `data-${++n}`);

/** The real command, with standard input piped in (closed at once when none). */
function schoolgate(args: readonly string[], stdin?: string): Promise<Run> {
  return run(args, { stdin: stdin ?? '' });
}

/** Every password any test hands the CLI: none may ever appear in its output. */
const PASSWORDS = ['Tr0ub4dor&3', 'hunter2hunter2', 'new-password-9', 'yr3!', 'csv-secret-1', 'csv-secret-2', 'csv-sh', 'csv-"quoted",pw'];
function expectNoPassword(...runs: Run[]): void {
  for (const r of runs) for (const p of PASSWORDS) {
    expect(r.stdout).not.toContain(p);
    expect(r.stderr).not.toContain(p);
  }
}

async function verify(data: string, username: string, password: string): Promise<string> {
  const db = openDatabase(data);
  try {
    const r = await new UserStore(db, { groups: new Set() }).verify(username, password);
    return r.ok ? 'ok' : r.reason;
  } finally {
    db.close();
  }
}

describe('schoolgate users', () => {
  it('adds with the password from stdin, lists, and never shows the password', async () => {
    const data = freshData();
    const add = await schoolgate(['users', 'add', 'Alice', '--group', 'ks2', '--name', 'Alice Smith', '--password-stdin', '--data', data], 'Tr0ub4dor&3\n');
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.stdout).toBe('added Alice (Alice Smith), group ks2\n');
    const shared = await schoolgate(['users', 'add', 'year3', '--group', 'ks1', '--shared', '--password-stdin', '--data', data], 'yr3!');
    expect(shared.code).toBe(0);
    const list = await schoolgate(['users', 'list', '--data', data]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^username\s+group\s+login\s+status\s+roles\s+e-mail\s+name\s+added\nAlice\s+ks2\s+personal\s+enabled\s+-\s+-\s+Alice Smith\s+\d{4}-\d\d-\d\d\nyear3\s+ks1\s+shared\s+enabled\s+-\s+-\s+\d{4}/);
    const json = await schoolgate(['users', 'list', '--json', '--data', data]);
    const users = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(users.map((u) => [u.username, u.group, u.shared, u.disabled])).toEqual([['Alice', 'ks2', false, false], ['year3', 'ks1', true, false]]);
    expect(Object.keys(users[0]!).sort()).toEqual(['createdAt', 'disabled', 'displayName', 'email', 'group', 'id', 'roles', 'shared', 'updatedAt', 'username']);
    expect(json.stdout).not.toContain('scrypt');
    expectNoPassword(add, shared, list, json);
    expect(await verify(data, 'alice', 'Tr0ub4dor&3')).toBe('ok');
    expect(await verify(data, 'year3', 'yr3!')).toBe('ok');
  });

  it('refuses a password on the command line, without repeating it', async () => {
    const data = freshData();
    const a = await schoolgate(['users', 'add', 'bob', '--group', 'staff', '--password', 'hunter2hunter2', '--data', data]);
    const b = await schoolgate(['users', 'add', 'bob', '--group', 'staff', '--password=hunter2hunter2', '--data', data]);
    const c = await schoolgate(['users', 'passwd', 'bob', '--passwd=hunter2hunter2', '--data', data]);
    for (const r of [a, b, c]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('a password is never taken from the command line');
      expect(r.stderr).toContain('--password-stdin');
    }
    expectNoPassword(a, b, c);
    const none = await schoolgate(['users', 'add', 'bob', '--group', 'staff', '--data', data], 'hunter2hunter2\n');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--password-stdin is required');
    expectNoPassword(none);
    expect((await schoolgate(['users', 'list', '--json', '--data', data])).stdout.trim()).toBe('[]');
  });

  it('refuses an unknown group, naming the groups of the policy', async () => {
    const data = freshData();
    const r = await schoolgate(['users', 'add', 'bob', '--group', 'ks9', '--password-stdin', '--data', data], 'hunter2hunter2');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown group "ks9": use one of ks1, ks2, staff, guest');
    const missing = await schoolgate(['users', 'add', 'bob', '--password-stdin', '--data', data], 'hunter2hunter2');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--group is required: one of ks1, ks2, staff, guest');
    expectNoPassword(r, missing);
  });

  it('refuses bad passwords on stdin with a reason that does not repeat them', async () => {
    const data = freshData();
    const short = await schoolgate(['users', 'add', 'bob', '--group', 'staff', '--password-stdin', '--data', data], 'yr3!\n');
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('the password must be at least 8 characters');
    const empty = await schoolgate(['users', 'add', 'bob', '--group', 'staff', '--password-stdin', '--data', data], '');
    expect(empty.stderr).toContain('no password on standard input');
    const twoLines = await schoolgate(['users', 'add', 'bob', '--group', 'staff', '--password-stdin', '--data', data], 'Tr0ub4dor&3\nhunter2hunter2\n');
    expect(twoLines.stderr).toContain('more than one line');
    expectNoPassword(short, empty, twoLines);
  });

  it('disables, enables and changes passwords; names a missing user', async () => {
    const data = freshData();
    expect((await schoolgate(['users', 'add', 'carol', '--group', 'staff', '--password-stdin', '--data', data], 'hunter2hunter2')).code).toBe(0);
    const dup = await schoolgate(['users', 'add', 'CAROL', '--group', 'staff', '--password-stdin', '--data', data], 'hunter2hunter2');
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain('user "CAROL" already exists');

    const disable = await schoolgate(['users', 'disable', 'Carol', '--data', data]);
    expect(disable).toMatchObject({ code: 0, stdout: 'disabled carol: they can no longer sign in\n' });
    expect(await verify(data, 'carol', 'hunter2hunter2')).toBe('disabled');
    expect((await schoolgate(['users', 'list', '--data', data])).stdout).toMatch(/carol\s+staff\s+personal\s+disabled/);
    const enable = await schoolgate(['users', 'enable', 'carol', '--data', data]);
    expect(enable).toMatchObject({ code: 0, stdout: 'enabled carol: they can sign in again\n' });

    const passwd = await schoolgate(['users', 'passwd', 'CAROL', '--password-stdin', '--data', data], 'new-password-9\r\n');
    expect(passwd).toMatchObject({ code: 0, stdout: 'changed the password of carol\n' });
    expect(await verify(data, 'carol', 'new-password-9')).toBe('ok');
    expect(await verify(data, 'carol', 'hunter2hunter2')).toBe('wrong-password');

    const missing = await schoolgate(['users', 'disable', 'dave', '--data', data]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no user "dave"');
    const missingPasswd = await schoolgate(['users', 'passwd', 'dave', '--password-stdin', '--data', data], 'new-password-9');
    expect(missingPasswd.code).toBe(2);
    expect(missingPasswd.stderr).toContain('no user "dave"');
    expectNoPassword(dup, disable, enable, passwd, missing, missingPasswd);
  });

  it('imports a CSV file: good rows in, bad rows reported by line, no password shown', async () => {
    const data = freshData();
    const csv = join(tmp.dir, 'pupils.csv');
    writeFileSync(csv, [
      'username,group,password,name,shared',
      'amy,ks2,csv-secret-1,Amy Pond,no',
      'bob,ks2,csv-sh',
      'cal,ks9,csv-secret-2',
      'dee,staff,"csv-""quoted"",pw",Dee,',
      '',
    ].join('\n'));
    const dry = await schoolgate(['users', 'import', csv, '--dry-run', '--data', data]);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain(`${csv}: would add 2, update 0 (dry run: nothing written); 2 rows refused`);
    expect((await schoolgate(['users', 'list', '--json', '--data', data])).stdout.trim()).toBe('[]');

    const r = await schoolgate(['users', 'import', csv, '--data', data]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${csv}: added 2, updated 0; 2 rows refused\n`);
    expect(r.stderr).toContain(`${csv}:3: the password must be at least 8 characters`);
    expect(r.stderr).toContain(`${csv}:4: unknown group "ks9": use one of ks1, ks2, staff, guest`);
    expectNoPassword(dry, r);
    expect(await verify(data, 'dee', 'csv-"quoted",pw')).toBe('ok');
    expect(await verify(data, 'amy', 'csv-secret-1')).toBe('ok');

    writeFileSync(csv, 'username,group,password\namy,staff,csv-secret-2\n');
    const again = await schoolgate(['users', 'import', csv, '--data', data]);
    expect(again).toMatchObject({ code: 0, stdout: `${csv}: added 0, updated 1\n`, stderr: '' });
    expect(await verify(data, 'amy', 'csv-secret-2')).toBe('ok');

    const fromStdin = await schoolgate(['users', 'import', '-', '--data', data], 'username,group,password\nbob,ks1,csv-secret-1\n');
    expect(fromStdin).toMatchObject({ code: 0, stdout: '(stdin): added 1, updated 0\n' });
    const noFile = await schoolgate(['users', 'import', join(tmp.dir, 'missing.csv'), '--data', data]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('cannot read');
    expectNoPassword(again, fromStdin, noFile);
  });

  it('refuses a database from a newer Schoolgate with a clear message', async () => {
    const data = freshData();
    openDatabase(data).close();
    const raw = new BetterSqlite3(join(data, 'schoolgate.db'));
    raw.prepare("INSERT INTO schema_migrations VALUES (99, 'future', '2030-01-01')").run();
    raw.close();
    const r = await schoolgate(['users', 'list', '--data', data]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^schoolgate users: .*schoolgate\\.db is at schema version 99, but this Schoolgate knows versions up to ${MIGRATIONS.length}:`));
    expect(r.stderr).not.toContain('    at ');
  });

  it.each(['add', 'list', 'disable', 'enable', 'passwd', 'import'])('users %s --help', async (action) => {
    const r = await schoolgate(['users', action, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: schoolgate users ${action}`);
    expect(r.stdout).toContain('--config');
    expect(r.stdout).toContain('--data');
  });

  it('explains itself, and an unknown action', async () => {
    const help = await schoolgate(['users', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Actions:\n\s+add\s.*\n\s+roles\s.*\n\s+list\s/);
    const top = await schoolgate(['--help']);
    expect(top.stdout).toMatch(/\n\s+users\s+add, list, disable or import/);
    const bad = await schoolgate(['users', 'delete', 'amy']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown users action "delete": use add, roles, list, disable, enable, passwd, import');
  });

  it('adds the first staff account with only --role (group staff), and sets roles later', async () => {
    const data = join(tmp.dir, 'roles');
    const add = await schoolgate(['users', 'add', 'it.tech', '--role', 'technician', '--email', 'it@school.example', '--password-stdin', '--data', data], 'a long passphrase');
    expect(add.stderr).toBe('');
    expect(add.stdout.trim()).toBe('added it.tech, group staff, roles technician');
    const set = await schoolgate(['users', 'roles', 'it.tech', '--role', 'technician,slt', '--data', data]);
    expect(set.stdout.trim()).toBe('it.tech: roles technician, slt, e-mail it@school.example');
    // The list shows who may use the staff app, and where they are told about their requests.
    const list = await schoolgate(['users', 'list', '--data', data]);
    expect(list.stdout.split('\n')[1]!.split(/ {2,}/).slice(0, 6)).toEqual(['it.tech', 'staff', 'personal', 'enabled', 'technician,slt', 'it@school.example']);
    const bad = await schoolgate(['users', 'roles', 'it.tech', '--role', 'head', '--data', data]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--role: "head" is not a role');
  });
});

describe('the README\'s staff accounts example', () => {
  /** The commands of the first sh block under "## The staff web app", as words (quotes honoured, comments dropped). */
  function readmeCommands(): string[][] {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## The staff web app'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
    return block.split('\n').filter((l) => l.startsWith('npx schoolgate ')).map((line) => {
      const words: string[] = [];
      for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(#.*$)|(\S+)/g)) {
        if (m[3] !== undefined) break;
        words.push(m[1] ?? m[2] ?? m[4]!);
      }
      return words.slice(2);
    });
  }

  it('works as written, in order, on a fresh data folder', async () => {
    const data = freshData();
    const commands = readmeCommands();
    expect(commands.length).toBeGreaterThanOrEqual(2);
    for (const args of commands) {
      const r = await schoolgate([...args, '--data', data], args.includes('--password-stdin') ? 'a long passphrase' : undefined);
      expect([args.join(' '), r.code, r.stderr]).toEqual([args.join(' '), 0, '']);
    }
    const users = JSON.parse((await schoolgate(['users', 'list', '--json', '--data', data])).stdout) as { username: string; roles: string[]; email: string | null }[];
    expect(users.find((u) => u.username === 'j.smith')).toMatchObject({ roles: expect.arrayContaining(['teacher']), email: 'j.smith@school.example' });
  });
});
