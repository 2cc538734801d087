// How a phrase-list rule is written, and what it means once parsed. One grammar serves the
// files, the DSL's command line and the engine:
//
//   kill myself                    a phrase: these words in this order (with their word forms)
//   suicid*                        a trailing '*' makes a word a prefix ("suicide", "suicidal")
//   how to @suicide-method         @name stands for any member of a word class
//   @suicide-method + @self        a combination: every part within a few words, in any order
import { foldText } from './normalise-text.js';

/** One written word: folded, possibly a prefix. */
export interface RuleWord {
  readonly word: string;
  readonly prefix: boolean;
}

/** A word or a class reference, in the order written. */
export type RuleToken = { readonly kind: 'word'; readonly word: RuleWord } | { readonly kind: 'class'; readonly name: string };

/** A phrase: tokens in order. A combination has two or more of them. */
export type RulePart = readonly RuleToken[];

export interface ParsedRule {
  readonly parts: readonly RulePart[];
}

export interface RuleProblem {
  readonly error: string;
  readonly fix: string;
}

export const CLASS_NAME = /^[a-z0-9][a-z0-9-]*$/;
/** Most words a combination may be spread over; and its default. */
export const MAX_WITHIN = 30;
export const DEFAULT_WITHIN = 5;

/** Splits written words into folded words, keeping a trailing '*' on the last as a prefix. */
export function parseWords(written: string): RuleWord[] | RuleProblem {
  const out: RuleWord[] = [];
  for (const raw of written.trim().split(/\s+/)) {
    if (raw === '') continue;
    const prefix = raw.endsWith('*');
    const body = prefix ? raw.slice(0, -1) : raw;
    if (body.includes('*')) return { error: `"${written}": '*' is only allowed at the end of a word`, fix: 'write a word prefix as "suicid*"' };
    const words = foldText(body).split(' ').filter((w) => w !== '');
    if (words.length === 0) {
      if (prefix) return { error: `"${written}": '*' must follow letters`, fix: 'write a word prefix as "suicid*"' };
      continue;
    }
    words.forEach((w, i) => out.push({ word: w, prefix: prefix && i === words.length - 1 }));
  }
  if (out.length === 0) return { error: `"${written}" has no letters or digits to match`, fix: 'remove the line or write the phrase in words' };
  return out;
}

/** Parses a rule as written; a problem says what is wrong and how to write it. */
export function parseRule(written: string): ParsedRule | RuleProblem {
  const pieces = written.trim().split(/\s\+\s/);
  const parts: RulePart[] = [];
  for (const piece of pieces) {
    if (piece.trim() === '') return { error: `"${written}": an empty part around '+'`, fix: 'join parts as "@method + @self"' };
    const tokens: RuleToken[] = [];
    for (const raw of piece.trim().split(/\s+/)) {
      if (raw.startsWith('@')) {
        const name = raw.slice(1);
        if (!CLASS_NAME.test(name)) return { error: `"${written}": "${raw}" is not a word class name`, fix: 'class names are lower-case letters, digits and "-", as in @self' };
        tokens.push({ kind: 'class', name });
        continue;
      }
      const words = parseWords(raw);
      // A token of punctuation alone ("-") folds to nothing and says nothing.
      if ('error' in words) {
        if (words.error.includes('no letters')) continue;
        return { error: words.error.replace(`"${raw}"`, `"${written}"`), fix: words.fix };
      }
      for (const word of words) tokens.push({ kind: 'word', word });
    }
    if (tokens.length === 0) return { error: `"${written}" has no letters or digits to match`, fix: 'remove the line or write the phrase in words' };
    parts.push(tokens);
  }
  return { parts };
}

/** The class names a rule refers to. */
export function classesOf(rule: ParsedRule): string[] {
  return rule.parts.flatMap((p) => p.flatMap((t) => (t.kind === 'class' ? [t.name] : [])));
}

/** A rule in one normal spelling: two spellings that fold alike are the same rule. */
export function ruleKey(rule: ParsedRule): string {
  // A combination's parts may come in any order, so "a + b" and "b + a" are one rule.
  const parts = rule.parts.map((p) => p.map((t) => (t.kind === 'class' ? `@${t.name}` : t.word.word + (t.word.prefix ? '*' : ''))).join(' '));
  return (parts.length > 1 ? parts.sort() : parts).join(' + ');
}
