// Reading text the way a pupil hides it from a filter: "s u i c i d e", "s.u.i.c.i.d.e",
// "dieeeee", a Cyrillic "а" in "kіll", an emoji for a word, "suicde", "killmyself". Each repair
// is made only when it turns an unknown token into a word the phrase lists know (or, for letters
// spaced out or written three times and more, which no spelling does, into an English word, so
// the context it gives still counts), so ordinary text is left as it is, and each is reported so
// a DSL can see how the text was read.
//
// Leetspeak, accents and fullwidth letters are foldText's work; this runs before and after it.
import { COMMON, englishWordEnds, englishWordsStartingWith, isEnglishWord, isIrregularForm } from './english.js';
import { respelled } from './child-spellings.js';
import { foldText, isAscii } from './normalise-text.js';

/**
 * Letters from other scripts that look like Latin ones, as filter evaders use them: Cyrillic,
 * Greek, Armenian, Cherokee, and the Latin small capitals and IPA letters (which NFKC leaves as
 * they are). A capital not listed is read as its small letter ("К" as "к", so "k").
 */
const CONFUSABLE: Readonly<Record<string, string>> = {
  // Cyrillic
  'а': 'a', 'в': 'b', 'ь': 'b', 'е': 'e', 'ё': 'e', 'є': 'e', 'г': 'r', 'һ': 'h', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'п': 'n',
  'р': 'p', 'с': 'c', 'т': 't', 'у': 'y', 'ү': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w',
  'ɡ': 'g', 'ո': 'n', 'ս': 'u', 'ӏ': 'l', 'ѵ': 'v', 'ԍ': 'g', 'ԃ': 'd', 'ԥ': 'p',
  'А': 'a', 'В': 'b', 'Е': 'e', 'К': 'k', 'М': 'm', 'Н': 'h', 'О': 'o', 'Р': 'p', 'С': 'c', 'Т': 't', 'Х': 'x', 'І': 'i', 'Ј': 'j',
  'Ѕ': 's', 'Ь': 'b', 'Ү': 'y', 'Ӏ': 'l', 'Ԛ': 'q', 'Ԝ': 'w',
  // Greek
  'α': 'a', 'β': 'b', 'ϲ': 'c', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x',
  'ω': 'w', 'γ': 'y', 'ϳ': 'j', 'μ': 'u', 'σ': 'o',
  'Α': 'a', 'Β': 'b', 'Ε': 'e', 'Ζ': 'z', 'Η': 'h', 'Ι': 'i', 'Κ': 'k', 'Μ': 'm', 'Ν': 'n', 'Ο': 'o', 'Ρ': 'p', 'Τ': 't', 'Υ': 'y',
  'Χ': 'x', 'Ϲ': 'c',
  // Armenian
  'օ': 'o', 'հ': 'h', 'ց': 'g', 'զ': 'q', 'ւ': 'l', 'ռ': 'n',
  // Latin small capitals and IPA letters
  'ɑ': 'a', 'ᴀ': 'a', 'ʙ': 'b', 'ᴄ': 'c', 'ᴅ': 'd', 'ᴇ': 'e', 'ɢ': 'g', 'ʜ': 'h', 'ɪ': 'i', 'ɩ': 'i', 'ᴊ': 'j', 'ᴋ': 'k', 'ʟ': 'l',
  'ᴍ': 'm', 'ɴ': 'n', 'ᴏ': 'o', 'ᴘ': 'p', 'ʀ': 'r', 'ꜱ': 's', 'ᴛ': 't', 'ᴜ': 'u', 'ᴠ': 'v', 'ᴡ': 'w', 'ʏ': 'y', 'ᴢ': 'z',
  // Cherokee capitals
  'Ꭺ': 'a', 'Ᏼ': 'b', 'Ꮯ': 'c', 'Ꭼ': 'e', 'Ꮐ': 'g', 'Ꮋ': 'h', 'Ꭻ': 'j', 'Ꮶ': 'k', 'Ꮮ': 'l', 'Ꮇ': 'm', 'Ꮲ': 'p', 'Ꮪ': 's',
  'Ꭲ': 't', 'Ꮩ': 'v', 'Ꮃ': 'w', 'Ꮓ': 'z',
};
/** The listed letters, and the capitals of the small ones that are not listed themselves. */
const CONFUSABLE_CHARS = [...new Set(Object.keys(CONFUSABLE).flatMap((ch) => [ch, ch.toUpperCase()]))].filter((ch) => [...ch].length === 1).join('');
const CONFUSABLE_RE = new RegExp(`[${CONFUSABLE_CHARS}]`, 'gu');
const HAS_CONFUSABLE = new RegExp(`[${CONFUSABLE_CHARS}]`, 'u');
const lookAlike = (ch: string): string => CONFUSABLE[ch] ?? CONFUSABLE[ch.toLowerCase()] ?? ch;
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
  return word.replace(CONFUSABLE_RE, lookAlike);
}

/** What the engine knows: whether a token is a form in the lists, and the lists' forms within one edit. */
export interface Vocabulary {
  known(token: string): boolean;
  /** A listed form one edit from the token, or null. */
  nearest(token: string): string | null;
  /** The lengths L >= min at which token[0 .. L) is a listed form, or a listed prefix; absent, known() is asked per length. */
  listedPieces?(token: string, min: number): { forms: number[]; prefixes: number[] };
}

/** vocab.listedPieces, or its answer from known() (which cannot tell a form from a prefix: all are forms). */
export function listedPieces(vocab: Vocabulary, token: string, min: number): { forms: number[]; prefixes: number[] } {
  if (vocab.listedPieces) return vocab.listedPieces(token, min);
  const forms: number[] = [];
  for (let l = min; l <= token.length; l++) if (vocab.known(token.slice(0, l))) forms.push(l);
  return { forms, prefixes: [] };
}

export interface Repair {
  readonly from: string;
  readonly to: string;
  readonly kind: 'spaced letters' | 'repeated letters' | 'misspelling' | 'masked letters' | 'words run together' | 'leetspeak' | 'sound spelling';
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
    const sound = fuzzy ? soundSpelling(t, tokens[i - 1] ?? '', tokens[i + 1] ?? '', vocab) : null;
    const fixed = sound ?? (vocab.known(t) ? null : repairToken(t, vocab, fuzzy));
    if (fixed) {
      out.push(fixed.to);
      repairs.push(fixed);
    } else out.push(t);
    i++;
  }
  return repairs.length === 0 ? { text: folded, repairs: NO_REPAIRS } : { text: out.join(' '), repairs };
}

const NO_REPAIRS: Repair[] = [];

/** A listed word that English does not have (and that is not itself a sound-spelling, "kil u"). */
function foreignNeighbour(w: string, vocab: Vocabulary): boolean {
  return w.length > 2 && vocab.known(w) && !isEnglishWord(w) && !COMMON.has(w) && respelled(w, '', '') === null;
}

/**
 * A child's sound-spelling of a short word ("kil", "ded", "wy", "nite"), which the one-edit
 * repair leaves alone under FUZZY_MIN letters: read from child-spellings.ts even where the lists
 * hold the spelling too (they hold "ded" and "kil" beside "dead" and "kill"). A word of one or two
 * letters is not read next to a word the lists hold that is not English: there it is that
 * language's own (Polish "u dziecka", "at a child's", is not "you").
 */
function soundSpelling(t: string, prev: string, next: string, vocab: Vocabulary): Repair | null {
  const to = respelled(t, prev, next);
  if (to === null || to === t) return null;
  if (t.length <= 2 && (foreignNeighbour(prev, vocab) || foreignNeighbour(next, vocab))) return null;
  return { from: t, to, kind: 'sound spelling' };
}

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
 * y s e l f"): it is read as the fewest words that make it up exactly, or not at all. A run that
 * is an English word of four letters or more the lists do not hold ("m e a n i n g", not "u s a")
 * is joined too, so the context it gives is read. Leetspeak digits in it are letters ("k 1 l l").
 */
function joinRun(spaced: readonly string[], vocab: Vocabulary): { before: string[]; word: string; several?: true } | null {
  // Leetspeak digits among the letters ("k 1 l l") are letters: foldText kept each as a number.
  const hasLetters = spaced.some((c) => /[a-z]/.test(c));
  const run = spaced.some((c) => c in LEET_DIGITS) ? spaced.map((c) => LEET_DIGITS[c] ?? c) : spaced;
  if (!hasLetters) {
    // Digits alone ("1 5 1 5") as the leetspeak of a listed word, as repairToken reads "1515".
    const word = run.join('');
    return /^[a-z]{4,}$/.test(word) && listedPieces(vocab, word, word.length).forms.length > 0 ? { before: [], word } : null;
  }
  for (let start = 0; start <= 1 && run.length - start >= 3; start++) {
    if (start === 1 && run[0] !== 'i' && run[0] !== 'a') break;
    const word = run.slice(start).join('');
    const known = vocab.known(word) ? word : squeezed(word, vocab);
    if (known) return { before: run.slice(0, start), word: known };
  }
  const letters = run.join('');
  if (letters.length >= 4 && isEnglishForm(letters)) return { before: [], word: letters };
  const words = segmented(letters, vocab);
  return words === null ? null : { before: words.slice(0, -1), word: words[words.length - 1]!, several: true };
}

/** Letters of one word on their own: "i", "a", "u" (text-speak "you"). */
const LETTER_WORDS = new Set(['i', 'a', 'u']);
/**
 * Words of two letters a run may hold: English ones only. The lists' own short words ("sh",
 * "ja", "al") would cut Polish and Urdu words, and names, into pieces.
 */
const SHORT_WORDS = new Set('an as at be by do go he if im in is it me my no of ok on or so to uk up ur us we ya yo'.split(' '));
/** "am" only after "i" ("iam" is two words): a Polish past tense ends in it ("mowilam", "zrobilam"). */
const I_AM = 'iam';
/** Longest run read as several words: beyond it the search is not worth its cost. */
const MAX_SEGMENTED = 64;
/** Longest word looked for inside a run. */
const MAX_SEGMENT = 24;

/** What a piece costs in a split: a word as listed or as WordNet has it, or one with an ending put on it. */
const WORD = 1;
const INFLECTED = 1.1;
/** Endings a listed prefix or an English word may take inside a run ("nazis", "asked", "making", "suicidal"). */
const ENDINGS = ['s', 'es', 'ed', 'ing', 'e', 'd', 'al', 'er', 'ers', 'y', 'ly', 'ion'];
const ENGLISH_ENDINGS = ['s', 'es', 'ed', 'ing'];

/**
 * The pieces of `letters` from k that may be words of their own, as their ends and costs: a short
 * English word, a common word, a form of the lists of four letters or more (their shorter words,
 * "kms" or "ana", are too often part of another, unless English too), or an English word of four
 * or more, as WordNet has it; and, at a little more cost, a listed prefix or an English word with
 * an ending ("christchurch shooting", not "christchurchs hooting"). Not isEnglishForm: a run is
 * cut in many places, and WordNet is walked once per start (englishWordEnds), not once per piece.
 */
function pieceEnds(letters: string, k: number, listed: { forms: readonly number[]; prefixes: readonly number[] }): Map<number, number> {
  const n = letters.length;
  const max = Math.min(n, k + MAX_SEGMENT);
  const out = new Map<number, number>();
  const add = (end: number, cost: number): void => {
    if (end <= max && !(out.get(end)! <= cost)) out.set(end, cost);
  };
  const withEndings = (end: number, endings: readonly string[]): void => {
    for (const e of endings) if (letters.startsWith(e, end)) add(end + e.length, INFLECTED);
  };
  if (LETTER_WORDS.has(letters[k]!)) add(k + 1, WORD);
  if (k + 2 <= n && SHORT_WORDS.has(letters.slice(k, k + 2))) add(k + 2, WORD);
  if (letters.startsWith(I_AM, k)) add(k + 3, 2 * WORD);
  for (let end = k + 3; end <= Math.min(max, k + MAX_COMMON); end++) if (COMMON.has(letters.slice(k, end))) add(end, WORD);
  const { ends, eEnds } = englishWordEnds(letters, k, max);
  // A listed form with an ending WordNet does not list as a word ("suicides", "howtos") costs as
  // one made here: "suicide squad", not "suicides quad".
  // Listed forms of three letters only if English as well ("cut", "gun"; not "kms" or "ana").
  for (const length of listed.forms) if (length >= 4 || (length === 3 && ends.includes(k + 3))) add(k + length, /(?:s|ed|ing)$/.test(letters.slice(k, k + length)) && !ends.includes(k + length) ? INFLECTED : WORD);
  for (const length of listed.prefixes) {
    add(k + length, INFLECTED);
    withEndings(k + length, ENDINGS);
  }
  for (const end of ends) {
    // WordNet's words of three letters are too many ("lam", "tab"): a Polish or Urdu word
    // would be cut into a listed word and one of them ("mowi lam"). With an ending they are
    // long enough ("eating").
    if (end - k >= 4) add(end, WORD);
    if (end - k >= 3) withEndings(end, ENGLISH_ENDINGS);
  }
  for (const end of eEnds) withEndings(end, ['ed', 'ing', 'ies', 'ied']);
  return out;
}

/** Longest of the COMMON words. */
const MAX_COMMON = Math.max(...[...COMMON].map((w) => w.length));

/**
 * `letters` split into the fewest words (pieceEnds; a word with an ending counts a little more),
 * ties going to the split whose first words are longest; null when there is no such split, only
 * one word, or no word of the lists of four letters or more in it (it would change nothing the
 * lists read, and "u s a" stays letters).
 */
export function segmented(letters: string, vocab: Vocabulary): string[] | null {
  return segmentation(letters, vocab)?.words ?? null;
}

/** segmented, with what the split costs (about one a word): of two readings of a token, the cheaper split wins. */
function segmentation(letters: string, vocab: Vocabulary): { words: string[]; cost: number } | null {
  const n = letters.length;
  if (n < 4 || n > MAX_SEGMENTED) return null;
  // The lists' forms and prefixes at each place (forms of four letters or more, prefixes of three:
  // "pic" reads "pictures"); none, and no split reads anything.
  const listed = Array.from({ length: n }, (_, k) => listedPieces(vocab, letters.slice(k, k + MAX_SEGMENT), 3));
  if (!listed.some((l) => l.forms.length > 0 || l.prefixes.length > 0)) return null;
  // cost[k]: least cost of words making up letters[k..] (about one per word); next[k]: where the first of them ends.
  const cost = new Float64Array(n + 1).fill(Infinity);
  const next = new Int32Array(n + 1);
  cost[n] = 0;
  for (let k = n - 1; k >= 0; k--) {
    // Longest first, so of splits of one cost the one whose first words are longest wins.
    for (const [end, c] of [...pieceEnds(letters, k, listed[k]!)].sort((a, b) => b[0] - a[0])) {
      if (cost[end]! + c < cost[k]! - 1e-9) {
        cost[k] = cost[end]! + c;
        next[k] = end;
      }
    }
  }
  if (cost[0] === Infinity || next[0] === n) return null;
  const words: string[] = [];
  for (let k = 0; k < n; k = next[k]!) words.push(letters.slice(k, next[k]!));
  return words.some((w) => w.length >= 4 && vocab.known(w)) ? { words: words.flatMap((w) => (w === I_AM ? ['i', 'am'] : [w])), cost: cost[0]! } : null;
}

/** Shortest token read as words run together ("killme"): shorter ones are too often a word of their own. */
const JOINED_MIN = 6;

/** Digits leetspeak writes letters with: a token of nothing else ("1515") is kept as a number by foldText. */
const LEET_DIGITS: Readonly<Record<string, string>> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't' };

function repairToken(t: string, vocab: Vocabulary, fuzzy: boolean): Repair | null {
  if (fuzzy && /^[013457]{4,}$/.test(t)) {
    // "1515" as isis: only a word of four letters or more the lists hold as written, so a
    // number ("1000", "2024", an age) stays a number.
    const read = t.replace(/./g, (d) => LEET_DIGITS[d]!);
    for (const word of [read, squeezed(read, vocab)]) {
      if (word !== null && word.length >= 4 && listedPieces(vocab, word, word.length).forms.length > 0) return { from: t, to: word, kind: 'leetspeak' };
    }
    return null;
  }
  if (!/^[a-z]+$/.test(t)) return null;
  const s = squeezed(t, vocab);
  if (s) return { from: t, to: s, kind: 'repeated letters' };
  if (!fuzzy || t.length < FUZZY_MIN || isEnglishForm(t)) return null;
  const near = vocab.nearest(t);
  if (near) return { from: t, to: near, kind: 'misspelling' };
  // Words run together ("howtokillmyself", "killmyself"), when no one word is one edit away;
  // with a letter written three times or more ("kkkkillmyself") cut to two, then to one.
  if (t.length < JOINED_MIN) return null;
  const readings = /(.)\1\1/.test(t) ? [t.replace(/(.)\1{2,}/g, '$1$1'), t.replace(/(.)\1{2,}/g, '$1')] : [t];
  let best: { words: string[]; cost: number } | null = null;
  for (const letters of readings) {
    const split = segmentation(letters, vocab);
    if (split && (best === null || split.cost < best.cost)) best = split;
  }
  return best && { from: t, to: best.words.join(' '), kind: 'words run together' };
}

/** Most runs of a repeated letter whose lengths are tried one by one (2^n readings). */
const MAX_RUNS = 5;

/**
 * "dieeee" -> "die", "killlll" -> "kill", "cccuttinggg" -> "cutting", "taaaasveer" -> "tasveer":
 * each run of a letter read as one or two of it. Of the readings the lists know (a prefix rule
 * knows "cuting" as well as "cutting"), an English one first; else the first of: all runs cut
 * to two, some to two and the others to one, all to one. A token with a run of three or more
 * (no spelling has one) that makes no listed form is read as the English word it makes, if one
 * ("awareeeness"), so the context it gives still counts.
 */
function squeezed(t: string, vocab: Vocabulary): string | null {
  const runs = t.match(/(.)\1+/g);
  if (runs === null) return null;
  const readings = [t.replace(/(.)\1{2,}/g, '$1$1')];
  if (runs.length > 1 && runs.length <= MAX_RUNS) {
    // Bit k of the mask set: run k keeps two.
    for (let mask = (1 << runs.length) - 2; mask > 0; mask--) {
      let k = 0;
      readings.push(t.replace(/(.)\1+/g, (_, ch: string) => ((mask >> k++) & 1 ? ch + ch : ch)));
    }
  }
  readings.push(t.replace(/(.)\1+/g, '$1'));
  let known: string | null = null;
  for (const r of readings) {
    if (r === t || !vocab.known(r)) continue;
    if (isEnglishForm(r)) return r;
    known ??= r;
  }
  if (known !== null || !runs.some((r) => r.length > 2)) return known;
  for (const r of readings) if (r !== t && isEnglishForm(r)) return r;
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
   * The listed form one edit (a letter added, dropped, changed, or two swapped) from the token,
   * or null when there is none or more than one word would fit. The lists hold misspellings of
   * their own ("mysef", "somone"), so of several forms the one English word (or common word: WordNet
   * has no pronouns) is taken ("ymself": myself, not "mself" or "yoself").
   */
  nearest(token: string): string | null {
    this.build();
    // The first form found, and any others (an array only when there are several: rare).
    let first = -1;
    let more: number[] | null = null;
    const n = token.length;
    const seen = (f: number): boolean => f === first || (more !== null && more.includes(f));
    const found = (f: number): void => {
      if (first < 0) first = f;
      else (more ??= []).push(f);
    };
    // A form the token less one letter is, or one whose deletion is the token or the token less one letter.
    for (let skip = -1; skip < n; skip++) {
      const h = hashSkipping(token, skip);
      if (skip >= 0) {
        const f = this.formOf(token, skip, h);
        if (f >= 0 && !seen(f)) found(f);
      }
      const mask = this.deletionForm.length - 1;
      for (let k = mix(h) & mask; ; k = (k + 1) & mask) {
        const f = this.deletionForm[k]! - 1;
        if (f < 0) break;
        if (this.deletionHash[k] !== h || seen(f) || !this.oneEditFrom(token, f)) continue;
        found(f);
      }
    }
    if (more === null) return first < 0 ? null : this.form(first);
    const english = [first, ...more].map((f) => this.form(f)).filter((w) => COMMON.has(w) || isEnglishForm(w));
    return english.length === 1 ? english[0]! : null;
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
