// decide() against the shipped primary-school policy and against small policies written for
// each rule of precedence. Times are instants; Europe/London is GMT in November, BST in June.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { withUnblocks } from '../../src/policy/compile.js';
import { decide } from '../../src/policy/decide.js';
import { allowedByOmission, guardedCategories } from '../../src/policy/omissions.js';
import type { TraceStep, Unblock } from '../../src/policy/types.js';
import { tempDir } from '../helpers/lists.js';
import { CONFIG_DIR, classifierFor, decider, policyFrom, TEST_LISTS } from '../helpers/policy.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
// The safeguarding topics' own lists, beside the shared test lists.
const classifier = classifierFor(join(tmp.dir, 'lists'), [
  ...TEST_LISTS,
  ...['suicide', 'bullying', 'grooming'].map((name) => ({ name, files: { domains: `${name}.example.test\n` } })),
]);
const shipped = loadConfig(join(CONFIG_DIR, 'default.yaml')).policy;
const check = decider(classifier, shipped);

const FRI = '2026-11-20';
const TUE = '2026-11-17';
const THU = '2026-11-19';

describe('the shipped policy walks the seeds\' matrix', () => {
  it.each([
    // [url, group, instant, action, rule kind]
    // Pornography: unacceptable for all.
    ['https://adult.example.test/', 'ks1', `${TUE}T10:00Z`, 'block', 'level'],
    ['https://adult.example.test/', 'ks2', `${TUE}T10:00Z`, 'block', 'level'],
    ['https://adult.example.test/', 'staff', `${TUE}T12:30Z`, 'block', 'level'],
    ['https://adult.example.test/', 'guest', `${TUE}T10:00Z`, 'block', 'level'],
    // Gambling: unacceptable, staff included.
    ['https://bet.example.test/', 'ks2', `${FRI}T14:45Z`, 'block', 'level'],
    ['https://bet.example.test/', 'staff', `${TUE}T12:30Z`, 'block', 'level'],
    // Online gaming: acceptable at certain times (KS2 golden time, Friday 14:30-15:15).
    ['https://game.example.test/', 'ks2', `${FRI}T14:29Z`, 'block', 'level'],
    ['https://game.example.test/', 'ks2', `${FRI}T14:30Z`, 'allow', 'schedule'],
    ['https://game.example.test/', 'ks2', `${FRI}T15:14:59Z`, 'allow', 'schedule'],
    ['https://game.example.test/', 'ks2', `${FRI}T15:15Z`, 'block', 'level'],
    ['https://game.example.test/', 'ks2', `${THU}T14:45Z`, 'block', 'level'],
    ['https://game.example.test/', 'guest', `${FRI}T14:45Z`, 'allow', 'schedule'],
    ['https://game.example.test/', 'staff', `${TUE}T10:00Z`, 'warn', 'level'],
    // Shopping: staff only, at lunch.
    ['https://shop.example.test/', 'staff', `${TUE}T12:00Z`, 'allow', 'schedule'],
    ['https://shop.example.test/', 'staff', `${TUE}T12:59Z`, 'allow', 'schedule'],
    ['https://shop.example.test/', 'staff', `${TUE}T13:00Z`, 'block', 'level'],
    ['https://shop.example.test/', 'ks2', `${TUE}T12:30Z`, 'block', 'level'],
    // Social media: staff at lunch; never for pupils.
    ['https://social.example.test/', 'staff', `${TUE}T12:30Z`, 'allow', 'schedule'],
    ['https://social.example.test/', 'staff', `${TUE}T09:00Z`, 'block', 'level'],
    ['https://social.example.test/', 'ks2', `${TUE}T12:30Z`, 'block', 'level'],
    // Messaging apps: not for pupils.
    ['https://chat.example.test/', 'ks2', `${TUE}T10:00Z`, 'block', 'level'],
    ['https://chat.example.test/', 'staff', `${TUE}T10:00Z`, 'allow', 'default'],
    // YouTube and the like: open for KS2 and staff; KS1 is allow-list only.
    ['https://video.example.test/watch', 'ks2', `${TUE}T10:00Z`, 'allow', 'level'],
    ['https://video.example.test/watch', 'ks1', `${TUE}T10:00Z`, 'block', 'default'],
    ['https://video.example.test/watch', 'staff', `${TUE}T10:00Z`, 'allow', 'default'],
    // The school's allow entry for one folder opens it even for KS1.
    ['https://video.example.test/lessons/1', 'ks1', `${TUE}T10:00Z`, 'allow', 'site-list'],
    // KS1: approved categories and sites only; nothing uncategorised.
    ['https://learn.example.test/', 'ks1', `${TUE}T10:00Z`, 'allow', 'level'],
    ['https://plain.example.test/', 'ks1', `${TUE}T10:00Z`, 'block', 'default'],
    ['https://plain.example.test/', 'ks2', `${TUE}T10:00Z`, 'allow', 'default'],
    ['https://www.bbc.co.uk/cbeebies/games', 'ks1', `${TUE}T10:00Z`, 'allow', 'site-list'],
    // A site in two categories: the most restrictive wins (KS1: education allowed, video not).
    ['https://edu-video.example.test/', 'ks1', `${TUE}T10:00Z`, 'block', 'default'],
    ['https://edu-video.example.test/', 'ks2', `${TUE}T10:00Z`, 'allow', 'level'],
    // Staff judgement calls warn.
    ['https://drugs.example.test/', 'staff', `${TUE}T10:00Z`, 'warn', 'level'],
    ['https://drugs.example.test/', 'ks2', `${TUE}T10:00Z`, 'block', 'level'],
    // Guests are kept away from the school's systems.
    ['https://mis.example-school.invalid/login', 'guest', `${TUE}T10:00Z`, 'block', 'site-list'],
    ['https://mis.example-school.invalid/login', 'ks2', `${TUE}T10:00Z`, 'allow', 'default'],
    // The school's own block list.
    ['https://blocked.example.test/', 'staff', `${TUE}T10:00Z`, 'block', 'site-list'],
    // Safeguarding topics: blocked for pupils and guests by name, never by omission; staff are
    // warned (the DSL and pastoral staff look into what a pupil saw), and alerted either way.
    ...(['suicide', 'bullying', 'grooming'] as const).flatMap((topic) => [
      ...(['ks1', 'ks2', 'guest'] as const).map((group) => [`https://${topic}.example.test/`, group, `${FRI}T14:45Z`, 'block', 'level'] as const),
      [`https://${topic}.example.test/`, 'staff', `${TUE}T12:30Z`, 'warn', 'level'] as const,
    ]),
  ] as const)('%s for %s at %s: %s (%s)', (url, group, at, action, kind) => {
    const d = check(url, { group }, at);
    expect([d.action, d.rule.kind]).toEqual([action, kind]);
  });

  it.each(['ks1', 'ks2', 'staff', 'guest'])('illegal content is blocked for %s and can never be unblocked', (group) => {
    for (const url of ['https://abuse.example.test/page', 'https://www.whole-abuse.example.test/x', 'https://terror.example.test/']) {
      const d = check(url, { group }, `${FRI}T14:45Z`);
      expect([d.action, d.rule.kind, d.unblockBy]).toEqual(['block', 'illegal', 'never']);
    }
    // A page next to an IWF-listed page is not widened to the site.
    expect(check('https://abuse.example.test/other', { group }, `${TUE}T10:00Z`).rule.kind).not.toBe('illegal');
  });

  it('lets no group but staff reach an inappropriate or safeguarding category by omission', () => {
    expect(allowedByOmission(shipped, guardedCategories())).toEqual([]);
    expect(check('https://suicide.example.test/', { group: 'ks2' }, `${TUE}T10:00Z`).unblockBy).toBe('slt');
  });

  it('says who may unblock a block', () => {
    expect(check('https://adult.example.test/', { group: 'ks2' }, `${TUE}T10:00Z`).unblockBy).toBe('slt');
    expect(check('https://game.example.test/', { group: 'ks2' }, `${TUE}T10:00Z`).unblockBy).toBe('technician');
    expect(check('https://game.example.test/', { group: 'ks2' }, `${FRI}T14:45Z`).unblockBy).toBeNull();
  });

  it('enforces safe search per group, and tells a CONNECT tunnel where to go', () => {
    const search = check('https://www.google.co.uk/search?q=volcanoes', { group: 'ks2' }, `${TUE}T10:00Z`);
    expect(search.safeSearch).toMatchObject({ engine: 'google', kind: 'rewrite-query', param: 'safe', value: 'active' });
    const tunnel = check('www.google.com:443', { group: 'ks2', connect: true }, `${TUE}T10:00Z`);
    expect(tunnel.safeSearch).toMatchObject({ kind: 'connect-host', host: 'forcesafesearch.google.com' });
    expect(check('https://www.youtube.com/watch?v=x', { group: 'ks2' }, `${TUE}T10:00Z`).safeSearch).toMatchObject({ kind: 'add-header', name: 'YouTube-Restrict' });
    expect(check('https://www.youtube.com/watch?v=x', { group: 'staff' }, `${TUE}T10:00Z`).safeSearch).toBeNull();
  });

  it('reads school time across daylight saving (lunch is 11:00-12:00 UTC in June)', () => {
    expect(check('https://shop.example.test/', { group: 'staff' }, '2026-06-16T10:59Z').action).toBe('block');
    expect(check('https://shop.example.test/', { group: 'staff' }, '2026-06-16T11:00Z').action).toBe('allow');
    expect(check('https://shop.example.test/', { group: 'staff' }, '2026-06-16T11:59Z').action).toBe('allow');
    expect(check('https://shop.example.test/', { group: 'staff' }, '2026-06-16T12:00Z').action).toBe('block');
  });

  it('blocks a request from a group it does not know', () => {
    expect(check('https://learn.example.test/', { group: 'visitors' }, `${TUE}T10:00Z`)).toMatchObject({ action: 'block', rule: { kind: 'default' } });
    // Illegal content is refused as illegal before the group is looked up: never unblockable.
    expect(check('https://terror.example.test/', { group: 'visitors' }, `${TUE}T10:00Z`)).toMatchObject({ action: 'block', rule: { kind: 'illegal' }, unblockBy: 'never' });
  });
});

// A policy where every layer has an opinion about game.example.test, to walk precedence down.
const LAYERED = `
  groups:
    other:
      default: warn
    ks2:
      levels: { games: block, video-streaming: block }
      default: warn
      sites:
        allow: [game.example.test/maths]
      schedules:
        - { name: golden time, days: fri, from: "14:30", to: "15:15", allow: [games, "social.example.test"] }
  users:
    mr.teacher:
      levels: { games: allow }
      sites: { block: [game.example.test/maths/hard] }
    j.pupil:
      levels: { video-streaming: allow }
`;

describe('precedence, step by step', () => {
  const policy = policyFrom(tmp.dir, LAYERED);
  const unblocks: Unblock[] = [
    { id: 'u1', site: 'game.example.test', target: { kind: 'user', user: 'a.pupil' }, from: new Date(`${TUE}T09:00Z`), until: new Date(`${TUE}T10:00Z`), approvedBy: 'ms.head', reason: 'coding lesson' },
    { id: 'u2', site: 'abuse.example.test', target: { kind: 'group', group: 'ks2' }, from: new Date(`${TUE}T00:00Z`), until: new Date(`${TUE}T23:00Z`), approvedBy: 'someone', reason: 'should never work' },
    { id: 'u3', site: 'game.example.test/play', target: { kind: 'users', name: '5B', users: new Set(['b.pupil', 'c.pupil']) }, from: new Date(`${TUE}T09:00Z`), until: new Date(`${TUE}T10:00Z`), approvedBy: 'mr.teacher', reason: 'class reward' },
    { id: 'u4', site: 'chat.example.test', target: { kind: 'group', group: 'ks2' }, from: new Date(`${TUE}T09:00Z`), until: new Date(`${TUE}T09:30:00Z`), approvedBy: 'mr.teacher', reason: 'pen pals' },
  ];
  const p = withUnblocks(policy, unblocks);
  const d = decider(classifier, p);

  it.each([
    // 1 illegal beats an unblock that names it
    ['https://abuse.example.test/page', { group: 'ks2' }, `${TUE}T09:30Z`, 'block', 'illegal'],
    // 2 an active unblock beats the user's override, the site list, the schedule and the level
    ['https://game.example.test/', { group: 'ks2', user: 'a.pupil' }, `${TUE}T09:30Z`, 'allow', 'unblock'],
    ['https://game.example.test/', { group: 'ks2', user: 'b.pupil' }, `${TUE}T09:30Z`, 'block', 'level'],
    ['https://game.example.test/play/x', { group: 'ks2', user: 'b.pupil' }, `${TUE}T09:30Z`, 'allow', 'unblock'],
    ['https://game.example.test/play/x', { group: 'ks2', user: 'd.pupil' }, `${TUE}T09:30Z`, 'block', 'level'],
    ['https://chat.example.test/', { group: 'ks2' }, `${TUE}T09:15Z`, 'allow', 'unblock'],
    ['https://chat.example.test/', { group: 'other' }, `${TUE}T09:15Z`, 'warn', 'default'],
    // 3 the nominated user's site entry, then categories, beat the site list, schedule and level
    ['https://game.example.test/maths/hard', { group: 'ks2', user: 'mr.teacher' }, `${TUE}T10:00Z`, 'block', 'user'],
    ['https://game.example.test/', { group: 'ks2', user: 'mr.teacher' }, `${TUE}T10:00Z`, 'allow', 'user'],
    ['https://video.example.test/x', { group: 'ks2', user: 'j.pupil' }, `${TUE}T10:00Z`, 'allow', 'user'],
    ['https://video.example.test/x', { group: 'ks2', user: 'k.pupil' }, `${TUE}T10:00Z`, 'block', 'level'],
    // 4 the group's site list beats the schedule and the level
    ['https://game.example.test/maths/1', { group: 'ks2' }, `${TUE}T10:00Z`, 'allow', 'site-list'],
    // the school's global allow entry is less specific than a category entry for a subdomain
    ['https://example.com/', { group: 'ks2' }, `${TUE}T10:00Z`, 'allow', 'site-list'],
    // 5 a schedule (sites and categories) beats the level
    ['https://game.example.test/', { group: 'ks2' }, `${FRI}T14:45Z`, 'allow', 'schedule'],
    ['https://social.example.test/', { group: 'ks2' }, `${FRI}T14:45Z`, 'allow', 'schedule'],
    // 6 the level, then the group's default for other categories, then uncategorised
    ['https://game.example.test/', { group: 'ks2' }, `${TUE}T10:00Z`, 'block', 'level'],
    ['https://social.example.test/', { group: 'ks2' }, `${TUE}T10:00Z`, 'warn', 'default'],
    ['https://plain.example.test/', { group: 'ks2' }, `${TUE}T10:00Z`, 'allow', 'default'],
  ] as const)('%s for %j at %s: %s by %s', (url, req, at, action, kind) => {
    const r = d(url, req, at);
    expect([r.action, r.rule.kind]).toEqual([action, kind]);
  });

  it('a school allow entry does not cover a more specific category entry', () => {
    const lists = [
      { name: 'school-allow', category: 'education', role: 'allow' as const, files: { domains: 'site.example.test\n' } },
      { name: 'adult', files: { domains: 'bad.site.example.test\n' } },
    ];
    const c = classifierFor(join(tmp.dir, 'specific'), lists);
    const dd = decider(c, p);
    expect(dd('https://www.site.example.test/', { group: 'ks2' }, `${TUE}T10:00Z`).rule.kind).toBe('site-list');
    expect(dd('https://bad.site.example.test/', { group: 'ks2' }, `${TUE}T10:00Z`)).toMatchObject({ action: 'warn', rule: { kind: 'default' } });
  });

  it('a block entry is never narrowed by a more specific category entry', () => {
    const lists = [
      { name: 'school-block', category: 'school-blocked', role: 'block' as const, files: { domains: 'blk.example.test\n' } },
      { name: 'education', files: { domains: 'sub.blk.example.test\n' } },
    ];
    const dd = decider(classifierFor(join(tmp.dir, 'narrow'), lists), p);
    expect(dd('https://sub.blk.example.test/', { group: 'ks2' }, `${TUE}T10:00Z`)).toMatchObject({ action: 'block', rule: { kind: 'site-list' } });
  });

  it('an unblock of a site does not open a subdomain listed apart', () => {
    const lists = [
      { name: 'games', files: { domains: 'game.example.test\n' } },
      { name: 'adult', files: { domains: 'porn.game.example.test\n' } },
    ];
    const unblocked = withUnblocks(policy, [{ id: 'g', site: 'game.example.test', target: { kind: 'group', group: 'ks2' }, from: new Date(`${TUE}T00:00Z`), until: new Date(`${TUE}T23:00Z`), approvedBy: 'mr.teacher', reason: 'lesson' }]);
    const dd = decider(classifierFor(join(tmp.dir, 'sub-unblock'), lists), unblocked);
    expect(dd('https://game.example.test/', { group: 'ks2' }, `${TUE}T10:00Z`).rule.kind).toBe('unblock');
    expect(dd('https://porn.game.example.test/', { group: 'ks2' }, `${TUE}T10:00Z`)).toMatchObject({ action: 'block', unblockBy: 'technician' });
  });

  it('every unblock that covers a URL counts, however it is spelled', () => {
    const window = { from: new Date(`${TUE}T09:00Z`), until: new Date(`${TUE}T10:00Z`), approvedBy: 'mr.teacher', reason: 'lesson' };
    const both = withUnblocks(policy, [
      { id: 'a', site: 'game.example.test', target: { kind: 'group', group: 'ks2' }, ...window },
      { id: 'b', site: 'game.example.test/play', target: { kind: 'user', user: 'z.pupil' }, ...window },
      { id: 'c', site: 'Game.Example.Test.', target: { kind: 'user', user: 'y.pupil' }, ...window },
    ]);
    const dd = decider(classifier, both);
    expect(dd('https://game.example.test/play/1', { group: 'ks2', user: 'x.pupil' }, `${TUE}T09:30Z`).rule.kind).toBe('unblock');
    expect(dd('https://game.example.test/', { group: 'other', user: 'y.pupil' }, `${TUE}T09:30Z`).rule.kind).toBe('unblock');
    expect(dd('https://game.example.test/', { group: 'other', user: 'w.pupil' }, `${TUE}T09:30Z`).rule.kind).toBe('default');
  });

  it('refuses an unblock whose times are not a proper interval', () => {
    const base = { id: 'bad', site: 'game.example.test', target: { kind: 'group' as const, group: 'ks2' }, approvedBy: 'x', reason: 'y' };
    expect(() => withUnblocks(policy, [{ ...base, from: new Date(`${TUE}T10:00Z`), until: new Date('nonsense') }])).toThrow(/unblock bad: it must start before it ends/);
    expect(() => withUnblocks(policy, [{ ...base, from: new Date(`${TUE}T10:00Z`), until: new Date(`${TUE}T09:00Z`) }])).toThrow(/must start before it ends/);
  });

  it('an unblock ends at its exact second and starts at its exact second', () => {
    const at = (t: string) => d('https://game.example.test/', { group: 'ks2', user: 'a.pupil' }, new Date(t)).rule.kind;
    expect(at(`${TUE}T08:59:59.999Z`)).toBe('level');
    expect(at(`${TUE}T09:00:00.000Z`)).toBe('unblock');
    expect(at(`${TUE}T09:59:59.999Z`)).toBe('unblock');
    expect(at(`${TUE}T10:00:00.000Z`)).toBe('level');
  });

  it('explains the chain of rules, in order', () => {
    const trace: TraceStep[] = [];
    const r = decide({ group: 'ks2' }, classifier.classify('https://edu-video.example.test/'), p, new Date(`${TUE}T10:00Z`), trace);
    expect(r.action).toBe('block');
    expect(trace.map((t) => t.layer)).toEqual(['illegal', 'unblock', 'user', 'site-list', 'level', 'default']);
    expect(trace.map((t) => t.said)).toContain('video-streaming: ks2 filter level: video-streaming is blocked');
  });
});

describe('schedule edges', () => {
  const edges = policyFrom(tmp.dir, `
  groups:
    ks2:
      levels: { games: block, shopping: block, chat: block }
      schedules:
        - { name: early, days: daily, from: "00:00", to: "00:30", allow: [games] }
        - { name: late, days: daily, from: "23:30", to: "24:00", allow: [games] }
        - { name: sunday night, days: sun, from: "00:30", to: "02:30", allow: [shopping] }
        - { name: weekend, days: weekends, from: "10:00", to: "11:00", allow: [chat] }
`);
  const d = decider(classifier, edges);
  const game = (at: string) => d('https://game.example.test/', { group: 'ks2' }, at).action;
  const shop = (at: string) => d('https://shop.example.test/', { group: 'ks2' }, at).action;

  it.each([
    [`${TUE}T23:29:59Z`, 'block'], [`${TUE}T23:30Z`, 'allow'], [`${TUE}T23:59:59Z`, 'allow'],
    ['2026-11-18T00:00Z', 'allow'], ['2026-11-18T00:29:59Z', 'allow'], ['2026-11-18T00:30Z', 'block'],
  ])('midnight: games at %s is %s', (at, action) => {
    expect(game(at)).toBe(action);
  });

  it.each([
    // 29 March 2026: clocks go forward at 01:00 UTC; 00:30-02:30 local is 00:30-01:30 UTC.
    ['2026-03-29T00:29Z', 'block'], ['2026-03-29T00:30Z', 'allow'], ['2026-03-29T00:59Z', 'allow'],
    ['2026-03-29T01:00Z', 'allow'], ['2026-03-29T01:29Z', 'allow'], ['2026-03-29T01:30Z', 'block'],
    // 25 October 2026: clocks go back at 01:00 UTC; 01:00-02:00 local happens twice.
    ['2026-10-24T23:29Z', 'block'], ['2026-10-24T23:30Z', 'allow'], ['2026-10-25T00:30Z', 'allow'],
    ['2026-10-25T01:30Z', 'allow'], ['2026-10-25T02:29Z', 'allow'], ['2026-10-25T02:30Z', 'block'],
  ])('daylight saving: shopping in the Sunday-night window at %s is %s', (at, action) => {
    expect(shop(at)).toBe(action);
  });

  it('weekends are Saturday and Sunday in school time', () => {
    expect(d('https://chat.example.test/', { group: 'ks2' }, '2026-11-21T10:30Z').action).toBe('allow');
    expect(d('https://chat.example.test/', { group: 'ks2' }, '2026-11-22T10:30Z').action).toBe('allow');
    expect(d('https://chat.example.test/', { group: 'ks2' }, '2026-11-20T10:30Z').action).toBe('block');
  });
});
