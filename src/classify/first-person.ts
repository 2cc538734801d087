// Whether words say "I": what makes a post of a page a child speaking of themselves (page-posts.ts)
// and a matched intent rule someone's own words (phrases.ts, pageShare). Words as foldText reads
// them: lower case, no diacritics, no apostrophes ("I'm" is "im", "mój" is "moj").
//
// Polish and Urdu in Latin script are read too: a Polish or Roman Urdu post of a plan ("main ne
// ammi ki neend ki goliyan jama kar li hain") was never read by the model while only English
// pronouns counted (bench/RESULTS.md, "Pages, sixth round"). Polish verbs carry the person in
// their endings, so only its pronouns are listed. The Urdu "main" (I) is the English "main" (the
// main gate), so it counts only in a post that also has an Urdu word of grammar.

/** English first-person words of a post. */
const ENGLISH = ['i', 'im', 'ive', 'me', 'my', 'myself', 'mine'];
/** Polish: ja, mnie, mi, mną, mój and its forms, jestem (I am). */
const POLISH = ['ja', 'mnie', 'mi', 'mna', 'moj', 'moja', 'moje', 'mojego', 'mojej', 'moim', 'moich', 'moimi', 'jestem'];
/** Roman Urdu: mujhe, mujh, mera/meri/mere, maine (and their usual spellings). */
const URDU = ['mujhe', 'mujhay', 'mujh', 'mujhse', 'mera', 'meri', 'mere', 'maine', 'mainey', 'mene'];
/** Words of Urdu grammar that make "main" the pronoun. */
const URDU_GRAMMAR = new Set(['hai', 'hain', 'hoon', 'hun', 'tha', 'thi', 'nahi', 'nahin', 'ko', 'ne', 'ki', 'ka', 'se', 'kar', 'raha', 'rahi']);

/** The first-person words of a post, in every language read. */
export const POST_FIRST_PERSON: ReadonlySet<string> = new Set([...ENGLISH, ...POLISH, ...URDU]);

/**
 * A first-person word as written, in any case, before folding: the cheap test a post must pass
 * to be folded and checked with postSaysFirstPerson ("Mój" and "mój" fold to "moj").
 */
export const FIRST_PERSON_RAW = /(?:^|[^\p{L}\p{N}])(?:i|me|my|mine|myself|ja|mnie|mi|mną|mój|moj|moja|moje|mojego|mojej|moim|moich|moimi|jestem|mujhe|mujhay|mujh|mujhse|mera|meri|mere|maine|mainey|mene|main)(?:[^\p{L}\p{N}]|$)|(?:^|[^\p{L}\p{N}])i(?:m|'m|\u2019m|ve|'ve|\u2019ve)(?:[^\p{L}\p{N}]|$)/iu;

/** Whether a folded post says anything in the first person. */
export function postSaysFirstPerson(folded: string): boolean {
  const words = folded.split(' ');
  let main = false;
  let urdu = false;
  for (const w of words) {
    if (POST_FIRST_PERSON.has(w)) return true;
    if (w === 'main') main = true;
    else if (URDU_GRAMMAR.has(w)) urdu = true;
  }
  return main && urdu;
}

/**
 * Whether the words an intent rule matched say "I": the post words, and "id", "ill" and "kms"
 * ("kill myself"), which in a matched phrase are the contraction, not the word; the Urdu "main"
 * in a rule of that language.
 */
export function phraseSaysFirstPerson(matched: string, language: string): boolean {
  for (const w of matched.split(' ')) if (POST_FIRST_PERSON.has(w) || PHRASE_ONLY.has(w) || (w === 'main' && language === 'ur-latn')) return true;
  return false;
}
const PHRASE_ONLY = new Set(['id', 'ill', 'kms']);
