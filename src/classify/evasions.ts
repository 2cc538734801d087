// Reading text the way a pupil hides it from a filter: "s u i c i d e", "s.u.i.c.i.d.e",
// "dieeeee", a Cyrillic "а" in "kіll", an emoji for a word, "suicde". Each repair is made only
// when it turns an unknown token into a word the phrase lists know, so ordinary text is left
// as it is, and each is reported so a DSL can see how the text was read.
//
// Leetspeak, accents and fullwidth letters are foldText's work; this runs before and after it.
import { englishWords, isEnglishWord, isIrregularForm } from './english.js';
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
  readonly kind: 'spaced letters' | 'repeated letters' | 'misspelling';
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
  const set = new Set(prefixes.filter((p) => p.length >= 4));
  if (set.size === 0) return [];
  const lengths = [...new Set([...set].map((p) => p.length))];
  const out: string[] = [];
  for (const w of Object.keys(englishWords())) {
    if (w.length < FUZZY_MIN || !/^[a-z]+$/.test(w)) continue;
    if (lengths.some((n) => w.length >= n && set.has(w.slice(0, n)))) out.push(w);
  }
  return out;
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
        repairs.push({ from: tokens.slice(i, j).join(' '), to: joined.word, kind: 'spaced letters' });
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

/** Joins a run of letters into a known word; a leading "i" or "a" may be a word of its own. */
function joinRun(run: readonly string[], vocab: Vocabulary): { before: string[]; word: string } | null {
  for (let start = 0; start <= 1 && run.length - start >= 3; start++) {
    if (start === 1 && run[0] !== 'i' && run[0] !== 'a') break;
    const word = run.slice(start).join('');
    const known = vocab.known(word) ? word : squeezed(word, vocab);
    if (known) return { before: run.slice(0, start), word: known };
  }
  return null;
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

/** Index of listed forms by their one-letter deletions (symmetric delete), for one-edit lookups. */
export class NearIndex {
  private readonly byDeletion = new Map<string, string[]>();
  private readonly forms = new Set<string>();

  add(form: string): void {
    if (form.length < FUZZY_MIN || this.forms.has(form)) return;
    this.forms.add(form);
    for (const d of deletions(form)) {
      const list = this.byDeletion.get(d);
      if (list === undefined) this.byDeletion.set(d, [form]);
      else if (!list.includes(form)) list.push(form);
    }
  }

  /**
   * The single listed form one edit (a letter added, dropped, changed, or two swapped) from
   * the token, or null when there is none or more than one word would fit.
   */
  nearest(token: string): string | null {
    const found = new Set<string>();
    for (const d of [token, ...deletions(token)]) {
      if (d !== token && this.forms.has(d)) found.add(d);
      for (const f of this.byDeletion.get(d) ?? []) if (f !== token && oneEdit(token, f)) found.add(f);
    }
    return found.size === 1 ? [...found][0]! : null;
  }

  get size(): number {
    return this.forms.size;
  }
}

function deletions(w: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < w.length; i++) out.push(w.slice(0, i) + w.slice(i + 1));
  return out;
}

/** Damerau distance exactly one (adjacent swap counts as one). */
function oneEdit(a: string, b: string): boolean {
  if (a === b) return false;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/** foldText after readCharacters: the form every engine input is matched in. */
export function foldForMatching(raw: string, emoji: EmojiMap): string {
  return foldText(readCharacters(raw, emoji));
}
