// Sparse rows (sparse-dfa.ts) must give every transition the dense table gives: checked on
// Aho–Corasick automata of generated patterns, and on arbitrary tables, where few transitions
// lead where the root's do and the packing is at its most crowded.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileDfa } from '../../src/classify/aho-corasick.js';
import { sparseRows, step } from '../../src/classify/sparse-dfa.js';

/** Transitions where the sparse rows and the dense table disagree, as "state,symbol". */
function disagreements(delta: ArrayLike<number>, alphabet: number, wide: boolean): string[] {
  const rows = sparseRows(delta, alphabet, wide);
  const out: string[] = [];
  for (let s = 0; s < delta.length / alphabet; s++) {
    for (let sym = 0; sym < alphabet; sym++) if (step(rows, s, sym) !== delta[s * alphabet + sym]) out.push(`${s},${sym}`);
  }
  return out;
}

const patterns = fc.array(fc.stringMatching(/^ ?[a-f]{1,7} ?$/), { minLength: 1, maxLength: 40 });

describe('sparse rows', () => {
  it('step as the dense Aho–Corasick table does, narrow and wide', () => {
    fc.assert(
      fc.property(patterns, fc.boolean(), (ps, wide) => {
        const dfa = compileDfa(ps, (id) => id % 2 === 0, { wide });
        expect(disagreements(dfa.delta, dfa.alphabet, wide)).toEqual([]);
      }),
      { numRuns: 300, seed: 14 },
    );
  });

  it('step as any dense table does', () => {
    const tables = fc.integer({ min: 1, max: 9 }).chain((alphabet) =>
      fc.integer({ min: 1, max: 30 }).chain((states) =>
        fc.array(fc.integer({ min: 0, max: states - 1 }), { minLength: states * alphabet, maxLength: states * alphabet }).map((cells) => ({ alphabet, cells })),
      ),
    );
    fc.assert(
      fc.property(tables, fc.boolean(), ({ alphabet, cells }, wide) => {
        expect(disagreements(Uint32Array.from(cells), alphabet, wide)).toEqual([]);
      }),
      { numRuns: 300, seed: 14 },
    );
  });

  it('holds an Aho–Corasick automaton in a fraction of the dense table', () => {
    const words = Array.from({ length: 400 }, (_, i) => ' ' + (i * 7919).toString(36) + 'ing');
    const dfa = compileDfa(words, () => false);
    const rows = sparseRows(dfa.delta, dfa.alphabet);
    expect(rows.root.byteLength + rows.base.byteLength + rows.cells.byteLength).toBeLessThan(dfa.delta.byteLength / 4);
  });
});
