// Reading text the way a pupil hides it from a filter: "s u i c i d e", "s.u.i.c.i.d.e",
// "dieeeee", a Cyrillic "а" in "kіll", an emoji for a word, "suicde". Each repair is made only
// when it turns an unknown token into a word the phrase lists know, so ordinary text is left
// as it is, and each is reported so a DSL can see how the text was read.
//
// Leetspeak, accents and fullwidth letters are foldText's work; this runs before and after it.
import { englishWordsStartingWith, isEnglishWord, isIrregularForm } from './english.js';
import { foldText, isAscii } from './normalise-text.js';

/** Letters from other scripts that look like Latin ones, as filter evaders use them. */
const CONFUSABLE: Readonly<Record<string, string>> = {
  // Cyrillic
  'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't', 'у': 'y',
  'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ɡ': 'g', 'ո': 'n', 'ս': 'u', 'ӏ': 'l',
  'А': 'a', 'В': 'b', 'Е': 'e', 'К': 'k', 'М': 'm', 'Н': 'h', 'О': 'o', 'Р': 'p', 'С': 'c', 'Т': 't', 'Х': 'x', 'І': 'i', 'Ј': 'j', 'Ѕ': 's',
  // Greek
  'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w',
  'Α': 'a', 'Β': 'b', 'Ε': 'e', 'Η': 'h', 'Ι': 'i', 'Κ': 'k', 'Μ': 'm', 'Ν': 'n', 'Ο': 'o', 'Ρ': 'p', 'Τ': 't', 'Υ': 'y', 'Χ': 'x',
};
const CONFUSABLE_RE = new RegExp(`[${Object.keys(CONFUSABLE).join('')}]`, 'g');
const HAS_CONFUSABLE = new RegExp(`[${Object.keys(CONFUSABLE).join('')}]`);
/** Zero-width characters and the soft hyphen, which split a word without showing. */
const INVISIBLE_RE = /[\u00ad\u200b-\u200d\u2060\ufeff\u180e]/g;

export interface EmojiMap {
  /** Longest first, so a sequence wins over its first symbol. */
  readonly symbols: readonly string[];
  readonly words: ReadonlyMap<string, string>;
  readonly pattern: RegExp | null;
}

export function emojiMap(entries: readonly { emoji: string; words: string }[]): EmojiMap {
  const words = new Map<string, string>();
  for (const e of entries) words.set(e.emoji, e.words);
  const symbols = [...words.keys()].sort((a, b) => b.length - a.length);
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Variation selectors may sit anywhere in a sequence as typed; the map's keys have none.
  const pattern = symbols.length === 0 ? null : new RegExp(`(?:${symbols.map((s) => [...s].map(escape).join('\ufe0f?')).join('|')})\ufe0f?`, 'gu');
  return { symbols, words, pattern };
}

/**
 * The characters of an evasion put back: invisible characters dropped, look-alike letters read
 * as Latin, emoji read as the words they stand for. ASCII text comes back as it is.
 */
export function readCharacters(raw: string, emoji: EmojiMap): string {
  if (isAscii(raw)) return raw;
  // Emoji first: a joined emoji ("❤️‍🩹") holds a zero-width joiner that is part of its name.
  let t = emoji.pattern ? raw.replace(emoji.pattern, (m) => ` ${emoji.words.get(m.replace(/\ufe0f/g, '')) ?? ''} `) : raw;
  t = t.replace(INVISIBLE_RE, '');
  // Only in a word that also has Latin letters, or is all look-alikes: Polish, Greek and
  // Russian words written in their own script are left alone otherwise.
  return t.replace(/[\p{L}\p{M}]+/gu, (word) => (HAS_CONFUSABLE.test(word) ? mixedOrAllConfusable(word) : word));
}

function mixedOrAllConfusable(word: string): string {
  const latin = /[a-z]/i.test(word);
  const rest = word.replace(CONFUSABLE_RE, '');
  if (!latin && /\p{L}/u.test(rest)) return word;
  return word.replace(CONFUSABLE_RE, (ch) => CONFUSABLE[ch] ?? ch);
}

/** What the engine knows: whether a token is a form in the lists, and the lists' forms within one edit. */
export interface Vocabulary {
  known(token: string): boolean;
  /** A listed form one edit from the token, or null. */
  nearest(token: string): string | null;
}

export interface Repair {
  readonly from: string;
  readonly to: string;
  readonly kind: 'spaced letters' | 'repeated letters' | 'misspelling' | 'masked letters';
}

const FUZZY_MIN = 5;

/**
 * Whether a token is English as written or as an inflection of an English word ("nukes",
 * "poems", "milked", "bellies", "knives"): WordNet lists base forms, and a plural must not be
 * "corrected" into a listed word ("nukes" is not "nudes").
 */
export function isEnglishForm(t: string): boolean {
  if (isEnglishWord(t) || isIrregularForm(t)) return true;
  for (const base of baseCandidates(t)) if (base.length >= 2 && isEnglishWord(base)) return true;
  return false;
}

/** What a regular inflection could have been made from: "bellies" -> belly, "stopped" -> stop. */
function baseCandidates(t: string): string[] {
  const out: string[] = [];
  const strip = (suffix: string, ...adds: string[]): void => {
    if (!t.endsWith(suffix) || t.length <= suffix.length + 1) return;
    const stem = t.slice(0, -suffix.length);
    out.push(stem, ...adds.map((a) => stem + a));
    // A doubled last letter ("stopped", "running").
    if (stem.length > 2 && stem[stem.length - 1] === stem[stem.length - 2]) out.push(stem.slice(0, -1));
  };
  strip('s');
  strip('es');
  strip('ies', 'y');
  strip('ied', 'y');
  strip('ed', 'e');
  strip('d');
  strip('ing', 'e');
  strip('er', 'e');
  strip('ers', 'e');
  strip('est', 'e');
  strip('ly');
  strip('ness');
  return out;
}

/**
 * English words that start with one of the prefixes ("suicid" -> suicide, suicidal), so a typo
 * of a word a prefix rule covers ("suicde") can be read back too.
 */
export function englishWordsWithPrefix(prefixes: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of new Set(prefixes)) {
    if (p.length < 4) continue;
    for (const w of englishWordsStartingWith(p)) if (w.length >= FUZZY_MIN && /^[a-z]+$/.test(w)) out.add(w);
  }
  return [...out];
}

/**
 * Repairs the tokens of folded text. `fuzzy` allows one-edit corrections (searches; pages and
 * addresses are left to the exact forms). Returns the text as read and what was repaired.
 */
export function repairTokens(folded: string, vocab: Vocabulary, fuzzy: boolean): { text: string; repairs: Repair[] } {
  if (folded === '') return { text: folded, repairs: NO_REPAIRS };
  const tokens = folded.split(' ');
  const out: string[] = [];
  const repairs: Repair[] = [];
  for (let i = 0; i < tokens.length;) {
    // A run of single letters: "k i l l", "s.u.i.c.i.d.e" (folded to spaces).
    let j = i;
    while (j < tokens.length && tokens[j]!.length === 1) j++;
    if (j - i >= 3) {
      const joined = joinRun(tokens.slice(i, j), vocab);
      if (joined) {
        out.push(...joined.before, joined.word);
        repairs.push({ from: tokens.slice(i, j).join(' '), to: joined.several ? [...joined.before, joined.word].join(' ') : joined.word, kind: 'spaced letters' });
        i = j;
        continue;
      }
    }
    const t = tokens[i]!;
    const fixed = vocab.known(t) ? null : repairToken(t, vocab, fuzzy);
    if (fixed) {
      out.push(fixed.to);
      repairs.push(fixed);
    } else out.push(t);
    i++;
  }
  return repairs.length === 0 ? { text: folded, repairs: NO_REPAIRS } : { text: out.join(' '), repairs };
}

const NO_REPAIRS: Repair[] = [];

/**
 * A search as the lists read it: characters read (emoji, look-alikes), masked letters read back
 * ("k*ll", "su*cide", "k!ll"), folded, then its tokens repaired (spaced and repeated letters,
 * typos). `folded`: foldText(raw) when the caller has it already.
 */
export function readSearch(raw: string, folded: string | undefined, emoji: EmojiMap, vocab: Vocabulary): { text: string; repairs: Repair[] } {
  const chars = readCharacters(raw, emoji);
  const unmasked = MASK_RE.test(chars) ? unmaskWords(chars, vocab) : null;
  const text = unmasked !== null ? foldText(unmasked.text) : chars === raw && folded !== undefined ? folded : foldText(chars);
  const read = repairTokens(text, vocab, true);
  return unmasked === null ? read : { text: read.text, repairs: [...unmasked.repairs, ...read.repairs] };
}

/** A character standing for a hidden letter inside a word: "*" and "#" for any, "!" for i or l. */
const MASK_RE = /[*#!]/;
/** A word with letters hidden in it, letters on both sides of each hidden run: "k*ll", "n*d*s". */
const MASKED_WORD_RE = /[\p{L}\p{N}]+(?:[*#!]+[\p{L}\p{N}]+)+/gu;
/** Most letters hidden in one word that are guessed. */
const MAX_MASKED = 2;
const VOWELS = [...'aeiouy'];
const CONSONANTS = [...'bcdfghjklmnpqrstvwxz'];

/**
 * Words with hidden letters read as the one listed word they can be: the vowels are tried first
 * (a word is masked at its vowel: "k*ll", "s*x", "n*des"), then the consonants; a word is read
 * only when one filling at that step is a listed form, or, of several, only one is English
 * ("su*cide": suicide, not the listed misspelling "suecide"). "d*e" (die, due and dye are all
 * listed and English) and "s*x" (sex, six) stay as they are. Null when nothing was read.
 */
function unmaskWords(text: string, vocab: Vocabulary): { text: string; repairs: Repair[] } | null {
  const repairs: Repair[] = [];
  const out = text.replace(MASKED_WORD_RE, (word) => {
    const lower = word.toLowerCase();
    const masks = [...lower].filter((ch) => MASK_RE.test(ch)).length;
    if (masks > MAX_MASKED || lower.length > 30) return word;
    for (const letters of [VOWELS, CONSONANTS]) {
      const found = new Set<string>();
      for (const filled of fillings(lower, letters)) {
        const f = foldText(filled);
        if (f !== '' && !f.includes(' ') && vocab.known(f)) found.add(f);
      }
      if (found.size === 0) continue;
      // The lists also hold common misspellings ("suecide"): of several, the one English word.
      const english = found.size === 1 ? [...found] : [...found].filter(isEnglishForm);
      if (english.length !== 1) return word;
      repairs.push({ from: word, to: english[0]!, kind: 'masked letters' });
      return english[0]!;
    }
    return word;
  });
  return repairs.length === 0 ? null : { text: out, repairs };
}

/** Every way of writing `word` with each mask replaced: "!" by i or l (as leetspeak writes them), "*" and "#" by one of `letters`. */
function* fillings(word: string, letters: readonly string[], from = 0): Generator<string> {
  let i = from;
  while (i < word.length && !MASK_RE.test(word[i]!)) i++;
  if (i === word.length) {
    yield word;
    return;
  }
  for (const ch of word[i] === '!' ? ['i', 'l'] : letters) yield* fillings(word.slice(0, i) + ch + word.slice(i + 1), letters, i + 1);
}

/**
 * Joins a run of letters into a known word; a leading "i" or "a" may be a word of its own. A run
 * that is no one word may be several, when the whole query was spaced out ("h o w t o k i l l m
 * y s e l f"): it is read as the fewest known words that make it up exactly, or not at all.
 */
function joinRun(run: readonly string[], vocab: Vocabulary): { before: string[]; word: string; several?: true } | null {
  for (let start = 0; start <= 1 && run.length - start >= 3; start++) {
    if (start === 1 && run[0] !== 'i' && run[0] !== 'a') break;
    const word = run.slice(start).join('');
    const known = vocab.known(word) ? word : squeezed(word, vocab);
    if (known) return { before: run.slice(0, start), word: known };
  }
  const words = segmented(run.join(''), vocab);
  return words === null ? null : { before: words.slice(0, -1), word: words[words.length - 1]!, several: true };
}

/** Letters of one word on their own: "i", "a", "u" (text-speak "you"). */
const LETTER_WORDS = new Set(['i', 'a', 'u']);
/** Longest run read as several words: beyond it the search is not worth its cost. */
const MAX_SEGMENTED = 64;
/** Longest word looked for inside a run. */
const MAX_SEGMENT = 24;

/**
 * `letters` split into the fewest words the vocabulary knows (or one-letter words), ties going to
 * the split whose first words are longest; null when there is no such split, or only one word.
 * At least one word must be of four letters or more, so "u s a" stays letters.
 */
function segmented(letters: string, vocab: Vocabulary): string[] | null {
  const n = letters.length;
  if (n < 4 || n > MAX_SEGMENTED) return null;
  // fewest[k]: fewest words making up letters[k..]; next[k]: where the first of them ends.
  const fewest = new Int32Array(n + 1).fill(-1);
  const next = new Int32Array(n + 1);
  fewest[n] = 0;
  for (let k = n - 1; k >= 0; k--) {
    for (let end = Math.min(n, k + MAX_SEGMENT); end > k; end--) {
      if (fewest[end]! < 0) continue;
      const w = letters.slice(k, end);
      if (w.length === 1 ? !LETTER_WORDS.has(w) : !vocab.known(w)) continue;
      if (fewest[k]! < 0 || fewest[end]! + 1 < fewest[k]!) {
        fewest[k] = fewest[end]! + 1;
        next[k] = end;
      }
    }
  }
  if (fewest[0]! < 2) return null;
  const words: string[] = [];
  for (let k = 0; k < n; k = next[k]!) words.push(letters.slice(k, next[k]!));
  return words.some((w) => w.length >= 4) ? words : null;
}

function repairToken(t: string, vocab: Vocabulary, fuzzy: boolean): Repair | null {
  if (!/^[a-z]+$/.test(t)) return null;
  const s = squeezed(t, vocab);
  if (s) return { from: t, to: s, kind: 'repeated letters' };
  if (!fuzzy || t.length < FUZZY_MIN || isEnglishForm(t)) return null;
  const near = vocab.nearest(t);
  return near ? { from: t, to: near, kind: 'misspelling' } : null;
}

/** "dieeee" -> "die", "killlll" -> "kill", "kmsss" -> "kms": runs of a letter cut to two, then to one. */
function squeezed(t: string, vocab: Vocabulary): string | null {
  if (!/(.)\1/.test(t)) return null;
  const two = t.replace(/(.)\1{2,}/g, '$1$1');
  if (two !== t && vocab.known(two)) return two;
  const one = t.replace(/(.)\1+/g, '$1');
  if (vocab.known(one)) return one;
  return null;
}

/**
 * Index of listed forms by their one-letter deletions (symmetric delete), for one-edit lookups.
 * It is kept in typed arrays: the forms' characters end to end, and open-addressed tables of
 * the hashes of the forms and of their deletions. A hash only points at forms to try, each
 * checked letter by letter, so two strings of one hash never mix up words; and no string is
 * held per deletion (the index covers tens of thousands of words, each with a deletion per letter).
 */
export class NearIndex {
  /** Forms added since the tables were last built. */
  private pending: string[] = [];
  /** Form f is chars[start[f] .. start[f + 1]). */
  private chars = new Uint16Array(0);
  private start = new Int32Array(1);
  /**
   * Per slot, a form's index + 1 (0: empty), at the slot its hash starts probing from; 16-bit
   * while the forms are fewer than 65,535, as the lists' are (a few thousand).
   */
  private formSlots: Uint16Array | Int32Array = new Int32Array(1);
  /** Per slot, the form whose deletion has the hash in deletionHash (+ 1; 0: empty), as wide as formSlots. */
  private deletionForm: Uint16Array | Int32Array = new Int32Array(1);
  private deletionHash = new Int32Array(1);

  add(form: string): void {
    if (form.length >= FUZZY_MIN) this.pending.push(form);
  }

  /**
   * The single listed form one edit (a letter added, dropped, changed, or two swapped) from
   * the token, or null when there is none or more than one word would fit.
   */
  nearest(token: string): string | null {
    this.build();
    let found = -1;
    const n = token.length;
    // A form the token less one letter is, or one whose deletion is the token or the token less one letter.
    for (let skip = -1; skip < n; skip++) {
      const h = hashSkipping(token, skip);
      if (skip >= 0) {
        const f = this.formOf(token, skip, h);
        if (f >= 0 && f !== found) {
          if (found >= 0) return null;
          found = f;
        }
      }
      const mask = this.deletionForm.length - 1;
      for (let k = mix(h) & mask; ; k = (k + 1) & mask) {
        const f = this.deletionForm[k]! - 1;
        if (f < 0) break;
        if (this.deletionHash[k] !== h || f === found || !this.oneEditFrom(token, f)) continue;
        if (found >= 0) return null;
        found = f;
      }
    }
    return found < 0 ? null : this.form(found);
  }

  get size(): number {
    this.build();
    return this.start.length - 1;
  }

  private form(f: number): string {
    return String.fromCharCode(...this.chars.subarray(this.start[f]!, this.start[f + 1]!));
  }

  /** The form that is the token without its letter at `skip` (whose hash is h), or -1. */
  private formOf(token: string, skip: number, h: number): number {
    const { chars, start, formSlots } = this;
    const mask = formSlots.length - 1;
    const length = token.length - 1;
    for (let k = mix(h) & mask; ; k = (k + 1) & mask) {
      const f = formSlots[k]! - 1;
      if (f < 0) return -1;
      const s = start[f]!;
      if (start[f + 1]! - s !== length) continue;
      let same = true;
      for (let i = 0, j = 0; i < token.length && same; i++) if (i !== skip) same = token.charCodeAt(i) === chars[s + j++];
      if (same) return f;
    }
  }

  /** Damerau distance exactly one between the token and form f (as oneEdit). */
  private oneEditFrom(a: string, f: number): boolean {
    const { chars } = this;
    const s = this.start[f]!;
    const lb = this.start[f + 1]! - s;
    const la = a.length;
    if (Math.abs(la - lb) > 1) return false;
    let i = 0;
    while (i < la && i < lb && a.charCodeAt(i) === chars[s + i]) i++;
    if (la === lb) {
      if (i === la) return false;
      if (tailsEqual(a, i + 1, chars, s + i + 1, la - i - 1)) return true;
      return i + 1 < la && a.charCodeAt(i) === chars[s + i + 1] && a.charCodeAt(i + 1) === chars[s + i] && tailsEqual(a, i + 2, chars, s + i + 2, la - i - 2);
    }
    return la > lb ? tailsEqual(a, i + 1, chars, s + i, la - i - 1) : tailsEqual(a, i, chars, s + i + 1, la - i);
  }

  /** Folds the forms added since into the tables (else the next look-up does). */
  build(): void {
    if (this.pending.length === 0) return;
    const forms = new Set<string>();
    for (let f = 0; f < this.start.length - 1; f++) forms.add(this.form(f));
    for (const form of this.pending) forms.add(form);
    this.pending = [];
    const list = [...forms];
    let total = 0;
    for (const form of list) total += form.length;
    this.chars = new Uint16Array(total);
    this.start = new Int32Array(list.length + 1);
    const slots = (n: number): Uint16Array | Int32Array => (list.length < 0xffff ? new Uint16Array(n) : new Int32Array(n));
    this.formSlots = slots(tableSize(list.length));
    this.deletionForm = slots(tableSize(total));
    this.deletionHash = new Int32Array(this.deletionForm.length);
    let at = 0;
    list.forEach((form, f) => {
      this.start[f] = at;
      for (let i = 0; i < form.length; i++) this.chars[at++] = form.charCodeAt(i);
      put(this.formSlots, null, hashSkipping(form, -1), f);
      for (let skip = 0; skip < form.length; skip++) put(this.deletionForm, this.deletionHash, hashSkipping(form, skip), f);
    });
    this.start[list.length] = at;
  }
}

/** FNV-1a of a string without its character at `skip` (-1: the whole string). */
function hashSkipping(s: string, skip: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) if (i !== skip) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

function mix(h: number): number {
  return (h ^ (h >>> 15)) >>> 0;
}

/** A power of two at least twice `entries`, so that an open-addressed table stays at most half full. */
function tableSize(entries: number): number {
  let size = 16;
  while (size < 2 * entries) size *= 2;
  return size;
}

function put(slots: Uint16Array | Int32Array, hashes: Int32Array | null, h: number, f: number): void {
  const mask = slots.length - 1;
  let k = mix(h) & mask;
  while (slots[k] !== 0) k = (k + 1) & mask;
  slots[k] = f + 1;
  if (hashes !== null) hashes[k] = h;
}

function tailsEqual(a: string, i: number, chars: Uint16Array, j: number, length: number): boolean {
  for (let q = 0; q < length; q++) if (a.charCodeAt(i + q) !== chars[j + q]) return false;
  return true;
}

/** foldText after readCharacters: the form every engine input is matched in. */
export function foldForMatching(raw: string, emoji: EmojiMap): string {
  return foldText(readCharacters(raw, emoji));
}
