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

/** WordNet's base words (5 MB: loaded only when a search first needs a typo repaired). */
let words: Readonly<Record<string, unknown>> | null = null;

export function englishWords(): Readonly<Record<string, unknown>> {
  return (words ??= require('wink-lexicon/src/wn-words.js') as Record<string, unknown>);
}

export function isEnglishWord(w: string): boolean {
  return Object.prototype.hasOwnProperty.call(englishWords(), w);
}

/** Whether WordNet lists `w` as an irregular form ("knives", "hung"). */
export function isIrregularForm(w: string): boolean {
  return irregularTables().some((table) => Object.prototype.hasOwnProperty.call(table, w));
}
