import { describe, expect, it } from 'vitest';
import type { AlertCandidate, AlertTrigger } from '../../src/alerts/detect.js';
import { alertKey, DEFAULT_FOLD_WINDOW_MS, foldAlert, MAX_STORED_TRIGGERS, type AlertSummary, type FoldOptions } from '../../src/alerts/fold.js';
import type { SafeguardingCategoryId, Severity } from '../../src/alerts/taxonomy.js';
import type { Action } from '../../src/policy/types.js';

const T0 = Date.parse('2026-11-16T10:00:00Z');
const MIN = 60_000;
const DANGER_ONLY: FoldOptions = { immediate: new Set(['danger']) };
const KEY = alertKey({ user: 'Amy', client: '10.1.2.5' }, 'suicide');

function phrase(text: string, severity: Severity = 'caution', phraseText = 'kill myself'): AlertTrigger {
  return { kind: 'phrase', severity, source: 'search', category: 'suicide', phrase: phraseText, weight: 10, text };
}

function candidate(severity: Severity, opts: { text?: string; action?: Action; category?: SafeguardingCategoryId; triggers?: AlertTrigger[]; illegal?: boolean; url?: string | null } = {}): AlertCandidate {
  const text = opts.text ?? 'how to kill myself';
  return {
    category: opts.category ?? 'suicide', severity, illegal: opts.illegal ?? false, action: opts.action ?? 'allow',
    triggers: opts.triggers ?? [phrase(text, severity)],
    searchTerm: { engine: 'google', raw: text, partial: false },
    url: opts.url === undefined ? `https://www.google.com/search?q=${encodeURIComponent(text)}` : opts.url,
  };
}

/** Folds each candidate in turn (a minute apart unless `at` says), returning every outcome. */
function run(cands: readonly AlertCandidate[], opts: FoldOptions = DANGER_ONLY, at: (i: number) => number = (i) => T0 + i * MIN) {
  let open: AlertSummary | null = null;
  return cands.map((c, i) => {
    const out = foldAlert(open, KEY, c, at(i), opts);
    open = out.summary;
    return out;
  });
}

describe('the folding key', () => {
  it('is the signed-in person in any letter case, else the device, and the category', () => {
    expect(alertKey({ user: 'Amy', client: '10.1.2.5' }, 'suicide')).toBe(alertKey({ user: 'amy', client: '10.9.9.9' }, 'suicide'));
    expect(alertKey({ user: 'amy', client: '10.1.2.5' }, 'suicide')).not.toBe(alertKey({ user: 'amy', client: '10.1.2.5' }, 'bullying'));
    expect(alertKey({ user: null, client: '10.1.2.5' }, 'suicide')).toBe('client:10.1.2.5|suicide');
    expect(alertKey({ client: '10.1.2.5' }, 'suicide')).not.toBe(alertKey({ user: '10.1.2.5', client: '10.1.2.5' }, 'suicide'));
  });
});

describe('folding', () => {
  it('folds 50 variants of a search into one alert with count 50, every trigger kept', () => {
    const outs = run(Array.from({ length: 50 }, (_, i) => candidate('caution', { text: `how to kill myself ${'x'.repeat(i)}` })), DANGER_ONLY, (i) => T0 + i * 5_000);
    expect(outs.map((o) => o.kind)).toEqual(['new', ...Array<string>(49).fill('fold')]);
    const last = outs.at(-1)!.summary;
    expect(last.count).toBe(50);
    expect(last.triggers).toHaveLength(50);
    expect(last.moreTriggers).toBe(0);
    expect(last.firstSeen).toBe(T0);
    expect(last.lastSeen).toBe(T0 + 49 * 5_000);
    expect(last.searchTerm).toBe(`how to kill myself ${'x'.repeat(49)}`);
  });

  it('keeps each trigger once and at most 50, counting the rest', () => {
    const same = run(Array.from({ length: 10 }, () => candidate('caution')));
    expect(same.at(-1)!.summary.triggers).toHaveLength(1);
    expect(same.at(-1)!.summary.count).toBe(10);
    const many = run(Array.from({ length: 60 }, (_, i) => candidate('caution', { text: `variant ${i}` })), DANGER_ONLY, (i) => T0 + i * 1000);
    const s = many.at(-1)!.summary;
    expect(s.triggers).toHaveLength(MAX_STORED_TRIGGERS);
    expect(s.moreTriggers).toBe(10);
    expect((s.triggers.at(-1) as { text: string }).text).toBe('variant 49');
    const small = run(Array.from({ length: 5 }, (_, i) => candidate('caution', { text: `v${i}` })), { ...DANGER_ONLY, maxTriggers: 2 });
    expect([small.at(-1)!.summary.triggers.length, small.at(-1)!.summary.moreTriggers]).toEqual([2, 3]);
  });

  it('starts a new alert past the window after the last one, measured from the last one', () => {
    const outs = run([candidate('caution'), candidate('caution'), candidate('caution'), candidate('caution')], DANGER_ONLY,
      (i) => [T0, T0 + 9 * MIN, T0 + 19 * MIN, T0 + 29 * MIN + 1][i]!);
    expect(outs.map((o) => o.kind)).toEqual(['new', 'fold', 'fold', 'new']);
    expect(outs[2]!.summary.count).toBe(3);
    expect(outs[3]!.summary.count).toBe(1);
    expect(outs[3]!.summary.firstSeen).toBe(T0 + 29 * MIN + 1);
    expect(DEFAULT_FOLD_WINDOW_MS).toBe(10 * MIN);
    const wide = run([candidate('caution'), candidate('caution')], { ...DANGER_ONLY, windowMs: 60 * MIN }, (i) => T0 + i * 45 * MIN);
    expect(wide.map((o) => o.kind)).toEqual(['new', 'fold']);
  });

  it('folds an event that arrives late, without moving the last time back', () => {
    const outs = run([candidate('caution', { text: 'later' }), candidate('caution', { text: 'earlier' })], DANGER_ONLY, (i) => (i === 0 ? T0 + 5 * MIN : T0));
    const s = outs[1]!.summary;
    expect([outs[1]!.kind, s.firstSeen, s.lastSeen, s.searchTerm]).toEqual(['fold', T0, T0 + 5 * MIN, 'later']);
  });

  it('records each thing the filter did once', () => {
    const outs = run([candidate('caution', { action: 'block' }), candidate('caution', { action: 'allow' }), candidate('caution', { action: 'block' })]);
    expect(outs.at(-1)!.summary.actions).toEqual(['block', 'allow']);
  });

  it('refuses a candidate of another key or category', () => {
    const [first] = run([candidate('caution')]);
    expect(() => foldAlert(first!.summary, 'user:bob|suicide', candidate('caution'), T0, DANGER_ONLY)).toThrow(RangeError);
    expect(() => foldAlert(first!.summary, KEY, candidate('caution', { category: 'bullying' }), T0, DANGER_ONLY)).toThrow(/does not belong/);
  });
});

describe('severity and notification', () => {
  it('only ever raises the severity', () => {
    const outs = run(['advisory', 'danger', 'caution', 'advisory'].map((s) => candidate(s as Severity)));
    expect(outs.map((o) => o.summary.severity)).toEqual(['advisory', 'danger', 'danger', 'danger']);
  });

  it('notifies the first alert at a severity sent at once, and not a fold at the same severity', () => {
    const outs = run([candidate('danger'), candidate('danger'), candidate('caution')]);
    expect(outs.map((o) => o.notify)).toEqual(['danger', null, null]);
    expect(outs.map((o) => o.summary.notifiedSeverity)).toEqual(['danger', 'danger', 'danger']);
  });

  it('leaves an alert below the immediate severities to the digest', () => {
    const outs = run([candidate('caution'), candidate('advisory')]);
    expect(outs.map((o) => o.notify)).toEqual([null, null]);
    expect(outs.at(-1)!.summary.notifiedSeverity).toBeNull();
  });

  it('notifies once, at once, when a fold raises the alert to danger', () => {
    const outs = run(['caution', 'caution', 'danger', 'danger', 'caution', 'danger'].map((s) => candidate(s as Severity)));
    expect(outs.map((o) => o.notify)).toEqual([null, null, 'danger', null, null, null]);
  });

  it('with every severity sent at once (suicide), notifies each rise and nothing else', () => {
    const all: FoldOptions = { immediate: new Set(['advisory', 'caution', 'danger']) };
    const outs = run(['advisory', 'advisory', 'caution', 'advisory', 'danger', 'danger'].map((s) => candidate(s as Severity)), all);
    expect(outs.map((o) => o.notify)).toEqual(['advisory', null, 'caution', null, 'danger', null]);
  });

  it('notifies again for a new alert after the window', () => {
    const outs = run([candidate('danger'), candidate('danger')], DANGER_ONLY, (i) => T0 + i * 11 * MIN);
    expect(outs.map((o) => [o.kind, o.notify])).toEqual([['new', 'danger'], ['new', 'danger']]);
  });
});

describe('illegal content', () => {
  it('never keeps an address, search term or entry once an alert is about illegal content', () => {
    const listed: AlertTrigger = { kind: 'list', severity: 'caution', category: 'grooming', list: 'ut1/grooming', entry: 'g.example.test', line: 7 };
    const outs = run([
      candidate('caution', { category: 'child-sexual-abuse', triggers: [listed, phrase('pls send nudes to me', 'caution', 'send nudes')] }),
      candidate('danger', { category: 'child-sexual-abuse', illegal: true, url: null, triggers: [{ kind: 'list', severity: 'danger', category: 'iwf', list: 'iwf' }] }),
    ]);
    const s = outs[1]!.summary;
    expect([s.illegal, s.url, s.searchTerm, outs[1]!.notify]).toEqual([true, null, null, 'danger']);
    expect(JSON.stringify(s)).not.toMatch(/g\.example\.test|pls send|google/);
    expect(s.triggers).toEqual([
      { kind: 'list', severity: 'caution', category: 'grooming', list: 'ut1/grooming' },
      { kind: 'phrase', severity: 'caution', source: 'search', category: 'suicide', phrase: 'send nudes', weight: 10 },
      { kind: 'list', severity: 'danger', category: 'iwf', list: 'iwf' },
    ]);
  });
});
