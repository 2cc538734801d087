// English from WordNet (wink-lexicon), loaded once for the two places that need it: the word
// forms of the phrase lists (irregular forms: "hung" is "hang") and the typo repair, which must
// never "correct" a real English word into a listed one.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** WordNet's irregular forms, form -> base: verbs, nouns and adjectives. Loaded on first use. */
let exceptions: readonly Readonly<Record<string, string>>[] | null = null;

export function irregularTables(): readonly Readonly<Record<string, string>>[] {
  return (exceptions ??= [
    require('wink-lexicon/src/wn-verb-exceptions.js') as Record<string, string>,
    require('wink-lexicon/src/wn-noun-exceptions.js') as Record<string, string>,
    require('wink-lexicon/src/wn-adjective-exceptions.js') as Record<string, string>,
  ]);
}

/**
 * WordNet's base words, sorted, end to end in one string (a one-byte string: under 1 MB, where
 * the module's object of 77,000 entries takes 5 MB of heap and is dropped once read). Loaded
 * when the phrase lists are first compiled.
 */
interface WordList {
  readonly text: string;
  /** Word i is text.slice(start[i], start[i + 1]). */
  readonly start: Int32Array;
}
let words: WordList | null = null;

function wordList(): WordList {
  if (words !== null) return words;
  // The module's object is not kept, only its words: a require of its own, whose module (which
  // lists what it loaded) is dropped with it, and the module cache's entry deleted.
  const once = createRequire(import.meta.url);
  const path = once.resolve('wink-lexicon/src/wn-words.js');
  const list = Object.keys(once(path) as Record<string, unknown>).sort();
  delete once.cache[path];
  const start = new Int32Array(list.length + 1);
  let at = 0;
  list.forEach((w, i) => {
    start[i] = at;
    at += w.length;
  });
  start[list.length] = at;
  words = { text: list.join(''), start };
  return words;
}

/** The index of the first word not sorted before w (the word count when none is). */
function lowerBound(w: string): number {
  const { text, start } = wordList();
  let lo = 0;
  let hi = start.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareAt(w, text, start[mid]!, start[mid + 1]!) > 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function isEnglishWord(w: string): boolean {
  const { text, start } = wordList();
  const i = lowerBound(w);
  return i < start.length - 1 && compareAt(w, text, start[i]!, start[i + 1]!) === 0;
}

/**
 * WordNet's base words that begin with `prefix`, in sorted order: a binary search and then the
 * run of neighbours, so a DSL's "overdos*" costs microseconds rather than a pass over 77,000 words.
 */
export function englishWordsStartingWith(prefix: string): string[] {
  const { text, start } = wordList();
  const out: string[] = [];
  for (let i = lowerBound(prefix); i < start.length - 1; i++) {
    const w = text.slice(start[i]!, start[i + 1]!);
    if (!w.startsWith(prefix)) break;
    out.push(w);
  }
  return out;
}

/** w against text[from .. to), by UTF-16 code units (the order Array.prototype.sort gives strings). */
function compareAt(w: string, text: string, from: number, to: number): number {
  const n = Math.min(w.length, to - from);
  for (let i = 0; i < n; i++) {
    const d = w.charCodeAt(i) - text.charCodeAt(from + i);
    if (d !== 0) return d;
  }
  return w.length - (to - from);
}

/** Whether WordNet lists `w` as an irregular form ("knives", "hung"). */
export function isIrregularForm(w: string): boolean {
  return irregularTables().some((table) => Object.prototype.hasOwnProperty.call(table, w));
}

/**
 * Words so frequent that a rule is never looked at because of them alone: they still count
 * inside a rule ("how to", "me"), but an address is read in full only where a rule could match
 * on some other word (address-anchors.ts).
 */
export const COMMON: ReadonlySet<string> = new Set(`a an the to of in on at by for from with without into onto off out up down over under about as and or
  but if so not no nor than then too very just also all any some every each more most less own same other such only i im
  ive id ill me my mine myself you u ur your youre yours he him his she her they them their we us our it its is are was
  were be been being am do does did done doing have has had having can could would should will shall may might must
  how what why when where who whom which whose this that these those there here get got gets getting go goes going
  gonna wanna want wants make makes made way ways best thing things one ones like know need day days time times new
  good bad really now please help yes ok lol`.split(/\s+/).filter(Boolean));

/**
 * Where English words start at letters[from]: the ends `end` (at most `max`) for which
 * letters[from .. end) is a WordNet word, and `eEnds`, those for which it is one less its last
 * "e" or "y" ("mak" of make before "-ing", "stud" of study before "-ies"). One binary search per letter, stopping at the first
 * letter no word goes on with: this is how a run of words written together is cut (evasions.ts)
 * without looking up every piece of it.
 */
export function englishWordEnds(letters: string, from: number, max: number): { ends: number[]; eEnds: number[] } {
  const { text, start } = wordList();
  const ends: number[] = [];
  const eEnds: number[] = [];
  // [lo, hi): the words that start with letters[from .. end), narrowed one letter at a time
  // (they are sorted, so those with the next letter are a run of them).
  let lo = 0;
  let hi = start.length - 1;
  for (let end = from + 1; end <= max; end++) {
    const d = end - from - 1;
    const c = letters.charCodeAt(end - 1);
    // The character at d of word i, or -1 for a word of d characters (sorted first).
    const at = (i: number): number => (start[i + 1]! - start[i]! > d ? text.charCodeAt(start[i]! + d) : -1);
    let a = lo;
    let b = hi;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (at(mid) < c) a = mid + 1;
      else b = mid;
    }
    lo = a;
    b = hi;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (at(mid) <= c) a = mid + 1;
      else b = mid;
    }
    hi = a;
    if (lo >= hi) break;
    if (start[lo + 1]! - start[lo]! === d + 1) ends.push(end);
    // "mak|ing" (make), "stud|ies" (study): a word less its last letter, before an ending that drops it.
    if (d >= 1 && (letters.startsWith('ing', end) || letters.startsWith('ed', end)) && isEnglishWord(letters.slice(from, end) + 'e')) eEnds.push(end);
    if (d >= 1 && (letters.startsWith('ies', end) || letters.startsWith('ied', end)) && isEnglishWord(letters.slice(from, end) + 'y')) eEnds.push(end);
  }
  return { ends, eEnds };
}
