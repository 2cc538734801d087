// `schoolgate audit` end to end: user changes made with the real command are audited, a row
// changed behind Schoolgate's back makes `audit verify` fail naming it, and a running Schoolgate
// records each configuration it runs with.
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, schoolgate, spawnSchoolgate, type Run } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir('schoolgate-audit-cli-');
afterAll(tmp.cleanup);
let n = 0;
const freshData = (): string => join(tmp.dir, `data-${++n}`);

/** Runs `schoolgate users add` with the password piped in; actor, when given, as SCHOOLGATE_ACTOR. */
function addUser(data: string, username: string, actor?: string): Promise<Run> {
  return schoolgate(['users', 'add', username, '--group', 'ks2', '--password-stdin', '--data', data], {
    stdin: 'correct horse battery\n', env: { SCHOOLGATE_ACTOR: actor, SUDO_USER: undefined },
  });
}

/** Changes the database as someone with the file and the sqlite3 tool could. */
function tamper(data: string, sql: string): void {
  const raw = new BetterSqlite3(join(data, 'schoolgate.db'));
  try {
    raw.exec(sql);
  } finally {
    raw.close();
  }
}

const HEAD = /^audit chain intact: (\d+) rows?, head ([0-9a-f]{64})\n/;

describe('schoolgate audit', () => {
  it('verifies the chain of user changes, and names the row edited behind its back', async () => {
    const data = freshData();
    for (const [user, actor] of [['amy', 'j.bloggs'], ['ben', undefined], ['cal', 'j.bloggs']] as const) expect((await addUser(data, user, actor)).code).toBe(0);
    const ok = await schoolgate(['audit', 'verify', '--data', data]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(HEAD);
    expect(HEAD.exec(ok.stdout)![1]).toBe('3');

    const list = await schoolgate(['audit', 'list', '--data', data]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id\s+at\s+actor\s+action\s+subject\s+detail$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 5).filter((_, i) => i !== 1))).toEqual([
      ['3', 'j.bloggs', 'user.added', 'cal'], ['2', userInfo().username, 'user.added', 'ben'], ['1', 'j.bloggs', 'user.added', 'amy'],
    ]);
    const json = await schoolgate(['audit', 'list', '--json', '--limit', '1', '--data', data]);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ id: 3, actor: 'j.bloggs', action: 'user.added', subject: 'cal', detail: { group: 'ks2', displayName: null, shared: false, disabled: false, roles: [] } })]);
    expect(list.stdout + json.stdout).not.toContain('correct horse');

    tamper(data, `UPDATE audit SET detail = '{"group":"staff","displayName":null,"shared":false,"disabled":false}' WHERE id = 2`);
    const edited = await schoolgate(['audit', 'verify', '--data', data]);
    expect(edited.code).toBe(1);
    expect(edited.stdout).toBe('');
    expect(edited.stderr).toMatch(/^audit chain broken at row 2: the hash does not match the row.*\nthe 1 row before it is intact \(last good hash [0-9a-f]{64}\)\n$/);
  });

  it('names the row after a deleted one, and a head written down shows rows cut off the end', async () => {
    const data = freshData();
    for (const user of ['amy', 'ben', 'cal']) await addUser(data, user);
    const anchor = HEAD.exec((await schoolgate(['audit', 'verify', '--data', data])).stdout)![2]!;
    expect((await addUser(data, 'dee')).code).toBe(0);
    const still = await schoolgate(['audit', 'verify', '--expect-head', anchor.toUpperCase(), '--data', data]);
    expect(still.code).toBe(0);
    expect(still.stdout).toMatch(/^audit chain intact: 4 rows, head [0-9a-f]{64}\nexpected head found at row 3\n$/);

    // Rows cut off the end leave a good chain: only the head written down shows it.
    tamper(data, 'DELETE FROM audit WHERE id >= 3');
    expect((await schoolgate(['audit', 'verify', '--data', data])).code).toBe(0);
    const cut = await schoolgate(['audit', 'verify', '--expect-head', anchor, '--data', data]);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain(`audit chain does not hold the expected head ${anchor}: rows were cut off its end, or it was rewritten (now 2 rows`);

    expect((await addUser(data, 'eve')).code).toBe(0);
    tamper(data, 'DELETE FROM audit WHERE id = 2');
    const deleted = await schoolgate(['audit', 'verify', '--data', data]);
    expect(deleted.code).toBe(1);
    expect(deleted.stderr).toMatch(/^audit chain broken at row 3: prev does not match the hash of row 1: .*\(row 2 is missing\)\n/);
  });

  it('refuses a missing database, a malformed head and an unknown action', async () => {
    const none = await schoolgate(['audit', 'verify', '--data', join(tmp.dir, 'nowhere')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no database at .*nowhere.*schoolgate\.db: is --data right\?/);
    const data = freshData();
    await addUser(data, 'amy');
    const bad = await schoolgate(['audit', 'verify', '--expect-head', 'abc', '--data', data]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--expect-head: "abc" is not a hash');
    const limit = await schoolgate(['audit', 'list', '--limit', '0', '--data', data]);
    expect(limit.code).toBe(2);
    const action = await schoolgate(['audit', 'check', '--data', data]);
    expect(action.code).toBe(2);
    expect(action.stderr).toContain('unknown audit action "check": use verify or list');
    const help = await schoolgate(['audit', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: schoolgate audit verify [--expect-head HASH]');
  });

  it('records the configuration a running Schoolgate starts with, and each changed one it reloads', async () => {
    const data = freshData();
    const config = join(tmp.dir, `schoolgate-${n}.yaml`);
    writeFileSync(config, `categories: ${ROOT}/config/categories.yaml\n`);
    const running = spawnSchoolgate(['start', '--port', '0', '--config', config, '--data', data]);
    try {
      await running.waitFor(/Schoolgate is running/);
      // The same text again: nothing recorded. Reloads run one after another, so once the
      // changed text's reload is logged, the unchanged one's is long done.
      let from = running.lines();
      expect((await schoolgate(['lists', 'reload', '--data', data])).code).toBe(0);
      await running.waitFor(/lists reloaded/, from - 1);
      appendFileSync(config, 'school:\n  name: Example Primary\n');
      from = running.lines();
      expect((await schoolgate(['lists', 'reload', '--data', data])).code).toBe(0);
      await running.waitFor(/configuration changed: version recorded/, from - 1);
    } finally {
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
    }
    const text = readFileSync(config, 'utf8');
    const sha = (t: string): string => createHash('sha256').update(t).digest('hex');
    const first = `categories: ${ROOT}/config/categories.yaml\n`;
    const list = await schoolgate(['audit', 'list', '--json', '--action', 'policy.changed', '--data', data]);
    expect((JSON.parse(list.stdout) as { subject: string; detail: unknown }[]).map((r) => [r.subject, r.detail])).toEqual([
      // Edited by hand and loaded by the proxy: the server's change, not the staff app's.
      [config, { sha256: sha(text), previous: sha(first), file: config, source: 'server' }],
      [config, { sha256: sha(first), previous: null, file: config, source: 'server' }],
    ]);
    const raw = new BetterSqlite3(join(data, 'schoolgate.db'), { readonly: true });
    expect(raw.prepare('SELECT text FROM policy_versions ORDER BY id').pluck().all()).toEqual([first, text]);
    raw.close();
    expect((await schoolgate(['audit', 'verify', '--data', data])).stdout).toMatch(/^audit chain intact: 2 rows/);
  });
});
