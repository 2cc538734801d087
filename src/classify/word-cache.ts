// What the word table says of each distinct word, remembered from word to word and page to
// page. A page says the same few hundred words over and over ("the", "you", "school"), and
// looking a word up in the word table (its prefixes, then the word) reads a table too big to
// stay in cache; this small one does. What a word stands for depends only on its characters
// and the table, which never changes, so a remembered answer is the answer. It is bounded:
// when full it is emptied and fills again with the words of the pages that follow.
import type { WordTable } from './word-table.js';

/** Words longer than this are looked up every time: rare, and they would fill the pool. */
export const MAX_CACHED_WORD = 40;

export class WordCache {
  /** Open-addressed: entry + 1 per slot, 0 empty; at most half full. */
  private slots: Int32Array;
  /** Per entry: its word's hash, where its characters are in chars, how many, where its codes are in codes (codeStart[e] .. codeStart[e + 1]). */
  private hashes: Int32Array;
  private charStart: Int32Array;
  private charLength: Int32Array;
  /** Per entry e, codes[codeStart[e] .. codeStart[e + 1]) are the word's codes, as WordTable.codesOf writes them. */
  codeStart: Int32Array;
  codes: Int32Array;
  private chars: Uint16Array;
  private entries = 0;
  private charsUsed = 0;

  /** `capacity`: the most words held at once (a power of two); it starts small and grows to that. */
  constructor(private readonly capacity = 2048) {
    if (capacity < 1 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`word cache capacity must be a power of two, found ${capacity}`);
    const start = Math.min(capacity, 256);
    this.slots = new Int32Array(2 * start);
    this.hashes = new Int32Array(start);
    this.charStart = new Int32Array(start);
    this.charLength = new Int32Array(start);
    this.codeStart = new Int32Array(start + 1);
    this.codes = new Int32Array(start * 2);
    this.chars = new Uint16Array(start * 8);
  }

  /** Words held now. */
  get size(): number {
    return this.entries;
  }

  /**
   * The entry for the word text[from .. from + length) (1 ≤ length ≤ MAX_CACHED_WORD), whose
   * hash is h, looked up in `table` first if it is not held: its codes are
   * codes[codeStart[e] .. codeStart[e + 1]).
   */
  entry(table: WordTable, text: Uint16Array, from: number, length: number, h: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    let s = mix(h) & mask;
    for (;;) {
      const e = slots[s]! - 1;
      if (e < 0) break;
      if (this.hashes[e] === h && this.charLength[e] === length) {
        const chars = this.chars;
        let at = this.charStart[e]!;
        let i = 0;
        while (i < length && chars[at] === text[from + i]) {
          i++;
          at++;
        }
        if (i === length) return e;
      }
      s = (s + 1) & mask;
    }
    return this.add(table, text, from, length, h, s);
  }

  /** Empties it. */
  clear(): void {
    this.slots.fill(0);
    this.entries = 0;
    this.charsUsed = 0;
  }

  private add(table: WordTable, text: Uint16Array, from: number, length: number, h: number, free: number): number {
    let e = this.entries;
    if (e === this.hashes.length) {
      if (e >= this.capacity) this.clear();
      else this.grow();
      return this.add(table, text, from, length, h, this.freeSlot(h));
    }
    if (this.charsUsed + length > this.chars.length) this.chars = grownChars(this.chars, this.charsUsed + length);
    const codeAt = this.codeStart[e]!;
    if (codeAt + length + 1 > this.codes.length) this.codes = grownCodes(this.codes, codeAt + length + 1);
    this.chars.set(text.subarray(from, from + length), this.charsUsed);
    this.hashes[e] = h;
    this.charStart[e] = this.charsUsed;
    this.charLength[e] = length;
    this.charsUsed += length;
    this.codeStart[e + 1] = codeAt + table.codesOf(text, from, length, h, this.codes, codeAt);
    this.slots[free] = e + 1;
    this.entries = e + 1;
    return e;
  }

  private freeSlot(h: number): number {
    const mask = this.slots.length - 1;
    let s = mix(h) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    return s;
  }

  /** Twice the room, the words held kept. */
  private grow(): void {
    const n = 2 * this.hashes.length;
    const widen = (a: Int32Array, size: number): Int32Array => {
      const b = new Int32Array(size);
      b.set(a);
      return b;
    };
    this.hashes = widen(this.hashes, n);
    this.charStart = widen(this.charStart, n);
    this.charLength = widen(this.charLength, n);
    this.codeStart = widen(this.codeStart, n + 1);
    this.slots = new Int32Array(2 * n);
    for (let e = 0; e < this.entries; e++) this.slots[this.freeSlot(this.hashes[e]!)] = e + 1;
  }
}

function grownChars(a: Uint16Array, n: number): Uint16Array {
  let size = a.length;
  while (size < n) size *= 2;
  const b = new Uint16Array(size);
  b.set(a);
  return b;
}

function grownCodes(a: Int32Array, n: number): Int32Array {
  let size = a.length;
  while (size < n) size *= 2;
  const b = new Int32Array(size);
  b.set(a);
  return b;
}

/** The slot a hash starts probing at: FNV's low bits alone cluster. */
function mix(h: number): number {
  return (h ^ (h >>> 15)) >>> 0;
}
