// Properties of the detection engine over generated text, with a small lexicon of its own:
// it never throws and answers in its documented shape; the address path agrees with the
// folded-text path; case and leetspeak change nothing; words added far from a phrase do not
// hide it, and on a page context far from it takes at most half. Fixed seeds, so a failure reproduces.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldText } from '../../src/classify/normalise-text.js';
import { NO_PHRASES, PAGE_FAR_CONTEXT_LONE_SHARE, PhraseMatcher, scorePage, type PhraseEntry, type PhraseResult } from '../../src/classify/phrases.js';

const RUNS = { numRuns: 600, seed: 1414 };

type Row = readonly [category: string, phrase: string, weight: number, options?: Partial<PhraseEntry>];
// Every rule has an uncommon word: a rule of common words alone never fires on an address.
const ROWS: readonly Row[] = [
  ['suicide', 'kill @self', 20],
  ['suicide', 'suicid*', 10],
  ['suicide', '@method + @self', 20, { within: 4, intent: true }],
  ['suicide', 'overdose', 10],
  ['suicide', 'essay', -30],
  ['adult', 'sex', 10],
  ['adult', 'porn*', 10],
  ['drugs', 'cocaine', 10],
  ['drugs', 'buy + cocaine', 5],
  ['drugs', 'lean', 4],
  ['violence', 'knife', 10],
  ['violence', 'pipe bomb', 20],
];
const m = new PhraseMatcher(
  ROWS.map(([category, phrase, weight, options], i) => ({ category, phrase, weight, language: 'en', file: 'property.yaml', line: i + 1, ...options })),
  { default: 10, danger: 20 },
  {
    classes: [
      { name: 'self', members: ['myself', 'my self', 'me', 'yourself'], language: 'en', file: 'property.yaml', line: 20 },
      { name: 'method', members: ['hang', 'noose', 'jump off'], language: 'en', file: 'property.yaml', line: 21 },
    ],
    emoji: [{ emoji: '🔪', words: 'knife', file: 'property.yaml', line: 22 }],
  },
);

/** Words the lexicon knows, their forms, near misses, and everyday words. */
const WORDS = [
  'kill', 'Kill', 'KILLING', 'killed', 'killer', 'skill', 'myself', 'my', 'self', 'me', 'yourself', 'hang', 'hung', 'hanging', 'hanger',
  'noose', 'jump', 'off', 'jumping', 'suicide', 'suicidal', 'parasuicide', 'overdose', 'overdosing', 'essay', 'sex', 'sexes', 'essex',
  'sexy', 'porn', 'porno', 'cocaine', 'buy', 'bought', 'lean', 'knife', 'knives', 'pipe', 'bomb', 'bombs', 'k1ll', 'c0ca1ne', '$ex',
  'my$elf', 'the', 'a', 'i', 'to', 'how', 'school', 'garden', 'music', 'year', '7', '2024', 'x', 'don\'t', 'it\'s', '@home', '$5',
];
const SEPARATORS = [' ', ' ', ' ', '-', '_', '/', '+', '.', '  ', '\'', '?', '=', '&', '%20', ', ', '!'];
const wordy = fc.array(fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom(...SEPARATORS)), { maxLength: 16 })
  .map((parts) => parts.map(([w, s]) => w + s).join(''));
const ascii = fc.oneof(wordy, fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)), maxLength: 60 }));
const anyText = fc.oneof(ascii, fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 30 }));

/** What a result says, without the evidence's exact words. */
const gist = (r: PhraseResult) => ({
  hits: r.hits.map((h) => `${h.category}:${h.phrase}:${h.weight}`),
  flagged: r.flagged,
});

function wellFormed(r: PhraseResult): void {
  for (const f of r.flagged) {
    const { caution, danger } = m.thresholdsOf(f.category);
    expect(f.score).toBeGreaterThanOrEqual(caution);
    expect(f.severity).toBe(f.score >= danger ? 'danger' : 'caution');
    expect(r.hits.some((h) => h.category === f.category)).toBe(true);
  }
  for (const h of r.hits) {
    expect(h.file).toBe('property.yaml');
    expect(h.matched).not.toBe('');
  }
  expect(new Set(r.hits.map((h) => `${h.category}\n${h.phrase}`)).size).toBe(r.hits.length);
}

describe('PhraseMatcher over generated text', () => {
  it('never throws, and answers in the documented shape, on any text', () => {
    fc.assert(fc.property(anyText, (text) => {
      for (const r of [m.matchSearch(text), m.matchWords(text), m.matchPage(text), m.match(foldText(text))]) wellFormed(r);
    }), RUNS);
  });

  it('matchWords(raw) agrees with match(foldText(raw)) on ASCII text it reads without repairs, wherever a positive rule matches', () => {
    let compared = 0;
    let withHits = 0;
    fc.assert(fc.property(ascii, (raw) => {
      const words = m.matchWords(raw);
      if (words.repairs.length > 0) return;
      const folded = m.match(foldText(raw));
      // The address gate answers nothing where only context could match: it raises nothing.
      expect(words.flagged).toEqual(folded.flagged);
      compared++;
      if (words === NO_PHRASES && !folded.hits.some((h) => h.weight > 0)) return;
      expect(words).toEqual(folded);
      if (folded.hits.length > 0) withHits++;
    }), { ...RUNS, numRuns: 2000 });
    // The comparison must have been made, and on text that hits, not only on the empty answer.
    expect(compared).toBeGreaterThan(1000);
    expect(withHits).toBeGreaterThan(100);
  });

  it('a page raises the same rules as the text read as a search would (a page looks for any place, not the first)', () => {
    let withCombination = 0;
    // Long texts, so combinations and repeated parts have many places to be found among.
    const long = fc.array(wordy, { minLength: 1, maxLength: 12 }).map((texts) => texts.join(' '));
    fc.assert(fc.property(long, (raw) => {
      const rules = (r: PhraseResult): string[] => r.hits.map((h) => `${h.category}:${h.phrase}`);
      const page = m.matchPage(raw);
      expect(rules(page)).toEqual(rules(m.match(foldText(raw))));
      if (page.hits.some((h) => h.phrase.includes(' + '))) withCombination++;
    }), { ...RUNS, numRuns: 1500 });
    expect(withCombination).toBeGreaterThan(100);
  });
});

const LEET: Readonly<Record<string, readonly string[]>> = { a: ['4', '@'], e: ['3'], i: ['1'], o: ['0'], s: ['5', '$'], t: ['7'] };

/** A spelling of `text` with random case and leetspeak, each word keeping at least one letter (as foldText needs to read it as leet). */
const respelled = (text: string) => fc.array(fc.tuple(fc.boolean(), fc.nat(2)), { minLength: text.length, maxLength: text.length })
  .map((choices) => text.split(' ').map((word, wi, all) => {
    const offset = all.slice(0, wi).reduce((n, w) => n + w.length + 1, 0);
    const chars = [...word].map((ch, i) => {
      const [upper, leet] = choices[offset + i]!;
      const alts = LEET[ch];
      if (alts && leet > 0 && i > 0) return alts[(leet - 1) % alts.length]!;
      return upper ? ch.toUpperCase() : ch;
    });
    return chars.join('');
  }).join(' '));

const LISTED = ['kill myself', 'hang myself', 'suicidal thoughts', 'overdose', 'buy cocaine', 'pipe bomb', 'knife', 'sex', 'noose for yourself', 'lean'];

describe('case and leetspeak', () => {
  it('do not change what a listed phrase matches, in searches, addresses and pages', () => {
    const gen = fc.constantFrom(...LISTED).chain((plain) => respelled(plain).map((variant) => ({ plain, variant })));
    fc.assert(fc.property(gen, ({ plain, variant }) => {
      const want = gist(m.matchSearch(plain));
      expect(want.hits.length).toBeGreaterThan(0);
      expect(gist(m.matchSearch(variant)), variant).toEqual(want);
      // A page finds the same rules; it scores rules on the same words its own way (scorePage).
      const page = gist(m.matchPage(`${variant}.`));
      expect(page.hits, variant).toEqual(want.hits);
      expect(page, variant).toEqual(gist(m.matchPage(`${plain}.`)));
      expect(gist(m.matchWords(`/${variant.replaceAll(' ', '-')}`)), variant).toEqual(gist(m.matchWords(`/${plain.replaceAll(' ', '-')}`)));
    }), RUNS);
  });
});

describe('words added far from a phrase', () => {
  /** Everyday words: none listed, none one letter from a listed word, none a single letter. */
  const FILLER = ['the', 'to', 'how', 'and', 'is', 'my', 'school', 'garden', 'music', 'weather', 'today', 'friends', 'lunch', 'maths', 'football', 'homework', 'river', 'window'];
  const filler = fc.array(fc.constantFrom(...FILLER), { maxLength: 40 });
  const CASES: readonly (readonly [text: string, rule: string])[] = [
    ['kill myself', 'kill @self'],
    ['hanging myself', '@method + @self'],
    ['myself and a noose', '@method + @self'],
    ['buy cocaine', 'buy + cocaine'],
    ['cocaine to buy', 'buy + cocaine'],
    ['pipe bomb', 'pipe bomb'],
    ['suicidal', 'suicid*'],
    ['knife', 'knife'],
  ];

  it('do not break the phrase, nor change the categories raised', () => {
    fc.assert(fc.property(fc.constantFrom(...CASES), filler, filler, ([phrase, rule], before, after) => {
      const alone = gist(m.matchSearch(phrase));
      const alonePage = gist(m.matchPage(`${phrase}.`));
      expect(m.matchSearch(phrase).hits.map((h) => h.phrase)).toContain(rule);
      expect(alonePage.hits).toEqual(alone.hits);
      const words = [...before, phrase, ...after];
      const results = [[m.matchSearch(words.join(' ')), alone], [m.matchPage(`${words.join(' ')}.`), alonePage], [m.matchWords(`/${words.join('-')}`), alone]] as const;
      for (const [r, want] of results) {
        expect(r.hits.map((h) => h.phrase)).toContain(rule);
        expect(gist(r)).toEqual(want);
      }
    }), RUNS);
  });

  it('on a page, context lowers a phrase in full within 5 words of it, and by at most PAGE_FAR_CONTEXT_LONE_SHARE further away', () => {
    const twenty = CASES.filter(([, rule]) => rule === 'kill @self' || rule === '@method + @self');
    fc.assert(fc.property(fc.constantFrom(...twenty), filler, fc.nat(30), ([phrase], before, gap) => {
      const between = Array.from({ length: gap }, (_, i) => FILLER[(i + 5) % FILLER.length]!);
      const page = m.matchPage(`${[...before, phrase, ...between, 'essay'].join(' ')}.`);
      expect(page.hits.map((h) => h.phrase)).toContain('essay');
      // The page's one piece (20) without intent: "essay" (-30) near it takes it all, far from it at most 0.6 of it.
      const suicide = page.hits.filter((h) => h.category === 'suicide');
      if (gap <= 5) expect(page.flagged).toEqual([]);
      else {
        const score = scorePage(suicide);
        expect(score).toBeGreaterThanOrEqual(20 * (1 - PAGE_FAR_CONTEXT_LONE_SHARE) - 1e-9);
        expect(score).toBeLessThan(20);
      }
    }), RUNS);
  });
});
