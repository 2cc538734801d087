// One rule as the DSL gives it on the command line (or as it comes back out of alerts.db),
// checked by the rules a line of a phrase file meets (phrase-file.ts's own checks), so that
// nothing the DSL can store would be refused in a phrase file.
import { combinationsThatCannotFit, LANGUAGE_TAG, MAX_WEIGHT, PHRASE_CATEGORIES, ruleProblem, undefinedClasses, type PhraseEntry, type WordClassEntry } from './phrase-file.js';
import { MAX_WITHIN, parseRule, ruleKey } from './phrase-rules.js';

/** Longer than any real search; a guard against a paste of a whole page. */
export const MAX_PHRASE_LENGTH = 200;
/** The phrase files' bounds for a combination's `within`. */
export const MIN_WITHIN = 2;
export { LANGUAGE_TAG, MAX_WEIGHT, MAX_WITHIN };

export interface PhraseProblem {
  readonly message: string;
  readonly fix: string;
}

export type PhraseInput = Pick<PhraseEntry, 'category' | 'phrase' | 'weight' | 'language' | 'within' | 'intent'>;

/**
 * Every problem with one rule, or none. With `classes` (every phrase file's word classes), a
 * class the rule names must be one of them.
 */
export function phraseProblems(e: PhraseInput, classes?: readonly WordClassEntry[]): PhraseProblem[] {
  const problems: PhraseProblem[] = [];
  const say = (message: string, fix: string): void => void problems.push({ message, fix });
  if (!(PHRASE_CATEGORIES as readonly string[]).includes(e.category)) say(`unknown category "${e.category}"`, `use one of: ${PHRASE_CATEGORIES.join(', ')}`);
  if (!Number.isFinite(e.weight) || e.weight < -MAX_WEIGHT || e.weight > MAX_WEIGHT) say(`weight ${e.weight} is out of range`, `use a number from -${MAX_WEIGHT} to ${MAX_WEIGHT}, not 0`);
  if (!LANGUAGE_TAG.test(e.language)) say(`"${e.language}" is not a language tag`, 'use a lower-case language tag such as en, pl or ur-latn');
  if (e.within !== undefined && (!Number.isInteger(e.within) || e.within < MIN_WITHIN || e.within > MAX_WITHIN)) {
    say(`within ${e.within} is out of range`, `use a whole number of words from ${MIN_WITHIN} to ${MAX_WITHIN}`);
  }
  const text = e.phrase.trim();
  if (text === '') say('the phrase is empty', 'give the words to match, in quotes');
  else if (text.length > MAX_PHRASE_LENGTH) say(`the phrase is ${text.length} characters long`, `keep it to ${MAX_PHRASE_LENGTH}: a phrase is a few words, not a text`);
  else if (/[\r\n\t]/.test(text)) say('the phrase holds a line break or a tab', 'write it on one line');
  else {
    const rule = ruleProblem(text, { weight: Number.isFinite(e.weight) ? e.weight : 1, within: e.within });
    if (rule) say(rule.message, rule.fix);
    else if (classes) {
      const entry = { ...e, phrase: text, file: '', line: 0 };
      for (const p of [...undefinedClasses([entry], classes), ...combinationsThatCannotFit([entry], classes)]) say(p.message, p.fix ?? 'name a word class defined under "words:" in a phrase file');
    }
  }
  return problems;
}

/**
 * The engine's identity of a rule: two spellings it reads as the same rule ("Kill  Myself",
 * "kill myself"; "się", "sie") share a key. A rule that does not parse is its own key.
 */
export function phraseKey(phrase: string): string {
  const parsed = parseRule(phrase);
  return 'error' in parsed ? phrase.trim() : ruleKey(parsed);
}
