// The word cache (word-cache.ts) remembers what the word table says of each word, from word to
// word and page to page, and is emptied when full. What it gives must be what the table says,
// whatever words came before and however small it is; and a matcher that has read other pages
// must read the next one as a new matcher does. Fixed seeds, so a failure reproduces.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PhraseMatcher, type PhraseEntry } from '../../src/classify/phrases.js';
import { MAX_CACHED_WORD, WordCache } from '../../src/classify/word-cache.js';
import { HASH_SEED, hashStep, WordTable } from '../../src/classify/word-table.js';

const RUNS = { numRuns: 300, seed: 1414 };

// Forms and prefixes, some standing for several word ids, one prefix of 31 characters and more
// (its own branch in codesOf), and a one-character prefix.
const LONG = 'abcdefghijklmnopqrstuvwxyzabcdefgh';
const PATTERNS = [' kill ', ' killing ', ' kil', ' suicid', ' suicide ', ' me ', ' my', ' myself ', ' k', ` ${LONG.slice(0, 31)}`, ` ${LONG} `, ' é ', ' naïve '];
const IDS = PATTERNS.map((_, i) => (i % 3 === 0 ? [i, i + 20] : [i]));
const table = new WordTable(PATTERNS, IDS);

const WORD = fc.oneof(
  fc.constantFrom('kill', 'killing', 'kil', 'ki', 'k', 'suicide', 'suicidal', 'suicid', 'me', 'my', 'myself', 'mys', LONG, LONG.slice(0, 31), `${LONG}x`, 'é', 'naïve', 'the', 'a'),
  fc.string({ unit: fc.constantFrom('k', 'i', 'l', 'm', 'y', 's', 'e', 'a', 'b', 'é'), minLength: 1, maxLength: 45 }),
);

function chars(word: string): { text: Uint16Array; h: number } {
  const text = Uint16Array.from(word, (c) => c.charCodeAt(0));
  let h = HASH_SEED;
  for (const c of text) h = hashStep(h, c);
  return { text, h };
}

/** What the table says of the word, looked up directly (with the hash given, if one is). */
function direct(word: string, hash?: number): number[] {
  const { text, h: own } = chars(word);
  const h = hash ?? own;
  const out = new Int32Array(word.length + 1);
  return [...out.subarray(0, table.codesOf(text, 0, word.length, h, out, 0))];
}

describe('word cache', () => {
  it('gives what the word table gives, for any words in any order, at any capacity', () => {
    fc.assert(fc.property(fc.constantFrom(1, 2, 4, 16, 4096), fc.array(WORD, { maxLength: 80 }), (capacity, words) => {
      const cache = new WordCache(capacity);
      for (const word of words) {
        if (word.length > MAX_CACHED_WORD) continue;
        const { text, h } = chars(word);
        const e = cache.entry(table, text, 0, word.length, h);
        expect([...cache.codes.subarray(cache.codeStart[e]!, cache.codeStart[e + 1]!)]).toEqual(direct(word));
        expect(cache.size).toBeLessThanOrEqual(capacity);
      }
    }), RUNS);
  });

  it('tells apart words whose hashes are the same', () => {
    // Every word given one hash: only their characters tell them apart.
    fc.assert(fc.property(fc.constantFrom(1, 4, 4096), fc.array(WORD, { maxLength: 40 }), (capacity, words) => {
      const cache = new WordCache(capacity);
      for (const word of words) {
        if (word.length > MAX_CACHED_WORD) continue;
        const e = cache.entry(table, chars(word).text, 0, word.length, 7);
        expect([...cache.codes.subarray(cache.codeStart[e]!, cache.codeStart[e + 1]!)]).toEqual(direct(word, 7));
      }
    }), RUNS);
  });

  it('finds a word at any offset of a text', () => {
    const cache = new WordCache(4);
    const text = Uint16Array.from(' xx kill killing', (c) => c.charCodeAt(0));
    const { h } = chars('kill');
    const e = cache.entry(table, text, 4, 4, h);
    expect([...cache.codes.subarray(cache.codeStart[e]!, cache.codeStart[e + 1]!)]).toEqual(direct('kill'));
    expect(direct('kill').length).toBeGreaterThan(1);
    expect(cache.entry(table, text, 4, 4, h)).toBe(e);
  });
});

type Row = readonly [category: string, phrase: string, weight: number, options?: Partial<PhraseEntry>];
const ROWS: readonly Row[] = [
  ['suicide', 'kill @self', 20],
  ['suicide', 'suicid*', 10],
  ['suicide', '@method + @self', 20, { within: 4 }],
  ['drugs', 'buy + cocaine', 10],
  ['violence', 'knife', 10],
];
const matcher = (): PhraseMatcher => new PhraseMatcher(
  ROWS.map(([category, phrase, weight, options], i) => ({ category, phrase, weight, language: 'en', file: 'property.yaml', line: i + 1, ...options })),
  { default: 10, danger: 20 },
  {
    classes: [
      { name: 'self', members: ['myself', 'me', 'yourself'], language: 'en', file: 'property.yaml', line: 20 },
      { name: 'method', members: ['hang', 'noose', 'jump off'], language: 'en', file: 'property.yaml', line: 21 },
    ],
    emoji: [],
  },
);
const PAGE_WORDS = ['kill', 'killing', 'myself', 'me', 'yourself', 'hang', 'noose', 'jump', 'off', 'suicide', 'suicidal', 'buy', 'cocaine', 'knife', 'the', 'school', 'Kill', 'k1ll'];
const page = fc.array(fc.constantFrom(...PAGE_WORDS), { maxLength: 60 }).map((w) => w.join(' '));

describe('a matcher that has read other pages', () => {
  it('reads the next page as a new matcher does', () => {
    const warm = matcher();
    fc.assert(fc.property(fc.array(page, { maxLength: 5 }), page, (before, text) => {
      for (const t of before) warm.matchPage(t);
      expect(warm.matchPage(text)).toEqual(matcher().matchPage(text));
    }), { numRuns: 60, seed: 1414 });
  });
});
