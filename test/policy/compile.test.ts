// Every policy error names the file, the line, the key and the fix.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { withUnblocks } from '../../src/policy/compile.js';
import { problemsOf } from '../helpers/config-problems.js';
import { tempDir } from '../helpers/lists.js';
import { CONFIG_DIR, policyFrom } from '../helpers/policy.js';
import { writeFileSync } from 'node:fs';

const tmp = tempDir();
afterAll(tmp.cleanup);
let n = 0;
function problems(policy: string): string[] {
  const file = join(tmp.dir, `p${n++}.yaml`);
  writeFileSync(file, `categories: ${CONFIG_DIR}/categories.yaml\npolicy:\n${policy}`);
  return problemsOf(() => loadConfig(file)).map((p) => `${p.line}: ${p.key}: ${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`);
}

describe('policy errors', () => {
  it.each([
    ['an unknown category in a level', '  groups:\n    ks2:\n      levels: { gaming: block }\n',
      '5: policy.groups.ks2.levels.gaming: unknown category "gaming" (fix: use a category id from README.md, "Categories", or the category map)'],
    ['an action that is not allow, block or warn', '  groups:\n    ks2:\n      levels:\n        games: deny\n',
      '6: policy.groups.ks2.levels.games: "deny" is not allowed (fix: use one of: allow, block, warn)'],
    ['an illegal category allowed', '  groups:\n    staff:\n      levels:\n        iwf: allow\n',
      '6: policy.groups.staff.levels.iwf: illegal is not a setting: iwf cannot be allowed; it is blocked for every group (fix: remove iwf here)'],
    ['an illegal category warned', '  groups:\n    staff:\n      levels:\n        terrorism: warn\n',
      '6: policy.groups.staff.levels.terrorism: illegal is not a setting: terrorism cannot be warned (the person may continue); it is blocked for every group (fix: remove terrorism here)'],
    ['an illegal category in a schedule', '  groups:\n    ks2:\n      schedules:\n        - { days: fri, from: "14:00", to: "15:00", allow: [iwf] }\n',
      '6: policy.groups.ks2.schedules[0].allow[0]: illegal is not a setting: iwf cannot be allowed; it is blocked for every group (fix: remove iwf here)'],
    ['an illegal category for a nominated user', '  users:\n    bob:\n      levels: { terrorism: allow }\n',
      '5: policy.users.bob.levels.terrorism: illegal is not a setting: terrorism cannot be allowed; it is blocked for every group (fix: remove terrorism here)'],
    ['a window that ends before it starts', '  groups:\n    ks2:\n      schedules:\n        - { days: fri, from: "15:00", to: "14:00", allow: [games] }\n',
      '6: policy.groups.ks2.schedules[0].to: the window ends (14:00) before it starts (15:00) (fix: split a window that runs past midnight into two, one each side of it)'],
    ['bad days', '  groups:\n    ks2:\n      schedules:\n        - { days: funday, from: "14:00", to: "15:00", allow: [games] }\n',
      /^6: policy\.groups\.ks2\.schedules\[0\]\.days: .*funday/],
    ['a bad time', '  groups:\n    ks2:\n      schedules:\n        - { days: fri, from: "25:00", to: "26:00", allow: [games] }\n',
      /^6: policy\.groups\.ks2\.schedules\[0\]\.from: .*25:00/],
    ['overlapping contradictory schedules', '  groups:\n    ks2:\n      schedules:\n        - { name: a, days: mon-fri, from: "12:00", to: "13:00", allow: [games] }\n        - { name: b, days: fri, from: "12:30", to: "14:00", block: [games] }\n',
      '7: policy.groups.ks2.schedules[1]: schedules "a" (line 6) and "b" overlap and set games to allow and block (fix: change the times or days so they do not overlap, or make them agree)'],
    ['a site both allowed and blocked', '  groups:\n    ks2:\n      sites:\n        allow: [x.example.test]\n        block: [X.Example.Test]\n',
      '7: policy.groups.ks2.sites.block[0]: X.Example.Test is listed to block and, on line 6, to allow (fix: keep one of them)'],
    ['a category both allowed and blocked in one schedule', '  groups:\n    ks2:\n      schedules:\n        - { days: fri, from: "14:00", to: "15:00", allow: [games], block: [games] }\n',
      '6: policy.groups.ks2.schedules[0].block[0]: games is listed to block and, on line 6, to allow (fix: keep one of them)'],
    ['overlapping schedules that contradict on a site', '  groups:\n    ks2:\n      schedules:\n        - { name: a, days: fri, from: "14:00", to: "15:00", allow: [x.example.test] }\n        - { name: b, days: fri, from: "14:30", to: "16:00", block: [x.example.test] }\n',
      '7: policy.groups.ks2.schedules[1]: schedules "a" (line 6) and "b" overlap and set x.example.test to allow and block (fix: change the times or days so they do not overlap, or make them agree)'],
    ['an unknown group to be like', '  groups:\n    guest:\n      like: ks3\n    ks2: {}\n',
      '5: policy.groups.guest.like: unknown group "ks3" (fix: use one of: guest, ks2)'],
    ['groups like each other in a circle', '  groups:\n    a:\n      like: b\n    b:\n      like: a\n',
      /policy\.groups\.\w\.like: groups are "like" each other in a circle/],
    ['a bad group id', '  groups:\n    Year 6: {}\n',
      '4: policy.groups.Year 6: "Year 6" is not a valid group id (fix: use lower-case letters, digits and hyphens, starting with a letter)'],
    ['an unknown group key', '  groups:\n    ks2:\n      level: {}\n',
      /^5: policy\.groups\.ks2\.level: unknown key "level" \(fix: use one of: label, mode, like, levels/],
    ['a bad mode', '  groups:\n    ks1:\n      mode: whitelist\n',
      '5: policy.groups.ks1.mode: "whitelist" is not allowed (fix: use one of: filter, allowlist)'],
    ['a bad site entry', '  groups:\n    ks2:\n      sites:\n        allow: ["exa mple.com"]\n',
      /^6: policy\.groups\.ks2\.sites\.allow\[0\]: "exa mple\.com" is not a valid site/],
    ['a bad safe-search setting', '  groups:\n    ks2:\n      safeSearch: [gogle]\n',
      /^5: policy\.groups\.ks2\.safeSearch: .*gogle/],
    ['an unknown SLT-approval category', '  sltApproval: [porn]\n',
      '3: policy.sltApproval[0]: unknown category "porn" (fix: use a category id from README.md, "Categories", or the category map)'],
    ['an unknown category under the old key name', '  seniorLeaderApproval: [porn]\n',
      '3: policy.seniorLeaderApproval[0]: unknown category "porn" (fix: use a category id from README.md, "Categories", or the category map)'],
    ['the SLT categories under both their names', '  sltApproval: [drugs]\n  seniorLeaderApproval: [adult]\n',
      '4: policy.seniorLeaderApproval: "seniorLeaderApproval" and "sltApproval" are the same setting (seniorLeaderApproval is its old name), given twice (fix: keep only sltApproval)'],
  ])('%s', (_label, policy, want) => {
    const got = problems(policy);
    if (typeof want === 'string') expect(got).toContain(want);
    else expect(got.some((p) => want.test(p)), got.join('\n')).toBe(true);
  });

  it('reads policy.sltApproval, and its old name seniorLeaderApproval with a deprecation warning', () => {
    const load = (policy: string) => {
      const file = join(tmp.dir, `p${n++}.yaml`);
      writeFileSync(file, `categories: ${CONFIG_DIR}/categories.yaml\npolicy:\n${policy}`);
      return loadConfig(file);
    };
    const now = load('  sltApproval: [drugs, adult]\n');
    expect([...now.policy.sltCategories].sort()).toEqual(['adult', 'drugs']);
    expect(now.warnings).toEqual([]);
    const old = load('  seniorLeaderApproval: [drugs, adult]\n');
    expect([...old.policy.sltCategories].sort()).toEqual(['adult', 'drugs']);
    expect(old.warnings.map((w) => `${w.line}: ${w.key}: ${w.message} (fix: ${w.fix})`)).toEqual([
      '3: policy.seniorLeaderApproval: "seniorLeaderApproval" is deprecated: it is the old name of "sltApproval", read the same for now (fix: rename it to sltApproval)',
    ]);
  });

  it('remembers a warn click-through for the configured time', () => {
    expect(policyFrom(tmp.dir, '  warnRememberMinutes: 15\n').warnRememberMs).toBe(15 * 60_000);
    expect(policyFrom(tmp.dir, '  groups: {}\n').warnRememberMs).toBe(60 * 60_000);
    expect(problems('  warnRememberMinutes: -5\n')).toContain('3: policy.warnRememberMinutes: must be at least 0, found -5');
  });

  it('accepts blocking an illegal category (pointless, but not wrong)', () => {
    expect(policyFrom(tmp.dir, '  groups:\n    ks2:\n      levels: { iwf: block }\n').groups.get('ks2')!.levels.get('iwf')!.action).toBe('block');
  });

  it('gives each rule the line it is written on, also when inherited with like', () => {
    const p = policyFrom(tmp.dir, '  groups:\n    ks2:\n      levels:\n        games: block\n    guest:\n      like: ks2\n      levels:\n        chat: block\n');
    expect(p.groups.get('guest')!.levels.get('games')!.line).toBe(6);
    expect(p.groups.get('guest')!.levels.get('chat')!.line).toBe(10);
    expect(p.groups.get('ks2')!.levels.has('chat')).toBe(false);
  });

  it('refuses an unblock that is not a site', () => {
    const p = policyFrom(tmp.dir, '  groups:\n    ks2: {}\n');
    expect(() => withUnblocks(p, [{ id: 'u9', site: 'not a site', target: { kind: 'group', group: 'ks2' }, from: new Date(0), until: new Date(1), approvedBy: 'x', reason: 'y' }]))
      .toThrow(/unblock u9: "not a site" is not a valid site/);
  });
});
