// The address gate: whether the words of a URL path could give a positive-weight rule a match,
// answered without the full reading (repairs, then every rule woken by a listed word) that
// costs several microseconds a path. Nearly every path is answered by one walk of an automaton
// of the rules' words over the path as written, folded as it is walked.
//
// Why it is sound. A rule matches only where every slot of every part does, and a slot only
// where one of its alternatives has all its words. So the gate walks the path once with an
// automaton of the words of the positive rules' slots, noting the alternatives whose words all
// occur, and opens only when some rule has such an alternative in every slot. A path it keeps
// shut could only have matched context (negative weights), which never raises a concern.
// The full reading repairs evasions before it matches, and the gate reads them as it does:
// - repeated letters ("killlll"): a repaired word has the same letters as the token once each
//   run of a letter is cut to one, so the walk cuts runs in the text and in the words alike;
// - spaced letters ("k-i-l-l"): a run of three or more one-letter words opens the gate;
// - look-alike letters, invisible characters, emoji, and any character whose folding depends
//   on its neighbours (' @ $): the path is read with readCharacters and foldText first, as the
//   full reading reads it. Other ASCII paths (nearly all) are folded as they are walked.
// Matches of common words alone ("how to off myself", "no one wants you here") were never read
// in an address on their own, and still are not: a rule is looked at only when one of its
// anchor words occurs, each an uncommon word (one of each alternative of one slot, or, where no
// slot allows that, every uncommon word of the rule). Which slot decides only how many rules a
// path wakes (about four on the shared traffic sample), never which paths are read in full, so
// it is chosen without guessing how everyday a word is.
import { compileDfa, SPACE, type DfaOptions } from './aho-corasick.js';
import { readCharacters, type EmojiMap } from './evasions.js';
import { foldText } from './normalise-text.js';
import { sparseRows, type SparseRows } from './sparse-dfa.js';

export interface AnchorWord {
  /** As written in the lists (a prefix without its star). */
  readonly word: string;
  /** One of the engine's common words (the, how, me…): never an anchor. */
  readonly common: boolean;
}

export interface AnchorRule {
  readonly weight: number;
  /** Its slots, every one of which must match: each is its alternatives, each a run of word ids. */
  readonly slots: readonly (readonly (readonly number[])[])[];
}

export interface AnchorLists {
  readonly words: readonly AnchorWord[];
  readonly rules: readonly AnchorRule[];
  /** The engine's patterns (" form " for each form of a word, " prefix" for each prefix) and the word ids each stands for. */
  readonly patterns: readonly string[];
  readonly patternWords: readonly (readonly number[])[];
}

/** A positive rule as the gate reads it. */
export interface GateRule {
  /** The words that wake it: one of them occurs wherever it matches. */
  readonly anchors: readonly number[];
  /** Its slots, each its alternatives, each a run of word ids. */
  readonly slots: readonly (readonly (readonly number[])[])[];
}

/**
 * The positive rules as the gate reads them, each woken by the words of one slot: one word of
 * each of its alternatives (the longest that is not a common word: longer words are rarer), of
 * the slot that needs fewest. A rule none of whose slots can be so anchored (each has an
 * alternative of common words only) wakes on every uncommon word of its slots; a rule of common
 * words alone is left out. Which slot only decides how many rules a path wakes, not which
 * paths the gate opens: that is decided on every slot.
 */
export function gateRules(lists: AnchorLists): GateRule[] {
  const out: GateRule[] = [];
  const uncommon = (id: number): boolean => !lists.words[id]!.common;
  const longest = (alt: readonly number[]): number | null => {
    let pick: number | null = null;
    for (const id of alt) if (uncommon(id) && (pick === null || lists.words[id]!.word.length > lists.words[pick]!.word.length)) pick = id;
    return pick;
  };
  for (const rule of lists.rules) {
    if (rule.weight <= 0) continue;
    let anchors: Set<number> | null = null;
    for (const slot of rule.slots) {
      const picks = new Set<number>();
      for (const alt of slot) {
        const pick = longest(alt);
        if (pick === null) break;
        picks.add(pick);
      }
      if (picks.size > 0 && slot.every((alt) => alt.some(uncommon)) && (anchors === null || picks.size < anchors.size)) anchors = picks;
    }
    const all = rule.slots.flatMap((slot) => slot.flatMap((alt) => alt.filter(uncommon)));
    if (all.length === 0) continue;
    out.push({ anchors: [...(anchors ?? new Set(all))], slots: rule.slots });
  }
  return out;
}

/** Cuts each run of a character to one ("killlll" -> "kil"): how the gate reads repeated letters. */
export function squeeze(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) if (i === 0 || s[i] !== s[i - 1]) out += s[i];
  return out;
}

/**
 * An automaton over patterns whose runs of a character are cut to one, walked the same way
 * (squeezing). Its patterns are one word each, " form " or " prefix", and a form is compiled
 * without its closing space: it is reported when a space is read at the state of its last
 * letter, not at a state of its own. A state per form, each behaving as the start does, would
 * otherwise be most of the states, and take their count past what 16-bit transitions hold.
 * States from firstOut on have patterns ending there; from firstAnchor on, a prefix among them.
 * Its transitions are held as sparse rows (sparse-dfa.ts): the dense table was most of the
 * compiled engine's typed arrays, nearly all of it copies of the root's row.
 */
interface SqueezedDfa extends SparseRows {
  readonly symbolOf: Uint8Array | Uint16Array;
  readonly space: number;
  readonly firstOut: number;
  readonly start: number;
  readonly firstAnchor: number;
  readonly outStart: Uint16Array | Uint32Array;
  readonly patternIds: Uint16Array | Uint32Array;
}

function squeezedDfa(patterns: readonly string[], isPrefix: (id: number) => boolean, options?: DfaOptions): SqueezedDfa {
  const { symbolOf, space, start, firstOut, firstAnchor, outStart, patternIds, delta, alphabet } = compileDfa(patterns, isPrefix, options);
  return { symbolOf, space, start, firstOut, firstAnchor, outStart, patternIds, ...sparseRows(squeezing(delta, alphabet), alphabet, options?.wide) };
}

/** walkPlain's answers. */
const SHUT = 0;
const OPEN = 1;
const NOT_PLAIN = 2;

/** ASCII characters as walkPlain reads them. */
const SEPARATOR = 0;
const LETTER = 1;
const DIGIT = 2;
const FOLDS_AROUND = 3;
const PLAIN = new Uint8Array(128);
for (let c = 0x61; c <= 0x7a; c++) PLAIN[c] = PLAIN[c - 0x20] = LETTER;
for (let c = 0x30; c <= 0x39; c++) PLAIN[c] = DIGIT;
for (const ch of "'@$") PLAIN[ch.charCodeAt(0)] = FOLDS_AROUND;
/** Leetspeak digits in a word with letters, as foldText reads them (indexed by the code | 0x20, which leaves digits as they are). */
const LEET_LETTER = new Uint8Array(128);
for (const [digit, letter] of Object.entries({ 0: 'o', 1: 'i', 3: 'e', 4: 'a', 5: 's', 7: 't' })) LEET_LETTER[digit.charCodeAt(0)] = letter.charCodeAt(0);

export class AddressGate {
  private readonly rules: number;
  private readonly words: SqueezedDfa;
  /** Per pattern of `words`, 1 for a prefix (reported where it ends), 0 for a form (reported at the space after it). */
  private readonly patternIsPrefix: Uint8Array;
  /** Per pattern of `words`, the word ids it stands for: patternWordIds[patternWordStart[p] .. patternWordStart[p + 1]). */
  private readonly patternWordStart: Counts;
  private readonly patternWordIds: Counts;
  /** Per word id, the rules it wakes (wakeIds, as above). */
  private readonly wakeStart: Counts;
  private readonly wakeIds: Counts;
  /** Per rule, its distinct slots: ruleSlots[ruleSlotStart[r] .. ruleSlotStart[r + 1]). */
  private readonly ruleSlotStart: Counts;
  private readonly ruleSlots: Counts;
  /** Per word id, the alternatives (of any slot) it is a word of (altsOfWordIds, as above). */
  private readonly altsOfWordStart: Counts;
  private readonly altsOfWordIds: Counts;
  /** Per alternative, how many distinct words it has, and its slot. */
  private readonly altNeed: Counts;
  private readonly altSlot: Counts;
  /**
   * Stamped with the walk that last found a word, checked a rule, found a word of an
   * alternative (altFound counts them), or found all the words of an alternative of a slot.
   */
  private readonly wordStamp: Int32Array;
  private readonly ruleStamp: Int32Array;
  private readonly altStamp: Int32Array;
  private readonly altFound: Counts;
  private readonly slotStamp: Int32Array;
  /** The word ids found in this walk, in the order found: found[0 .. foundCount). */
  private readonly found: Int32Array;
  private foundCount = 0;
  private gen = 0;

  constructor(lists: AnchorLists, rules: readonly GateRule[], options?: DfaOptions) {
    // Every word of every positive rule; a rule's anchors are among them.
    const wanted = new Set<number>();
    for (const r of rules) for (const slot of r.slots) for (const alt of slot) for (const id of alt) wanted.add(id);
    this.rules = rules.length;
    // Patterns of the same word ids, their runs cut; two spellings may become one.
    const byPattern = new Map<string, Set<number>>();
    lists.patterns.forEach((p, i) => {
      const ids = lists.patternWords[i]!.filter((id) => wanted.has(id));
      if (ids.length === 0) return;
      const q = squeeze(p);
      const set = byPattern.get(q);
      if (set === undefined) byPattern.set(q, new Set(ids));
      else for (const id of ids) set.add(id);
    });
    const squeezed = [...byPattern.keys()];
    this.patternIsPrefix = Uint8Array.from(squeezed, (p) => (p.endsWith(' ') ? 0 : 1));
    this.words = squeezedDfa(squeezed.map((p) => (p.endsWith(' ') ? p.slice(0, -1) : p)), (id) => this.patternIsPrefix[id] === 1, options);
    [this.patternWordStart, this.patternWordIds] = flatten([...byPattern.values()].map((s) => [...s]));
    const wake: number[][] = Array.from({ length: lists.words.length }, () => []);
    rules.forEach((r, ri) => {
      for (const id of r.anchors) wake[id]!.push(ri);
    });
    [this.wakeStart, this.wakeIds] = flatten(wake);
    // A slot many rules share (a class) is one slot, and is worked out once a walk.
    const slotIndex = new Map<readonly (readonly number[])[], number>();
    const altsOf: number[][] = Array.from({ length: lists.words.length }, () => []);
    const altNeed: number[] = [];
    const altSlot: number[] = [];
    const ruleSlots = rules.map((r) => r.slots.map((slot) => {
      let si = slotIndex.get(slot);
      if (si === undefined) {
        slotIndex.set(slot, (si = slotIndex.size));
        for (const alt of slot) {
          const words = new Set(alt);
          for (const id of words) altsOf[id]!.push(altNeed.length);
          altNeed.push(words.size);
          altSlot.push(si);
        }
      }
      return si;
    }));
    [this.ruleSlotStart, this.ruleSlots] = flatten(ruleSlots);
    [this.altsOfWordStart, this.altsOfWordIds] = flatten(altsOf);
    this.altNeed = counts(altNeed);
    this.altSlot = counts(altSlot);
    this.wordStamp = new Int32Array(lists.words.length);
    this.ruleStamp = new Int32Array(rules.length);
    this.altStamp = new Int32Array(altNeed.length);
    // Counts up to the alternative's need, so as wide as altNeed.
    this.altFound = this.altNeed.slice().fill(0);
    this.slotStamp = new Int32Array(slotIndex.size);
    this.found = new Int32Array(lists.words.length);
  }

  /** Bytes held by the automaton and the rules' tables. */
  get bytes(): number {
    const { symbolOf, root, base, cells, outStart, patternIds } = this.words;
    const tables = [
      symbolOf, root, base, cells, outStart, patternIds, this.patternIsPrefix, this.patternWordStart, this.patternWordIds,
      this.wakeStart, this.wakeIds, this.ruleSlotStart, this.ruleSlots, this.altsOfWordStart, this.altsOfWordIds,
      this.altNeed, this.altSlot, this.wordStamp, this.ruleStamp, this.altStamp, this.altFound, this.slotStamp, this.found,
    ];
    return tables.reduce((n, t) => n + t.byteLength, 0);
  }

  /**
   * The path's words read as the full reading reads them (readCharacters, then foldText), when
   * they could match a positive rule; null when they surely cannot.
   */
  read(raw: string, emoji: EmojiMap): string | null {
    if (this.rules === 0) return null;
    const plain = this.walkPlain(raw);
    if (plain === SHUT) return null;
    const text = foldText(readCharacters(raw, emoji));
    return plain === OPEN || this.mayMatch(text) ? text : null;
  }

  /** Whether text already read and folded could match a positive rule. */
  mayMatch(text: string): boolean {
    if (this.rules === 0) return false;
    const gen = this.nextWalk();
    const { symbolOf, root, base, cells, firstOut, firstAnchor } = this.words;
    const symbols = symbolOf.length;
    let state = this.words.start;
    let length = 0;
    let singles = 0;
    for (let i = 0; i <= text.length; i++) {
      const c = i < text.length ? text.charCodeAt(i) : SPACE;
      if (c !== SPACE) length++;
      else {
        if (state >= firstOut) this.note(state, gen, 0);
        // Three one-letter words in a row may be joined into any word: read in full.
        singles = length === 1 ? singles + 1 : 0;
        if (singles >= 3) {
          this.foundCount = 0;
          return true;
        }
        length = 0;
      }
      const sym = c < symbols ? symbolOf[c]! : 0;
      const cell = base[state]! + 2 * sym;
      state = cells[cell] === state ? cells[cell + 1]! : root[sym]!;
      if (state >= firstAnchor) this.note(state, gen, 1);
    }
    return this.wakes(gen);
  }

  /**
   * The walk of `raw` as foldText would fold it, when it is ASCII without ' @ $ (whose folding
   * depends on the characters around them): a word is a run of letters and digits, lower-cased,
   * its leetspeak digits read as letters when it has a letter. SHUT or OPEN; else NOT_PLAIN.
   */
  private walkPlain(raw: string): number {
    const gen = this.nextWalk();
    const { symbolOf, root, base, cells, firstOut, firstAnchor, space } = this.words;
    const symbols = symbolOf.length;
    const n = raw.length;
    let state = this.words.start;
    let emitted = false;
    let singles = 0;
    let i = 0;
    for (;;) {
      let c = 0;
      for (; i < n; i++) {
        c = raw.charCodeAt(i);
        if (c > 127 || PLAIN[c] === FOLDS_AROUND) return this.abandon();
        if (PLAIN[c] !== SEPARATOR) break;
      }
      if (i >= n) break;
      const from = i;
      let letters = false;
      for (; i < n; i++) {
        c = raw.charCodeAt(i);
        if (c > 127) return this.abandon();
        const k = PLAIN[c]!;
        if (k === SEPARATOR) break;
        if (k === FOLDS_AROUND) return this.abandon();
        if (k === LETTER) letters = true;
      }
      singles = i - from === 1 ? singles + 1 : 0;
      if (singles >= 3) {
        this.foundCount = 0;
        return OPEN;
      }
      if (emitted) {
        if (state >= firstOut) this.note(state, gen, 0);
        const cell = base[state]! + 2 * space;
        state = cells[cell] === state ? cells[cell + 1]! : root[space]!;
        if (state >= firstAnchor) this.note(state, gen, 1);
      }
      emitted = true;
      for (let j = from; j < i; j++) {
        c = raw.charCodeAt(j) | 0x20;
        if (letters && LEET_LETTER[c] !== 0) c = LEET_LETTER[c]!;
        const sym = c < symbols ? symbolOf[c]! : 0;
        const cell = base[state]! + 2 * sym;
        state = cells[cell] === state ? cells[cell + 1]! : root[sym]!;
        if (state >= firstAnchor) this.note(state, gen, 1);
      }
    }
    if (emitted && state >= firstOut) this.note(state, gen, 0);
    return this.wakes(gen) ? OPEN : SHUT;
  }

  /** A new generation for the stamps, which are cleared when it would overflow them. */
  private nextWalk(): number {
    if (this.gen === 0x7fffffff) {
      this.gen = 0;
      for (const a of [this.wordStamp, this.ruleStamp, this.altStamp, this.slotStamp]) a.fill(0);
    }
    this.foundCount = 0;
    return ++this.gen;
  }

  private abandon(): number {
    this.foundCount = 0;
    return NOT_PLAIN;
  }

  /**
   * Notes the words of the prefixes (prefix 1) or the forms (prefix 0) that end at an accepting
   * state, and the slots they complete an alternative of.
   */
  private note(state: number, gen: number, prefix: number): void {
    const { firstOut, outStart, patternIds } = this.words;
    const { patternIsPrefix, patternWordStart, patternWordIds, wordStamp, found, altsOfWordStart, altsOfWordIds, altStamp, altFound, altNeed } = this;
    for (let o = outStart[state - firstOut]!, end = outStart[state - firstOut + 1]!; o < end; o++) {
      const p = patternIds[o]!;
      if (patternIsPrefix[p] !== prefix) continue;
      for (let w = patternWordStart[p]!, wEnd = patternWordStart[p + 1]!; w < wEnd; w++) {
        const id = patternWordIds[w]!;
        if (wordStamp[id] === gen) continue;
        wordStamp[id] = gen;
        found[this.foundCount++] = id;
        for (let k = altsOfWordStart[id]!, kEnd = altsOfWordStart[id + 1]!; k < kEnd; k++) {
          const a = altsOfWordIds[k]!;
          if (altStamp[a] !== gen) {
            altStamp[a] = gen;
            altFound[a] = 0;
          }
          if (++altFound[a]! === altNeed[a]) this.slotStamp[this.altSlot[a]!] = gen;
        }
      }
    }
  }

  /** Whether a rule woken by a word found in this walk has every slot; empties the found words. */
  private wakes(gen: number): boolean {
    const count = this.foundCount;
    this.foundCount = 0;
    for (let f = 0; f < count; f++) {
      const id = this.found[f]!;
      for (let k = this.wakeStart[id]!, end = this.wakeStart[id + 1]!; k < end; k++) {
        const ri = this.wakeIds[k]!;
        if (this.ruleStamp[ri] === gen) continue;
        this.ruleStamp[ri] = gen;
        if (this.hasEverySlot(ri, gen)) return true;
      }
    }
    return false;
  }

  /** Whether every slot of the rule has an alternative all of whose words were found. */
  private hasEverySlot(ri: number, gen: number): boolean {
    for (let k = this.ruleSlotStart[ri]!, end = this.ruleSlotStart[ri + 1]!; k < end; k++) if (this.slotStamp[this.ruleSlots[k]!] !== gen) return false;
    return true;
  }
}

/**
 * Ids, counts and offsets into the gate's tables, none negative: each table is as narrow as
 * its largest number allows, for the shipped lists mostly 16 bits, half what Int32 takes.
 */
type Counts = Uint8Array | Uint16Array | Int32Array;

export function counts(values: ArrayLike<number>): Counts {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]!);
  const out = max < 0x100 ? new Uint8Array(values.length) : max < 0x10000 ? new Uint16Array(values.length) : new Int32Array(values.length);
  out.set(values);
  return out;
}

/** Lists of numbers as one array of them, and where each list starts (the last start is the end). */
function flatten(lists: readonly (readonly number[])[]): [Counts, Counts] {
  const start: number[] = [];
  const all: number[] = [];
  for (const l of lists) {
    start.push(all.length);
    for (const x of l) all.push(x);
  }
  start.push(all.length);
  return [counts(start), counts(all)];
}

/**
 * The automaton walked over a text with every run of a character cut to one: a state reached
 * by reading a character stays where it is when the same character comes again. (Every edge
 * into a state of an Aho–Corasick automaton reads the same symbol, the last of the state's
 * string; the root, where symbol 0 also leads, is left as it is.)
 */
function squeezing(delta: Uint16Array | Uint32Array, alphabet: number): Uint16Array | Uint32Array {
  const out = delta.slice();
  const states = delta.length / alphabet;
  const last = new Int32Array(states).fill(-1);
  for (let s = 0; s < states; s++) {
    for (let sym = 1; sym < alphabet; sym++) {
      const t = delta[s * alphabet + sym]!;
      if (t !== 0) last[t] = sym;
    }
  }
  for (let s = 1; s < states; s++) if (last[s]! > 0) out[s * alphabet + last[s]!] = s;
  return out;
}
