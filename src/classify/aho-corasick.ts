// Aho–Corasick compiled to a dense DFA in typed arrays: the one automaton the phrase engine
// walks over search terms, address words and page text.
import type { CharDfa } from './normalise-text.js';

export const SPACE = 32;

export interface Dfa extends CharDfa {
  readonly alphabet: number;
  /** UTF-16 code unit → symbol; symbol 0 is every character no pattern uses, and leads to the root. */
  readonly symbolOf: Uint8Array | Uint16Array;
  /** Symbol of the space that wraps text and patterns. */
  readonly space: number;
  /** delta[state * alphabet + symbol] = next state; state 0 is the root. */
  readonly delta: Uint16Array | Uint32Array;
  /** States from firstOut on are those at which patterns end. */
  readonly firstOut: number;
  /** States from firstAnchor on (≥ firstOut) are those at which an anchor pattern ends. */
  readonly firstAnchor: number;
  /** Patterns ending at state s: patternIds[outStart[s - firstOut] .. outStart[s - firstOut + 1]). */
  readonly outStart: Uint16Array | Uint32Array;
  readonly patternIds: Uint16Array | Uint32Array;
  /** State after reading the opening space; every pattern starts there. */
  readonly start: number;
  /** Bytes held by the typed arrays. */
  readonly bytes: number;
}

export interface DfaOptions {
  /**
   * Whether delta, outStart and patternIds hold 32-bit numbers however small they are. By
   * default each holds 16-bit ones when its numbers fit, which halves the automaton's memory;
   * this is the way to walk the wide layout with lists too small to need it.
   */
  readonly wide?: boolean;
}

/**
 * Aho–Corasick over `patterns` (pattern i reports id i), as a dense DFA. States are numbered so
 * that "did any pattern end here?" and "did an anchor pattern end here?" are each one
 * comparison: states without output first, then those whose patterns are none of them
 * anchors, then the rest.
 */
export function compileDfa(patterns: readonly string[], isAnchor: (id: number) => boolean, options: DfaOptions = {}): Dfa {
  // The alphabet is the characters the patterns use; all others share symbol 0.
  let maxCode = SPACE;
  for (const p of patterns) for (let i = 0; i < p.length; i++) maxCode = Math.max(maxCode, p.charCodeAt(i));
  const codes = new Uint16Array(maxCode + 1);
  let alphabet = 1;
  codes[SPACE] = alphabet++;
  for (const p of patterns) {
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (codes[c] === 0) codes[c] = alphabet++;
    }
  }
  const symbolOf = alphabet <= 0x100 ? Uint8Array.from(codes) : codes;

  // Trie, with children in Maps while it grows.
  const children: Map<number, number>[] = [new Map()];
  const own: number[][] = [[]];
  patterns.forEach((p, id) => {
    let s = 0;
    for (let i = 0; i < p.length; i++) {
      const sym = symbolOf[p.charCodeAt(i)]!;
      let next = children[s]!.get(sym);
      if (next === undefined) {
        next = children.push(new Map()) - 1;
        own.push([]);
        children[s]!.set(sym, next);
      }
      s = next;
    }
    own[s]!.push(id);
  });

  // Breadth-first: a state's failure state is shallower, so its row and outputs are final
  // by the time they are copied.
  const states = children.length;
  const trieDelta = new Uint32Array(states * alphabet);
  const fail = new Uint32Array(states);
  const outputs: number[][] = new Array<number[]>(states);
  outputs[0] = own[0]!;
  const queue: number[] = [];
  for (const [sym, child] of children[0]!) {
    trieDelta[sym] = child;
    queue.push(child);
  }
  for (let q = 0; q < queue.length; q++) {
    const s = queue[q]!;
    const f = fail[s]!;
    outputs[s] = own[s]!.concat(outputs[f]!);
    const row = s * alphabet;
    const failRow = f * alphabet;
    trieDelta.copyWithin(row + 1, failRow + 1, failRow + alphabet);
    for (const [sym, child] of children[s]!) {
      fail[child] = trieDelta[failRow + sym]!;
      trieDelta[row + sym] = child;
      queue.push(child);
    }
  }

  // Renumber: no output (the root stays 0), then output without anchors, then anchors.
  const rank = (s: number): number => (outputs[s]!.length === 0 ? 0 : outputs[s]!.some(isAnchor) ? 2 : 1);
  const newId = new Uint32Array(states);
  let next = 0;
  const firsts: number[] = [];
  for (const r of [0, 1, 2]) {
    firsts.push(next);
    for (let s = 0; s < states; s++) if (rank(s) === r) newId[s] = next++;
  }
  const firstOut = firsts[1]!;
  const firstAnchor = firsts[2]!;

  const narrow = (largest: number, length: number): Uint16Array | Uint32Array =>
    largest <= 0xffff && options.wide !== true ? new Uint16Array(length) : new Uint32Array(length);
  const delta = narrow(states - 1, states * alphabet);
  const outLists: number[][] = new Array<number[]>(states - firstOut);
  for (let s = 0; s < states; s++) {
    const to = newId[s]! * alphabet;
    const from = s * alphabet;
    for (let sym = 0; sym < alphabet; sym++) delta[to + sym] = newId[trieDelta[from + sym]!]!;
    if (newId[s]! >= firstOut) outLists[newId[s]! - firstOut] = outputs[s]!;
  }
  let total = 0;
  for (const list of outLists) total += list.length;
  const outStart = narrow(total, states - firstOut + 1);
  total = 0;
  outLists.forEach((list, o) => {
    outStart[o] = total;
    total += list.length;
  });
  outStart[outLists.length] = total;
  const patternIds = narrow(patterns.length - 1, total);
  outLists.forEach((list, o) => patternIds.set(list, outStart[o]!));

  const space = symbolOf[SPACE]!;
  const bytes = symbolOf.byteLength + delta.byteLength + outStart.byteLength + patternIds.byteLength;
  return { alphabet, symbolOf, space, delta, firstOut, firstAnchor, outStart, patternIds, start: delta[space]!, bytes };
}
