// Training-data augmentation for the learned search model: copies of a labelled search written
// the way pupils actually type them (one-letter typos, dropped apostrophes and spaces,
// leetspeak, stretched letters, text-speak, two words swapped). Blind sets showed the misses
// were mostly such phrasings, which a model fitted only on tidy rows has few n-grams for.
//
// Training only: the model reads what foldText makes of a search, so a copy is made from the
// raw text and then folded, as the proxy folds a search term. Each copy is drawn from a PRNG
// seeded by the row's own text and the copy's number, so a row has the same copies whatever
// rows surround it: cross-validation augments each fold's training rows only, and a held-out
// fold never sees a copy of its own rows.
import { foldText } from '../src/classify/normalise-text.js';
import { seededRandom } from './lib.js';

/** Text-speak for common words: what pupils type instead. */
const TEXT_SPEAK: Readonly<Record<string, string>> = {
  you: 'u', your: 'ur', "you're": 'ur', youre: 'ur', are: 'r', please: 'pls', people: 'ppl', because: 'cuz', to: '2', for: '4',
  know: 'kno', what: 'wat', with: 'w', really: 'rly', tonight: '2nite', today: '2day', someone: 'sum1', anyone: 'ne1',
  want: 'wanna', going: 'goin', "don't": 'dont', "can't": 'cant', "i'm": 'im', myself: 'my self', about: 'abt', though: 'tho',
  the: 'da', that: 'dat', them: 'dem', why: 'y', see: 'c', be: 'b', okay: 'ok', boyfriend: 'bf', girlfriend: 'gf',
};
const LEET: Readonly<Record<string, string>> = { a: '4', e: '3', i: '1', o: '0', s: '5', t: '7' };
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

export interface AugmentOptions {
  /** Copies made of each row (identical copies, and copies that fold to the row itself, are dropped). */
  readonly copies: number;
  /** Mixed into every row's PRNG seed: another seed gives other copies. */
  readonly seed: number;
}

/** The kinds of edit, in the order a copy's edit is drawn from. */
export const EDITS = ['typo', 'join', 'leet', 'stretch', 'textSpeak', 'swap'] as const;
export type Edit = (typeof EDITS)[number];

/**
 * Rows followed by their copies (each with its row's label), copies folded as the model reads
 * them. A row's copies come right after it.
 */
export function augmentRows<R extends { readonly text: string; readonly label: string }>(rows: readonly { raw: string; row: R }[], o: AugmentOptions): R[] {
  const out: R[] = [];
  for (const { raw, row } of rows) {
    out.push(row);
    const seen = new Set([row.text]);
    for (let k = 0; k < o.copies; k++) {
      const text = foldText(augment(raw, o.seed, k));
      if (text === '' || seen.has(text)) continue;
      seen.add(text);
      out.push({ ...row, text });
    }
  }
  return out;
}

/** Copy number `k` of a raw search: one or two edits, drawn from a PRNG seeded by the text, `seed` and `k`. */
export function augment(raw: string, seed: number, k: number): string {
  const rand = seededRandom(hash(raw) ^ Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b));
  let text = raw.toLowerCase();
  const edits = rand() < 0.3 ? 2 : 1;
  for (let e = 0; e < edits; e++) text = applyEdit(text, EDITS[Math.floor(rand() * EDITS.length)]!, rand);
  return text;
}

export function applyEdit(text: string, edit: Edit, rand: () => number): string {
  const words = text.split(/\s+/).filter(Boolean);
  if (words.length === 0) return text;
  const pick = (ok: (w: string) => boolean): number => {
    const at = words.flatMap((w, i) => (ok(w) ? [i] : []));
    return at.length === 0 ? -1 : at[Math.floor(rand() * at.length)]!;
  };
  switch (edit) {
    case 'typo': {
      // One edit on a word of five letters or more: short words change meaning ("cut" -> "cat").
      const i = pick((w) => /^[a-z']{5,}$/.test(w));
      if (i < 0) return text;
      const w = words[i]!;
      // Not the first letter: people rarely get that wrong.
      const at = 1 + Math.floor(rand() * (w.length - 1));
      const c = LETTERS[Math.floor(rand() * LETTERS.length)]!;
      const kind = Math.floor(rand() * 4);
      words[i] = kind === 0 ? w.slice(0, at) + w.slice(at + 1)
        : kind === 1 ? w.slice(0, at) + c + w.slice(at)
          : kind === 2 ? w.slice(0, at) + c + w.slice(at + 1)
            : at + 1 < w.length ? w.slice(0, at) + w[at + 1] + w[at] + w.slice(at + 2) : w.slice(0, at);
      break;
    }
    case 'join': {
      // Apostrophes dropped where there are any, else two words run together.
      if (text.includes("'")) return text.replace(/'/g, '');
      if (words.length < 2) return text;
      const i = Math.floor(rand() * (words.length - 1));
      words.splice(i, 2, words[i]! + words[i + 1]!);
      break;
    }
    case 'leet': {
      const i = pick((w) => /[aeiost]/.test(w) && w.length >= 3);
      if (i < 0) return text;
      words[i] = [...words[i]!].map((ch) => (LEET[ch] !== undefined && rand() < 0.6 ? LEET[ch] : ch)).join('');
      break;
    }
    case 'stretch': {
      const i = pick((w) => /[a-z]/.test(w));
      if (i < 0) return text;
      const w = words[i]!;
      // The last letter more often: "pleaseeee", "dieeee".
      const letters = [...w].flatMap((ch, j) => (/[a-z]/.test(ch) ? [j] : []));
      const j = rand() < 0.6 ? letters[letters.length - 1]! : letters[Math.floor(rand() * letters.length)]!;
      words[i] = w.slice(0, j + 1) + w[j]!.repeat(2 + Math.floor(rand() * 3)) + w.slice(j + 1);
      break;
    }
    case 'textSpeak': {
      const at = words.flatMap((w, i) => (TEXT_SPEAK[w] !== undefined ? [i] : []));
      if (at.length === 0) return text;
      // Pupils who write "u" usually write all of it that way.
      for (const i of at) if (rand() < 0.8) words[i] = TEXT_SPEAK[words[i]!]!;
      break;
    }
    case 'swap': {
      if (words.length < 2) return text;
      const i = Math.floor(rand() * (words.length - 1));
      [words[i], words[i + 1]] = [words[i + 1]!, words[i]!];
      break;
    }
  }
  return words.join(' ');
}

/** FNV-1a over UTF-16 units: a row's seed from its text. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** What the trainer uses unless told otherwise (chosen by cross-validation: bench/RESULTS.md). */
export const DEFAULT_AUGMENT: AugmentOptions = { copies: 0, seed: 1 };
