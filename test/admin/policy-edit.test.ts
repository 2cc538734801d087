// The pure halves of editing filter levels in the staff app: withLevels() rewrites only the keys
// it changes in the configuration text; describeChange() says what a change means for people;
// levelOf() reads a group's level for a category.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AdminError } from '../../src/admin/errors.js';
import { describeChange, groupSettingsOf, levelOf, withGroupSettings, withLevels } from '../../src/admin/policy-edit.js';
import { loadConfig } from '../../src/config/load.js';
import { tempDir } from '../helpers/lists.js';
import { policyFrom } from '../helpers/policy.js';
import { writeTestConfig } from '../helpers/proxy.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

const TEXT = `# The school's configuration: hand-written, with comments.
school:
  name: Test Primary   # shown on block pages
  timezone: Europe/London

policy:
  # Senior leaders approve these.
  sltApproval: [drugs]
  groups:
    ks2:
      label: KS2 pupils
      levels:
        # Distractions.
        games: block   # open in golden time
        drugs: block
      schedules:
        - name: golden time
          days: fri
          from: "14:30"
          to: "15:15"
          allow: [games]
    guest:
      label: Guests
      like: ks2
proxy:
  port: 3128
`;

function adminError(f: () => unknown): AdminError {
  try {
    f();
  } catch (err) {
    if (err instanceof AdminError) return err;
    throw err;
  }
  throw new Error('expected an AdminError');
}

describe('withLevels', () => {
  it('changes the one key, keeping every comment and every other key as it was', () => {
    const out = withLevels(TEXT, [{ group: 'ks2', category: 'games', action: 'allow' }]);
    for (const comment of ["# The school's configuration: hand-written, with comments.", '# shown on block pages', '# Senior leaders approve these.', '# Distractions.']) {
      expect(out).toContain(comment);
    }
    const before = parse(TEXT) as Record<string, any>;
    const after = parse(out) as Record<string, any>;
    expect(after.policy.groups.ks2.levels).toEqual({ games: 'allow', drugs: 'block' });
    // Everything else is unchanged.
    after.policy.groups.ks2.levels.games = 'block';
    expect(after).toEqual(before);
    // One games key, not a second one added below the first.
    expect(out.match(/^\s+games:/gm)).toHaveLength(1);
  });

  it('adds a category the group did not name, beside the others', () => {
    const after = parse(withLevels(TEXT, [{ group: 'ks2', category: 'shopping', action: 'warn' }])) as Record<string, any>;
    expect(after.policy.groups.ks2.levels).toEqual({ games: 'block', drugs: 'block', shopping: 'warn' });
  });

  it('creates a levels map for a group that has none', () => {
    const out = withLevels(TEXT, [{ group: 'guest', category: 'games', action: 'warn' }, { group: 'guest', category: 'chat', action: 'block' }]);
    const after = parse(out) as Record<string, any>;
    expect(after.policy.groups.guest).toEqual({ label: 'Guests', like: 'ks2', levels: { games: 'warn', chat: 'block' } });
    expect(after.policy.groups.ks2.levels).toEqual({ games: 'block', drugs: 'block' });
  });

  it('refuses illegal categories, whatever the action, and changes nothing', () => {
    for (const category of ['iwf', 'terrorism']) {
      for (const action of ['allow', 'warn', 'block'] as const) {
        const e = adminError(() => withLevels(TEXT, [{ group: 'ks2', category, action }]));
        expect(e.code).toBe('illegal');
        expect(e.status).toBe(422);
      }
    }
    // Even after a permitted change in the same call.
    expect(adminError(() => withLevels(TEXT, [{ group: 'ks2', category: 'games', action: 'allow' }, { group: 'ks2', category: 'iwf', action: 'allow' }])).code).toBe('illegal');
  });

  it('refuses a group the configuration does not have', () => {
    const e = adminError(() => withLevels(TEXT, [{ group: 'year7', category: 'games', action: 'allow' }]));
    expect(e.code).toBe('invalid');
  });

  it('on the shipped configuration, the result loads and says what was asked', () => {
    const file = writeTestConfig(tmp.dir, '');
    const text = readFileSync(file, 'utf8');
    const out = withLevels(text, [
      { group: 'ks2', category: 'games', action: 'allow' }, { group: 'staff', category: 'drugs', action: 'block' }, { group: 'guest', category: 'chat', action: 'allow' },
    ]);
    expect(out).toContain('# Distractions, open at set times (below).');
    const next = `${file}.next.yaml`;
    writeFileSync(next, out);
    const before = loadConfig(file).policy;
    const after = loadConfig(next).policy;
    expect(levelOf(before, 'ks2', 'games')).toBe('block');
    expect(levelOf(after, 'ks2', 'games')).toBe('allow');
    expect(levelOf(after, 'staff', 'drugs')).toBe('block');
    expect(levelOf(after, 'ks2', 'gambling')).toBe('block');
    expect(after.groups.get('ks2')!.schedules.map((s) => s.name)).toEqual(['golden time']);
    // Guests had no levels of their own (like: ks2): the new map adds to what they inherit.
    expect(levelOf(after, 'guest', 'chat')).toBe('allow');
    expect(levelOf(after, 'guest', 'gambling')).toBe('block');
    expect(levelOf(after, 'guest', 'games')).toBe('allow');
  });
});

describe('levelOf', () => {
  const p = policyFrom(tmp.dir, `  groups:
    ks1:
      label: KS1 pupils
      mode: allowlist
      levels:
        education: allow
    ks2:
      label: KS2 pupils
      levels:
        games: block
        chat: warn
`);

  it('is the level the group names, or its default for categories it does not', () => {
    expect(levelOf(p, 'ks2', 'games')).toBe('block');
    expect(levelOf(p, 'ks2', 'chat')).toBe('warn');
    expect(levelOf(p, 'ks2', 'shopping')).toBe('allow');
    expect(levelOf(p, 'ks1', 'education')).toBe('allow');
    expect(levelOf(p, 'ks1', 'shopping')).toBe('block');
  });

  it('throws for a group the policy does not have', () => {
    expect(() => levelOf(p, 'year7', 'games')).toThrow(RangeError);
  });
});

describe('describeChange', () => {
  const CATEGORIES = ['games', 'chat', 'shopping', 'gambling', 'drugs'];
  const policy = (ks2: string, extraGroups = '') => policyFrom(tmp.dir, `  groups:
    ks2:
      label: KS2 pupils
      levels:
${ks2}
    staff:
      label: Staff
${extraGroups}`);
  const base = policy('        games: block\n        chat: block\n        shopping: allow\n        gambling: warn\n        drugs: block');

  it('says who can now reach what', () => {
    const after = policy('        games: allow\n        chat: block\n        shopping: allow\n        gambling: warn\n        drugs: block');
    expect(describeChange(base, after, CATEGORIES)).toEqual(['KS2 pupils will now be able to reach: games']);
  });

  it('lists several categories moving the same way on one line, in the order given', () => {
    const after = policy('        games: allow\n        chat: allow\n        shopping: allow\n        gambling: warn\n        drugs: block');
    expect(describeChange(base, after, CATEGORIES)).toEqual(['KS2 pupils will now be able to reach: games, chat']);
  });

  it('tells a block-to-warn move from an allow-to-warn move', () => {
    const after = policy('        games: warn\n        chat: block\n        shopping: warn\n        gambling: warn\n        drugs: block');
    expect(describeChange(base, after, CATEGORIES).sort()).toEqual([
      'KS2 pupils will now be warned (and may continue) about: games',
      'KS2 pupils will now be warned before: shopping',
    ]);
  });

  it('says what can no longer be reached, from allow or from warn', () => {
    const after = policy('        games: block\n        chat: block\n        shopping: block\n        gambling: block\n        drugs: block');
    expect(describeChange(base, after, CATEGORIES)).toEqual(['KS2 pupils will no longer be able to reach: shopping, gambling']);
  });

  it('a category left to the group\'s default counts by its effective level', () => {
    // Removing "shopping: allow" changes nothing (the default is allow); removing "games: block" opens it.
    const after = policy('        chat: block\n        gambling: warn\n        drugs: block');
    expect(describeChange(base, after, CATEGORIES)).toEqual(['KS2 pupils will now be able to reach: games']);
  });

  it('nothing for no change; new and removed groups are named', () => {
    expect(describeChange(base, base, CATEGORIES)).toEqual([]);
    const withGuests = policy('        games: block\n        chat: block\n        shopping: allow\n        gambling: warn\n        drugs: block', '    guest:\n      label: Guests\n');
    expect(describeChange(base, withGuests, CATEGORIES)).toEqual(['Guests: a new group']);
    expect(describeChange(withGuests, base, CATEGORIES)).toEqual(['Guests: removed']);
  });

  it('each group is described apart', () => {
    const after = policyFrom(tmp.dir, `  groups:
    ks2:
      label: KS2 pupils
      levels:
        games: allow
        chat: block
        gambling: warn
        drugs: block
    staff:
      label: Staff
      levels:
        gambling: block
`);
    expect(describeChange(base, after, CATEGORIES)).toEqual(['KS2 pupils will now be able to reach: games', 'Staff will no longer be able to reach: gambling']);
  });
});

describe('group settings round trip', () => {
  const text = `policy:
  groups:
    base: &base
      levels: { games: block }
      safeSearch: [google, { youtube: moderate }]
      schedules:
        - { days: fri, from: "14:30", to: "15:15", allow: [games] }
    copy: *base
`;

  it('reads the YouTube level and an unnamed schedule, and writes them back unchanged in meaning', () => {
    const settings = groupSettingsOf(text, 'base');
    expect(settings.safeSearch).toEqual(['google', { youtube: 'moderate' }]);
    expect(settings.schedules[0]).toMatchObject({ name: 'schedule 1', days: 'fri', allow: ['games'] });
    const again = groupSettingsOf(withGroupSettings(text, 'base', settings), 'base');
    expect(again.safeSearch).toEqual(['google', { youtube: 'moderate' }]);
    expect(again.schedules).toEqual(settings.schedules);
  });

  it('refuses to change a group written as a YAML alias (it would change the other too)', () => {
    expect(() => withLevels(text, [{ group: 'copy', category: 'games', action: 'allow' }])).toThrow(/alias/);
    expect(() => withGroupSettings(text, 'copy', groupSettingsOf(text, 'base'))).toThrow(/alias/);
  });
});
