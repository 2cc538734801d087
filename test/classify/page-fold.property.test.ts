// The page folding (page-fold.ts) writes foldText(readCharacters(text)) into a reused buffer a
// word at a time, with a fast path of its own for ASCII words and common page punctuation. It
// must give exactly what the full reading gives, for any text, and leave nothing behind from one
// page to the next.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emojiMap, readCharacters } from '../../src/classify/evasions.js';
import { foldText } from '../../src/classify/normalise-text.js';
import { PageFold, TextBuffer } from '../../src/classify/page-fold.js';
import { buildPhraseMatcher } from '../../src/classify/phrases.js';
import { loadConfig } from '../../src/config/load.js';

const emoji = emojiMap([{ emoji: '🔪', words: 'knife' }, { emoji: '💊', words: 'pills' }]);
const fold = new PageFold(emoji);
const buf = new TextBuffer();
const folded = (text: string): string => buf.string(fold.fold(text, buf));

// Pieces pages are made of: words, leetspeak, apostrophes, page punctuation, look-alike letters,
// invisible characters, emoji, accents and other scripts.
const piece = fc.oneof(
  fc.constantFrom('kill', 'Myself', 'k1ll', "don't", 'don’t', 'ŁÓDŹ', 'się', 'café', 'kіll', 'ki\u200bll', '🔪', '💊️', '·', '—', '–', '“', '”', '…', '&', '@', '$5', 'year 7', '2024', 'ﬁne', 'Ｋｉｌｌ', 'ß', 'naïve', ' ', '  ', '\n', '\t', '.', ',', '/', '-'),
  // Times of day (foldText's rule 5) and the near misses around them.
  fc.constantFrom('[20:22]', '3:15pm', '3:15PM', '20:22:05', '20h22', '9:05am', '14:88', '120:22', '1:2', ':', '22:', 'pm', "'s", '’', 'h', '：', 'ж'),
  fc.tuple(fc.integer({ min: 0, max: 125 }), fc.constantFrom(':', 'h', 'H', '：', '·', '.', ' ', '  ', '\u00a0', '\u2009', ''), fc.integer({ min: 0, max: 125 }),
    fc.constantFrom('', 'am', 'PM', 'pmx', "'", "'s", '’s', ':05', 'ж', '·', ' pm', ' PM', ' p.m.', '\u00a0am', ' pmé', ' ｐm', ' p\u00adm', '\u2009pm', ' pm\u2009x', ' 15pm', ' １5pm', ' ж'))
    .map(([h, sep, m, tail]) => `${h}${sep}${m < 10 ? '0' : ''}${m}${tail}`),
  fc.tuple(fc.integer({ min: 0, max: 125 }), fc.constantFrom('am', 'pm', 'AM', ' am', ' pm', 'amx', '', 'é', '３', 'ｐｍ'))
    .map(([h, tail]) => `${h}${tail}`),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
);
const pageText = fc.array(piece, { maxLength: 40 }).map((parts) => parts.join(' '));

describe('page folding', () => {
  it('gives exactly foldText(readCharacters(text)) for any text', () => {
    fc.assert(fc.property(pageText, (text) => {
      expect(folded(text)).toBe(foldText(readCharacters(text, emoji)));
    }), { numRuns: 3000, seed: 1414 });
  });

  it('keeps nothing from a longer page in a shorter one that follows', () => {
    fc.assert(fc.property(pageText, pageText, (a, b) => {
      folded(a + ' ' + a + ' ' + a);
      expect(folded(b)).toBe(foldText(readCharacters(b, emoji)));
    }), { numRuns: 1000, seed: 7 });
  });

  it('a matcher gives the same answer for a page however many pages it read before', () => {
    const m = buildPhraseMatcher(loadConfig('config/default.yaml').phrases);
    const page = 'I want to die. Nobody would notice if I was gone. How many pills would it take?';
    const first = m.matchPage(page);
    for (const other of ['school trip to the museum', 'kill myself '.repeat(500), '', 'pro ana tips thinspo']) m.matchPage(other);
    expect(m.matchPage(page)).toEqual(first);
    expect(first.flagged.map((f) => f.category)).toContain('suicide');
  });
});
