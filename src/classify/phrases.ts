// Safeguarding phrase lists: weighted phrases per category, matched against folded search
// terms and page text in one pass, so the DSL hears about "how to kill myself" without every
// "killer whale" raising an alert.
//
// A phrase's weight is added to its category's score once per text, however often it occurs;
// a category whose score reaches its threshold is flagged. Negative weights are context that
// lowers a score ("essay" next to "drug trafficking"), and are refused for suicide and
// self-harm: a pupil's cry for help must never be cancelled by an extra word.
//
// Matching is Aho–Corasick compiled to a dense DFA in typed arrays. Phrases and text are
// wrapped in spaces so that phrases match whole words only ("essex" never hits "sex"); a
// trailing '*' drops the closing space and makes the phrase a word prefix ("suicid*").
import { Checker } from '../config/check.js';
import { YamlFile, type KeyPath } from '../config/yaml.js';
import { foldText, walkFoldedAscii, type CharDfa } from './normalise-text.js';

export const PHRASE_CATEGORIES = ['suicide', 'self-harm', 'extremism', 'bullying', 'grooming', 'adult', 'drugs', 'violence'] as const;
export type PhraseCategory = (typeof PHRASE_CATEGORIES)[number];

/** Categories in which a negative weight is refused at load. */
export const NO_NEGATIVE_WEIGHTS: readonly PhraseCategory[] = ['suicide', 'self-harm'];

export const DEFAULT_PHRASE_THRESHOLD = 10;
const MAX_WEIGHT = 100;

export interface PhraseEntry {
  category: string;
  /** As written in the file, '*' included; folded when the matcher is built. */
  phrase: string;
  weight: number;
  language: string;
  file: string;
  line: number;
}

export interface PhraseHit {
  readonly category: string;
  readonly phrase: string;
  readonly weight: number;
}

export interface PhraseScore {
  readonly category: string;
  readonly score: number;
}

export interface PhraseResult {
  /** Every distinct phrase found, in the order of its first occurrence (by where it ends). */
  readonly hits: readonly PhraseHit[];
  /** Categories whose score reached their threshold, highest score first. */
  readonly flagged: readonly PhraseScore[];
}

export interface PhraseThresholds {
  readonly default: number;
  readonly byCategory?: Readonly<Record<string, number>>;
}

/** The result for text that hits nothing; shared, so the common case allocates nothing. */
export const NO_PHRASES: PhraseResult = Object.freeze({ hits: Object.freeze([]), flagged: Object.freeze([]) });

// ---------------------------------------------------------------------------------------
// Loading

/** A phrase as written, split into its folded words and whether it is a word prefix. */
function parsePhrase(written: string): { folded: string; prefix: boolean } | { error: string; fix: string } {
  const trimmed = written.trim();
  const prefix = trimmed.endsWith('*');
  const body = prefix ? trimmed.slice(0, -1) : trimmed;
  if (body.includes('*')) return { error: `"${written}": '*' is only allowed at the end of a phrase`, fix: 'write a word prefix as "suicid*"' };
  const folded = foldText(body);
  if (folded === '') return { error: `"${written}" has no letters or digits to match`, fix: 'remove the line or write the phrase in words' };
  return { folded, prefix };
}

/** Reads one phrase file (one language) and checks every line; throws ConfigError with every problem. */
export function loadPhraseFile(path: string): PhraseEntry[] {
  const yaml = YamlFile.read(path);
  const c = new Checker(yaml);
  const entries: PhraseEntry[] = [];
  const top = c.object([], yaml.value, ['language', 'categories']);
  if (top) {
    const language = c.string(['language'], top.language, {
      pattern: /^[a-z]{2,3}(-[a-z0-9]{2,8})*$/, patternHelp: 'use a lower-case language tag such as en, pl or ur-latn',
    }) ?? '';
    const categories = c.object(['categories'], top.categories);
    if (categories) {
      for (const [category, phrases] of Object.entries(categories)) {
        readCategory(c, yaml, category, phrases, language, entries);
      }
    }
  }
  c.done();
  return entries;
}

function readCategory(c: Checker, yaml: YamlFile, category: string, phrases: unknown, language: string, into: PhraseEntry[]): void {
  const at: KeyPath = ['categories', category];
  if (!(PHRASE_CATEGORIES as readonly string[]).includes(category)) {
    c.fail(at, `unknown category "${category}"`, `use one of: ${PHRASE_CATEGORIES.join(', ')}`);
    return;
  }
  const map = c.object(at, phrases);
  if (!map) return;
  // Two spellings that fold alike ("się"/"sie") are one phrase; the second would silently win.
  const seen = new Map<string, { phrase: string; line: number }>();
  for (const [phrase, value] of Object.entries(map)) {
    const path: KeyPath = [...at, phrase];
    const line = yaml.lineOf(path);
    const weight = c.number(path, value, { min: -MAX_WEIGHT, max: MAX_WEIGHT });
    const parsed = parsePhrase(phrase);
    let ok = weight !== undefined;
    const problem = (message: string, fix: string): void => {
      c.fail(path, message, fix);
      ok = false;
    };
    if (weight === 0) problem(`"${phrase}": weight must not be 0`, 'use a positive weight to raise the score, a negative one to lower it, or remove the line');
    if (weight !== undefined && weight < 0 && (NO_NEGATIVE_WEIGHTS as readonly string[]).includes(category)) {
      problem(`"${phrase}": negative weights are not allowed in ${category}`, "a pupil's cry for help must never be cancelled by an extra word; remove the line");
    }
    if ('error' in parsed) problem(parsed.error, parsed.fix);
    else {
      const key = parsed.folded + (parsed.prefix ? '*' : '');
      const before = seen.get(key);
      if (before) problem(`"${phrase}" is the same phrase as "${before.phrase}" on line ${before.line} once folded`, 'keep one of the two lines');
      else seen.set(key, { phrase, line });
    }
    if (ok && weight !== undefined) into.push({ category, phrase: phrase.trim(), weight, language, file: yaml.file, line });
  }
}

// ---------------------------------------------------------------------------------------
// Matching

const SPACE = 32;

export class PhraseMatcher {
  /** Number of distinct phrases compiled (a phrase listed in two categories counts twice). */
  readonly size: number;
  private readonly dfa: Dfa;
  private readonly phraseCategory: Uint16Array;
  private readonly hitOf: readonly PhraseHit[];
  private readonly categories: readonly string[];
  private readonly thresholdOf: Float64Array;

  constructor(entries: readonly PhraseEntry[], thresholds: PhraseThresholds) {
    // Later entries replace earlier ones for the same category and phrase, so a school's own
    // file loaded after the shipped ones can change a weight.
    const byKey = new Map<string, { category: string; pattern: string; entry: PhraseEntry }>();
    for (const entry of entries) {
      const parsed = parsePhrase(entry.phrase);
      if ('error' in parsed) throw new RangeError(`${entry.file}:${entry.line}: ${parsed.error}`);
      const pattern = ' ' + parsed.folded + (parsed.prefix ? '' : ' ');
      byKey.set(`${entry.category}\n${pattern}`, { category: entry.category, pattern, entry });
    }
    const phrases = [...byKey.values()];
    this.size = phrases.length;

    const categories: string[] = [];
    const categoryIndex = new Map<string, number>();
    const phraseCategory = new Uint16Array(phrases.length);
    const hitOf: PhraseHit[] = [];
    phrases.forEach((p, id) => {
      let ci = categoryIndex.get(p.category);
      if (ci === undefined) categoryIndex.set(p.category, (ci = categories.push(p.category) - 1));
      phraseCategory[id] = ci;
      hitOf.push(Object.freeze({ category: p.category, phrase: p.entry.phrase, weight: p.entry.weight }));
    });
    this.categories = categories;
    this.phraseCategory = phraseCategory;
    this.hitOf = hitOf;
    this.thresholdOf = new Float64Array(categories.length);
    categories.forEach((cat, ci) => {
      const t = thresholds.byCategory?.[cat] ?? thresholds.default;
      if (!Number.isFinite(t) || t <= 0) throw new RangeError(`phrase threshold for ${cat} must be a positive number, found ${t}`);
      this.thresholdOf[ci] = t;
    });
    this.dfa = compile(phrases.map((p) => p.pattern));
  }

  /**
   * Matches text already folded with foldText (a search term, a title, a URL's words). Any
   * character no phrase uses (a control character, say) separates like a line break: no
   * phrase matches across it.
   */
  match(foldedText: string): PhraseResult {
    // The hot loop only walks the DFA; output states are numbered last, so "did a phrase
    // end here?" is one comparison, and everything else happens in collect().
    const { symbolOf, delta, alphabet, firstOut } = this.dfa;
    const symbols = symbolOf.length;
    const n = foldedText.length;
    let state = this.dfa.start;
    for (let i = 0; i < n; i++) {
      const c = foldedText.charCodeAt(i);
      state = delta[state * alphabet + (c < symbols ? symbolOf[c]! : 0)]!;
      if (state >= firstOut) return this.collect(foldedText, i, state);
    }
    state = delta[state * alphabet + this.dfa.space]!;
    return state >= firstOut ? this.collect(foldedText, n, state) : NO_PHRASES;
  }

  /**
   * Matches raw text (a URL path, "/news/How-To-Stay-Safe"): the same answer as
   * match(foldText(raw)), but for ASCII text without folding it into a new string first. The
   * walk only asks "could a phrase end here?"; the rare text where one could is folded and
   * matched in full.
   */
  matchWords(raw: string): PhraseResult {
    const dfa = this.dfa;
    const state = walkFoldedAscii(raw, dfa, dfa.start);
    if (state >= 0 && dfa.delta[state * dfa.alphabet + dfa.space]! < dfa.firstOut) return NO_PHRASES;
    return this.match(foldText(raw));
  }

  /** Carries on from the first state with output at `from`, recording every phrase once. */
  private collect(text: string, from: number, first: number): PhraseResult {
    const { symbolOf, delta, alphabet, firstOut, outStart, phraseIds } = this.dfa;
    const symbols = symbolOf.length;
    const n = text.length;
    const ids: number[] = [];
    let state = first;
    for (let i = from; ;) {
      if (state >= firstOut) {
        const o = state - firstOut;
        for (let k = outStart[o]!; k < outStart[o + 1]!; k++) {
          const id = phraseIds[k]!;
          if (!ids.includes(id)) ids.push(id);
        }
      }
      // Position n is the closing space the text is wrapped in.
      if (++i > n) break;
      const c = i < n ? text.charCodeAt(i) : SPACE;
      state = delta[state * alphabet + (c < symbols ? symbolOf[c]! : 0)]!;
    }
    const hits = ids.map((id) => this.hitOf[id]!);
    const scores = new Array<number>(this.categories.length).fill(0);
    const touched: number[] = [];
    for (const id of ids) {
      const ci = this.phraseCategory[id]!;
      if (!touched.includes(ci)) touched.push(ci);
      scores[ci] = scores[ci]! + this.hitOf[id]!.weight;
    }
    const flagged: PhraseScore[] = [];
    for (const ci of touched) {
      if (scores[ci]! >= this.thresholdOf[ci]!) flagged.push({ category: this.categories[ci]!, score: scores[ci]! });
    }
    flagged.sort((a, b) => b.score - a.score || (a.category < b.category ? -1 : 1));
    return { hits, flagged };
  }
}

interface Dfa extends CharDfa {
  readonly alphabet: number;
  /** UTF-16 code unit → symbol; symbol 0 is every character no phrase uses, and leads to the root. */
  readonly symbolOf: Uint8Array | Uint16Array;
  /** Symbol of the space that wraps text and phrases. */
  readonly space: number;
  /** delta[state * alphabet + symbol] = next state; state 0 is the root. */
  readonly delta: Uint16Array | Uint32Array;
  /** States from firstOut on are those at which phrases end. */
  readonly firstOut: number;
  /** Phrases ending at state s: phraseIds[outStart[s - firstOut] .. outStart[s - firstOut + 1]), longest first. */
  readonly outStart: Uint32Array;
  readonly phraseIds: Uint32Array;
  /** State after reading the opening space; every phrase starts there. */
  readonly start: number;
}

/** Aho–Corasick over `patterns` (pattern i reports phrase id i), as a dense DFA. */
function compile(patterns: readonly string[]): Dfa {
  // The alphabet is the characters the phrases use; all others share symbol 0.
  let maxCode = 0;
  for (const p of patterns) for (let i = 0; i < p.length; i++) maxCode = Math.max(maxCode, p.charCodeAt(i));
  const codes = new Uint16Array(patterns.length === 0 ? 0 : maxCode + 1);
  let alphabet = 1;
  for (const p of patterns) {
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (codes[c] === 0) codes[c] = alphabet++;
    }
  }
  const symbolOf = alphabet <= 0x100 ? Uint8Array.from(codes) : codes;

  // Trie, with children in Maps while it grows.
  const children: Map<number, number>[] = [new Map()];
  const own: number[][] = [[]];
  patterns.forEach((p, id) => {
    let s = 0;
    for (let i = 0; i < p.length; i++) {
      const sym = symbolOf[p.charCodeAt(i)]!;
      let next = children[s]!.get(sym);
      if (next === undefined) {
        next = children.push(new Map()) - 1;
        own.push([]);
        children[s]!.set(sym, next);
      }
      s = next;
    }
    own[s]!.push(id);
  });

  // Breadth-first: a state's failure state is shallower, so its row and outputs are final
  // by the time they are copied.
  const states = children.length;
  const trieDelta = new Uint32Array(states * alphabet);
  const fail = new Uint32Array(states);
  const outputs: number[][] = new Array<number[]>(states);
  outputs[0] = own[0]!;
  const queue: number[] = [];
  for (const [sym, child] of children[0]!) {
    trieDelta[sym] = child;
    queue.push(child);
  }
  for (let q = 0; q < queue.length; q++) {
    const s = queue[q]!;
    const f = fail[s]!;
    outputs[s] = own[s]!.concat(outputs[f]!);
    const row = s * alphabet;
    const failRow = f * alphabet;
    trieDelta.copyWithin(row + 1, failRow + 1, failRow + alphabet);
    for (const [sym, child] of children[s]!) {
      fail[child] = trieDelta[failRow + sym]!;
      trieDelta[row + sym] = child;
      queue.push(child);
    }
  }

  // Renumber: states without output first (the root stays 0), then those with output.
  const newId = new Uint32Array(states);
  let next = 0;
  for (let s = 0; s < states; s++) if (outputs[s]!.length === 0) newId[s] = next++;
  const firstOut = next;
  for (let s = 0; s < states; s++) if (outputs[s]!.length !== 0) newId[s] = next++;

  const delta = states <= 0x10000 ? new Uint16Array(states * alphabet) : new Uint32Array(states * alphabet);
  const outStart = new Uint32Array(states - firstOut + 1);
  const outLists: number[][] = new Array<number[]>(states - firstOut);
  for (let s = 0; s < states; s++) {
    const to = newId[s]! * alphabet;
    const from = s * alphabet;
    for (let sym = 0; sym < alphabet; sym++) delta[to + sym] = newId[trieDelta[from + sym]!]!;
    if (newId[s]! >= firstOut) outLists[newId[s]! - firstOut] = outputs[s]!;
  }
  let total = 0;
  outLists.forEach((list, o) => {
    outStart[o] = total;
    total += list.length;
  });
  outStart[outLists.length] = total;
  const phraseIds = new Uint32Array(total);
  outLists.forEach((list, o) => phraseIds.set(list, outStart[o]!));

  const space = SPACE < symbolOf.length ? symbolOf[SPACE]! : 0;
  return { alphabet, symbolOf, space, delta, firstOut, outStart, phraseIds, start: delta[space]! };
}
