// tidySpace (tidy-space.ts) replaced three regular-expression passes over a page's text with one
// loop. It must give exactly what those passes gave, for any text: they are kept here as the
// reference, with every whitespace and invisible character JavaScript knows among the pieces.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tidySpace } from '../../src/classify/tidy-space.js';

const INVISIBLE = /[\u00ad\u200b-\u200d\u2060\ufeff]/g;
const WHITESPACE = /\s{2,}|[^\S ]/g;
const WHITESPACE_BUT_BOUNDARY = /[^\S\u2029]{2,}|[^\S \u2029]/g;
const BOUNDARY_RUN = / ?\u2029[\u2029 ]*/g;
const ENDS = /^[\n ]+|[\n ]+$/g;

/** The passes page-text.ts made before: tidy (title) and tidyBlocks (text). */
const reference = {
  ' ': (s: string): string => s.replace(INVISIBLE, '').replace(WHITESPACE, ' ').trim(),
  '\n': (s: string): string => {
    const spaced = s.replace(INVISIBLE, '').replace(WHITESPACE_BUT_BOUNDARY, ' ');
    return (spaced.includes('\u2029') ? spaced.replace(BOUNDARY_RUN, '\n') : spaced).replace(ENDS, '');
  },
} as const;

// Every UTF-16 unit that \s matches, found by asking the engine rather than listed by hand.
const spaces = Array.from({ length: 0x10000 }, (_, c) => String.fromCharCode(c)).filter((ch) => /\s/.test(ch));
const piece = fc.oneof(
  fc.constantFrom(...spaces, '\u00ad', '\u200b', '\u200c', '\u200d', '\u2060', '\u2029 ', ' \u2029', '  ', '\n\n', 'a', 'kill', 'x\u200by', '\u2028'),
  fc.string({ maxLength: 5 }),
  fc.string({ unit: 'binary', maxLength: 3 }),
);
const text = fc.array(piece, { maxLength: 30 }).map((p) => p.join(''));

describe('tidySpace', () => {
  it('knows the same whitespace as \\s', () => {
    expect(spaces.length).toBeGreaterThan(20);
    // U+FEFF is also invisible, and dropped as such.
    for (const ch of spaces) expect(tidySpace(`a${ch}b`, ' ')).toBe(ch === '\ufeff' ? 'ab' : 'a b');
  });

  it('gives what the regular-expression passes gave, for a title and for a page text', () => {
    fc.assert(fc.property(text, fc.constantFrom(' ' as const, '\n' as const), (s, boundary) => {
      expect(tidySpace(s, boundary)).toBe(reference[boundary](s));
    }), { numRuns: 20000 });
  });

  it('keeps a text that needs nothing as the same string', () => {
    const s = 'nothing to tidy here, or here';
    expect(tidySpace(s, '\n')).toBe(s);
  });

  it('makes runs with a paragraph separator one newline, and drops them at the ends', () => {
    expect(tidySpace(' \u2029 one \u00ad\t two\u2029\u2029 \u200b three \u2029', '\n')).toBe('one two\nthree');
    expect(tidySpace('ki\u00adll  me', ' ')).toBe('kill me');
  });
});
