// The safeguarding detection engine: one pure function of a text (a search term, the words of
// an address, a page) to the concerns it touches, each with a score, a severity and the
// evidence — which rules matched, on which words, with which weights — so a DSL can see why.
//
// How it reads a text:
// 1. Characters: look-alike letters, invisible characters and emoji stand-ins are put back
//    (evasions.ts), then foldText (case, accents, leetspeak, punctuation).
// 2. Words: one walk of an Aho–Corasick automaton over the folded text finds every word the
//    lists know, in any of its forms ("hung" is "hang"), with its position. In searches,
//    unknown tokens are repaired first: spaced letters, repeated letters, one-letter typos.
// 3. Rules: phrases (words in order) and combinations (parts within a few words, any order)
//    are checked only when one of their uncommon words occurs.
// 4. Scores: per category, each matched rule counts once; negative weights are context that
//    lowers the score, but never below the weight of a matched intent rule ("context lowers,
//    never erases"). The caution threshold raises the concern; the danger threshold makes it
//    danger.
//
// The common case — an address with none of the lists' words — is one walk that stops at the
// end of the path without building anything.
import { compileDfa, SPACE, type Dfa } from './aho-corasick.js';
import { emojiMap, englishWordsWithPrefix, NearIndex, readCharacters, repairTokens, type EmojiMap, type Repair, type Vocabulary } from './evasions.js';
import { foldText, walkFoldedAscii, WALK_NOT_ASCII, type CharDfa } from './normalise-text.js';
import { EMPTY_LEXICON, type EmojiEntry, type PhraseEntry, type WordClassEntry } from './phrase-file.js';
import { DEFAULT_WITHIN, parseRule, parseWords, ruleKey, type RuleWord } from './phrase-rules.js';
import { englishForms } from './word-forms.js';

export { loadPhraseFile, loadLexicon, PHRASE_CATEGORIES, type Lexicon, type PhraseCategory, type PhraseEntry } from './phrase-file.js';

export const DEFAULT_PHRASE_THRESHOLD = 10;
export const DEFAULT_DANGER_THRESHOLD = 20;

export type PhraseSeverity = 'danger' | 'caution';

export interface PhraseHit {
  readonly category: string;
  /** The rule as written in its file. */
  readonly phrase: string;
  readonly weight: number;
  /** The words of the text it matched, as read ("kill … myself"). */
  readonly matched: string;
  /** Context never lowers the category below this rule's weight. */
  readonly intent: boolean;
  readonly file: string;
  readonly line: number;
  /** Where in the text as read it matched, in words (end exclusive), one span per part. */
  readonly spans: readonly WordSpan[];
}

export interface WordSpan {
  readonly start: number;
  readonly end: number;
}

export interface PhraseScore {
  readonly category: string;
  readonly score: number;
  readonly severity: PhraseSeverity;
}

export interface PhraseResult {
  /** Every rule matched, in the order of the rules. */
  readonly hits: readonly PhraseHit[];
  /** Categories whose score reached the caution threshold, highest score first. */
  readonly flagged: readonly PhraseScore[];
  /** How an evasion was read ("k i l l" as "kill"); empty when the text was read as written. */
  readonly repairs: readonly Repair[];
  /** The text as read (folded, repaired): what the hits' spans count words of. */
  readonly read: string;
}

export interface PhraseThresholds {
  /** Score that raises a category, at caution. */
  readonly default: number;
  readonly byCategory?: Readonly<Record<string, number>>;
  /** Score that makes it danger (DEFAULT_DANGER_THRESHOLD unless given). */
  readonly danger?: number;
  readonly dangerByCategory?: Readonly<Record<string, number>>;
}

export interface LexiconExtras {
  readonly classes: readonly WordClassEntry[];
  readonly emoji: readonly EmojiEntry[];
}

/** The result for text that hits nothing; shared, so the common case allocates nothing. */
export const NO_PHRASES: PhraseResult = Object.freeze({ hits: Object.freeze([]), flagged: Object.freeze([]), repairs: Object.freeze([]), read: '' });

/**
 * Words so frequent that a rule is never looked at because of them alone: they still count
 * inside a rule ("how to", "me"), but an address must hold some other listed word before the
 * rules are checked.
 */
const COMMON = new Set(`a an the to of in on at by for from with without into onto off out up down over under about as and or
  but if so not no nor than then too very just also all any some every each more most less own same other such only i im
  ive id ill me my mine myself you u ur your youre yours he him his she her they them their we us our it its is are was
  were be been being am do does did done doing have has had having can could would should will shall may might must
  how what why when where who whom which whose this that these those there here get got gets getting go goes going
  gonna wanna want wants make makes made way ways best thing things one ones like know need day days time times new
  good bad really now please help yes ok lol`.split(/\s+/).filter(Boolean));

interface Rule {
  readonly category: number;
  readonly weight: number;
  readonly intent: boolean;
  readonly within: number;
  /** Its parts, as ids into the matcher's parts (a part written the same way in two rules is one). */
  readonly parts: readonly number[];
  readonly phrase: string;
  readonly file: string;
  readonly line: number;
}

type Span = WordSpan;

export class PhraseMatcher {
  /** Number of rules compiled (a rule listed in two categories counts twice). */
  readonly size: number;
  /** Distinct word forms the automaton knows. */
  readonly forms: number;
  private readonly dfa: Dfa;
  /** The same automaton, accepting only where an uncommon word ends: the address fast path. */
  private readonly prefilter: CharDfa;
  /** Word ids that each pattern stands for. */
  private readonly patternWords: readonly (readonly number[])[];
  private readonly rules: readonly Rule[];
  /** Every distinct part of every rule: a sequence of slots; a slot is its alternatives, each a run of word ids. */
  private readonly parts: readonly Slots[];
  /** Rules to check when a word occurs (its uncommon words only). */
  private readonly rulesOfWord: readonly (readonly number[])[];
  /** Rules made of common words alone: checked for every search and page that has any listed word. */
  private readonly commonRules: readonly number[];
  private readonly categories: readonly string[];
  private readonly caution: Float64Array;
  private readonly danger: Float64Array;
  private readonly emoji: EmojiMap;
  private readonly vocab: Vocabulary;

  constructor(entries: readonly PhraseEntry[], thresholds: PhraseThresholds, extras: LexiconExtras = EMPTY_LEXICON) {
    const compiler = new Compiler(extras.classes);
    // Later entries replace earlier ones for the same category and rule, so a school's own
    // file, or the DSL's change, loaded after the shipped ones can change a weight.
    const byKey = new Map<string, PhraseEntry>();
    for (const e of entries) {
      const parsed = parseRule(e.phrase);
      if ('error' in parsed) throw new RangeError(`${e.file}:${e.line}: ${parsed.error}`);
      const key = `${e.category}\n${ruleKey(parsed)}`;
      byKey.delete(key);
      byKey.set(key, e);
    }
    const categories: string[] = [];
    const categoryIndex = new Map<string, number>();
    const rules: Rule[] = [];
    for (const e of byKey.values()) {
      let ci = categoryIndex.get(e.category);
      if (ci === undefined) categoryIndex.set(e.category, (ci = categories.push(e.category) - 1));
      rules.push(compiler.rule(e, ci));
    }
    this.size = rules.length;
    this.rules = rules;
    this.parts = compiler.parts;
    this.categories = categories;
    this.caution = new Float64Array(categories.length);
    this.danger = new Float64Array(categories.length);
    categories.forEach((cat, ci) => {
      const c = thresholds.byCategory?.[cat] ?? thresholds.default;
      const d = thresholds.dangerByCategory?.[cat] ?? thresholds.danger ?? Math.max(DEFAULT_DANGER_THRESHOLD, 2 * c);
      if (!Number.isFinite(c) || c <= 0) throw new RangeError(`phrase threshold for ${cat} must be a positive number, found ${c}`);
      if (!Number.isFinite(d)) throw new RangeError(`danger threshold for ${cat} must be a number, found ${d}`);
      this.caution[ci] = c;
      // A category raised at a higher score than the danger threshold is danger from there.
      this.danger[ci] = Math.max(d, c);
    });

    const rulesOfWord: number[][] = compiler.words.map(() => []);
    const commonRules: number[] = [];
    rules.forEach((r, ri) => {
      const uncommon = new Set<number>();
      for (const pi of r.parts) for (const slot of compiler.parts[pi]!) for (const alt of slot.alts) for (const id of alt) if (!compiler.common[id]) uncommon.add(id);
      // A rule that can match on common words alone (a class member such as "not be here") is
      // looked at for every text with any listed word, or it would never fire that way.
      const commonOnly = r.parts.every((pi) => compiler.parts[pi]!.every((slot) => slot.alts.some((alt) => alt.every((id) => compiler.common[id]))));
      if (uncommon.size === 0 || commonOnly) commonRules.push(ri);
      for (const id of uncommon) rulesOfWord[id]!.push(ri);
    });
    this.rulesOfWord = rulesOfWord;
    this.commonRules = commonRules;

    const { patterns, patternWords, anchor, forms, near } = compiler.patterns();
    this.patternWords = patternWords;
    this.forms = forms.size;
    this.dfa = compileDfa(patterns, (id) => anchor[id]!);
    if (compiler.words.length >= WORD_KEY) throw new RangeError(`the phrase lists hold ${compiler.words.length} distinct words; at most ${WORD_KEY - 1} are supported`);
    this.prefilter = { ...this.dfa, firstOut: this.dfa.firstAnchor };
    const prefixes = compiler.words.filter((w) => w.prefix).map((w) => w.word);
    for (const w of englishWordsWithPrefix(compiler.words.filter((w) => w.prefix && w.english).map((w) => w.word))) near.add(w);
    this.vocab = {
      known: (t) => forms.has(t) || prefixes.some((p) => t.startsWith(p)),
      nearest: (t) => near.nearest(t),
    };
    this.emoji = emojiMap(extras.emoji);
  }

  /** Bytes held by the automaton's tables (the rest is small objects). */
  get automatonBytes(): number {
    return this.dfa.bytes;
  }

  /** The score that raises a category, and the one that makes it danger. */
  thresholdsOf(category: string): { caution: number; danger: number } {
    const ci = this.categories.indexOf(category);
    return ci < 0 ? { caution: Infinity, danger: Infinity } : { caution: this.caution[ci]!, danger: this.danger[ci]! };
  }

  /**
   * A search term, as typed: every evasion repair, one-letter typos included. `folded`, when
   * the caller has it (SearchTerm.text), saves folding plain ASCII again.
   */
  matchSearch(raw: string, folded?: string): PhraseResult {
    const chars = readCharacters(raw, this.emoji);
    const text = chars === raw && folded !== undefined ? folded : foldText(chars);
    const { text: read, repairs } = repairTokens(text, this.vocab, true);
    return this.analyse(read, repairs);
  }

  /** Text already folded with foldText (a title, words from elsewhere): no repairs. */
  match(foldedText: string): PhraseResult {
    return this.analyse(foldedText, NO_REPAIRS);
  }

  /**
   * The words of an address ("/news/How-To-Stay-Safe"). Plain ASCII that holds no uncommon
   * listed word is answered by one walk without folding it into a new string; anything else
   * is read in full (repairs but no typo corrections: slugs are written, not typed).
   */
  matchWords(raw: string): PhraseResult {
    const dfa = this.dfa;
    const state = walkFoldedAscii(raw, this.prefilter, dfa.start);
    if (state >= 0 && dfa.delta[state * dfa.alphabet + dfa.space]! < dfa.firstAnchor) return NO_PHRASES;
    const text = state === WALK_NOT_ASCII ? foldText(readCharacters(raw, this.emoji)) : foldText(raw);
    const { text: read, repairs } = repairTokens(text, this.vocab, false);
    return this.analyse(read, repairs);
  }

  /** A page's text (HTML already turned into text): characters read back, words matched as written. */
  matchPage(text: string): PhraseResult {
    return this.analyse(foldText(readCharacters(text, this.emoji)), NO_REPAIRS);
  }

  // -------------------------------------------------------------------------------------

  private analyse(text: string, repairs: readonly Repair[]): PhraseResult {
    if (text === '') return NO_PHRASES;
    const found = this.walk(text);
    if (found === null) return NO_PHRASES;
    const { present, positions, anchors, at } = found;
    const candidates = new Set<number>(this.commonRules);
    for (const id of anchors) for (const ri of this.rulesOfWord[id]!) candidates.add(ri);
    if (candidates.size === 0) return NO_PHRASES;

    let words: string[] | null = null;
    const wordsOf = (spans: readonly Span[]): string => {
      words ??= text.split(' ');
      return spans.map((s) => words!.slice(s.start, s.end).join(' ')).join(' … ');
    };
    const hits: PhraseHit[] = [];
    const hitCategory: number[] = [];
    // Many rules share a part (@self, @how): its places in this text are found once.
    const has = (id: number, w: number): boolean => present.has(w * WORD_KEY + id);
    const spanCache = new Map<number, Span[]>();
    const spansOfPart = (pi: number): Span[] => {
      let s = spanCache.get(pi);
      if (s === undefined) spanCache.set(pi, (s = spansOf(this.parts[pi]!, has, positions, at)));
      return s;
    };
    for (const ri of [...candidates].sort((a, b) => a - b)) {
      const r = this.rules[ri]!;
      const spans = matchRule(r, spansOfPart);
      if (spans === null) continue;
      const sorted = spans.length === 1 ? spans : [...spans].sort((x, y) => x.start - y.start);
      hits.push({ category: this.categories[r.category]!, phrase: r.phrase, weight: r.weight, matched: wordsOf(sorted), intent: r.intent, file: r.file, line: r.line, spans: sorted });
      hitCategory.push(r.category);
    }
    if (hits.length === 0) return NO_PHRASES;
    const flagged: PhraseScore[] = [];
    for (const ci of new Set(hitCategory)) {
      const cat = this.categories[ci]!;
      const score = scoreHits(hits.filter((h) => h.category === cat));
      const severity = severityOf(score, this.caution[ci]!, this.danger[ci]!);
      if (severity) flagged.push({ category: cat, score, severity });
    }
    flagged.sort((a, b) => b.score - a.score || (a.category < b.category ? -1 : 1));
    return { hits, flagged, repairs, read: text };
  }

  /** Every listed word in the text with its position, or null when none is uncommon. */
  private walk(text: string): { present: Set<number>; positions: Map<number, number[]>; anchors: Set<number>; at: WordsAt } | null {
    const { symbolOf, delta, alphabet, firstOut, firstAnchor, outStart, patternIds, start } = this.dfa;
    const symbols = symbolOf.length;
    const n = text.length;
    const present = new Set<number>();
    const positions = new Map<number, number[]>();
    // The word ids at each position: ids[starts[w] .. starts[w + 1]).
    const ids: number[] = [];
    const starts: number[] = [0];
    const anchors = new Set<number>();
    let anyAnchor = this.commonRules.length > 0;
    let word = 0;
    let state = start;
    for (let i = 0; i <= n; i++) {
      // Position n is the closing space the text is wrapped in.
      const c = i < n ? text.charCodeAt(i) : SPACE;
      state = delta[state * alphabet + (c < symbols ? symbolOf[c]! : 0)]!;
      if (state >= firstOut) {
        if (state >= firstAnchor) anyAnchor = true;
        const o = state - firstOut;
        for (let k = outStart[o]!; k < outStart[o + 1]!; k++) {
          for (const id of this.patternWords[patternIds[k]!]!) {
            const key = word * WORD_KEY + id;
            if (present.has(key)) continue;
            present.add(key);
            while (starts.length <= word) starts.push(ids.length);
            ids.push(id);
            const list = positions.get(id);
            if (list === undefined) positions.set(id, [word]);
            else list.push(word);
            if (this.rulesOfWord[id]!.length > 0) anchors.add(id);
          }
        }
      }
      if (c === SPACE) word++;
    }
    while (starts.length <= word + 1) starts.push(ids.length);
    return anyAnchor && present.size > 0 ? { present, positions, anchors, at: { ids, starts } } : null;
  }
}

const NO_REPAIRS: readonly Repair[] = Object.freeze([]);

/** A category's score from its matched rules: context lowers it, never below an intent rule's weight. */
export function scoreHits(hits: readonly Pick<PhraseHit, 'weight' | 'intent'>[]): number {
  let sum = 0;
  let floor = -Infinity;
  for (const h of hits) {
    sum += h.weight;
    if (h.intent && h.weight > floor) floor = h.weight;
  }
  return Math.max(sum, floor);
}

export function severityOf(score: number, caution: number, danger: number): PhraseSeverity | null {
  return score >= danger ? 'danger' : score >= caution ? 'caution' : null;
}

// ---------------------------------------------------------------------------------------
// Matching one rule

const WORD_KEY = 0x10000;
function matchRule(r: Rule, spansOfPart: (pi: number) => Span[]): Span[] | null {
  if (r.parts.length === 1) {
    const s = spansOfPart(r.parts[0]!);
    return s.length === 0 ? null : [s[0]!];
  }
  const all: Span[][] = [];
  for (const pi of r.parts) {
    const s = spansOfPart(pi);
    if (s.length === 0) return null;
    all.push(s);
  }
  // Anchor on the part with the fewest places, then look for the others in each window of
  // `within` words that holds it; each part's places are sorted, so a window is a binary search.
  let a = 0;
  all.forEach((s, i) => {
    if (s.length < all[a]!.length) a = i;
  });
  for (const anchor of all[a]!) {
    for (let from = Math.max(0, anchor.end - r.within); from <= anchor.start; from++) {
      const chosen = assign(all, a, 0, from, from + r.within, [anchor]);
      if (chosen) return chosen;
    }
  }
  return null;
}

/**
 * Places for parts i… (the anchor part `skip` already placed) inside [from, to), none sharing a
 * word; tries each candidate place of a part in turn, so the order of the text never matters.
 */
function assign(all: readonly Span[][], skip: number, i: number, from: number, to: number, taken: Span[]): Span[] | null {
  if (i === skip) return assign(all, skip, i + 1, from, to, taken);
  if (i === all.length) return taken;
  const spans = all[i]!;
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (spans[mid]!.start < from) lo = mid + 1;
    else hi = mid;
  }
  for (let k = lo; k < spans.length && spans[k]!.start < to; k++) {
    const x = spans[k]!;
    if (x.end > to || !taken.every((y) => x.end <= y.start || x.start >= y.end)) continue;
    const done = assign(all, skip, i + 1, from, to, [...taken, x]);
    if (done) return done;
  }
  return null;
}

/** One place in a part: its alternatives (runs of word ids), and them by first word. */
interface Slot {
  readonly alts: readonly (readonly number[])[];
  readonly byFirst: ReadonlyMap<number, readonly (readonly number[])[]>;
}
type Slots = readonly Slot[];

/** The word ids found at each word position of a text. */
interface WordsAt {
  readonly ids: readonly number[];
  readonly starts: readonly number[];
}

function slotOf(alts: readonly (readonly number[])[]): Slot {
  const byFirst = new Map<number, (readonly number[])[]>();
  for (const alt of alts) {
    const list = byFirst.get(alt[0]!);
    if (list) list.push(alt);
    else byFirst.set(alt[0]!, [alt]);
  }
  return { alts, byFirst };
}

/** Where a part (slots in order) matches: its spans, sorted by start. */
function spansOf(slots: Slots, has: (id: number, at: number) => boolean, positions: Map<number, number[]>, at: WordsAt): Span[] {
  const starts: number[] = [];
  for (const first of slots[0]!.byFirst.keys()) {
    const p = positions.get(first);
    if (p !== undefined) for (const x of p) starts.push(x);
  }
  if (starts.length === 0) return NO_SPANS;
  if (slots[0]!.byFirst.size > 1) starts.sort((x, y) => x - y);
  const out: Span[] = [];
  let last = -1;
  for (const p of starts) {
    if (p === last) continue;
    last = p;
    const end = matchSlots(slots, 0, p, has, at);
    if (end >= 0) out.push({ start: p, end });
  }
  return out;
}

const NO_SPANS: Span[] = [];

/**
 * The end of the first way slots k… match from word `w`, or -1. Only the alternatives that
 * start with a word found at `w` are tried, so a class of hundreds of members costs no more
 * than one of three.
 */
function matchSlots(slots: Slots, k: number, w: number, has: (id: number, at: number) => boolean, at: WordsAt): number {
  if (k === slots.length) return w;
  if (w + 1 >= at.starts.length) return -1;
  const slot = slots[k]!;
  for (let e = at.starts[w]!; e < at.starts[w + 1]!; e++) {
    for (const alt of slot.byFirst.get(at.ids[e]!) ?? NONE_ALTS) {
      let ok = true;
      for (let j = 1; j < alt.length && ok; j++) ok = has(alt[j]!, w + j);
      if (!ok) continue;
      const end = matchSlots(slots, k + 1, w + alt.length, has, at);
      if (end >= 0) return end;
    }
  }
  return -1;
}

const NONE_ALTS: readonly (readonly number[])[] = [];

// ---------------------------------------------------------------------------------------
// Compiling

interface WordInfo {
  readonly word: string;
  readonly prefix: boolean;
  english: boolean;
}

class Compiler {
  readonly words: WordInfo[] = [];
  readonly parts: Slots[] = [];
  private readonly partOf = new Map<string, number>();
  /** Per word id: one of the COMMON words. */
  readonly common: boolean[] = [];
  private readonly idOf = new Map<string, number>();
  private readonly classes = new Map<string, { members: RuleWord[][]; language: string }[]>();
  private readonly expanded = new Map<string, Slot>();

  constructor(classes: readonly WordClassEntry[]) {
    for (const k of classes) {
      const members: RuleWord[][] = [];
      for (const m of k.members) {
        const w = parseWords(m);
        if (!('error' in w)) members.push(w);
      }
      const list = this.classes.get(k.name);
      if (list) list.push({ members, language: k.language });
      else this.classes.set(k.name, [{ members, language: k.language }]);
    }
  }

  rule(e: PhraseEntry, category: number): Rule {
    const parsed = parseRule(e.phrase);
    if ('error' in parsed) throw new RangeError(`${e.file}:${e.line}: ${parsed.error}`);
    const parts = parsed.parts.map((part) => {
      const slots = part.map((t): Slot => {
        if (t.kind === 'word') return slotOf([[this.wordId(t.word, e.language)]]);
        const alts = this.classAlternatives(t.name);
        if (alts === undefined) throw new RangeError(`${e.file}:${e.line}: "${e.phrase}": no word class @${t.name}`);
        return alts;
      });
      // Keyed by what it matches: word ids, and the class by name.
      const key = part.map((t, i) => (t.kind === 'class' ? `@${t.name}` : String(slots[i]!.alts[0]![0]))).join(' ');
      let pi = this.partOf.get(key);
      if (pi === undefined) this.partOf.set(key, (pi = this.parts.push(slots) - 1));
      return pi;
    });
    return {
      category, weight: e.weight, intent: e.intent === true, within: e.within ?? DEFAULT_WITHIN, parts,
      phrase: e.phrase, file: e.file, line: e.line,
    };
  }

  private classAlternatives(name: string): Slot | undefined {
    const done = this.expanded.get(name);
    if (done) return done;
    const defs = this.classes.get(name);
    if (!defs) return undefined;
    const alts: number[][] = [];
    const seen = new Set<string>();
    for (const d of defs) {
      for (const m of d.members) {
        const ids = m.map((w) => this.wordId(w, d.language));
        const key = ids.join(',');
        if (!seen.has(key)) {
          seen.add(key);
          alts.push(ids);
        }
      }
    }
    const slot = slotOf(alts);
    this.expanded.set(name, slot);
    return slot;
  }

  private wordId(w: RuleWord, language: string): number {
    const key = w.word + (w.prefix ? '*' : '');
    let id = this.idOf.get(key);
    if (id === undefined) {
      id = this.words.push({ word: w.word, prefix: w.prefix, english: false }) - 1;
      this.idOf.set(key, id);
      this.common.push(!w.prefix && COMMON.has(w.word));
    }
    if (language === 'en') this.words[id]!.english = true;
    return id;
  }

  /** The automaton's patterns: " form " for each word form, " prefix" for each prefix. */
  patterns(): { patterns: string[]; patternWords: number[][]; anchor: boolean[]; forms: Set<string>; near: NearIndex } {
    const index = new Map<string, number>();
    const patterns: string[] = [];
    const patternWords: number[][] = [];
    const anchor: boolean[] = [];
    const forms = new Set<string>();
    const near = new NearIndex();
    const add = (pattern: string, id: number): void => {
      let p = index.get(pattern);
      if (p === undefined) {
        p = patterns.push(pattern) - 1;
        index.set(pattern, p);
        patternWords.push([]);
        anchor.push(false);
      }
      if (!patternWords[p]!.includes(id)) patternWords[p]!.push(id);
      if (!this.common[id]) anchor[p] = true;
    };
    this.words.forEach((w, id) => {
      if (w.prefix) {
        add(' ' + w.word, id);
        return;
      }
      for (const f of w.english ? englishForms(w.word) : [w.word]) {
        add(` ${f} `, id);
        forms.add(f);
      }
      // Typos are read back onto the listed spelling of uncommon English words ("suicde"), not
      // onto every form of them: the index stays small, and "hangign" is rare beside "hangin".
      if (w.english && !this.common[id] && /^[a-z]+$/.test(w.word)) near.add(w.word);
    });
    return { patterns, patternWords, anchor, forms, near };
  }
}

/** What the configuration says about phrases (config.phrases). */
export interface PhraseSettings extends LexiconExtras {
  readonly entries: readonly PhraseEntry[];
  readonly threshold: number;
  readonly thresholds: Readonly<Record<string, number>>;
  readonly danger: number;
}

/** The engine for a configuration, with `more` rules (the DSL's) laid over the files'. */
export function buildPhraseMatcher(p: PhraseSettings, more: readonly PhraseEntry[] = []): PhraseMatcher {
  return new PhraseMatcher(more.length === 0 ? p.entries : [...p.entries, ...more], { default: p.threshold, byCategory: p.thresholds, danger: p.danger }, p);
}
