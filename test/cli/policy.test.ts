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
    expect(j).toMatchObject({ action: 'block', categories: ['games'], rule: { kind: 'level' }, unblockBy: 'technician' });
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

  it('blocks the safeguarding topics for pupils and guests by name, and warns staff', async () => {
    // Every topic and group is walked in test/policy/decide.test.ts; here, the report's own case.
    for (const group of ['ks2', 'guest']) {
      const r = await schoolgate(['explain', 'http://suicide.selftest.invalid/', '--group', group, '--json', '--data', data]);
      expect([group, JSON.parse(r.stdout).action, JSON.parse(r.stdout).rule.kind]).toEqual([group, 'block', 'level']);
    }
    const staff = await schoolgate(['explain', 'http://suicide.selftest.invalid/', '--group', 'staff', '--data', data]);
    expect(staff.stdout).toMatch(/decision\s+WARN: Staff filter level: suicide is warned/);
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

describe('explain over HTTPS, as the school CA allows', () => {
  const noCa = join(tmp.dir, 'no-ca');
  const withCa = join(tmp.dir, 'with-ca');
  const SEARCH = 'https://www.google.co.uk/search?q=volcanoes';
  const explain = (url: string, group: string, dir: string, json = false) => schoolgate(['explain', url, '--group', group, '--data', dir, ...(json ? ['--json'] : [])]);

  it('with no CA, reports the safe-search tunnel, not a query rewrite that cannot happen', async () => {
    const text = await explain(SEARCH, 'ks2', noCa);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('\nsafe search google: tunnel to forcesafesearch.google.com (no query safe=active: HTTPS here is not decrypted)\n');
    expect(text.stdout).not.toMatch(/^safe search google: query/m);
    expect(text.stdout).toMatch(/\nhttps {7}not decrypted \(filtered on the site name\): no school CA yet \(.+\), so nothing is decrypted; once a school CA exists \("schoolgate ca init"\) it would be decrypted: search engine google/);
    const json = JSON.parse((await explain(SEARCH, 'ks2', noCa, true)).stdout);
    expect(json.safeSearch).toMatchObject({ engine: 'google', kind: 'connect-host', host: 'forcesafesearch.google.com' });
    expect(json.https).toMatchObject({ ca: 'none', decrypted: false, withCa: { intercept: true }, tunnel: { action: 'allow' } });
    // An engine that has no safe address for tunnels gets none at all without decryption.
    const ddg = await explain('https://html.duckduckgo.com/html?q=volcanoes', 'ks2', noCa);
    expect(ddg.stdout).toContain('\nsafe search none: query kp=1 needs the HTTPS decrypted, and it is not here\n');
  });

  it('with no CA, says when the host alone decides otherwise than the page would', async () => {
    const r = await explain('https://www.bbc.co.uk/cbeebies/games', 'ks1', noCa);
    expect(r.stdout).toMatch(/\ndecision {4}ALLOW: bbc\.co\.uk\/cbeebies is on KS1 pupils's allow list/);
    expect(r.stdout).toMatch(/\ntunnel {6}BLOCK on the host alone: KS1 pupils is allow-list only: sites in no category are blocked; the page's own rules cannot apply without decryption/);
  });

  it('with a CA, rewrites the query where the group is inspected, and tunnels where it is not', async () => {
    const init = await schoolgate(['ca', 'init', '--data', withCa]);
    expect(init.code).toBe(0);
    const ks2 = JSON.parse((await explain(SEARCH, 'ks2', withCa, true)).stdout);
    expect(ks2.safeSearch).toMatchObject({ kind: 'rewrite-query', param: 'safe', value: 'active' });
    expect(ks2.https).toMatchObject({ ca: 'present', decrypted: true, reason: expect.stringContaining('search engine google') });
    const text = await explain(SEARCH, 'ks2', withCa);
    expect(text.stdout).toContain('\nsafe search google: query safe=active\nhttps       decrypted: search engine google');
    const guest = await explain(SEARCH, 'guest', withCa);
    expect(guest.stdout).toContain('\nsafe search google: tunnel to forcesafesearch.google.com (no query safe=active: HTTPS here is not decrypted)\n');
    expect(guest.stdout).toContain('\nhttps       not decrypted (filtered on the site name): the guest group is not inspected\n');
  });
});

describe('policy check', () => {
  it('describes a valid policy', async () => {
    const r = await schoolgate(['policy', 'check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('config/default.yaml: the policy is valid');
    expect(r.stdout).toMatch(/ks1\s+KS1 pupils: allow-list only/);
  });

  it('finds nothing left open by omission in the shipped policy', async () => {
    const r = await schoolgate(['policy', 'check']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('warns when a group other than staff allows an inappropriate or safeguarding category by omission', async () => {
    const file = join(tmp.dir, 'omits.yaml');
    const guarded = 'adult: block\n        discrimination: block\n        drugs: block\n        extremism: block\n        gambling: block\n        malware: block\n        piracy: block\n        self-harm: block\n        violence: block\n        bullying: block';
    writeFileSync(file, [
      `categories: ${ROOT}/config/categories.yaml`,
      'policy:',
      '  groups:',
      '    year7:',                       // line 4: the group's default comes from here
      '      levels:',
      `        ${guarded}`,
      '        suicide: allow',           // said on purpose: not an omission
      '    visitors:',
      '      like: year7',
      '      levels: { suicide: block }', // grooming still left out, inherited
      '    infants:',
      '      mode: allowlist',            // omissions are blocked there
      '      levels: { education: allow }',
      '    staff:',
      '      levels: { adult: block }',   // adults: not checked
      '',
    ].join('\n'));
    const r = await schoolgate(['policy', 'check', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${file}: the policy is valid`);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `warning: ${file}:4: policy.groups.year7: year7 can reach grooming by omission: the filter level does not name it, and categories it does not name are allowed. Name it under policy.groups.year7.levels: block (or allow, to say it is meant)`,
      `warning: ${file}:17: policy.groups.visitors: visitors can reach grooming by omission: the filter level does not name it, and categories it does not name are allowed. Name it under policy.groups.visitors.levels: block (or allow, to say it is meant)`,
    ]);
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
