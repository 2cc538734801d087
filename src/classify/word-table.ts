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
  /**
   * Per pattern, one record in one run of memory, so that a look-up reads one or two cache
   * lines past its slot: its length, what it stands for (form()'s code), then its characters,
   * two to a number. A slot holds its record's offset + 1.
   */
  private readonly records: Int32Array;
  /** The word ids of patterns that stand for more than one: a count, then the ids. */
  readonly lists: Int32Array;
  /** knows()'s word as character codes. */
  private scratch = new Uint16Array(64);

  /**
   * patterns: " form " for a whole word, " prefix" for the start of one; words[i]: the word
   * ids pattern i stands for, in order.
   */
  constructor(patterns: readonly string[], words: readonly (readonly number[])[]) {
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
    this.records = new Int32Array(2 * patterns.length + ((total + patterns.length) >> 1) + 1);
    const recordOf = new Int32Array(patterns.length);
    const lists: number[] = [];
    let at = 0;
    bodies.forEach((b, e) => {
      recordOf[e] = at;
      this.records[at] = b.length;
      const ids = words[e]!;
      if (ids.length === 1) this.records[at + 1] = 2 * ids[0]!;
      else {
        this.records[at + 1] = 2 * lists.length + 1;
        lists.push(ids.length, ...ids);
      }
      for (let i = 0; i < b.length; i += 2) this.records[at + 2 + (i >> 1)] = b.charCodeAt(i) | ((i + 1 < b.length ? b.charCodeAt(i + 1) : 0) << 16);
      at += 2 + ((b.length + 1) >> 1);
    });
    this.lists = Int32Array.from(lists);
    let oneChar = false;
    for (const e of prefixes) {
      const b = bodies[e]!;
      if (b.length === 1) oneChar = true;
      else this.prefixLengths[pairKey(b.charCodeAt(0), b.charCodeAt(1))]! |= lengthBit(b.length);
    }
    this.oneCharPrefix = oneChar;
    this.formSlots = index(forms, bodies, recordOf);
    this.prefixSlots = index(prefixes, bodies, recordOf);
  }

  /** Bytes held by the tables. */
  get bytes(): number {
    return this.prefixLengths.byteLength + this.formSlots.byteLength + this.prefixSlots.byteLength
      + this.records.byteLength + this.lists.byteLength;
  }

  /**
   * What the whole word text[from .. from + length), whose hash is h, stands for: -1 for
   * nothing; an even code is one word id (code / 2); an odd one, several: lists[(code - 1) / 2]
   * of them, after it.
   */
  form(text: Uint16Array, from: number, length: number, h: number): number {
    return this.find(this.formSlots, text, from, length, h);
  }

  /** What the prefix text[from .. from + length), whose hash is h, stands for, as form() says. */
  prefix(text: Uint16Array, from: number, length: number, h: number): number {
    return this.find(this.prefixSlots, text, from, length, h);
  }

  /**
   * The codes (as form() gives them) of every pattern the word text[from .. from + length),
   * whose hash is h, starts with or is, in the order a walk of the automaton would report them:
   * the prefixes shortest first, then the word. Written to out from `at` (room for length + 1
   * is enough); how many.
   */
  codesOf(text: Uint16Array, from: number, length: number, h: number, out: Int32Array, at: number): number {
    let n = at;
    // Only at the lengths a prefix that starts with the word's first two characters can have (for most words, none).
    const lengths = length === 1 ? 0 : this.prefixLengths[pairKey(text[from]!, text[from + 1]!)]! & lengthsUpTo(length);
    if (this.oneCharPrefix || lengths !== 0) {
      let hp = hashStep(HASH_SEED, text[from]!);
      if (this.oneCharPrefix) {
        const p = this.prefix(text, from, 1, hp);
        if (p >= 0) out[n++] = p;
      }
      for (let k = 2; lengths >>> k !== 0 && k <= length; k++) {
        hp = hashStep(hp, text[from + k - 1]!);
        if ((lengths & lengthBit(k)) === 0) continue;
        // Bit 31 stands for every length from 31 on.
        if (k >= 31) {
          for (let q = k; q <= length; q++) {
            if (q > k) hp = hashStep(hp, text[from + q - 1]!);
            const p = this.prefix(text, from, q, hp);
            if (p >= 0) out[n++] = p;
          }
          break;
        }
        const p = this.prefix(text, from, k, hp);
        if (p >= 0) out[n++] = p;
      }
    }
    const p = this.form(text, from, length, h);
    if (p >= 0) out[n++] = p;
    return n - at;
  }

  /** Whether `word` is a form, or starts with a prefix: a word the lists know, as the repairs ask. */
  knows(word: string): boolean {
    return this.scan(word, 1, word.length, () => true);
  }

  /**
   * The lengths L from `min` up at which word[0 .. L) is a form (`forms`) or a prefix (`prefixes`)
   * of the lists, shortest first: one pass over the word, where a look-up per length would go over
   * it each time (the repairs cut a run of letters at every place, evasions.ts).
   */
  listedPieces(word: string, min: number): { forms: number[]; prefixes: number[] } {
    const forms: number[] = [];
    const prefixes: number[] = [];
    this.scan(word, min, min, (length, prefix) => {
      (prefix ? prefixes : forms).push(length);
      return false;
    });
    return { forms, prefixes };
  }

  /**
   * One pass over the word: `found(L, true)` for each prefix word[0 .. L) of the lists from
   * `prefixesFrom` characters, `found(L, false)` for each form from `formsFrom`, shortest first,
   * a prefix before a form of its length; true from `found` stops it. Whether one did.
   */
  private scan(word: string, prefixesFrom: number, formsFrom: number, found: (length: number, prefix: boolean) => boolean): boolean {
    const n = word.length;
    if (this.scratch.length < n) this.scratch = new Uint16Array(n);
    const chars = this.scratch;
    const lengths = n >= 2 ? this.prefixLengths[pairKey(word.charCodeAt(0), word.charCodeAt(1))]! & lengthsUpTo(n) : 0;
    let h = HASH_SEED;
    for (let i = 0; i < n; i++) {
      const c = word.charCodeAt(i);
      chars[i] = c;
      h = hashStep(h, c);
      const length = i + 1;
      if (length >= prefixesFrom && (length === 1 ? this.oneCharPrefix : (lengths & lengthBit(length)) !== 0) && this.prefix(chars, 0, length, h) >= 0 && found(length, true)) return true;
      if (length >= formsFrom && this.form(chars, 0, length, h) >= 0 && found(length, false)) return true;
    }
    return false;
  }

  private find(slots: Int32Array, text: Uint16Array, from: number, length: number, h: number): number {
    const mask = slots.length - 1;
    const records = this.records;
    for (let s = mix(h) & mask; ; s = (s + 1) & mask) {
      const r = slots[s]! - 1;
      if (r < 0) return -1;
      if (records[r] !== length) continue;
      let same = true;
      for (let i = 0; i < length && same; i += 2) {
        const two = records[r + 2 + (i >> 1)]!;
        same = (two & 0xffff) === text[from + i] && (i + 1 >= length || two >>> 16 === text[from + i + 1]);
      }
      if (same) return records[r + 1]!;
    }
  }
}

/** An open-addressed table of patterns (their record's offset + 1 per slot, 0 empty), at most half full. */
function index(entries: readonly number[], bodies: readonly string[], recordOf: Int32Array): Int32Array {
  let size = 16;
  while (size < 2 * entries.length) size *= 2;
  const slots = new Int32Array(size);
  for (const e of entries) {
    const b = bodies[e]!;
    let h = HASH_SEED;
    for (let i = 0; i < b.length; i++) h = hashStep(h, b.charCodeAt(i));
    let s = mix(h) & (size - 1);
    while (slots[s] !== 0) s = (s + 1) & (size - 1);
    slots[s] = recordOf[e]! + 1;
  }
  return slots;
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

/** The bits of prefixLengths for every length up to `length`. */
export function lengthsUpTo(length: number): number {
  return length >= 31 ? -1 : (1 << (length + 1)) - 1;
}
