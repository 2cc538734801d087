import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, schoolgate } from '../helpers/cli.js';
import { openDatabase } from '../../src/store/db.js';
import { UnblockStore } from '../../src/store/unblocks.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
const data = join(tmp.dir, 'data');

describe('explain', () => {
  it('gives the decision, the rule with its file and line, and the chain', async () => {
    const r = await schoolgate(['explain', 'https://games.selftest.invalid/', '--group', 'ks2', '--at', '2026-11-20T14:45', '--data', data]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/decision\s+ALLOW: schedule "golden time" \(fri 14:30-15:15\): games allowed for KS2 pupils\s+\(.*config\/default\.yaml:\d+\)/);
    expect(r.stdout).toMatch(/why \(in order of precedence\)\n\s+illegal\s+not on an illegal list/);
  });

  it('prints JSON with action, categories and rule', async () => {
    const r = await schoolgate(['explain', 'https://games.selftest.invalid/', '--group', 'ks2', '--at', '2026-11-20T15:15:00Z', '--json', '--data', data]);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ action: 'block', categories: ['games'], rule: { kind: 'level' }, unblockBy: 'staff' });
    expect(j.chain.map((s: { layer: string }) => s.layer)).toEqual(['illegal', 'unblock', 'user', 'site-list', 'level']);
  });

  it('never allows illegal content, and says it cannot be unblocked', async () => {
    const r = await schoolgate(['explain', 'https://iwf.selftest.invalid/x', '--group', 'staff', '--data', data]);
    expect(r.stdout).toMatch(/decision\s+BLOCK: iwf list: illegal content is blocked for everyone/);
    expect(r.stdout).toMatch(/unblock\s+never/);
  });

  it('reads --at in the school time zone unless a zone is given', async () => {
    const summer = await schoolgate(['explain', 'https://shopping.selftest.invalid/', '--group', 'staff', '--at', '2026-06-16T12:30', '--json', '--data', data]);
    expect(JSON.parse(summer.stdout)).toMatchObject({ action: 'allow', at: '2026-06-16T11:30:00.000Z' });
  });

  it('names the groups when --group is missing or unknown', async () => {
    const a = await schoolgate(['explain', 'example.com', '--data', data]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--group is required: one of ks1, ks2, staff, guest');
    const b = await schoolgate(['explain', 'example.com', '--group', 'ks3', '--data', data]);
    expect(b.stderr).toContain('unknown group "ks3"');
    const c = await schoolgate(['explain', 'example.com', '--group', 'ks2', '--at', 'teatime', '--data', data]);
    expect(c.stderr).toContain('--at: "teatime" is not an ISO time');
  });
});

describe('policy check', () => {
  it('describes a valid policy', async () => {
    const r = await schoolgate(['policy', 'check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('config/default.yaml: the policy is valid');
    expect(r.stdout).toMatch(/ks1\s+KS1 pupils: allow-list only/);
  });

  it('prints every problem with file, line and fix, exit code 2', async () => {
    const bad = join(tmp.dir, 'bad.yaml');
    writeFileSync(bad, `categories: ${ROOT}/config/categories.yaml\npolicy:\n  groups:\n    ks2:\n      levels:\n        iwf: allow\n        gaming: block\n`);
    const r = await schoolgate(['policy', 'check', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:6: policy.groups.ks2.levels.iwf: illegal is not a setting`);
    expect(r.stderr).toContain(`${bad}:7: policy.groups.ks2.levels.gaming: unknown category "gaming"`);
  });
});

describe('explain with the unblocks in force', () => {
  it('applies an approved unblock at its time, and not before or after', async () => {
    const dir = join(tmp.dir, 'with-unblock');
    const db = openDatabase(dir);
    try {
      const store = new UnblockStore(db);
      const made = store.request({
        requestedBy: 't.teacher', url: 'http://gambling.selftest.invalid/odds', site: 'gambling.selftest.invalid', categories: ['gambling'], reference: null,
        target: { kind: 'group', group: 'ks2' }, reason: 'Probability lesson', from: new Date('2026-11-23T10:00:00Z'), until: new Date('2026-11-23T11:00:00Z'), approverRole: 'technician',
      });
      store.approve(made.id, 'it.tech');
    } finally {
      db.close();
    }
    const at = async (time: string): Promise<string> => JSON.parse((await schoolgate(['explain', 'http://gambling.selftest.invalid/odds', '--group', 'ks2', '--at', time, '--json', '--data', dir])).stdout).action as string;
    expect(await at('2026-11-23T10:30:00Z')).toBe('allow');
    expect(await at('2026-11-23T09:59:00Z')).toBe('block');
    expect(await at('2026-11-23T11:00:00Z')).toBe('block');
  });
});
