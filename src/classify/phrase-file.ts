// Reading the safeguarding phrase files (config/phrases/): every line checked, every problem
// reported with its line and a fix, so a DSL can edit them without reading our source.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Checker } from '../config/check.js';
import { ConfigError, type ConfigProblem } from '../config/errors.js';
import { keptFolder } from '../config/kept.js';
import { YamlFile, type KeyPath } from '../config/yaml.js';
import { foldText } from './normalise-text.js';
import { readChecked, readParsed, seeFile, textHash, writeChecked, writeParsed, type SeenFile } from './phrase-cache.js';
import { CLASS_NAME, classesOf, DEFAULT_WITHIN, MAX_WITHIN, parseRule, parseWords, ruleKey } from './phrase-rules.js';

export const PHRASE_CATEGORIES = ['suicide', 'self-harm', 'extremism', 'bullying', 'grooming', 'adult', 'drugs', 'violence', 'crime'] as const;
export type PhraseCategory = (typeof PHRASE_CATEGORIES)[number];

export const MAX_WEIGHT = 100;
/** A lower-case language tag: en, pl, ur-latn. */
export const LANGUAGE_TAG = /^[a-z]{2,3}(-[a-z0-9]{2,8})*$/;

export interface PhraseEntry {
  category: string;
  /** As written in the file ("kill myself", "suicid*", "@method + @self"); parsed when the engine is built. */
  phrase: string;
  weight: number;
  language: string;
  file: string;
  line: number;
  /** A combination's window, in words (DEFAULT_WITHIN when absent). */
  within?: number;
  /** Intent: context (negative weights) never lowers the category below this rule's weight. */
  intent?: boolean;
  /** From a file marked `pages-only`: read in page text, never in searches or addresses. */
  pagesOnly?: boolean;
}

export interface WordClassEntry {
  readonly name: string;
  /** Words or phrases, as written. */
  readonly members: readonly string[];
  readonly language: string;
  readonly file: string;
  readonly line: number;
}

export interface EmojiEntry {
  readonly emoji: string;
  /** The words it stands for. */
  readonly words: string;
  readonly file: string;
  readonly line: number;
}

/** Everything the phrase files say: rules, word classes and emoji stand-ins. */
export interface Lexicon {
  readonly entries: readonly PhraseEntry[];
  readonly classes: readonly WordClassEntry[];
  readonly emoji: readonly EmojiEntry[];
}

export const EMPTY_LEXICON: Lexicon = Object.freeze({ entries: [], classes: [], emoji: [] });

/** Where parseRule splits a combination into its parts. */
const COMBINATION = /\s\+\s/;

const RULE_OPTIONS = ['weight', 'within', 'intent'];

/** Checks one rule's spelling and options; the problem's text, or null. Shared with the DSL's command line. */
export function ruleProblem(phrase: string, opts: { weight: number; within?: number | undefined }): { message: string; fix: string } | null {
  const parsed = parseRule(phrase);
  if ('error' in parsed) return { message: parsed.error, fix: parsed.fix };
  if (opts.weight === 0) return { message: `"${phrase}": weight must not be 0`, fix: 'use a positive weight to raise the score, a negative one to lower it, or remove the line' };
  if (opts.within !== undefined && parsed.parts.length < 2) return { message: `"${phrase}": "within" is for a combination`, fix: 'join two or more parts with " + ", or drop "within"' };
  return null;
}

/**
 * Each file's text's hash (textHash) as last read without problems, and what it said. A reload reads every phrase
 * file again, and parsing the shipped ones takes most of a second on the event loop; only those
 * whose text changed are parsed again. The entries are never changed once read, so two
 * configurations can share them.
 */
const lastRead = new Map<string, { hash: string; lexicon: Lexicon }>();

/** Forgets the files read, so that the next load parses each again (benches measuring a first load). */
export function forgetPhraseFiles(): void {
  lastRead.clear();
}

/** What a check over these inputs found when it last passed, from the kept folder; null when not kept. */
export function keptCheck<T>(what: string, inputs: readonly string[]): T | null {
  const kept = keptFolder();
  return kept === null ? null : readChecked<T>(kept.dir, what, inputs);
}

/** Remembers that a check over these inputs passed, finding `value`, where this process may write. */
export function keepCheck(what: string, inputs: readonly string[], value: unknown): void {
  const kept = keptFolder();
  if (kept?.write) writeChecked(kept.dir, what, inputs, value);
}

/** Reads one phrase file (one language) and checks every line; throws ConfigError with every problem. */
export function loadPhraseFile(path: string): Lexicon {
  const kept = keptFolder();
  let seen: SeenFile;
  try {
    seen = seeFile(kept, path, (p) => readFileSync(p, 'utf8'));
  } catch {
    lastRead.delete(path); // its text is not known: lexiconProblems checks without memory
    return parsePhraseFile(YamlFile.read(path)); // reports the file as YamlFile.read does
  }
  const last = lastRead.get(path);
  if (last?.hash === seen.hash) return last.lexicon;
  lastRead.delete(path);
  // Only a file that parsed without a problem is kept, so a kept one needs no checking again.
  let lexicon = kept === null ? null : readParsed<Lexicon>(kept.dir, path, seen.hash);
  if (lexicon === null) {
    // Known by its identity but not kept as parsed: read now (the hash of what is parsed).
    const text = seen.text ?? readFileSync(path, 'utf8');
    seen = { hash: seen.text === null ? textHash(text) : seen.hash, text };
    lexicon = parsePhraseFile(YamlFile.parse(path, text));
    if (kept?.write) writeParsed(kept.dir, path, seen.hash, lexicon);
  }
  lastRead.set(path, { hash: seen.hash, lexicon });
  return lexicon;
}

function parsePhraseFile(yaml: YamlFile): Lexicon {
  const c = new Checker(yaml);
  const entries: PhraseEntry[] = [];
  const classes: WordClassEntry[] = [];
  const emoji: EmojiEntry[] = [];
  const top = c.object([], yaml.value, ['language', 'pages-only', 'words', 'emoji', 'categories']);
  if (top) {
    const language = c.string(['language'], top.language, {
      pattern: LANGUAGE_TAG, patternHelp: 'use a lower-case language tag such as en, pl or ur-latn',
    }) ?? '';
    const pagesOnly = top['pages-only'] !== undefined && c.boolean(['pages-only'], top['pages-only']) === true;
    if (top.words !== undefined) readClasses(c, yaml, top.words, language, classes);
    if (top.emoji !== undefined) readEmoji(c, yaml, top.emoji, emoji);
    const categories = top.categories === undefined ? {} : c.object(['categories'], top.categories);
    if (categories) {
      for (const [category, rules] of Object.entries(categories)) readCategory(c, yaml, category, rules, language, pagesOnly, entries);
    }
  }
  c.done();
  return { entries, classes, emoji };
}

function readClasses(c: Checker, yaml: YamlFile, v: unknown, language: string, into: WordClassEntry[]): void {
  const map = c.object(['words'], v);
  if (!map) return;
  for (const [name, members] of Object.entries(map)) {
    const at: KeyPath = ['words', name];
    if (!CLASS_NAME.test(name)) {
      c.fail(at, `"${name}" is not a word class name`, 'use lower-case letters, digits and "-", as in self or suicide-method');
      continue;
    }
    const list = c.array(at, members);
    if (!list) continue;
    const ok: string[] = [];
    list.forEach((m, i) => {
      const text = c.string([...at, i], typeof m === 'number' ? String(m) : m);
      if (text === undefined) return;
      const words = parseWords(text);
      if ('error' in words) c.fail([...at, i], words.error, words.fix);
      else ok.push(text);
    });
    into.push({ name, members: ok, language, file: yaml.file, line: yaml.lineOf(at) });
  }
}

function readEmoji(c: Checker, yaml: YamlFile, v: unknown, into: EmojiEntry[]): void {
  const map = c.object(['emoji'], v);
  if (!map) return;
  for (const [emoji, words] of Object.entries(map)) {
    const at: KeyPath = ['emoji', emoji];
    if (foldText(emoji) !== '' || emoji.trim() === '') {
      c.fail(at, `"${emoji}" is not an emoji or symbol`, 'the key is the symbol itself, the value the words it stands for');
      continue;
    }
    const text = c.string(at, words);
    if (text === undefined) continue;
    if (foldText(text) === '') {
      c.fail(at, `"${text}" has no letters or digits`, 'write the words the symbol stands for');
      continue;
    }
    into.push({ emoji: emoji.normalize('NFC').replace(/\ufe0f/g, ''), words: text, file: yaml.file, line: yaml.lineOf(at) });
  }
}

function readCategory(c: Checker, yaml: YamlFile, category: string, rules: unknown, language: string, pagesOnly: boolean, into: PhraseEntry[]): void {
  const at: KeyPath = ['categories', category];
  if (!(PHRASE_CATEGORIES as readonly string[]).includes(category)) {
    c.fail(at, `unknown category "${category}"`, `use one of: ${PHRASE_CATEGORIES.join(', ')}`);
    return;
  }
  const map = c.object(at, rules);
  if (!map) return;
  // Two spellings that fold alike ("się"/"sie") are one rule; the second would silently win.
  const seen = new Map<string, { phrase: string; line: number }>();
  for (const [phrase, value] of Object.entries(map)) {
    const path: KeyPath = [...at, phrase];
    const line = yaml.lineOf(path);
    let weight: number | undefined;
    let within: number | undefined;
    let intent: boolean | undefined;
    if (typeof value === 'number') weight = c.number(path, value, { min: -MAX_WEIGHT, max: MAX_WEIGHT });
    else {
      const o = c.object(path, value, RULE_OPTIONS);
      if (!o) continue;
      weight = c.number([...path, 'weight'], o.weight, { min: -MAX_WEIGHT, max: MAX_WEIGHT });
      if (o.within !== undefined) within = c.number([...path, 'within'], o.within, { min: 2, max: MAX_WITHIN, integer: true });
      if (o.intent !== undefined) intent = c.boolean([...path, 'intent'], o.intent);
    }
    if (weight === undefined) continue;
    const problem = ruleProblem(phrase, { weight, within });
    if (problem) {
      c.fail(path, problem.message, problem.fix);
      continue;
    }
    const key = ruleKey(parseRule(phrase) as Exclude<ReturnType<typeof parseRule>, { error: string }>);
    const before = seen.get(key);
    if (before) {
      c.fail(path, `"${phrase}" is the same rule as "${before.phrase}" on line ${before.line} once folded`, 'keep one of the two lines');
      continue;
    }
    seen.set(key, { phrase, line });
    into.push({
      category, phrase: phrase.trim(), weight, language, file: yaml.file, line,
      ...(within !== undefined ? { within } : {}), ...(intent ? { intent } : {}), ...(pagesOnly ? { pagesOnly } : {}),
    });
  }
}

/** A file, or every *.yaml file of a directory in name order. */
export function phraseFilesAt(path: string): string[] {
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) return [path];
  return readdirSync(path).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort().map((f) => join(path, f));
}

/**
 * Reads several files (and directories) into one lexicon, and checks what only the whole can
 * tell: that every class a rule names is defined somewhere.
 */
export function loadLexicon(paths: readonly string[]): Lexicon {
  const problems: ConfigProblem[] = [];
  const entries: PhraseEntry[] = [];
  const classes: WordClassEntry[] = [];
  const emoji: EmojiEntry[] = [];
  const files = paths.flatMap(phraseFilesAt);
  for (const p of files) {
    try {
      const one = loadPhraseFile(p);
      entries.push(...one.entries);
      classes.push(...one.classes);
      emoji.push(...one.emoji);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  }
  problems.push(...lexiconProblems(files, entries, classes));
  if (problems.length > 0) throw new ConfigError(problems);
  return { entries, classes, emoji };
}

/** These files' paths and then their texts' hashes as last read without problems (null: one was not). */
export function readAs(files: readonly string[]): string[] | null {
  const hashes = files.map((f) => lastRead.get(f)?.hash);
  return hashes.every((h) => h !== undefined) ? [...files, ...(hashes as string[])] : null;
}

/**
 * What only the whole set of files can tell: undefinedClasses and combinationsThatCannotFit.
 * They parse every rule and class member again (a third of a command's time), so when these
 * files' texts (by their hashes) passed them before (keptCheck), they are not run again: the same texts give the
 * same rules and the same answer.
 */
export function lexiconProblems(files: readonly string[], entries: readonly PhraseEntry[], classes: readonly WordClassEntry[]): ConfigProblem[] {
  const known = readAs(files);
  if (known !== null && keptCheck<true>('lexicon', known) !== null) return [];
  const problems = [...undefinedClasses(entries, classes), ...combinationsThatCannotFit(entries, classes)];
  if (known !== null && problems.length === 0) keepCheck('lexicon', known, true);
  return problems;
}

/**
 * A problem for each combination whose parts, at their shortest, need more words than its
 * window: "within" counts every word from the first part's to the last part's, so such a rule
 * could never match.
 */
export function combinationsThatCannotFit(entries: readonly PhraseEntry[], classes: readonly WordClassEntry[]): ConfigProblem[] {
  // Every loadConfig runs this over thousands of rules and class members: only combinations
  // are parsed, and only the classes they name are measured, once each.
  const membersOf = new Map<string, WordClassEntry[]>();
  for (const k of classes) membersOf.set(k.name, [...(membersOf.get(k.name) ?? []), k]);
  const shortest = new Map<string, number | undefined>();
  const shortestOf = (name: string): number | undefined => {
    if (shortest.has(name)) return shortest.get(name);
    let n: number | undefined;
    for (const k of membersOf.get(name) ?? []) {
      for (const m of k.members) {
        const w = parseWords(m);
        if (!('error' in w)) n = Math.min(n ?? Infinity, w.length);
      }
    }
    shortest.set(name, n);
    return n;
  };
  const out: ConfigProblem[] = [];
  for (const e of entries) {
    // parseRule splits a combination's parts at " + ": without one it has a single part.
    if (!COMBINATION.test(e.phrase)) continue;
    const parsed = parseRule(e.phrase);
    if ('error' in parsed || parsed.parts.length < 2) continue;
    const need = parsed.parts.reduce((n, p) => n + p.reduce((m, t) => m + (t.kind === 'word' ? 1 : shortestOf(t.name) ?? 1), 0), 0);
    const within = e.within ?? DEFAULT_WITHIN;
    if (need > within) {
      out.push({ file: e.file, line: e.line, key: `categories.${e.category}`, message: `"${e.phrase}": its parts need at least ${need} words, but "within" is ${within}, so it can never match`, fix: `set within to ${need} or more ("within" counts every word from the first part to the last)` });
    }
  }
  return out;
}

/** A problem for each rule naming a class that no file defines. */
export function undefinedClasses(entries: readonly PhraseEntry[], classes: readonly WordClassEntry[]): ConfigProblem[] {
  const known = new Set(classes.map((k) => k.name));
  const out: ConfigProblem[] = [];
  for (const e of entries) {
    // A class is named with "@": a rule without one names none (most rules; parsing is not free).
    if (!e.phrase.includes('@')) continue;
    const parsed = parseRule(e.phrase);
    if ('error' in parsed) continue;
    for (const name of classesOf(parsed)) {
      if (!known.has(name)) {
        out.push({ file: e.file, line: e.line, key: `categories.${e.category}`, message: `"${e.phrase}": no word class @${name}`, fix: `define it under "words:" in a phrase file, or fix the name (${known.size} classes are defined)` });
      }
    }
  }
  return out;
}
