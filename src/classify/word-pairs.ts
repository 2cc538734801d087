// Which listed words a page has side by side, two and three in a row, and which parts of rules
// could be found in it by that alone. A part of a rule ("kill myself", "@method_phrase") is found only where its words
// follow one another; most parts a page wakes are not found (their words are on the page, but
// apart), and telling so by looking for the part's places cost most of a page's matching. Here a
// page's neighbouring word ids, in twos and threes, are hashed into one bit set (PagePairs), and
// each part is compiled into clauses of runs of words it cannot be found without (PairFilter): a
// part one of whose clauses has none of its runs in the bit set has no place in the page. The bit set can say a pair is
// there when it is not (two pairs share a bit), never the other way round, so a part it rules
// out is never one with a place; the rest are looked for as before.

/**
 * Pairs take 2^PAIR_LOG bits, threes in a row as many after them, and single words as many
 * again: a 64 KiB page's 6,000 or so of each fill under a tenth.
 */
const PAIR_LOG = 16;
const PAIR_MASK = (1 << PAIR_LOG) - 1;
/** A clause of more words than this is not kept (a class of hundreds of phrases): it costs more than it spares. */
const MAX_CLAUSE = 256;
/** A pair of neighbouring slots is a clause only when its last words times its first words are at most this many. */
const MAX_JOINS = 24;

/** The bit of word a followed by word b. */
export function pairBit(a: number, b: number): number {
  let h = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  return h & PAIR_MASK;
}

/** The bit of words a, b and c in a row (after the pairs' bits). */
export function threeBit(a: number, b: number, c: number): number {
  let h = Math.imul(Math.imul(a, 0x27d4eb2f) ^ Math.imul(b ^ Math.imul(c, 0x165667b1), 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  return (1 << PAIR_LOG) | (h & PAIR_MASK);
}

/** The bit of word a on its own (after the threes' bits). */
export function oneBit(a: number): number {
  let h = Math.imul(a ^ 0x5bd1e995, 0x9e3779b1);
  h ^= h >>> 16;
  return (2 << PAIR_LOG) | (h & PAIR_MASK);
}

/** The bits a run of words in a row needs: its pairs and its threes (its word, for a run of one), sorted, once each. */
export function runBits(words: readonly number[]): number[] {
  if (words.length === 1) return [oneBit(words[0]!)];
  const bits = new Set<number>();
  for (let i = 0; i + 1 < words.length; i++) bits.add(pairBit(words[i]!, words[i + 1]!));
  for (let i = 0; i + 2 < words.length; i++) bits.add(threeBit(words[i]!, words[i + 1]!, words[i + 2]!));
  return [...bits].sort((x, y) => x - y);
}

/** A page's word ids, alone and side by side, as bits (oneBit, pairBit, threeBit); kept from page to page and cleared for each. */
export class PagePairs {
  readonly bits = new Int32Array((3 << PAIR_LOG) >> 5);

  /**
   * Marks every two and three word ids found at neighbouring positions: position w's ids are
   * evId[posStart[w] .. posStart[w + 1]), for w from 0 to `positions`.
   */
  mark(evId: Int32Array, posStart: Int32Array, positions: number): void {
    const bits = this.bits;
    bits.fill(0);
    for (let w = 0; w <= positions; w++) {
      const aEnd = posStart[w + 1]!;
      const bEnd = w < positions ? posStart[w + 2]! : aEnd;
      const cEnd = w + 1 < positions ? posStart[w + 3]! : bEnd;
      for (let a = posStart[w]!; a < aEnd; a++) {
        const x = evId[a]!;
        const one = oneBit(x);
        bits[one >> 5] = bits[one >> 5]! | (1 << (one & 31));
        for (let b = aEnd; b < bEnd; b++) {
          const y = evId[b]!;
          const bit = pairBit(x, y);
          bits[bit >> 5] = bits[bit >> 5]! | (1 << (bit & 31));
          for (let c = bEnd; c < cEnd; c++) {
            const three = threeBit(x, y, evId[c]!);
            bits[three >> 5] = bits[three >> 5]! | (1 << (three & 31));
          }
        }
      }
    }
  }

  has(bit: number): boolean {
    return (this.bits[bit >> 5]! & (1 << (bit & 31))) !== 0;
  }
}

/**
 * Per part, clauses of runs of words it cannot be found without, flat: part pi's are
 * program[start[pi] .. start[pi + 1]), each clause written as its end (where the next begins)
 * and its number of ways, then each way as its number of bits and the bits (runBits). A clause holds when one of its ways has all its
 * bits; a part can be found only if all its clauses hold. Clauses:
 * - per run of slots of one alternative each (single words, mostly): the words of the run;
 * - per other slot: one way per alternative, its words (one of them must be found whole; an
 *   alternative of one word, that word);
 * - per two neighbouring slots: one way per last word of the first's alternatives and first
 *   word of the second's (where one ends, the next begins on the following word).
 * The fewer ways a clause has, the earlier it is written: fewest ways rule out most for least.
 */
export class PairFilter {
  readonly start: Int32Array;
  readonly program: Int32Array;

  /** `parts`: per part, its slots; per slot, its alternatives, each a run of word ids. */
  constructor(parts: readonly (readonly (readonly (readonly number[])[])[])[]) {
    this.start = new Int32Array(parts.length + 1);
    const program: number[] = [];
    parts.forEach((slots, pi) => {
      this.start[pi] = program.length;
      const clauses: number[][] = [];
      for (let j = 0; j < slots.length;) {
        const alts = slots[j]!;
        if (alts.length === 1) {
          // A run of slots of one alternative each is one run of words.
          const run: number[] = [];
          for (; j < slots.length && slots[j]!.length === 1; j++) run.push(...slots[j]![0]!);
          if (run.length > 1) clauses.push(clause([runBits(run)]));
          continue;
        }
        j++;
        // A slot of single words is found wherever one of its words is, which waking the rule checked.
        if (alts.every((a) => a.length === 1)) continue;
        const ways = new Map<string, number[]>();
        for (const alt of alts) {
          const bits = runBits(alt);
          ways.set(bits.join(','), bits);
        }
        clauses.push(clause([...ways.values()]));
      }
      for (let j = 0; j + 1 < slots.length; j++) {
        // Within a run of single alternatives, the run's clause has the pair already.
        if (slots[j]!.length === 1 && slots[j + 1]!.length === 1) continue;
        const lasts = new Set(slots[j]!.map((a) => a[a.length - 1]!));
        const firsts = new Set(slots[j + 1]!.map((a) => a[0]!));
        if (lasts.size * firsts.size > MAX_JOINS) continue;
        const bits = new Set<number>();
        for (const a of lasts) for (const b of firsts) bits.add(pairBit(a, b));
        clauses.push(clause([...bits].map((b) => [b])));
      }
      for (const c of clauses.filter((c) => c.length <= MAX_CLAUSE).sort((x, y) => x[0]! - y[0]! || x.length - y.length)) program.push(program.length + 1 + c.length, ...c);
    });
    this.start[parts.length] = program.length;
    this.program = Int32Array.from(program);
  }

  /** Whether part pi could be found in the page whose pairs are `pairs` (false: it surely cannot). */
  passes(pi: number, pairs: PagePairs): boolean {
    const program = this.program;
    const bits = pairs.bits;
    let k = this.start[pi]!;
    const end = this.start[pi + 1]!;
    while (k < end) {
      const clauseEnd = program[k]!;
      let ways = program[k + 1]!;
      k += 2;
      let held = false;
      for (; ways > 0 && !held; ways--) {
        const next = k + 1 + program[k]!;
        held = true;
        for (k++; k < next; k++) {
          const bit = program[k]!;
          if ((bits[bit >> 5]! & (1 << (bit & 31))) === 0) {
            held = false;
            break;
          }
        }
        k = next;
      }
      if (!held) return false;
      // The clause's other ways need not be read.
      k = clauseEnd;
    }
    return true;
  }

  get bytes(): number {
    return this.start.byteLength + this.program.byteLength;
  }
}

/** A clause of these ways, as PairFilter writes it. */
function clause(ways: readonly (readonly number[])[]): number[] {
  const out = [ways.length];
  for (const w of ways) out.push(w.length, ...w);
  return out;
}
