// Saving in the staff app changes only the lines of the settings it changes: on the shipped
// config/default.yaml (as it is when the test runs) and on a hand-formatted file (comments between
// sections, aligned trailing comments, flow lists, blank lines, quoted strings, CRLF), every other
// byte stays as it was. Asserted by a line diff (longest common subsequence) of old and new.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { groupSettingsOf, withGroupSettings, withLevels, withUserLevels } from '../../src/admin/policy-edit.js';
import { BUILTIN_CATEGORIES, ILLEGAL_CATEGORIES } from '../../src/classify/categories.js';
import { editYaml, rewriteYaml } from '../../src/config/yaml-edit.js';
import { lineDiff } from '../helpers/line-diff.js';
import { tempDir } from '../helpers/lists.js';
import { CONFIG_DIR } from '../helpers/policy.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

type Action = 'allow' | 'warn' | 'block';
const other = (a: Action): Action => (a === 'block' ? 'allow' : 'block');

/** The shipped file, copied now: another change may be adding to it, so nothing of it is assumed. */
function shipped(): string {
  const copy = join(tmp.dir, `default-${Math.random().toString(36).slice(2)}.yaml`);
  copyFileSync(join(CONFIG_DIR, 'default.yaml'), copy);
  return readFileSync(copy, 'utf8');
}

const HAND = `# Hand-written by the technician.

school:
  name: "St Mary's C of E Primary"   # quoted on purpose
  timezone: 'Europe/London'

# ------------------------------------------------------------
# Filtering
# ------------------------------------------------------------
policy:
  seniorLeaderApproval: [drugs, self-harm]    # SLT only

  groups:
    # Key stage 2.
    ks2:
      label: KS2 pupils
      levels:
        games:    block   # open in golden time
        gambling: block   # never
        chat:     warn    # with a warning

        # Shopping is a distraction.
        shopping: block
      sites:
        block:
          - quiz.example.test       # answers posted
          - cheats.example.test     # the same

      schedules:
        - name: "golden time"
          days: fri
          from: "14:30"
          to: "15:15"
          allow: [games]

    staff:
      label: Staff
      levels: { games: warn, chat: allow }
      safeSearch: [ google, bing ]


# ------------------------------------------------------------
# The proxy
# ------------------------------------------------------------
proxy:
  port: 3128   # the usual
`;

/** The text with line `line` (1-based) swapped for `text`. */
const withLine = (all: string, line: number, text: string): string => all.split('\n').map((l, i) => (i === line - 1 ? text : l)).join('\n');

describe('a change of one filter level on the shipped configuration', () => {
  it('changes that one line and no other byte', () => {
    const before = shipped();
    const ks2 = (parse(before) as { policy: { groups: { ks2: { levels: Record<string, Action> } } } }).policy.groups.ks2.levels;
    const [category, was] = Object.entries(ks2).find(([c]) => !ILLEGAL_CATEGORIES.has(c))!;
    const after = withLevels(before, [{ group: 'ks2', category, action: other(was) }]);
    const d = lineDiff(before, after);
    expect(d.removed).toHaveLength(1);
    expect(d.added).toHaveLength(1);
    expect(d.removed[0]!.line).toBe(d.added[0]!.line);
    expect(d.added[0]!.text).toBe(d.removed[0]!.text.replace(`${category}: ${was}`, `${category}: ${other(was)}`));
    // Put the old line back and it is the shipped file, byte for byte.
    expect(withLine(after, d.added[0]!.line, d.removed[0]!.text)).toBe(before);
  });

  it('a category the group did not name is one line added after its other levels, indented like them', () => {
    const before = shipped();
    const ks2 = (parse(before) as { policy: { groups: { ks2: { levels: Record<string, Action> } } } }).policy.groups.ks2.levels;
    const category = BUILTIN_CATEGORIES.map((c) => c.id).find((c) => !ILLEGAL_CATEGORIES.has(c) && !(c in ks2))!;
    expect(category).toBeDefined();
    const after = withLevels(before, [{ group: 'ks2', category, action: 'warn' }]);
    const d = lineDiff(before, after);
    expect(d.removed).toEqual([]);
    expect(d.added).toHaveLength(1);
    const lines = after.split('\n');
    const last = Object.keys(ks2).at(-1)!;
    const previous = lines[d.added[0]!.line - 2]!;
    expect(previous.trimStart().startsWith(`${last}:`)).toBe(true);
    expect(d.added[0]!.text).toBe(`${previous.slice(0, previous.indexOf(last))}${category}: warn`);
  });
});

describe('a change of one filter level on a hand-formatted file', () => {
  it('keeps the aligned trailing comment, the spacing and every other line', () => {
    const after = withLevels(HAND, [{ group: 'ks2', category: 'games', action: 'allow' }]);
    expect(lineDiff(HAND, after)).toEqual({
      removed: [{ line: 18, text: '        games:    block   # open in golden time' }],
      added: [{ line: 18, text: '        games:    allow   # open in golden time' }],
    });
  });

  it('a level in a flow mapping changes on its line, still a flow mapping', () => {
    const after = withLevels(HAND, [{ group: 'staff', category: 'chat', action: 'block' }]);
    expect(lineDiff(HAND, after)).toEqual({
      removed: [{ line: 38, text: '      levels: { games: warn, chat: allow }' }],
      added: [{ line: 38, text: '      levels: { games: warn, chat: block }' }],
    });
  });

  it('a new category goes after the last level, past the blank line and comment inside the levels', () => {
    const after = withLevels(HAND, [{ group: 'ks2', category: 'social-networking', action: 'block' }]);
    expect(lineDiff(HAND, after)).toEqual({ removed: [], added: [{ line: 24, text: '        social-networking: block' }] });
  });

  it('several cells at once: only their lines', () => {
    const after = withLevels(HAND, [
      { group: 'ks2', category: 'chat', action: 'block' }, { group: 'ks2', category: 'shopping', action: 'warn' }, { group: 'staff', category: 'games', action: 'allow' },
    ]);
    const d = lineDiff(HAND, after);
    expect(d.removed.map((r) => r.text)).toEqual(['        chat:     warn    # with a warning', '        shopping: block', '      levels: { games: warn, chat: allow }']);
    expect(d.added.map((r) => r.text)).toEqual(['        chat:     block    # with a warning', '        shopping: warn', '      levels: { games: allow, chat: allow }']);
  });

  it('a file with CRLF line ends keeps them, on the changed line too', () => {
    const crlf = HAND.replaceAll('\n', '\r\n');
    const after = withLevels(crlf, [{ group: 'ks2', category: 'gambling', action: 'warn' }, { group: 'ks2', category: 'dating', action: 'block' }]);
    expect(after.split('\r\n').join('\n').includes('\r')).toBe(false);
    const d = lineDiff(crlf, after);
    expect(d.removed.map((r) => r.text)).toEqual(['        gambling: block   # never\r']);
    expect(d.added.map((r) => r.text)).toEqual(['        gambling: warn   # never\r', '        dating: block\r']);
  });
});

describe('group settings and nominated users', () => {
  it('a site added to a list is one line, with the list\'s comments kept', () => {
    const s = groupSettingsOf(HAND, 'ks2');
    const after = withGroupSettings(HAND, 'ks2', { ...s, sites: { ...s.sites, block: [...s.sites.block, 'games.example.test'] } });
    expect(lineDiff(HAND, after)).toEqual({ removed: [], added: [{ line: 28, text: '          - games.example.test' }] });
  });

  it('a site removed is its line removed', () => {
    const s = groupSettingsOf(HAND, 'ks2');
    const after = withGroupSettings(HAND, 'ks2', { ...s, sites: { ...s.sites, block: ['cheats.example.test'] } });
    expect(lineDiff(HAND, after)).toEqual({ removed: [{ line: 26, text: '          - quiz.example.test       # answers posted' }], added: [] });
  });

  it('a schedule\'s end time is its line, quoted as it was', () => {
    const s = groupSettingsOf(HAND, 'ks2');
    const after = withGroupSettings(HAND, 'ks2', { ...s, schedules: [{ ...s.schedules[0]!, to: '15:30' }] });
    expect(lineDiff(HAND, after)).toEqual({ removed: [{ line: 33, text: '          to: "15:15"' }], added: [{ line: 33, text: '          to: "15:30"' }] });
  });

  it('safe search from a flow list to every engine is its line', () => {
    const after = withGroupSettings(HAND, 'staff', { ...groupSettingsOf(HAND, 'staff'), safeSearch: true });
    expect(lineDiff(HAND, after)).toEqual({ removed: [{ line: 39, text: '      safeSearch: [ google, bing ]' }], added: [{ line: 39, text: '      safeSearch: true' }] });
  });

  it('a nominated user is lines added under policy, the rest kept', () => {
    const after = withUserLevels(HAND, { 'j.smith': { 'video-streaming': 'allow' } });
    const d = lineDiff(HAND, after);
    expect(d.removed).toEqual([]);
    expect(d.added.map((a) => a.text)).toEqual(['  users:', '    j.smith:', '      levels:', '        video-streaming: allow']);
    expect((parse(after) as { policy: { users: unknown } }).policy.users).toEqual({ 'j.smith': { levels: { 'video-streaming': 'allow' } } });
  });
});

describe('editYaml', () => {
  it('a value under an anchor is not edited in place (its aliases would follow): the whole document is written, meaning what was asked', () => {
    const text = 'a: &x\n  k: 1\nb: *x\n';
    expect(rewriteYaml(text, { a: { k: 2 }, b: { k: 1 } })).toBeNull();
    const out = editYaml(text, (doc) => doc.setIn(['b'], doc.createNode({ k: 3 })));
    expect(parse(out)).toEqual({ a: { k: 1 }, b: { k: 3 } });
  });

  it('a key with no value, a deleted key and a deleted list entry', () => {
    const text = 'a:\n  k:\n  j: 1   # j\n  l:\n    - x\n    - y\nb: 2\n';
    const out = editYaml(text, (doc) => {
      doc.setIn(['a', 'k'], 'v');
      doc.deleteIn(['a', 'j']);
      doc.deleteIn(['a', 'l', 0]);
    });
    expect(out).toBe('a:\n  k: v\n  l:\n    - y\nb: 2\n');
  });

  it('a scalar that becomes a nested mapping gets lines of its own under its key', () => {
    const out = editYaml('a:\n    k: 1\nb: 2\n', (doc) => doc.setIn(['a', 'k'], doc.createNode({ x: { y: [1, 2] } })));
    expect(out).toBe('a:\n    k:\n        x:\n            y:\n                - 1\n                - 2\nb: 2\n');
  });

  it('a file without a final newline gets a new key on a line of its own', () => {
    expect(editYaml('a: 1', (doc) => doc.set('b', 2))).toBe('a: 1\nb: 2\n');
  });
});
