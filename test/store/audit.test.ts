// The audit chain: rows appended with a hash over the row and the previous hash; verify() finds
// a row changed, deleted or forged behind Schoolgate's back with a raw SQLite connection, and two
// processes appending at once keep one unbroken chain.
import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, auditHash, GENESIS, processActor } from '../../src/store/audit.js';
import { DATABASE_FILE, openDatabase, type Database } from '../../src/store/db.js';
import { UserError, UserStore } from '../../src/store/users.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir('schoolgate-audit-');
afterAll(tmp.cleanup);
let n = 0;
const freshDir = (): string => join(tmp.dir, `data-${++n}`);

/** A clock that moves on a second each time it is read. */
function ticking(start = '2026-09-01T08:00:00Z'): () => Date {
  let t = Date.parse(start);
  return () => new Date((t += 1000));
}

describe('AuditLog', () => {
  let dir: string;
  let db: Database;
  let log: AuditLog;
  /** A second connection, as someone with the file and the sqlite3 tool would have. */
  let raw: BetterSqlite3.Database;
  beforeEach(() => {
    dir = freshDir();
    db = openDatabase(dir);
    log = new AuditLog(db, { now: ticking() });
    raw = new BetterSqlite3(join(dir, DATABASE_FILE));
  });
  afterEach(() => {
    raw.close();
    db.close();
  });

  const appendFive = (): void => {
    for (let i = 1; i <= 5; i++) log.append({ actor: 'technician', action: 'user.added', subject: `user${i}`, detail: { group: 'ks2', n: i } });
  };

  it('chains each row to the one before, and verifies', () => {
    expect(log.verify()).toEqual({ ok: true, rows: 0, head: GENESIS });
    const first = log.append({ actor: 'alice', action: 'user.added', subject: 'bob', detail: { group: 'ks2', shared: false } });
    const second = log.append({ actor: 'alice', action: 'policy.changed', subject: '/etc/schoolgate.yaml', detail: { sha256: 'ab'.repeat(32), previous: null } });
    expect(first).toEqual({
      id: 1, at: '2026-09-01T08:00:01.000Z', actor: 'alice', action: 'user.added', subject: 'bob', detail: { group: 'ks2', shared: false },
      prev: GENESIS, hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(second).toMatchObject({ id: 2, at: '2026-09-01T08:00:02.000Z', prev: first.hash });
    // The hash is over the row as stored, and anyone can recompute it from the documented encoding.
    const stored = raw.prepare('SELECT * FROM audit WHERE id = 2').get() as Parameters<typeof auditHash>[0] & { hash: string };
    expect(stored.detail).toBe(`{"sha256":"${'ab'.repeat(32)}","previous":null}`);
    expect(auditHash(stored)).toBe(second.hash);
    expect(log.verify()).toEqual({ ok: true, rows: 2, head: second.hash });
  });

  it('names the row whose detail was edited behind its back', () => {
    appendFive();
    raw.prepare("UPDATE audit SET detail = '{\"group\":\"staff\",\"n\":3}' WHERE id = 3").run();
    const result = log.verify();
    expect(result).toMatchObject({ ok: false, rows: 2, firstBroken: { id: 3, kind: 'edited', reason: expect.stringContaining('hash does not match the row') } });
    expect(result.head).toBe(raw.prepare('SELECT hash FROM audit WHERE id = 2').pluck().get());
  });

  it('names the row after a deleted one', () => {
    appendFive();
    raw.prepare('DELETE FROM audit WHERE id = 3').run();
    expect(log.verify()).toMatchObject({
      ok: false, rows: 2, firstBroken: { id: 4, kind: 'unlinked', reason: expect.stringMatching(/prev does not match the hash of row 2.*\(row 3 is missing\)/) },
    });
  });

  it('names a row edited with its hash recomputed by the link from the next row', () => {
    appendFive();
    const row = raw.prepare('SELECT * FROM audit WHERE id = 2').get() as Parameters<typeof auditHash>[0];
    const forged = { ...row, actor: 'someone-else' };
    raw.prepare('UPDATE audit SET actor = ?, hash = ? WHERE id = 2').run(forged.actor, auditHash(forged));
    expect(log.verify()).toMatchObject({ ok: false, rows: 2, firstBroken: { id: 3, kind: 'unlinked', reason: expect.stringContaining('row 2 was rewritten') } });
  });

  it('names a row that reorders the chain (rows swapped)', () => {
    appendFive();
    // Swap the contents of rows 2 and 4, ids kept.
    const [r2, r4] = [2, 4].map((id) => raw.prepare('SELECT at, actor, action, subject, detail, prev, hash FROM audit WHERE id = ?').get(id) as Record<string, unknown>);
    const set = raw.prepare('UPDATE audit SET at = @at, actor = @actor, action = @action, subject = @subject, detail = @detail, prev = @prev, hash = @hash WHERE id = @id');
    raw.transaction(() => {
      set.run({ ...r4, id: 2 });
      set.run({ ...r2, id: 4 });
    })();
    expect(log.verify()).toMatchObject({ ok: false, rows: 1, firstBroken: { id: 2, kind: 'edited' } });
  });

  it('names a forged row that skips ids even when its hashes are recomputed', () => {
    appendFive();
    const head = raw.prepare('SELECT hash FROM audit WHERE id = 5').pluck().get() as string;
    const forged = { id: 9, at: '2026-09-01T09:00:00.000Z', actor: 'intruder', action: 'user.added', subject: 'x', detail: '{}', prev: head };
    raw.prepare('INSERT INTO audit (id, at, actor, action, subject, detail, prev, hash) VALUES (@id, @at, @actor, @action, @subject, @detail, @prev, @hash)').run({ ...forged, hash: auditHash(forged) });
    expect(log.verify()).toMatchObject({ ok: false, rows: 5, firstBroken: { id: 9, kind: 'gap', reason: expect.stringContaining('row 9 follows row 5') } });
  });

  it('cannot see rows cut off the end on its own, but a head hash kept elsewhere can', () => {
    appendFive();
    const anchor = log.verify();
    expect(anchor.ok).toBe(true);
    const earlier = raw.prepare('SELECT hash FROM audit WHERE id = 3').pluck().get() as string;
    expect(log.verify({ expectHead: anchor.head })).toEqual({ ok: true, rows: 5, head: anchor.head, anchorId: 5 });
    expect(log.verify({ expectHead: earlier })).toMatchObject({ ok: true, anchorId: 3 });

    raw.prepare('DELETE FROM audit WHERE id >= 4').run();
    log.append({ actor: 'technician', action: 'user.added', subject: 'after', detail: {} });
    // The chain left is a good chain: only the anchor shows what went.
    expect(log.verify()).toMatchObject({ ok: true, rows: 4 });
    expect(log.verify({ expectHead: anchor.head })).toMatchObject({ ok: false, rows: 4, missingHead: anchor.head });
    expect(log.verify({ expectHead: earlier })).toMatchObject({ ok: true, anchorId: 3 });
  });

  it('refuses detail that would carry a secret, at any depth, and writes nothing', () => {
    expect(() => log.append({ actor: 'a', action: 'user.added', subject: 'bob', detail: { password: 'hunter2hunter2' } })).toThrow(/would hold a secret/);
    expect(() => log.append({ actor: 'a', action: 'user.added', subject: 'bob', detail: { user: { password_hash: 'scrypt$…' } } })).toThrow(/"password_hash" would hold a secret/);
    expect(() => log.append({ actor: 'a', action: 'Added', subject: 'bob', detail: {} })).toThrow(/area.verb/);
    expect(() => log.append({ actor: ' ', action: 'user.added', subject: 'bob', detail: {} })).toThrow(/needs an actor/);
    expect(raw.prepare('SELECT count(*) FROM audit').pluck().get()).toBe(0);
  });

  it('is written or rolled back with the transaction it is appended in', () => {
    expect(() => db.transaction(() => {
      log.append({ actor: 'a', action: 'user.added', subject: 'bob', detail: {} });
      throw new Error('the change failed');
    }).immediate()).toThrow('the change failed');
    expect(log.verify()).toEqual({ ok: true, rows: 0, head: GENESIS });
    db.transaction(() => log.append({ actor: 'a', action: 'user.added', subject: 'bob', detail: {} })).immediate();
    expect(log.verify()).toMatchObject({ ok: true, rows: 1 });
  });

  it('lists the newest rows first, by actor or action', () => {
    appendFive();
    log.append({ actor: 'dsl', action: 'policy.changed', subject: 'config.yaml', detail: {} });
    expect(log.list().map((r) => r.id)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(log.list({ limit: 2 }).map((r) => r.id)).toEqual([6, 5]);
    expect(log.list({ actor: 'dsl' }).map((r) => [r.id, r.detail])).toEqual([[6, {}]]);
    expect(log.list({ action: 'user.added', limit: 3 }).map((r) => r.subject)).toEqual(['user5', 'user4', 'user3']);
    expect(() => log.list({ limit: 0 })).toThrow(/at least 1/);
  });

  it('keeps one chain when two connections append in turn', () => {
    const other = openDatabase(dir);
    try {
      const second = new AuditLog(other);
      for (let i = 0; i < 20; i++) (i % 3 === 0 ? second : log).append({ actor: i % 3 === 0 ? 'proxy' : 'cli', action: 'user.added', subject: `u${i}`, detail: {} });
      expect(log.verify()).toMatchObject({ ok: true, rows: 20 });
      expect(second.verify()).toMatchObject({ ok: true, rows: 20 });
    } finally {
      other.close();
    }
  });
});

describe('AuditLog across processes', () => {
  // Both processes really contend for the write lock, whatever the machine's load: they start
  // appending together when told to (not at a time on the clock, which a slow start-up misses),
  // and every few rows each waits until the other has caught up, so neither can run its whole
  // share alone while the other is still starting or descheduled. Between those meeting points
  // they append as fast as they can, and the chain must still come out whole.
  it('keeps one unbroken chain when two processes append at the same time', async () => {
    const dir = freshDir();
    openDatabase(dir).close();
    const rowsEach = 150;
    const meetEvery = 5;
    const script = [
      `import { AuditLog } from ${JSON.stringify(join(ROOT, 'src/store/audit.ts'))};`,
      `import { openDatabase } from ${JSON.stringify(join(ROOT, 'src/store/db.ts'))};`,
      'const [dir, actor, other, rows, meetEvery] = process.argv.slice(1);',
      'const db = openDatabase(dir);',
      'const log = new AuditLog(db);',
      'const theirs = db.prepare("SELECT count(*) FROM audit WHERE actor = ?").pluck();',
      'const pause = new Int32Array(new SharedArrayBuffer(4));',
      'process.stdout.write("ready\\n");',
      'await new Promise((go) => process.stdin.once("data", go));',
      'for (let i = 0; i < Number(rows); i++) {',
      '  log.append({ actor, action: "user.added", subject: `${actor}-${i}`, detail: { i } });',
      '  if ((i + 1) % Number(meetEvery) === 0) while (theirs.get(other) < i + 1) Atomics.wait(pause, 0, 0, 1);',
      '}',
      'db.close();',
      'process.stdin.destroy();',
    ].join('\n');
    const start = (actor: string, other: string) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir, actor, other, String(rowsEach), String(meetEvery)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const ready = new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        child.on('close', (code) => reject(new Error(`${actor} exited (${code}) before it was ready: ${stderr}`)));
      });
      const done = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stderr }));
      });
      return { go: () => child.stdin.write('go\n'), ready, done };
    };
    // One after the other, so their start-ups are as far apart as they can be.
    const cli = start('cli', 'proxy');
    await cli.ready;
    const proxy = start('proxy', 'cli');
    await proxy.ready;
    cli.go();
    proxy.go();
    const results = await Promise.all([cli.done, proxy.done]);
    expect(results).toEqual([{ code: 0, stderr: '' }, { code: 0, stderr: '' }]);

    const db = openDatabase(dir);
    try {
      const log = new AuditLog(db);
      expect(log.verify()).toMatchObject({ ok: true, rows: 2 * rowsEach });
      const actors = db.prepare('SELECT actor FROM audit ORDER BY id').pluck().all() as string[];
      // They really did interleave: the writer changed many times along the chain.
      const switches = actors.filter((a, i) => i > 0 && a !== actors[i - 1]).length;
      expect(switches).toBeGreaterThan(10);
      for (const actor of ['cli', 'proxy']) {
        const mine = log.list({ actor, limit: 1000 }).map((r) => (r.detail as { i: number }).i).reverse();
        expect(mine).toEqual([...Array(rowsEach).keys()]);
      }
    } finally {
      db.close();
    }
  });
});

describe('processActor', () => {
  it('is SCHOOLGATE_ACTOR when set, else the account, naming the person behind sudo', () => {
    const account = userInfo().username;
    expect(processActor({ SCHOOLGATE_ACTOR: ' j.bloggs ' })).toBe('j.bloggs');
    expect(processActor({ SCHOOLGATE_ACTOR: '' })).toBe(account);
    expect(processActor({})).toBe(account);
    expect(processActor({ SUDO_USER: 'j.bloggs' })).toBe(account === 'j.bloggs' ? account : `j.bloggs (sudo as ${account})`);
  });
});

describe('user changes in the audit chain', () => {
  const GROUPS = new Set(['ks1', 'ks2', 'staff']);
  const PASSWORDS = ['first-password-1', 'second-password-2', 'csv-password-3', 'csv-password-4'];
  let db: Database;
  let store: UserStore;
  beforeEach(() => {
    db = openDatabase(freshDir());
    store = new UserStore(db, { groups: GROUPS, actor: 'it.technician', now: ticking() });
  });
  afterEach(() => db.close());

  const rows = (): { actor: string; action: string; subject: string; detail: string; prev: string; hash: string }[] =>
    db.prepare('SELECT actor, action, subject, detail, prev, hash FROM audit ORDER BY id').all() as never;

  it('records add, passwd, disable, enable and import, one row per user, never a password or its hash', async () => {
    await store.add({ username: 'Alice', group: 'ks2', password: PASSWORDS[0]!, displayName: 'Alice Smith' });
    await store.setPassword('alice', PASSWORDS[1]!);
    store.disable('ALICE');
    store.enable('alice');
    const result = await store.importCsv(`username,group,password\nalice,staff,${PASSWORDS[2]}\nbob,ks1,${PASSWORDS[3]}\nbad user,ks1,${PASSWORDS[3]}\n`);
    expect(result).toMatchObject({ added: 1, updated: 1, errors: [{ line: 4 }] });

    expect(rows().map((r) => [r.actor, r.action, r.subject, JSON.parse(r.detail)])).toEqual([
      ['it.technician', 'user.added', 'Alice', { group: 'ks2', displayName: 'Alice Smith', shared: false, disabled: false, roles: [] }],
      ['it.technician', 'user.password-changed', 'Alice', { group: 'ks2', displayName: 'Alice Smith', shared: false, disabled: false, roles: [] }],
      ['it.technician', 'user.disabled', 'Alice', { group: 'ks2', displayName: 'Alice Smith', shared: false, disabled: true, roles: [] }],
      ['it.technician', 'user.enabled', 'Alice', { group: 'ks2', displayName: 'Alice Smith', shared: false, disabled: false, roles: [] }],
      ['it.technician', 'user.updated', 'Alice', { group: 'staff', displayName: 'Alice Smith', shared: false, disabled: false, roles: [], previousGroup: 'ks2', passwordSet: true, via: 'import' }],
      ['it.technician', 'user.added', 'bob', { group: 'ks1', displayName: null, shared: false, disabled: false, roles: [], via: 'import' }],
    ]);
    const everything = JSON.stringify(db.prepare('SELECT * FROM audit').all());
    for (const p of PASSWORDS) expect(everything).not.toContain(p);
    expect(everything).not.toContain('scrypt');
    for (const hash of db.prepare('SELECT password_hash FROM users').pluck().all() as string[]) expect(everything).not.toContain(hash.split('$').at(-1));
    expect(new AuditLog(db).verify()).toMatchObject({ ok: true, rows: 6 });
  });

  it('writes no row for a change that fails', async () => {
    await store.add({ username: 'alice', group: 'ks2', password: PASSWORDS[0]! });
    await expect(store.add({ username: 'ALICE', group: 'ks2', password: PASSWORDS[0]! })).rejects.toThrow(UserError);
    await expect(store.add({ username: 'carol', group: 'ks9', password: PASSWORDS[0]! })).rejects.toThrow(/unknown group/);
    await expect(store.setPassword('nobody', PASSWORDS[1]!)).rejects.toThrow(/no user/);
    await expect(store.setPassword('alice', 'short')).rejects.toThrow(/at least 8/);
    expect(() => store.disable('nobody')).toThrow(/no user/);
    await store.importCsv(`username,group,password\nbad user,ks1,${PASSWORDS[3]}\n`);
    await store.importCsv(`username,group,password\nzed,ks1,${PASSWORDS[3]}\n`, { dryRun: true });
    expect(rows().map((r) => [r.action, r.subject])).toEqual([['user.added', 'alice']]);
    expect(store.list().map((u) => u.username)).toEqual(['alice']);
  });

  it('keeps no change when its audit row cannot be written', async () => {
    await store.add({ username: 'alice', group: 'ks2', password: PASSWORDS[0]! });
    // A trigger standing in for a failure of the audit write (a full disk, a broken table).
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END");
    await expect(store.add({ username: 'bob', group: 'ks2', password: PASSWORDS[1]! })).rejects.toThrow('audit unavailable');
    expect(() => store.disable('alice')).toThrow('audit unavailable');
    await expect(store.importCsv(`username,group,password\ncarol,ks1,${PASSWORDS[3]}\n`)).rejects.toThrow('audit unavailable');
    expect(store.list().map((u) => [u.username, u.disabled])).toEqual([['alice', false]]);
  });
});
