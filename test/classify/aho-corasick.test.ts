// The dense Aho–Corasick automaton (aho-corasick.ts) holds its transitions in 16-bit numbers when
// every state fits and in 32-bit ones past 65,536 states. Both layouts must report what a naive
// search of the patterns finds, and order states so that one comparison each answers "did a
// pattern end here?" and "did an anchor end here?".
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileDfa, type Dfa } from '../../src/classify/aho-corasick.js';

/** Every "end:id" where pattern id ends in text, walking the automaton from the root. */
function walk(dfa: Dfa, text: string): string[] {
  const out: string[] = [];
  let s = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    s = dfa.delta[s * dfa.alphabet + (c < dfa.symbolOf.length ? dfa.symbolOf[c]! : 0)]!;
    if (s >= dfa.firstOut) for (let o = dfa.outStart[s - dfa.firstOut]!; o < dfa.outStart[s - dfa.firstOut + 1]!; o++) out.push(`${i}:${dfa.patternIds[o]!}`);
  }
  return out.sort();
}

/** The same, by looking for every pattern at every place. */
function naive(patterns: readonly string[], text: string): string[] {
  const out: string[] = [];
  patterns.forEach((p, id) => {
    for (let at = text.indexOf(p); at >= 0; at = text.indexOf(p, at + 1)) out.push(`${at + p.length - 1}:${id}`);
  });
  return out.sort();
}

/** Whether the states are ordered as the walkers rely on: none, then outputs without anchors, then with one. */
function ordered(dfa: Dfa, isAnchor: (id: number) => boolean): boolean {
  const states = dfa.delta.length / dfa.alphabet;
  for (let s = dfa.firstOut; s < states; s++) {
    const ids = [...dfa.patternIds.subarray(dfa.outStart[s - dfa.firstOut]!, dfa.outStart[s - dfa.firstOut + 1]!)];
    if (ids.length === 0 || ids.some(isAnchor) !== s >= dfa.firstAnchor) return false;
  }
  return true;
}

const PATTERNS = [' kill ', ' kil', ' suicid', ' he', ' she ', ' hers ', ' his', ' zz', ' café ', ' 4chan '];
const TEXTS = fc.array(fc.constantFrom('kill', 'kil', 'killing', 'suicide', 'he', 'she', 'hers', 'his', 'zzz', 'café', '4chan', 'x', 'ש'), { maxLength: 10 })
  .map((words) => ` ${words.join(' ')} `);
const isAnchor = (id: number): boolean => id % 3 === 0;

describe('compileDfa', () => {
  it('reports what a naive search finds, in 16-bit tables and in 32-bit ones alike', () => {
    const narrow = compileDfa(PATTERNS, isAnchor);
    const wide = compileDfa(PATTERNS, isAnchor, { wide: true });
    expect(narrow.delta).toBeInstanceOf(Uint16Array);
    expect(narrow.patternIds).toBeInstanceOf(Uint16Array);
    expect(wide.delta).toBeInstanceOf(Uint32Array);
    expect(wide.outStart).toBeInstanceOf(Uint32Array);
    expect(ordered(narrow, isAnchor) && ordered(wide, isAnchor)).toBe(true);
    let found = 0;
    fc.assert(fc.property(TEXTS, (text) => {
      const want = naive(PATTERNS, text);
      expect(walk(narrow, text), text).toEqual(want);
      expect(walk(wide, text), text).toEqual(want);
      found += want.length;
    }), { numRuns: 500, seed: 14 });
    expect(found).toBeGreaterThan(500);
  });

  it('holds 32-bit transitions when the states do not fit in 16 bits, and still finds every pattern', () => {
    // Every word of four letters from a to p: 1 + 1 + 16 + 256 + 4,096 + 65,536 states.
    const letters = 'abcdefghijklmnop';
    const patterns: string[] = [];
    for (let n = 0; n < 16 ** 4; n++) patterns.push(' ' + [12, 8, 4, 0].map((shift) => letters[(n >> shift) & 15]).join(''));
    const dfa = compileDfa(patterns, isAnchor);
    expect(dfa.delta.length / dfa.alphabet).toBe(1 + 1 + 16 + 256 + 4096 + 65536);
    expect(dfa.delta).toBeInstanceOf(Uint32Array);
    // Each table is as wide as its own numbers need: 65,536 pattern ids still fit in 16 bits.
    expect(dfa.patternIds).toBeInstanceOf(Uint16Array);
    expect(ordered(dfa, isAnchor)).toBe(true);
    const words = fc.array(fc.string({ unit: fc.constantFrom(...'abcdopqz'), minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 });
    fc.assert(fc.property(words, (ws) => {
      const text = ` ${ws.join(' ')} `;
      const got = walk(dfa, text);
      // Only the words of four letters a to p, at the start of a word, are patterns here.
      const want: string[] = [];
      let at = 0;
      for (const w of ws) {
        at++;
        if (w.length >= 4 && /^[a-p]{4}/.test(w)) want.push(`${at + 3}:${patterns.indexOf(' ' + w.slice(0, 4))}`);
        at += w.length;
      }
      expect(got, text).toEqual(want.sort());
    }), { numRuns: 300, seed: 65536 });
  });
});
