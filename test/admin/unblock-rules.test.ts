// planUnblock(): what a teacher's unblock form becomes, as a pure function of the form, the
// classification, the policy and a fixed instant. Europe/London: GMT in March and November, BST
// from 29 March to 25 October 2026.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AdminConfig } from '../../src/admin/config.js';
import { AdminError } from '../../src/admin/errors.js';
import { planUnblock, type UnblockForm } from '../../src/admin/unblock-rules.js';
import { loadConfig } from '../../src/config/load.js';
import { tempDir } from '../helpers/lists.js';
import { CONFIG_DIR, classifierFor } from '../helpers/policy.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
const classifier = classifierFor(join(tmp.dir, 'lists'));
// The configuration as loaded (so its admin section has every default), with this policy.
const configFile = join(tmp.dir, 'config.yaml');
writeFileSync(configFile, `categories: ${CONFIG_DIR}/categories.yaml
policy:
  sltApproval: [adult, drugs]
  groups:
    ks2:
      label: KS2 pupils
      levels:
        games: block
        drugs: block
        adult: block
        shopping: block
    staff:
      label: Staff
      levels:
        adult: block
`);
const { policy, admin: loadedAdmin } = loadConfig(configFile);

function admin(opts: { maxDays?: number; autoApprove?: string[] } = {}): AdminConfig {
  return { ...loadedAdmin, unblocks: { maxDays: opts.maxDays ?? 7, autoApprove: new Set(opts.autoApprove ?? []) } };
}

const REASON = 'Year 6 research on the history of board games';
// Wednesday 11 March 2026, 10:00 GMT.
const WED = new Date('2026-03-11T10:00:00Z');

function plan(form: Partial<UnblockForm>, opts: { now?: Date; maxDays?: number; autoApprove?: string[]; requester?: string } = {}) {
  const full: UnblockForm = { url: 'http://game.example.test/', scope: 'site', for: 'group', group: 'ks2', duration: 'lesson', reason: REASON, ...form };
  return planUnblock(full, {
    requester: opts.requester ?? 'mr.jones', classify: (u) => classifier.classify(u), policy,
    admin: admin({ ...(opts.maxDays !== undefined ? { maxDays: opts.maxDays } : {}), ...(opts.autoApprove ? { autoApprove: opts.autoApprove } : {}) }),
    now: opts.now ?? WED,
  });
}

/** The AdminError planUnblock throws: its code and field. */
function refusal(f: () => unknown): { code: string; field: string | undefined; message: string } {
  try {
    f();
  } catch (err) {
    if (err instanceof AdminError) return { code: err.code, field: err.field, message: err.message };
    throw err;
  }
  throw new Error('expected planUnblock to refuse');
}

describe('what is opened: the page or the whole site', () => {
  it('scope site opens the host, whatever page was asked about', () => {
    const p = plan({ url: 'http://www.Game.example.test/Some/Page/?q=1', scope: 'site' });
    expect(p.site).toBe('www.game.example.test');
    expect(p.url).toBe('http://www.Game.example.test/Some/Page/?q=1');
  });

  it('scope page opens the page (without its query or trailing slash) and what is under it', () => {
    expect(plan({ url: 'http://game.example.test/Some/Page/?q=1', scope: 'page' }).site).toBe('game.example.test/Some/Page');
    expect(plan({ url: 'game.example.test/levels/1', scope: 'page' }).site).toBe('game.example.test/levels/1');
  });

  it('scope page on the home page is the whole site', () => {
    expect(plan({ url: 'http://game.example.test/', scope: 'page' }).site).toBe('game.example.test');
  });

  it('the categories are the page\'s and the site\'s together, each once', () => {
    expect([...plan({ url: 'http://edu-video.example.test/watch' }).categories].sort()).toEqual(['education', 'video-streaming']);
    expect(plan({ url: 'http://game.example.test/x' }).categories).toEqual(['games']);
    expect(plan({ url: 'http://nowhere.example.test/' }).categories).toEqual([]);
  });

  it('an address that is not a web address is refused, naming the field', () => {
    expect(refusal(() => plan({ url: 'http://exa mple.test:99999/' }))).toMatchObject({ code: 'invalid', field: 'url' });
  });
});

describe('for whom', () => {
  it('"me" is the requester alone', () => {
    expect(plan({ for: 'me' }, { requester: 'Ms.Smith' }).target).toEqual({ kind: 'user', user: 'Ms.Smith' });
  });

  it('"group" is a group of the policy', () => {
    expect(plan({ for: 'group', group: 'ks2' }).target).toEqual({ kind: 'group', group: 'ks2' });
  });

  it('an unknown or missing group is refused', () => {
    expect(refusal(() => plan({ for: 'group', group: 'year7' }))).toMatchObject({ code: 'invalid', field: 'group' });
    expect(refusal(() => plan({ for: 'group', group: undefined }))).toMatchObject({ code: 'invalid', field: 'group' });
  });

  it('"class" is the named list of pupils, lower-cased, separated by commas, spaces or new lines', () => {
    const p = plan({ for: 'class', className: ' 6B ', pupils: 'Amy.B, ben.c\nchloe.d;  amy.b\r\n' });
    expect(p.target.kind).toBe('users');
    if (p.target.kind !== 'users') throw new Error('unreachable');
    expect(p.target.name).toBe('6B');
    expect([...p.target.users].sort()).toEqual(['amy.b', 'ben.c', 'chloe.d']);
  });

  it('a class needs pupils, real usernames, at most 200 of them, and a name', () => {
    expect(refusal(() => plan({ for: 'class', className: '6B', pupils: ' \n, ' }))).toMatchObject({ code: 'invalid', field: 'pupils' });
    expect(refusal(() => plan({ for: 'class', className: '6B', pupils: 'amy.b, <script>' }))).toMatchObject({ code: 'invalid', field: 'pupils' });
    const many = Array.from({ length: 201 }, (_, i) => `pupil${i}`).join(',');
    expect(refusal(() => plan({ for: 'class', className: '6B', pupils: many }))).toMatchObject({ code: 'invalid', field: 'pupils' });
    expect(plan({ for: 'class', className: '6B', pupils: many.split(',').slice(0, 200).join(',') }).target.kind).toBe('users');
    expect(refusal(() => plan({ for: 'class', className: '  ', pupils: 'amy.b' }))).toMatchObject({ code: 'invalid', field: 'className' });
    expect(refusal(() => plan({ for: 'class', className: 'x'.repeat(61), pupils: 'amy.b' }))).toMatchObject({ code: 'invalid', field: 'className' });
  });
});

describe('how long', () => {
  it('a lesson is one hour from now', () => {
    expect(plan({ duration: 'lesson' })).toMatchObject({ from: WED, until: new Date('2026-03-11T11:00:00Z') });
  });

  it('today ends at 18:00 school time (GMT in March, BST in June)', () => {
    expect(plan({ duration: 'today' })).toMatchObject({ from: WED, until: new Date('2026-03-11T18:00:00Z') });
    const june = new Date('2026-06-10T08:00:00Z');
    expect(plan({ duration: 'today' }, { now: june })).toMatchObject({ from: june, until: new Date('2026-06-10T17:00:00Z') });
  });

  it('today, asked after 18:00, is the next hour', () => {
    const late = new Date('2026-03-11T19:30:00Z');
    expect(plan({ duration: 'today' }, { now: late }).until).toEqual(new Date('2026-03-11T20:30:00Z'));
  });

  it('this week ends on Friday at 18:00', () => {
    expect(plan({ duration: 'week' }).until).toEqual(new Date('2026-03-13T18:00:00Z'));
    // On the Friday itself, before 18:00: that evening.
    expect(plan({ duration: 'week' }, { now: new Date('2026-03-13T09:00:00Z') }).until).toEqual(new Date('2026-03-13T18:00:00Z'));
  });

  it('this week asked on a Saturday or Sunday is the coming week, to its Friday', () => {
    const sat = new Date('2026-03-14T10:00:00Z');
    expect(plan({ duration: 'week' }, { now: sat })).toMatchObject({ from: sat, until: new Date('2026-03-20T18:00:00Z') });
    expect(plan({ duration: 'week' }, { now: new Date('2026-03-15T10:00:00Z') }).until).toEqual(new Date('2026-03-20T18:00:00Z'));
  });

  it('this week asked on a Friday evening is the next Friday', () => {
    expect(plan({ duration: 'week' }, { now: new Date('2026-03-13T19:00:00Z') }).until).toEqual(new Date('2026-03-20T18:00:00Z'));
  });

  it('a week across the October clock change ends at 18:00 GMT on the Friday, not 18:00 BST', () => {
    // Saturday 24 October 2026, 10:00 BST; the clocks go back on Sunday the 25th.
    const sat = new Date('2026-10-24T09:00:00Z');
    expect(plan({ duration: 'week' }, { now: sat }).until).toEqual(new Date('2026-10-30T18:00:00Z'));
    // Thursday 22nd, still BST: Friday 23rd at 18:00 BST.
    expect(plan({ duration: 'week' }, { now: new Date('2026-10-22T09:00:00Z') }).until).toEqual(new Date('2026-10-23T17:00:00Z'));
  });

  it('custom times are school time, across the clock change too', () => {
    expect(plan({ duration: 'custom', from: '2026-03-12T09:00', until: '2026-03-12T15:00' })).toMatchObject({
      from: new Date('2026-03-12T09:00:00Z'), until: new Date('2026-03-12T15:00:00Z'),
    });
    const thu = new Date('2026-10-22T09:00:00Z');
    expect(plan({ duration: 'custom', from: '2026-10-23T09:00', until: '2026-10-26T15:00' }, { now: thu })).toMatchObject({
      from: new Date('2026-10-23T08:00:00Z'), until: new Date('2026-10-26T15:00:00Z'),
    });
  });

  it('custom without a start starts now; a start in the past is clamped to now', () => {
    expect(plan({ duration: 'custom', until: '2026-03-11T15:00' })).toMatchObject({ from: WED, until: new Date('2026-03-11T15:00:00Z') });
    expect(plan({ duration: 'custom', from: '2026-03-01T09:00', until: '2026-03-11T15:00' })).toMatchObject({ from: WED, until: new Date('2026-03-11T15:00:00Z') });
  });

  it('custom needs a readable start, an end, and the end after the start and after now', () => {
    expect(refusal(() => plan({ duration: 'custom', from: 'next tuesday', until: '2026-03-12T15:00' }))).toMatchObject({ code: 'invalid', field: 'from' });
    expect(refusal(() => plan({ duration: 'custom', from: '2026-03-12T09:00' }))).toMatchObject({ code: 'invalid', field: 'until' });
    expect(refusal(() => plan({ duration: 'custom', from: '2026-03-12T09:00', until: '2026-03-12T08:00' }))).toMatchObject({ code: 'invalid', field: 'until' });
    expect(refusal(() => plan({ duration: 'custom', until: '2026-03-11T09:00' }))).toMatchObject({ code: 'invalid', field: 'until' });
  });

  it('nothing lasts longer than admin.unblocks.maxDays', () => {
    expect(plan({ duration: 'custom', from: '2026-03-12T09:00', until: '2026-03-19T09:00' }).until).toEqual(new Date('2026-03-19T09:00:00Z'));
    expect(refusal(() => plan({ duration: 'custom', from: '2026-03-12T09:00', until: '2026-03-19T09:01' }))).toMatchObject({ code: 'invalid', field: 'until' });
    expect(refusal(() => plan({ duration: 'custom', from: '2026-03-12T09:00', until: '2026-03-13T09:01' }, { maxDays: 1 }))).toMatchObject({ code: 'invalid', field: 'until' });
    // This week from Monday is more than two days.
    expect(refusal(() => plan({ duration: 'week' }, { now: new Date('2026-03-09T10:00:00Z'), maxDays: 2 }))).toMatchObject({ code: 'invalid', field: 'until' });
    expect(plan({ duration: 'week' }, { now: new Date('2026-03-12T10:00:00Z'), maxDays: 2 }).until).toEqual(new Date('2026-03-13T18:00:00Z'));
  });
});

describe('the reason and illegal content', () => {
  it('a reason under ten characters (after trimming) is refused', () => {
    expect(refusal(() => plan({ reason: '   research  ' }))).toMatchObject({ code: 'invalid', field: 'reason' });
    expect(refusal(() => plan({ reason: '   because   ' }))).toMatchObject({ code: 'invalid', field: 'reason' });
    expect(plan({ reason: '  ten chars!  ' }).site).toBe('game.example.test');
  });

  it('illegal content is refused for anyone, any scope, any time, before anything else is checked', () => {
    for (const url of ['http://abuse.example.test/page', 'http://whole-abuse.example.test/', 'https://terror.example.test/x']) {
      for (const scope of ['page', 'site'] as const) {
        expect(refusal(() => plan({ url, scope, for: 'me', reason: 'short' }))).toMatchObject({ code: 'illegal', field: 'url' });
      }
    }
  });
});

describe('who approves', () => {
  it('a technician, by default', () => {
    expect(plan({ for: 'group' }).approverRole).toBe('technician');
    expect(plan({ for: 'me' }).approverRole).toBe('technician');
  });

  it('a senior leader for a senior-approval category, whoever it is for', () => {
    expect(plan({ url: 'http://drugs.example.test/history', for: 'group' }).approverRole).toBe('slt');
    expect(plan({ url: 'http://drugs.example.test/history', for: 'me' }, { autoApprove: ['drugs'] }).approverRole).toBe('slt');
    expect(plan({ url: 'http://adult.example.test/', for: 'class', className: '6B', pupils: 'amy.b' }).approverRole).toBe('slt');
  });

  it('automatic only for the requester alone, with every category in admin.unblocks.autoApprove', () => {
    const auto = { autoApprove: ['games', 'video-streaming'] };
    expect(plan({ for: 'me' }, auto).approverRole).toBe('auto');
    expect(plan({ for: 'group', group: 'staff' }, auto).approverRole).toBe('technician');
    expect(plan({ for: 'class', className: '6B', pupils: 'mr.jones' }, auto).approverRole).toBe('technician');
    // One of its categories (education) is not in the list.
    expect(plan({ url: 'http://edu-video.example.test/', for: 'me' }, auto).approverRole).toBe('technician');
    expect(plan({ url: 'http://edu-video.example.test/', for: 'me' }, { autoApprove: ['education', 'video-streaming'] }).approverRole).toBe('auto');
    // A site in no category is not low risk by default.
    expect(plan({ url: 'http://nowhere.example.test/', for: 'me' }, auto).approverRole).toBe('technician');
    expect(plan({ for: 'me' }, { autoApprove: ['shopping'] }).approverRole).toBe('technician');
  });
});
