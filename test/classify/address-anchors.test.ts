// The address gate (address-anchors.ts) keeps most addresses from the full reading of their
// words. It must never keep one whose full reading matches a positive rule: these tests check
// that, on generated paths with evasions and everyday words, and on the dev searches written as
// addresses with the shipped lists; and that what it shuts is what it should.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressGate, gateRules, squeeze, type AnchorLists } from '../../src/classify/address-anchors.js';
import { emojiMap, readCharacters } from '../../src/classify/evasions.js';
import { foldText } from '../../src/classify/normalise-text.js';
import { buildPhraseMatcher, COMMON, NO_PHRASES, PhraseMatcher, type PhraseEntry, type PhraseHit } from '../../src/classify/phrases.js';
import { englishForms } from '../../src/classify/word-forms.js';
import { loadConfig } from '../../src/config/load.js';

const ROOT = join(import.meta.dirname, '../..');

type Row = readonly [category: string, phrase: string, weight: number, options?: Partial<PhraseEntry>];
// Combinations of everyday words with rarer ones, one-slot classes of multi-word alternatives,
// prefixes, context, and a rule of common words alone.
const ROWS: readonly Row[] = [
  ['suicide', 'kill @self', 20],
  ['suicide', 'suicid*', 10],
  ['suicide', '@method + @self', 20, { within: 4, intent: true }],
  ['suicide', '@wish', 15],
  ['suicide', 'essay', -30],
  ['drugs', 'free + @drug', 10],
  ['drugs', '@drug + video', 5],
  ['drugs', 'buy + cocaine', 5],
  ['adult', 'porn* + free', 10],
  ['adult', 'sex', 10],
  ['violence', 'pipe bomb', 20],
  ['violence', 'school + @weapon + bring', 20],
  ['bullying', 'no one wants you here', 10],
  ['bullying', 'news', -5],
];
const m = new PhraseMatcher(
  ROWS.map(([category, phrase, weight, options], i) => ({ category, phrase, weight, language: 'en', file: 'gate.yaml', line: i + 1, ...options })),
  { default: 10, danger: 20 },
  {
    classes: [
      { name: 'self', members: ['myself', 'my self', 'me', 'yourself'], language: 'en', file: 'gate.yaml', line: 30 },
      { name: 'method', members: ['hang', 'noose', 'jump off'], language: 'en', file: 'gate.yaml', line: 31 },
      { name: 'drug', members: ['cocaine', 'weed', 'ket', 'pills'], language: 'en', file: 'gate.yaml', line: 32 },
      { name: 'weapon', members: ['knife', 'gun', 'blade'], language: 'en', file: 'gate.yaml', line: 33 },
      { name: 'wish', members: ['want to die', 'wish i was dead', 'dont want to live'], language: 'en', file: 'gate.yaml', line: 34 },
    ],
    emoji: [{ emoji: '🔪', words: 'knife', file: 'gate.yaml', line: 35 }],
  },
);

/** Listed words in their forms and evasions, everyday words (some listed in combinations), and the rest of an address. */
const WORDS = [
  'kill', 'KILLING', 'k1ll', 'killlll', 'k-i-l-l', 'k.i.l.l', 'kіll', 'ki\u200bll', 'skill', 'myself', 'my', 'self', 'me', 'mys3lf', 'yourself',
  'hang', 'hung', 'hanging', 'noose', 'jump', 'off', 'suicide', 'suicidal', 's-u-i-c-i-d-e', 'suiiicide', 'essay', 'free', 'FREE', 'fre3',
  'video', 'videos', 'cocaine', 'c0ca1ne', 'cocaaaine', 'weed', 'ket', 'pills', 'buy', 'bought', 'porn', 'porno', 'pr0n', 'sex', '$ex',
  'sexxx', 'pipe', 'bomb', 'school', 'schools', 'knife', 'knives', '🔪', 'gun', 'blade', 'bring', 'brought', 'want', 'to', 'die', 'dieee',
  'wish', 'i', 'was', 'dead', 'dont', "don't", 'live', 'no', 'one', 'wants', 'you', 'here', 'news', 'a', 'b', 'c', 'x', '7', '2024',
  'the', 'how', 'garden', 'music', 'index', 'html', 'café', '@home',
];
const SEPARATORS = ['-', '-', '/', '_', '+', '.', '%20', ' ', "'", '--', '?q='];
const paths = fc.array(fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom(...SEPARATORS)), { maxLength: 12 })
  .map((parts) => '/' + parts.map(([w, s]) => w + s).join(''));
const RUNS = { numRuns: 3000, seed: 2014 };

/** Every form of the engine's common words ("how", "to", "off", "myself"…). */
const COMMON_FORMS = new Set([...COMMON].flatMap((w) => englishForms(w)));

/**
 * A positive rule matched on some word that is not a common one. A match of common words alone
 * ("how to off myself") was never read in an address on its own, before the gate or with it.
 */
const needsReading = (h: PhraseHit): boolean => h.weight > 0 && h.matched.split(' ').some((w) => w !== '…' && !COMMON_FORMS.has(w));

/** The gate's promise for one path, on `matcher`: whether the full reading found such a rule there. */
function keepsItsPromise(matcher: PhraseMatcher, path: string): boolean {
  const full = matcher.readWords(path);
  const words = matcher.matchWords(path);
  const positive = full.hits.some(needsReading);
  if (positive || words !== NO_PHRASES) expect(words, path).toEqual(full);
  return positive;
}

describe('the address gate', () => {
  it('never shuts a path whose full reading matches a positive rule (generated paths, evasions included)', () => {
    let positive = 0;
    let shut = 0;
    fc.assert(fc.property(paths, (path) => {
      if (keepsItsPromise(m, path)) positive++;
      if (m.matchWords(path) === NO_PHRASES) shut++;
    }), RUNS);
    // Not vacuous: many paths match, and many are shut.
    expect(positive).toBeGreaterThan(500);
    expect(shut).toBeGreaterThan(500);
  });

  it('never shuts a dev search written as an address, with the shipped lists', () => {
    const config = loadConfig(join(ROOT, 'config/default.yaml'));
    const shipped = buildPhraseMatcher(config.phrases);
    const lines = readFileSync(join(ROOT, 'test/fixtures/safeguarding/searches.dev.tsv'), 'utf8').split('\n').slice(1).filter(Boolean);
    let positive = 0;
    for (const line of lines) {
      const text = line.split('\t')[0]!;
      const words = text.split(' ');
      for (const path of [`/${words.join('-')}`, `/blog/2024/${words.join('_')}.html`, `/${words.join('/')}`]) {
        if (keepsItsPromise(shipped, path)) positive++;
      }
    }
    expect(lines.length).toBeGreaterThan(4000);
    expect(positive).toBeGreaterThan(lines.length);
  });

  it('shuts everyday addresses that hold listed words, and opens where a rule can match', () => {
    for (const path of ['/free-video-games', '/school/news/video', '/watch/free/music-video', '/bring-your-own-device-to-school', '/want-to-live-in-london']) {
      expect(m.matchWords(path), path).toBe(NO_PHRASES);
    }
    expect(m.matchWords('/free-cocaine-video').flagged.map((f) => f.category)).toEqual(['drugs']);
    expect(m.matchWords('/bring-a-knife-to-school').flagged.map((f) => f.category)).toEqual(['violence']);
    expect(m.matchWords('/i-dont-want-to-live').flagged.map((f) => f.category)).toEqual(['suicide']);
  });

  it('shuts a path only context matches: it raises nothing', () => {
    expect(m.readWords('/essay-on-news').hits.map((h) => h.phrase)).toEqual(['essay', 'news']);
    expect(m.matchWords('/essay-on-news')).toBe(NO_PHRASES);
  });

  it('reads a rule of common words alone only in an address it opens for another rule', () => {
    expect(m.readWords('/no-one-wants-you-here').flagged.map((f) => f.category)).toEqual(['bullying']);
    expect(m.matchWords('/no-one-wants-you-here')).toBe(NO_PHRASES);
    expect(m.matchWords('/no-one-wants-you-here/sex').hits.map((h) => h.phrase)).toEqual(['sex', 'no one wants you here']);
  });

  it('answers the same after its walk counter wraps round', () => {
    const gate = new PhraseMatcher([{ category: 'drugs', phrase: 'free + cocaine', weight: 10, language: 'en', file: 'gate.yaml', line: 1 }], { default: 10 }).addressGate;
    const NO_EMOJI = emojiMap([]);
    (gate as unknown as { gen: number }).gen = 0x7fffffff - 2;
    for (let k = 0; k < 6; k++) {
      expect(gate.read('/free-cocaine', NO_EMOJI)).toBe('free cocaine');
      expect(gate.read('/free-video', NO_EMOJI)).toBeNull();
    }
    expect((gate as unknown as { gen: number }).gen).toBeLessThan(100);
  });

  it('reads spaced, repeated, look-alike and emoji evasions, with no other listed word in the path', () => {
    expect(m.matchWords('/k-i-l-l-myself').hits.map((h) => h.phrase)).toEqual(['kill @self']);
    expect(m.matchWords('/killlll-myself').hits.map((h) => h.phrase)).toEqual(['kill @self']);
    expect(m.matchWords('/kіll-myself').hits.map((h) => h.phrase)).toEqual(['kill @self']);
    expect(m.matchWords('/bring-🔪-to-school').hits.map((h) => h.phrase)).toEqual(['school + @weapon + bring']);
  });
});

describe('what the gate reads by', () => {
  it('squeeze cuts every run of a character to one', () => {
    expect(squeeze('killlll')).toBe('kil');
    expect(squeeze(' suiiicide ')).toBe(' suicide ');
    expect(squeeze('')).toBe('');
  });

  it('folds a plain ASCII path as it walks it exactly as foldText does: the same answer as walking the text the full reading reads', () => {
    const NO_EMOJI = emojiMap([]);
    const chars = fc.string({ unit: fc.constantFrom(...'kilmyseIKLMYS1037 -/_.%\'@$é'), maxLength: 24 });
    const listed = fc.array(fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom(...SEPARATORS)), { maxLength: 8 }).map((p) => p.map(([w, s]) => w + s).join(''));
    let open = 0;
    fc.assert(fc.property(fc.oneof(chars, listed), (raw) => {
      const text = foldText(readCharacters(raw, NO_EMOJI));
      const want = m.addressGate.mayMatch(text) ? text : null;
      expect(m.addressGate.read(raw, NO_EMOJI), raw).toBe(want);
      if (want !== null) open++;
    }), { numRuns: 4000, seed: 7 });
    expect(open).toBeGreaterThan(200);
  });

  it('reads a form only where its word ends, a prefix where it ends, with 16-bit and 32-bit tables alike', () => {
    const word = (w: string, common = false) => ({ word: w, common });
    // 0 kill, 1 myself, 2 suicid (a prefix, and a form), 3 free, 4 cocaine, 5 me (common)
    const forms: [string, number][] = [[' kill ', 0], [' kills ', 0], [' killing ', 0], [' myself ', 1], [' suicid ', 2], [' free ', 3], [' cocaine ', 4], [' me ', 5]];
    const prefixes: [string, number][] = [[' suicid', 2], [' fre', 3]];
    const lists: AnchorLists = {
      words: [word('kill'), word('myself'), word('suicid'), word('free'), word('cocaine'), word('me', true)],
      rules: [
        { weight: 10, slots: [[[0]], [[1], [5]]] },
        { weight: 10, slots: [[[2]]] },
        { weight: 5, slots: [[[3]], [[4]]] },
        { weight: -5, slots: [[[4]]] },
      ],
      patterns: [...forms, ...prefixes].map(([p]) => p),
      patternWords: [...forms, ...prefixes].map(([, id]) => [id]),
    };
    const narrow = new AddressGate(lists, gateRules(lists));
    const wide = new AddressGate(lists, gateRules(lists), { wide: true });
    expect(wide.bytes).toBeGreaterThan(narrow.bytes);
    /** Whether the words hold a positive rule's words in every slot, reading each with its runs cut, or three one-letter words in a row. */
    const reference = (words: readonly string[]): boolean => {
      if (words.some((_, i) => i >= 2 && words.slice(i - 2, i + 1).every((w) => w.length === 1))) return true;
      const found = new Set<number>();
      for (const w of words.map(squeeze)) {
        for (const [p, id] of forms) if (squeeze(p.trim()) === w) found.add(id);
        for (const [p, id] of prefixes) if (w.startsWith(squeeze(p.trim()))) found.add(id);
      }
      return lists.rules.some((r) => r.weight > 0 && r.slots.every((slot) => slot.some((alt) => alt.every((id) => found.has(id)))));
    };
    const NO_EMOJI = emojiMap([]);
    const texts = fc.array(fc.constantFrom('kill', 'killl', 'kills', 'kil', 'skill', 'killing', 'myself', 'me', 'suicide', 'suicid', 'suiicid', 'free', 'fre', 'frees', 'cocaine', 'cocaines', 'x', 'a', 'news'), { maxLength: 8 });
    let open = 0;
    fc.assert(fc.property(texts, (words) => {
      const want = reference(words);
      expect(narrow.mayMatch(words.join(' ')), words.join(' ')).toBe(want);
      expect(wide.mayMatch(words.join(' ')), words.join(' ')).toBe(want);
      const path = '/' + words.join('-');
      expect(narrow.read(path, NO_EMOJI), path).toBe(want ? words.join(' ') : null);
      expect(wide.read(path, NO_EMOJI), path).toBe(want ? words.join(' ') : null);
      if (want) open++;
    }), { numRuns: 2000, seed: 16 });
    expect(open).toBeGreaterThan(400);
  });

  it('gateRules wakes a rule on one word of each alternative of one slot, and leaves out context and rules of common words alone', () => {
    const word = (w: string, common = false) => ({ word: w, common });
    // 0 free, 1 cocaine, 2 weed, 3 jump, 4 off (common), 5 how (common), 6 to (common), 7 essay
    const lists: AnchorLists = {
      words: [word('free'), word('cocaine'), word('weed'), word('jump'), word('off', true), word('how', true), word('to', true), word('essay')],
      rules: [
        { weight: 10, slots: [[[0]], [[1], [2]]] },
        { weight: 10, slots: [[[3, 4]], [[1]]] },
        { weight: 10, slots: [[[5], [3]], [[4], [1]]] },
        { weight: 10, slots: [[[5, 6]]] },
        { weight: -5, slots: [[[7]]] },
      ],
      patterns: [],
      patternWords: [],
    };
    expect(gateRules(lists).map((r) => [...r.anchors].sort())).toEqual([[0], [3], [1, 3]]);
    expect(gateRules(lists)[0]!.slots).toBe(lists.rules[0]!.slots);
  });
});
