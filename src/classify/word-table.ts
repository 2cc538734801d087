// The phrase lists' word forms and prefixes, looked up by their characters: how the phrase
// engine finds the listed words of a folded text. A folded text is words and single spaces, and
// every pattern is one word (" hung ") or the start of one (" suicid"), so looking each word up
// finds what a walk of the Aho–Corasick automaton over the text would, in the same order: the
// prefixes a word starts with, shortest first, then the word itself. A hash table of a few
// hundred kilobytes stays in cache where the automaton's megabytes of states do not.

/** FNV-1a over UTF-16 code units: the seed, and one step. */
export const HASH_SEED = 0x811c9dc5 | 0;
export function hashStep(h: number, c: number): number {
  return Math.imul(h ^ c, 0x01000193);
}

export class WordTable {
  /** 1 when some prefix is one character long. */
  readonly oneCharPrefix: boolean;
  /**
   * Per word start (its first two characters, as pairKey() folds them): bit L set when some
   * prefix that starts so may be L characters long (bit 31: 31 or more). A word is looked up
   * as a prefix only at those lengths, which for most words is none.
   */
  readonly prefixLengths = new Int32Array(0x10000);
  private readonly formSlots: Int32Array;
  private readonly prefixSlots: Int32Array;
  /** Pattern e's word (or prefix) is chars[start[e] .. start[e + 1]). */
  private readonly start: Int32Array;
  private readonly chars: Uint16Array;

  /** patterns: " form " for a whole word, " prefix" for the start of one; pattern i reports i. */
  constructor(patterns: readonly string[]) {
    const forms: number[] = [];
    const prefixes: number[] = [];
    let total = 0;
    const bodies = patterns.map((p, i) => {
      const whole = p.endsWith(' ');
      const body = whole ? p.slice(1, -1) : p.slice(1);
      if (!p.startsWith(' ') || body === '' || body.includes(' ')) throw new RangeError(`not a one-word pattern: "${p}"`);
      (whole ? forms : prefixes).push(i);
      total += body.length;
      return body;
    });
    this.start = new Int32Array(patterns.length + 1);
    this.chars = new Uint16Array(total);
    let at = 0;
    bodies.forEach((b, e) => {
      this.start[e] = at;
      for (let i = 0; i < b.length; i++) this.chars[at++] = b.charCodeAt(i);
    });
    this.start[bodies.length] = at;
    let oneChar = false;
    for (const e of prefixes) {
      const b = bodies[e]!;
      if (b.length === 1) oneChar = true;
      else this.prefixLengths[pairKey(b.charCodeAt(0), b.charCodeAt(1))]! |= lengthBit(b.length);
    }
    this.oneCharPrefix = oneChar;
    this.formSlots = this.index(forms, bodies);
    this.prefixSlots = this.index(prefixes, bodies);
  }

  /** Bytes held by the tables. */
  get bytes(): number {
    return this.prefixLengths.byteLength + this.formSlots.byteLength + this.prefixSlots.byteLength
      + this.start.byteLength + this.chars.byteLength;
  }

  /** The pattern of the whole word text[from .. from + length), whose hash is h; or -1. */
  form(text: Uint16Array, from: number, length: number, h: number): number {
    return this.find(this.formSlots, text, from, length, h);
  }

  /** The pattern of the prefix text[from .. from + length), whose hash is h; or -1. */
  prefix(text: Uint16Array, from: number, length: number, h: number): number {
    return this.find(this.prefixSlots, text, from, length, h);
  }

  private find(slots: Int32Array, text: Uint16Array, from: number, length: number, h: number): number {
    const mask = slots.length - 1;
    const chars = this.chars;
    for (let s = mix(h) & mask; ; s = (s + 1) & mask) {
      const e = slots[s]! - 1;
      if (e < 0) return -1;
      const start = this.start[e]!;
      if (this.start[e + 1]! - start !== length) continue;
      let same = true;
      for (let i = 0; i < length && same; i++) same = chars[start + i] === text[from + i];
      if (same) return e;
    }
  }

  /** An open-addressed table of the patterns (pattern + 1 per slot, 0 empty), at most half full. */
  private index(entries: readonly number[], bodies: readonly string[]): Int32Array {
    let size = 16;
    while (size < 2 * entries.length) size *= 2;
    const slots = new Int32Array(size);
    for (const e of entries) {
      const b = bodies[e]!;
      let h = HASH_SEED;
      for (let i = 0; i < b.length; i++) h = hashStep(h, b.charCodeAt(i));
      let s = mix(h) & (size - 1);
      while (slots[s] !== 0) s = (s + 1) & (size - 1);
      slots[s] = e + 1;
    }
    return slots;
  }
}

/** The slot a hash starts probing at: FNV's low bits alone cluster. */
function mix(h: number): number {
  return (h ^ (h >>> 15)) >>> 0;
}

/** The bit of prefixLengths for a prefix of `length` characters. */
export function lengthBit(length: number): number {
  return 1 << Math.min(length, 31);
}

/** A word's first two characters, folded into an index of prefixLengths. */
export function pairKey(c0: number, c1: number): number {
  return (c0 * 31 + c1) & 0xffff;
}
