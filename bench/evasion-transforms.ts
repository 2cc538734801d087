// Evasions written into a search, one family at a time, the way pupils hide a word from a
// filter: the robustness evaluation (eval-evasions.ts) rewrites each labelled search with one of
// these and asks whether detection still reads it. A transform works on the search's words with
// one "key" word marked (the word the lists matched, for a harmful search), and is random only
// through the generator it is given, so a seed gives the same rewritten set every time.

/** The search as words (split on spaces), with the index of the word evasions hide. */
export interface Words {
  readonly words: readonly string[];
  readonly key: number;
}

export type Random = () => number;

/** A rewriting of the words, or null when it does not apply to them (no letter it changes, no emoji for any word). */
export type Transform = (w: Words, rnd: Random, ctx: TransformContext) => Words | null;

export interface TransformContext {
  /** Word (as folded) -> the emoji the phrase files read as it. */
  readonly emojiFor: ReadonlyMap<string, string>;
}

const pick = <T>(rnd: Random, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** The words with the key word replaced. */
function withKey(w: Words, word: string): Words {
  const words = [...w.words];
  words[w.key] = word;
  return { words, key: w.key };
}

/** Each character of `word` that `table` has a replacement for is replaced with probability p (at least one is, if any can be). */
function substitute(word: string, table: Readonly<Record<string, readonly string[]>>, rnd: Random, p: number): string | null {
  const chars = [...word];
  const can = chars.map((ch, i) => (table[ch.toLowerCase()] ? i : -1)).filter((i) => i >= 0);
  if (can.length === 0) return null;
  const forced = pick(rnd, can);
  return chars.map((ch, i) => (table[ch.toLowerCase()] && (i === forced || rnd() < p) ? pick(rnd, table[ch.toLowerCase()]!) : ch)).join('');
}

const LEET: Readonly<Record<string, readonly string[]>> = { a: ['4', '@'], e: ['3'], i: ['1', '!'], o: ['0'], s: ['5', '$'], t: ['7'] };

/** Cyrillic and Greek letters drawn like Latin ones (small letters; the engine reads capitals by case folding too). */
const LOOK_ALIKE: Readonly<Record<string, readonly string[]>> = {
  a: ['а', 'α'], b: ['Ь'], c: ['с', 'ϲ'], d: ['ԁ'], e: ['е', 'ε'], h: ['һ'], i: ['і', 'ι'], j: ['ј'], k: ['к', 'κ'],
  l: ['ӏ'], m: ['м'], n: ['п', 'η'], o: ['о', 'ο'], p: ['р', 'ρ'], q: ['ԛ'], r: ['г'], s: ['ѕ'], t: ['т', 'τ'], u: ['υ', 'ս'],
  v: ['ν'], w: ['ԝ', 'ω'], x: ['х', 'χ'], y: ['у'],
};

/** Latin letters with marks, precomposed or written with combining marks. */
const ACCENTED: Readonly<Record<string, readonly string[]>> = {
  a: ['á', 'à', 'ä', 'â', 'å', 'ą', 'a\u0301'], c: ['ç', 'ć'], e: ['é', 'è', 'ë', 'ê', 'ę', 'e\u0300'], i: ['í', 'ì', 'ï', 'î', 'ı'],
  l: ['ł'], n: ['ñ', 'ń'], o: ['ó', 'ò', 'ö', 'ô', 'ø', 'o\u0308'], s: ['ś', 'š'], u: ['ú', 'ù', 'ü', 'û', 'u\u0303'], y: ['ý', 'ÿ'], z: ['ź', 'ż', 'ž'],
};

/** The first letter (a) of each mathematical alphabet, and fullwidth: the whole word is written in one. */
const STYLED_A = [0x1d41a /* bold */, 0x1d44e /* italic */, 0x1d482 /* bold italic */, 0x1d5ba /* sans */, 0x1d5ee /* sans bold */, 0x1d68a /* monospace */, 0x1d552 /* double-struck */, 0xff41 /* fullwidth */];
/** Letters the math alphabets have holes at, where Unicode put them elsewhere (italic h, double-struck none for small letters). */
const STYLED_HOLES: Readonly<Record<string, string>> = { '1d455': 'ℎ' };

function styled(word: string, rnd: Random): string {
  const base = pick(rnd, STYLED_A);
  return [...word].map((ch) => {
    const k = LETTERS.indexOf(ch.toLowerCase());
    if (k < 0) return ch;
    const cp = base + k;
    return STYLED_HOLES[cp.toString(16)] ?? String.fromCodePoint(cp);
  }).join('');
}

const INVISIBLE = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad'];

/** One to three invisible characters between letters of the word. */
function invisible(word: string, rnd: Random): string | null {
  const chars = [...word];
  if (chars.length < 2) return null;
  const n = 1 + Math.floor(rnd() * 3);
  const at = new Set<number>();
  for (let k = 0; k < n; k++) at.add(1 + Math.floor(rnd() * (chars.length - 1)));
  const mark = pick(rnd, INVISIBLE);
  return chars.map((ch, i) => (at.has(i) ? mark + ch : ch)).join('');
}

/** One letter (or two) written two to five times more. */
function repeated(word: string, rnd: Random): string | null {
  const chars = [...word];
  const letters = chars.map((ch, i) => (/\p{L}/u.test(ch) ? i : -1)).filter((i) => i >= 0);
  if (letters.length === 0) return null;
  const times = new Map<number, number>();
  // The last letter most often ("dieeee"), else any.
  times.set(rnd() < 0.5 ? letters[letters.length - 1]! : pick(rnd, letters), 2 + Math.floor(rnd() * 4));
  if (rnd() < 0.3) times.set(pick(rnd, letters), 2 + Math.floor(rnd() * 3));
  return chars.map((ch, i) => ch.repeat(1 + (times.get(i) ?? 0))).join('');
}

/** One edit: a letter inserted, dropped, changed, or two neighbours swapped (Damerau distance 1). */
export function oneEdit(word: string, rnd: Random): string {
  const n = word.length;
  const i = Math.floor(rnd() * n);
  const letter = pick(rnd, [...LETTERS]);
  switch (Math.floor(rnd() * 4)) {
    case 0: return word.slice(0, i) + letter + word.slice(i);
    case 1: return word.slice(0, i) + word.slice(i + 1);
    case 2: return word.slice(0, i) + (letter === word[i] ? LETTERS[(LETTERS.indexOf(letter) + 1) % 26] : letter) + word.slice(i + 1);
    default: {
      const j = Math.min(i, n - 2);
      return word[j] === word[j + 1] ? word.slice(0, j) + word.slice(j + 1) : word.slice(0, j) + word[j + 1] + word[j] + word.slice(j + 2);
    }
  }
}

const PUNCTUATION = ['.', ',', '!', '?', '...', '!!', '?!', '-', '*', '#', '"', "'", '(', ')', ':', ';', '~'];

/** Transforms of the key word alone. */
const keyWord = (f: (word: string, rnd: Random) => string | null): Transform => (w, rnd) => {
  const word = f(w.words[w.key]!, rnd);
  return word === null || word === w.words[w.key] ? null : withKey(w, word);
};

/** The families, by name: what the evaluation reports per row. */
export const FAMILIES: Readonly<Record<string, Transform>> = {
  'leet, key word': keyWord((word, rnd) => substitute(word, LEET, rnd, 0.7)),
  'leet, all words': (w, rnd) => {
    const words = w.words.map((word) => substitute(word, LEET, rnd, 0.7) ?? word);
    return words.every((x, i) => x === w.words[i]) ? null : { words, key: w.key };
  },
  'spaced letters': keyWord((word) => (word.length < 3 ? null : [...word].join(' '))),
  'dotted letters': keyWord((word, rnd) => (word.length < 3 ? null : [...word].join(pick(rnd, ['.', '_', '-', '. ', '/'])))),
  'repeated letters': keyWord(repeated),
  'look-alike letters': keyWord((word, rnd) => substitute(word, LOOK_ALIKE, rnd, 0.5)),
  'accented letters': keyWord((word, rnd) => substitute(word, ACCENTED, rnd, 0.5)),
  'styled letters (math, fullwidth)': keyWord(styled),
  'zero-width inside': keyWord(invisible),
  'one edit (>= 5 letters)': (w, rnd) => {
    // The key word when it is long enough, else another word that is.
    const long = w.words.map((x, i) => (/^\p{L}{5,}$/u.test(x) ? i : -1)).filter((i) => i >= 0);
    if (long.length === 0) return null;
    const at = long.includes(w.key) ? w.key : pick(rnd, long);
    const words = [...w.words];
    words[at] = oneEdit(words[at]!, rnd);
    return { words, key: w.key };
  },
  'words run together': (w) => (w.words.length < 2 ? null : { words: [w.words.join('')], key: 0 }),
  'key word joined to a neighbour': (w) => {
    if (w.words.length < 2) return null;
    const at = w.key > 0 ? w.key - 1 : 0;
    const words = [...w.words.slice(0, at), w.words[at]! + w.words[at + 1]!, ...w.words.slice(at + 2)];
    return { words, key: at };
  },
  'all caps': (w) => ({ words: w.words.map((x) => x.toUpperCase()), key: w.key }),
  'random case': (w, rnd) => ({ words: w.words.map((x) => [...x].map((ch) => (rnd() < 0.5 ? ch.toUpperCase() : ch)).join('')), key: w.key }),
  'emoji stand-in': (w, rnd, ctx) => {
    const can = w.words.map((x, i) => (ctx.emojiFor.has(x.toLowerCase()) ? i : -1)).filter((i) => i >= 0);
    if (can.length === 0) return null;
    const at = can.includes(w.key) ? w.key : pick(rnd, can);
    const words = [...w.words];
    words[at] = ctx.emojiFor.get(words[at]!.toLowerCase())!;
    return { words, key: w.key };
  },
  'punctuation inserted': (w, rnd) => {
    // Around or after words ("kill...", "#kill", "myself!!!"), never inside one.
    const words = w.words.map((x, i) => (i === w.key || rnd() < 0.3 ? (rnd() < 0.3 ? pick(rnd, PUNCTUATION) : '') + x + pick(rnd, PUNCTUATION) : x));
    return { words, key: w.key };
  },
};

/** Families that keep the words apart, so a second family can still find the key word. */
const FIRST = ['leet, key word', 'spaced letters', 'dotted letters', 'repeated letters', 'look-alike letters', 'accented letters', 'styled letters (math, fullwidth)', 'zero-width inside', 'one edit (>= 5 letters)', 'emoji stand-in'];
/** Families applied second: anything, the whole-text ones last. */
const SECOND = ['leet, all words', 'repeated letters', 'look-alike letters', 'zero-width inside', 'one edit (>= 5 letters)', 'all caps', 'random case', 'punctuation inserted', 'key word joined to a neighbour'];

/** Two families, one after the other, chosen per row: the evaluation's "two at once". */
export const TWO_FAMILIES = 'two families at once';
export function twoFamilies(w: Words, rnd: Random, ctx: TransformContext): { words: Words; names: string } | null {
  for (let attempt = 0; attempt < 8; attempt++) {
    const a = pick(rnd, FIRST);
    const b = pick(rnd, SECOND.filter((s) => s !== a));
    const once = FAMILIES[a]!(w, rnd, ctx);
    if (once === null) continue;
    const twice = FAMILIES[b]!(once, rnd, ctx);
    if (twice !== null) return { words: twice, names: `${a} + ${b}` };
  }
  return null;
}

/** The index of the word (of `words`) to hide: the longest that folds to one of `matched`, else the longest word with letters. */
export function keyIndex(words: readonly string[], matched: ReadonlySet<string>, fold: (s: string) => string): number {
  let best = -1;
  let bestMatched = false;
  words.forEach((w, i) => {
    if (!/\p{L}/u.test(w)) return;
    const isMatched = matched.has(fold(w));
    if (best < 0 || (isMatched && !bestMatched) || (isMatched === bestMatched && w.length > words[best]!.length)) {
      best = i;
      bestMatched = isMatched;
    }
  });
  return Math.max(best, 0);
}
