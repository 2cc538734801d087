import { scryptSync, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/db.js';
import { MIGRATIONS, runMigrations, SchemaError, type Migration } from '../../src/store/migrations.js';
import { hashPassword, verifyPassword } from '../../src/store/password-hash.js';
import { parseRoles } from '../../src/store/user-rules.js';
import { UserError, UserStore } from '../../src/store/users.js';
import { SessionStore } from '../../src/store/sessions.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir('schoolgate-store-');
afterAll(tmp.cleanup);
let n = 0;
/** A fresh, not yet existing data folder for each test. */
const freshDir = (): string => join(tmp.dir, `data-${++n}`, 'nested');

const GROUPS = new Set(['ks1', 'ks2', 'staff', 'guest']);

describe('openDatabase', () => {
  it('creates data/schoolgate.db in WAL mode with foreign keys and a busy timeout, and runs the migrations', () => {
    const dir = freshDir();
    const db = openDatabase(dir);
    try {
      expect(existsSync(join(dir, 'schoolgate.db'))).toBe(true);
      expect(statSync(join(dir, 'schoolgate.db')).mode & 0o077).toBe(0);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
      expect(db.prepare('SELECT version, name FROM schema_migrations').all()).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      const columns = (db.prepare('PRAGMA table_info(users)').all() as { name: string }[]).map((c) => c.name);
      expect(columns).toEqual(['id', 'username', 'display_name', 'group_id', 'password_hash', 'disabled', 'shared', 'created_at', 'updated_at', 'roles', 'email']);
    } finally {
      db.close();
    }
  });

  it('reopens idempotently: nothing re-run, the data kept', async () => {
    const dir = freshDir();
    const first = openDatabase(dir);
    await new UserStore(first, { groups: GROUPS }).add({ username: 'alice', group: 'ks2', password: 'correct horse' });
    const applied = first.prepare('SELECT applied_at FROM schema_migrations').pluck().all();
    first.close();
    const again = openDatabase(dir);
    try {
      expect(again.prepare('SELECT applied_at FROM schema_migrations').pluck().all()).toEqual(applied);
      expect(runMigrations(again)).toEqual({ applied: [], version: MIGRATIONS.length });
      expect(new UserStore(again, { groups: GROUPS }).list().map((u) => u.username)).toEqual(['alice']);
    } finally {
      again.close();
    }
  });

  it('refuses a database written by a newer Schoolgate, and leaves it alone', () => {
    const dir = freshDir();
    openDatabase(dir).close();
    const raw = new BetterSqlite3(join(dir, 'schoolgate.db'));
    raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(MIGRATIONS.length + 1, 'from-the-future', '2030-01-01T00:00:00Z');
    raw.close();
    expect(() => openDatabase(dir)).toThrow(SchemaError);
    expect(() => openDatabase(dir)).toThrow(new RegExp(`schema version ${MIGRATIONS.length + 1}, but this Schoolgate knows versions up to ${MIGRATIONS.length}: it was written by a newer Schoolgate`));
    const check = new BetterSqlite3(join(dir, 'schoolgate.db'));
    expect(check.prepare('SELECT max(version) FROM schema_migrations').pluck().get()).toBe(MIGRATIONS.length + 1);
    check.close();
  });

  it('refuses a database whose recorded migration has another name', () => {
    const dir = freshDir();
    openDatabase(dir).close();
    const raw = new BetterSqlite3(join(dir, 'schoolgate.db'));
    raw.prepare("UPDATE schema_migrations SET name = 'people' WHERE version = 1").run();
    raw.close();
    expect(() => openDatabase(dir)).toThrow(/version 1 was recorded as "people" but this Schoolgate's version 1 is "users"/);
  });

  it('is always a file: ":memory:" is refused', () => {
    expect(() => openDatabase(':memory:')).toThrow(/always a real file/);
  });
});

describe('runMigrations', () => {
  let db: Database;
  beforeEach(() => {
    db = openDatabase(freshDir(), { migrations: [] });
  });
  afterEach(() => db.close());

  const m1: Migration = { version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER)' };
  const m2: Migration = { version: 2, name: 'b', sql: 'CREATE TABLE b (y INTEGER REFERENCES a(x)); INSERT INTO a VALUES (1);' };

  it('runs each migration once, in order, and records it', () => {
    expect(runMigrations(db, [m1])).toEqual({ applied: [1], version: 1 });
    expect(runMigrations(db, [m1, m2])).toEqual({ applied: [2], version: 2 });
    expect(runMigrations(db, [m1, m2])).toEqual({ applied: [], version: 2 });
    expect(db.prepare('SELECT count(*) FROM a').pluck().get()).toBe(1);
    expect(db.prepare('SELECT version, name FROM schema_migrations').all()).toEqual([{ version: 1, name: 'a' }, { version: 2, name: 'b' }]);
  });

  it('rolls a failing migration back whole and records nothing', () => {
    const bad: Migration = { version: 2, name: 'bad', sql: 'CREATE TABLE c (z INTEGER); INSERT INTO nowhere VALUES (1);' };
    expect(() => runMigrations(db, [m1, bad])).toThrow(/no such table: nowhere/);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'c'").pluck().get()).toBe(0);
    expect(db.prepare('SELECT version FROM schema_migrations').pluck().all()).toEqual([1]);
  });

  it('refuses a list with gaps or out of order', () => {
    expect(() => runMigrations(db, [m1, { ...m2, version: 3 }])).toThrow(/versions must run 1, 2, 3/);
  });
});

describe('UserStore', () => {
  let db: Database;
  let store: UserStore;
  beforeEach(() => {
    db = openDatabase(freshDir());
    store = new UserStore(db, { groups: GROUPS, now: () => new Date('2026-09-01T08:00:00Z') });
  });
  afterEach(() => db.close());

  const hashOf = (username: string): string => db.prepare('SELECT password_hash FROM users WHERE username = ?').pluck().get(username) as string;

  it('adds, gets and lists users, never with the hash', async () => {
    const added = await store.add({ username: 'Alice.Smith', group: 'ks2', password: 'correct horse', displayName: 'Alice Smith' });
    await store.add({ username: 'y3', group: 'ks1', password: 'frog', shared: true });
    expect(added).toEqual({
      id: expect.any(Number), username: 'Alice.Smith', displayName: 'Alice Smith', group: 'ks2', disabled: false, shared: false, roles: [], email: null,
      createdAt: '2026-09-01T08:00:00.000Z', updatedAt: '2026-09-01T08:00:00.000Z',
    });
    expect(store.get('alice.smith')).toEqual(added);
    const list = store.list();
    expect(list.map((u) => [u.username, u.group, u.shared])).toEqual([['Alice.Smith', 'ks2', false], ['y3', 'ks1', true]]);
    expect(JSON.stringify(list)).not.toMatch(/scrypt|hash|correct horse|frog/);
  });

  it('treats usernames case-insensitively: one user, any case', async () => {
    await store.add({ username: 'Bob', group: 'staff', password: 'staffroom1' });
    await expect(store.add({ username: 'bob', group: 'staff', password: 'staffroom2' })).rejects.toThrow('user "bob" already exists');
    expect((await store.verify('BOB', 'staffroom1')).ok).toBe(true);
    expect(store.disable('bOb').disabled).toBe(true);
  });

  it('verifies: ok, wrong password, unknown, disabled, enabled again', async () => {
    await store.add({ username: 'carol', group: 'staff', password: 'marking-season' });
    expect(await store.verify('carol', 'marking-season')).toEqual({ ok: true, user: expect.objectContaining({ username: 'carol', group: 'staff' }) });
    expect(await store.verify('carol', 'marking-seasoN')).toEqual({ ok: false, reason: 'wrong-password' });
    expect(await store.verify('carol', '')).toEqual({ ok: false, reason: 'wrong-password' });
    expect(await store.verify('dave', 'marking-season')).toEqual({ ok: false, reason: 'unknown' });
    expect(await store.verify('not a username!', 'marking-season')).toEqual({ ok: false, reason: 'unknown' });
    store.disable('carol');
    expect(await store.verify('carol', 'marking-season')).toEqual({ ok: false, reason: 'disabled' });
    expect(await store.verify('carol', 'wrong')).toEqual({ ok: false, reason: 'disabled' });
    store.enable('carol');
    expect((await store.verify('carol', 'marking-season')).ok).toBe(true);
  });

  it('changes a password: the old one stops working', async () => {
    await store.add({ username: 'dan', group: 'ks2', password: 'first-password' });
    const before = hashOf('dan');
    await store.setPassword('DAN', 'second-password');
    expect(hashOf('dan')).not.toBe(before);
    expect(await store.verify('dan', 'first-password')).toEqual({ ok: false, reason: 'wrong-password' });
    expect((await store.verify('dan', 'second-password')).ok).toBe(true);
    await expect(store.setPassword('dan', 'short')).rejects.toThrow('at least 8 characters');
    await expect(store.setPassword('nobody', 'long enough')).rejects.toThrow('no user "nobody"');
  });

  it('refuses bad usernames, unknown groups (naming the groups), short passwords', async () => {
    await expect(store.add({ username: 'has space', group: 'ks2', password: 'long enough' })).rejects.toThrow(UserError);
    await expect(store.add({ username: 'x'.repeat(65), group: 'ks2', password: 'long enough' })).rejects.toThrow(/letters, digits, dots, underscores, @ or hyphens/);
    await expect(store.add({ username: '', group: 'ks2', password: 'long enough' })).rejects.toThrow(/not acceptable/);
    await expect(store.add({ username: 'eve', group: 'ks9', password: 'long enough' })).rejects.toThrow('unknown group "ks9": use one of ks1, ks2, staff, guest');
    await expect(store.add({ username: 'eve', group: 'ks2', password: '1234567' })).rejects.toThrow(/at least 8 characters \(4 for a shared/);
    await expect(store.add({ username: 'y4', group: 'ks2', password: 'abc', shared: true })).rejects.toThrow('at least 4 characters for a shared login');
    await expect(store.add({ username: 'eve', group: 'ks2', password: 'tab\there!' })).rejects.toThrow(/control character/);
    expect((await store.add({ username: 'first.last@school.sch.uk', group: 'ks2', password: '12345678' })).username).toBe('first.last@school.sch.uk');
    expect((await store.add({ username: 'y5', group: 'ks2', password: 'abcd', shared: true })).shared).toBe(true);
    expect(store.list()).toHaveLength(2);
    expect(() => store.disable('nobody')).toThrow('no user "nobody"');
  });

  it('checks groups against the ones in force now', async () => {
    let groups: ReadonlySet<string> = new Set(['staff']);
    const live = new UserStore(db, { groups: () => groups });
    await expect(live.add({ username: 'fay', group: 'ks2', password: 'long enough' })).rejects.toThrow('use one of staff');
    groups = new Set(['staff', 'ks2']);
    expect((await live.add({ username: 'fay', group: 'ks2', password: 'long enough' })).group).toBe('ks2');
  });

  it('hashes with scrypt N=2^15 r=8 p=1, a 32-byte random salt and a 64-byte key', async () => {
    await store.add({ username: 'gus', group: 'ks2', password: 'same password' });
    await store.add({ username: 'hal', group: 'ks2', password: 'same password' });
    const [a, b] = [hashOf('gus'), hashOf('hal')];
    for (const h of [a, b]) {
      const parts = h.split('$');
      expect(parts.slice(0, 4)).toEqual(['scrypt', '32768', '8', '1']);
      expect(Buffer.from(parts[4]!, 'base64')).toHaveLength(32);
      expect(Buffer.from(parts[5]!, 'base64')).toHaveLength(64);
    }
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
    const [h1, h2] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    expect(h1).not.toBe(h2);
    expect(await verifyPassword('same password', h1)).toBe(true);
    expect(await verifyPassword('same passwore', h1)).toBe(false);
    expect(await verifyPassword('same password', 'not a hash')).toBe(false);
  });

  it('verifies a hash made with other parameters (they are stored with it)', async () => {
    await store.add({ username: 'ivy', group: 'ks2', password: 'placeholder' });
    const salt = randomBytes(16);
    const key = scryptSync('old-parameters', salt, 32, { N: 2 ** 12, r: 8, p: 2 });
    db.prepare('UPDATE users SET password_hash = ? WHERE username = ?').run(`scrypt$4096$8$2$${salt.toString('base64')}$${key.toString('base64')}`, 'ivy');
    expect((await store.verify('ivy', 'old-parameters')).ok).toBe(true);
    expect((await store.verify('ivy', 'placeholder')).ok).toBe(false);
    // Parameters beyond the limits (a tampered row) are not tried: the password is simply wrong.
    db.prepare('UPDATE users SET password_hash = ? WHERE username = ?').run(`scrypt$${2 ** 24}$8$1$${salt.toString('base64')}$${key.toString('base64')}`, 'ivy');
    expect(await store.verify('ivy', 'old-parameters')).toEqual({ ok: false, reason: 'wrong-password' });
  });

  it('matches a password however its accents were composed (NFC)', async () => {
    await store.add({ username: 'jo', group: 'ks2', password: 'caf\u00e9 au lait' });
    expect((await store.verify('jo', 'cafe\u0301 au lait')).ok).toBe(true);
  });

  it('answers many verifications at once, each correctly', async () => {
    await store.add({ username: 'kim', group: 'ks2', password: 'right password' });
    const tries = ['right password', 'wrong password', 'right password', 'nope nope', 'right password', 'right passworD'];
    const results = await Promise.all(tries.map((p, i) => store.verify(i === 3 ? 'nobody' : 'kim', p)));
    expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(['ok', 'wrong-password', 'ok', 'unknown', 'ok', 'wrong-password']);
  });
});

describe('UserStore.importCsv', () => {
  let db: Database;
  let store: UserStore;
  beforeEach(() => {
    db = openDatabase(freshDir());
    store = new UserStore(db, { groups: GROUPS });
  });
  afterEach(() => db.close());

  const PASSWORDS = ['lemonade-1', 'pass,with,commas', 'say "cheese" now', 'tiny', 'short1', 'abc', 'second-lemonade', 'spaced-out ', 'orphan-pw'];

  it('adds good rows, reports each bad row with its line, and never repeats a password', async () => {
    await store.add({ username: 'Existing', group: 'ks1', password: 'old password', displayName: 'Keep Me' });
    store.disable('existing');
    const csv = [
      'username,group,password,name,shared', // 1
      'amy,ks2,lemonade-1,Amy Pond,', // 2 good
      'ben,staff,"pass,with,commas","Ben, the head",no', // 3 good: quoted commas
      '', // 4 blank: skipped
      'cal,ks2,"say ""cheese"" now"', // 5 good: quotes, optional cells left off
      'y3,ks1,tiny,Year 3,yes', // 6 good: shared, short password allowed
      'dee,ks2,short1', // 7 bad: short password
      'y4,ks1,abc,,yes', // 8 bad: too short even when shared
      'EXISTING,ks2,second-lemonade', // 9 good: updates, keeps name, stays disabled
      'bad user,ks2,lemonade-1', // 10 bad username
      'eve,ks9,lemonade-1', // 11 unknown group
      'AMY,ks2,lemonade-1', // 12 duplicate of line 2
      'fay,ks2,lemonade-1,Fay,maybe', // 13 bad shared flag
      'gil,ks2,spaced-out ', // 14 password ends with a space
      'hal,ks2,lemonade-1,Hal,no,extra', // 15 too many fields
      'ida,ks2', // 16 no password
      'ola,ks2,orphan-pw"x', // 17 good: a quote inside an unquoted field is kept
    ].join('\r\n');
    const result = await store.importCsv(`\uFEFF${csv}\r\n`);
    expect(result.added).toBe(5);
    expect(result.updated).toBe(1);
    expect(result.errors.map((e) => e.line)).toEqual([7, 8, 10, 11, 12, 13, 14, 15, 16]);
    const byLine = new Map(result.errors.map((e) => [e.line, e.message]));
    expect(byLine.get(7)).toMatch(/at least 8 characters/);
    expect(byLine.get(8)).toMatch(/at least 4 characters for a shared login/);
    expect(byLine.get(10)).toMatch(/^username: use 1 to 64 letters/);
    expect(byLine.get(11)).toBe('unknown group "ks9": use one of ks1, ks2, staff, guest');
    expect(byLine.get(12)).toBe('username "AMY" is already on line 2');
    expect(byLine.get(13)).toMatch(/shared: use yes or no/);
    expect(byLine.get(14)).toMatch(/starts or ends with a space/);
    expect(byLine.get(15)).toMatch(/6 fields, but the header has 5/);
    expect(byLine.get(16)).toMatch(/no password/);
    for (const e of result.errors) for (const p of PASSWORDS) expect(e.message).not.toContain(p.trim());

    expect(store.list().map((u) => [u.username, u.group, u.displayName, u.shared, u.disabled])).toEqual([
      ['amy', 'ks2', 'Amy Pond', false, false],
      ['ben', 'staff', 'Ben, the head', false, false],
      ['cal', 'ks2', null, false, false],
      ['Existing', 'ks2', 'Keep Me', false, true],
      ['ola', 'ks2', null, false, false],
      ['y3', 'ks1', 'Year 3', true, false],
    ]);
    expect((await store.verify('ben', 'pass,with,commas')).ok).toBe(true);
    expect((await store.verify('cal', 'say "cheese" now')).ok).toBe(true);
    expect((await store.verify('y3', 'tiny')).ok).toBe(true);
    expect((await store.verify('ola', 'orphan-pw"x')).ok).toBe(true);
    store.enable('existing');
    expect((await store.verify('existing', 'second-lemonade')).ok).toBe(true);
    expect((await store.verify('existing', 'old password')).ok).toBe(false);
  });

  it('takes the columns in any order, and reads line numbers past a quoted line break', async () => {
    const result = await store.importCsv('password,username,group,name\nlong-enough-1,amy,ks2,"Amy\nPond"\nx,bob,ks2,\nlong-enough-2,cal,ks1,Cal\n');
    expect(result).toEqual({
      added: 1, updated: 0,
      errors: [{ line: 2, message: 'the name contains a control character' }, { line: 4, message: expect.stringMatching(/at least 8/) }],
    });
    expect(store.list().map((u) => [u.username, u.group, u.displayName])).toEqual([['cal', 'ks1', 'Cal']]);
  });

  it('needs a header row', async () => {
    const result = await store.importCsv('amy,ks2,lemonade-1\nbob,ks2,lemonade-2\n');
    expect(result.added).toBe(0);
    expect(result.errors).toEqual([{ line: 1, message: expect.stringMatching(/header row must name the columns username, group, password.*is the header row missing\?/) }]);
    expect(result.errors[0]!.message).not.toContain('lemonade');
    expect((await store.importCsv('username,group\nbob,ks2\n')).errors[0]!.message).toBe('the header row has no password column');
    expect((await store.importCsv('')).errors[0]!.message).toMatch(/the file is empty/);
    expect(store.list()).toEqual([]);
  });

  it('reports an unclosed quote and a stray character after a quote, keeping the rows before', async () => {
    const a = await store.importCsv('username,group,password\namy,ks2,"lemonade-1"x\nbob,ks2,lemonade-2\ncal,ks2,"lemonade-3\ndee,ks2,lemonade-4\n');
    expect(a.added).toBe(1);
    expect(a.errors).toEqual([
      { line: 2, message: expect.stringMatching(/text after a closing double quote/) },
      { line: 4, message: expect.stringMatching(/never closed: this line and the rest of the file were not read/) },
    ]);
    expect(store.list().map((u) => u.username)).toEqual(['bob']);
  });

  it('writes nothing in a dry run, but says what would change', async () => {
    await store.add({ username: 'amy', group: 'ks2', password: 'lemonade-0' });
    const result = await store.importCsv('username,group,password\namy,ks1,lemonade-1\nbob,ks2,lemonade-2\ncal,ks2,no\n', { dryRun: true });
    expect(result).toEqual({ added: 1, updated: 1, errors: [{ line: 4, message: expect.stringMatching(/at least 8/) }] });
    expect(store.list().map((u) => [u.username, u.group])).toEqual([['amy', 'ks2']]);
    expect((await store.verify('amy', 'lemonade-0')).ok).toBe(true);
  });
});

describe('staff roles', () => {
  it('adds a user with roles and an e-mail address, changes them with an audit row, and refuses what is not a role', async () => {
    const t = tempDir();
    const db = openDatabase(t.dir);
    try {
      const store = new UserStore(db, { groups: new Set(['staff', 'ks2']), actor: 'test' });
      const added = await store.add({ username: 'j.teacher', group: 'staff', password: 'correct horse', roles: ['teacher'], email: 'j.teacher@school.example' });
      expect(added).toMatchObject({ roles: ['teacher'], email: 'j.teacher@school.example' });
      expect(store.setRoles('j.teacher', ['teacher', 'slt']).roles).toEqual(['teacher', 'slt']);
      expect(store.get('j.teacher')!.email).toBe('j.teacher@school.example');
      expect(store.setRoles('j.teacher', [], null)).toMatchObject({ roles: [], email: null });
      expect(() => store.setRoles('j.teacher', ['teacher'], 'not an address')).toThrow(/not an e-mail address/);
      expect(parseRoles('teacher, SLT,teacher')).toEqual(['teacher', 'slt']);
      expect(parseRoles('teacher,headteacher')).toEqual({ error: '"headteacher" is not a role: use technician, dsl, slt, teacher, governor' });
      const rows = db.prepare("SELECT action, detail FROM audit WHERE subject = 'j.teacher' ORDER BY id").all() as { action: string; detail: string }[];
      expect(rows.map((r) => r.action)).toEqual(['user.added', 'user.roles-changed', 'user.roles-changed']);
      expect(JSON.parse(rows[1]!.detail)).toMatchObject({ roles: ['teacher', 'slt'], previousRoles: ['teacher'] });
    } finally {
      db.close();
      t.cleanup();
    }
  });
});

describe('staff app sessions and account changes', () => {
  it('ends a person\'s sessions when their password changes or they are disabled', async () => {
    const t = tempDir();
    const db = openDatabase(t.dir);
    try {
      const store = new UserStore(db, { groups: new Set(['staff']), actor: 'test' });
      const user = await store.add({ username: 'j.teacher', group: 'staff', password: 'correct horse', roles: ['teacher'] });
      const sessions = new SessionStore(db);
      const first = sessions.create(user.id, '127.0.0.1').token;
      expect(sessions.find(first)).toMatchObject({ userId: user.id });
      await store.setPassword('j.teacher', 'battery staple');
      expect(sessions.find(first)).toBeNull();
      const second = sessions.create(user.id, '127.0.0.1').token;
      store.disable('j.teacher');
      expect(sessions.find(second)).toBeNull();
      store.enable('j.teacher');
      expect(sessions.find(second)).toBeNull();
    } finally {
      db.close();
      t.cleanup();
    }
  });

  it('stores only a hash of the token, and lets an expired session go', async () => {
    const t = tempDir();
    const db = openDatabase(t.dir);
    try {
      const store = new UserStore(db, { groups: new Set(['staff']), actor: 'test' });
      const user = await store.add({ username: 'it.tech', group: 'staff', password: 'correct horse', roles: ['technician'] });
      let now = new Date('2026-11-23T08:00:00Z');
      const sessions = new SessionStore(db, { now: () => now, lifetimeMs: 3_600_000 });
      const { token } = sessions.create(user.id, null);
      expect(JSON.stringify(db.prepare('SELECT * FROM sessions').all())).not.toContain(token);
      now = new Date('2026-11-23T08:59:00Z');
      expect(sessions.find(token)).not.toBeNull();
      now = new Date('2026-11-23T09:00:01Z');
      expect(sessions.find(token)).toBeNull();
      expect(sessions.find('made-up')).toBeNull();
    } finally {
      db.close();
      t.cleanup();
    }
  });
});
