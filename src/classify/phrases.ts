// The safeguarding detection engine: one pure function of a text (a search term, the words of
// an address, a page) to the concerns it touches, each with a score, a severity and the
// evidence — which rules matched, on which words, with which weights — so a DSL can see why.
//
// How it reads a text:
// 1. Characters: look-alike letters, invisible characters and emoji stand-ins are put back
//    (evasions.ts), then foldText (case, accents, leetspeak, punctuation).
// 2. Words: each word of the folded text is looked up in a table of the lists' word forms and
//    prefixes (word-table.ts), which finds every word the lists know, in any of its forms
//    ("hung" is "hang"), with its position; a word is looked up once however often it recurs,
//    and what the table said is kept for the next texts (word-cache.ts). In searches, unknown
//    tokens are repaired first: spaced letters, repeated letters, one-letter typos.
// 3. Rules: a rule is looked at only when a word it cannot match without occurs, every slot it
//    needs has a first word somewhere, and the parts it needs close together were found close
//    together; on a page, only when the words each of its parts needs side by side were found
//    side by side (word-pairs.ts). A part's places are then looked for only where its rarest
//    slot was found.
// 4. Scores: per category, each matched rule counts once; negative weights are context that
//    lowers the score, but never below the weight of a matched intent rule ("context lowers,
//    never erases"). On a page, context lowers in full only the phrases near it, context
//    elsewhere takes at most half, one everyday word talks down no one's own post from
//    elsewhere on the page, rules on the same words are one piece of evidence, and
//    first-person intent in one unframed post keeps caution (scorePage). The caution threshold
//    raises the concern; the danger threshold makes it danger.
//
// The common case — an address in which no positive rule could match — is answered by the
// address gate (address-anchors.ts): one walk of an automaton over the path, folded as it is
// walked, without reading it in full. A page's thousands of
// words are read into buffers kept from call to call (Workspace), so a page makes no garbage
// but its hits.
import { AddressGate, gateRules } from './address-anchors.js';
import { SPACE } from './aho-corasick.js';
import { phraseSaysFirstPerson, postSaysFirstPerson } from './first-person.js';
import { flatten } from './flat-lists.js';
import { COMMON } from './english.js';
import { emojiMap, englishWordsWithPrefix, NearIndex, readCharacters, readSearch, repairTokens, type EmojiMap, type Repair, type Vocabulary } from './evasions.js';
import { foldText } from './normalise-text.js';
import { PageFold, TextBuffer } from './page-fold.js';
import { EMPTY_LEXICON, type EmojiEntry, type PhraseEntry, type WordClassEntry } from './phrase-file.js';
import { DEFAULT_WITHIN, parseRule, parseWords, ruleKey, type RuleWord } from './phrase-rules.js';
import { englishForms } from './word-forms.js';
import { MAX_CACHED_WORD, WordCache } from './word-cache.js';
import { PagePairs, PairFilter } from './word-pairs.js';
import { HASH_SEED, hashStep, WordTable } from './word-table.js';

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
  /** Context never lowers the category below this rule's weight (in searches and addresses). */
  readonly intent: boolean;
  /** The language of the file it came from. */
  readonly language: string;
  readonly file: string;
  readonly line: number;
  /** Where in the text as read it matched, in words (end exclusive), one span per part. */
  readonly spans: readonly WordSpan[];
  /** From a `pages-only` file: how the page frames itself (a lesson, a news report, a help page). */
  readonly pagesOnly?: true;
  /**
   * On a page, the blocks (paragraphs, posts, list items: page text keeps a newline between
   * them) its first and last words are in, counted from the page's start; absent elsewhere.
   */
  readonly blocks?: BlockRange;
  /**
   * On a page, for context of one term (isOneTerm): every place it matched, each with its block,
   * so that it is counted where it says most (scorePage); at most PAGE_ONE_WORD_PLACES.
   */
  readonly places?: readonly OneWordPlace[];
}

/** A place of a one-term context rule on a page, and its block. */
export interface OneWordPlace {
  readonly start: number;
  readonly end: number;
  readonly block: number;
}

/** The first and last block of a page a hit lies in (PhraseHit.blocks). */
export interface BlockRange {
  readonly first: number;
  readonly last: number;
  /** For positive evidence: whether those blocks say "i", "me", "my" … (first-person.ts): someone's own post. */
  readonly firstPerson: boolean;
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
  /**
   * The text as read (folded, repaired): what the hits' spans count words of. A search also
   * gives it when nothing matched but it was read otherwise than folded; else '' without hits.
   */
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

// COMMON lives with the English word lists, where the evasion repairs read it too; it is
// still exported from here for the modules that have always taken it from the phrase engine.
export { COMMON };

interface Rule {
  readonly category: number;
  readonly weight: number;
  readonly intent: boolean;
  readonly within: number;
  /** The language of its file: context counts in the language of what it qualifies. */
  readonly language: string;
  /** Read only in page text (a `pages-only` file). */
  readonly pagesOnly: boolean;
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
  /** Whether an address's words could match a positive rule: the address fast path (address-anchors.ts). */
  readonly addressGate: AddressGate;
  /** The automaton's patterns, looked up a word at a time: how a text's listed words are found. */
  private readonly table: WordTable;
  private readonly rules: readonly Rule[];
  /**
   * Rules to look at when a word occurs: each rule is listed under the first words of one slot
   * it cannot match without (the rarest, by a guess), so a text wakes only the rules one of
   * whose required words it holds. rulesOfWordIds[rulesOfWordStart[id] .. rulesOfWordStart[id + 1]).
   */
  private readonly rulesOfWordStart: Int32Array;
  private readonly rulesOfWordIds: Int32Array;
  /** Per word id, the slots with an alternative that starts with it (slotsOfWordIds, as above). */
  private readonly slotsOfWordStart: Int32Array;
  private readonly slotsOfWordIds: Int32Array;
  /**
   * Per rule, what possible() checks, in one array so that checking a rule reads one run of
   * memory: checks[checkStart[r] .. nearStart[r]) are every slot it needs (a rule one of whose
   * slots has no first word in the text is not looked at); checks[nearStart[r] .. checkStart[r + 1])
   * are pairs of slots whose first words must be found fewer than BLOCK_MIN words apart for it to
   * match: each two parts' first slots (they start within `within` words), and in a part, its
   * first slot and each later one (a part is shorter than BLOCK_MIN words).
   */
  private readonly checks: Int32Array;
  private readonly checkStart: Int32Array;
  private readonly nearStart: Int32Array;
  /** Per rule of one part, that part, else -1. */
  private readonly singlePart: Int32Array;
  /** Rule ri's parts, ruleParts[rulePartStart[ri] .. rulePartStart[ri + 1]), and its `within`: what matchRule reads, without a Rule object. */
  private readonly rulePartStart: Int32Array;
  private readonly ruleParts: Int32Array;
  private readonly ruleWithin: Int32Array;
  /** Per part of one slot of one-word alternatives, that slot, else -1. */
  private readonly simpleSlot: Int32Array;
  /** Per part, runs of neighbouring words it cannot be found without (word-pairs.ts): on a page, a third of the parts woken are ruled out by them. */
  private readonly pairFilter: PairFilter;
  private readonly categories: readonly string[];
  private readonly caution: Float64Array;
  private readonly danger: Float64Array;
  private readonly emoji: EmojiMap;
  private readonly vocab: Vocabulary;
  private readonly pageFold: PageFold;
  private readonly ws: Workspace;
  /** What the word table said of the words of recent texts (word-cache.ts). */
  private readonly wordCache = new WordCache();

  constructor(entries: readonly PhraseEntry[], thresholds: PhraseThresholds, extras: LexiconExtras = EMPTY_LEXICON) {
    const compiler = new Compiler(extras.classes);
    // Later entries replace earlier ones for the same category and rule, so a school's own
    // file, or the DSL's change, loaded after the shipped ones can change a weight. A
    // pages-only rule is keyed apart: it must never take a rule away from searches.
    const byKey = new Map<string, PhraseEntry>();
    for (const e of entries) {
      const key = entryKey(e);
      if (key === null) throw new RangeError(`${e.file}:${e.line}: ${(parseRule(e.phrase) as { error: string }).error}`);
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
    const offsets = new Map<string, readonly number[]>();
    // Every distinct part of every rule: a sequence of slots; a slot is its alternatives, each a run of word ids.
    const parts = compiler.parts.map((slots, pi) => partOf(slots, offsets, pi));
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

    // A rule matches only if every slot of every part does, and a slot only where one of its
    // alternatives' first words is; so the first words of any one slot are enough to wake it,
    // and the rarest is best. "Rare" is guessed: a common word is taken to be far more frequent
    // than any other.
    const slotCost = (slot: Slot): number => {
      let cost = 0;
      for (const id of slot.firstIds) cost += compiler.common[id] ? COMMON_COST : 1;
      return cost;
    };
    const wordCount = compiler.words.length;
    const rulesOf: number[][] = Array.from({ length: wordCount }, () => []);
    const required = rules.map((r, ri) => {
      const slots = [...new Set(r.parts.flatMap((pi) => compiler.parts[pi]!))].sort((a, b) => slotCost(a) - slotCost(b));
      for (const id of slots[0]!.firstIds) rulesOf[id]!.push(ri);
      return slots.map((s) => s.index);
    });
    [this.rulesOfWordStart, this.rulesOfWordIds] = flatten(rulesOf);
    const nearPairs = rules.map((r) => {
      const pairs: number[] = [];
      const firsts = r.parts.map((pi) => compiler.parts[pi]![0]!.index);
      if (r.within <= BLOCK_MIN) {
        for (let i = 0; i < firsts.length; i++) for (let j = i + 1; j < firsts.length; j++) if (firsts[i] !== firsts[j]) pairs.push(firsts[i]!, firsts[j]!);
      }
      for (const pi of new Set(r.parts)) {
        const slots = compiler.parts[pi]!;
        if (maxLength(slots) > BLOCK_MIN) continue;
        for (let j = 1; j < slots.length; j++) if (slots[j] !== slots[0]) pairs.push(slots[0]!.index, slots[j]!.index);
      }
      return pairs;
    });
    [this.checkStart, this.checks] = flatten(rules.map((_, ri) => [...required[ri]!, ...nearPairs[ri]!]));
    this.nearStart = Int32Array.from(rules, (_, ri) => this.checkStart[ri]! + required[ri]!.length);
    this.singlePart = Int32Array.from(rules, (r) => (r.parts.length === 1 ? r.parts[0]! : -1));
    [this.rulePartStart, this.ruleParts] = flatten(rules.map((r) => r.parts));
    this.ruleWithin = Int32Array.from(rules, (r) => r.within);
    this.simpleSlot = Int32Array.from(parts, (p) => (p.simple ? p.slots[0]! : -1));
    this.pairFilter = new PairFilter(compiler.parts.map((slots) => slots.map((slot) => slot.alts)));
    const slotsOf: number[][] = Array.from({ length: wordCount }, () => []);
    for (const slot of compiler.slots) for (const id of slot.firstIds) slotsOf[id]!.push(slot.index);
    [this.slotsOfWordStart, this.slotsOfWordIds] = flatten(slotsOf);

    const { patterns, patternWords, forms, near } = compiler.patterns();
    this.forms = forms.size;
    this.table = new WordTable(patterns, patternWords);
    this.addressGate = addressGate(compiler, rules, patterns, patternWords);
    for (const w of englishWordsWithPrefix(compiler.words.filter((w) => w.prefix && w.english).map((w) => w.word))) near.add(w);
    near.build();
    this.vocab = vocabulary(this.table, near);
    this.emoji = emojiMap(extras.emoji);
    this.pageFold = new PageFold(this.emoji);
    this.ws = new Workspace(new AltIndex(compiler.slots), new PartTable(parts), wordCount, rules.length, compiler.parts.length, compiler.slots.length);
  }

  /** Bytes held by the address gate's automata, the word table, the alternatives index and the parts' word runs (the rest is small objects). */
  get automatonBytes(): number {
    return this.addressGate.bytes + this.table.bytes + this.ws.alts.bytes + this.pairFilter.bytes;
  }

  /** The words its repairs read towards: rules laid over this matcher read a text with both (phrase-overlay.ts). */
  get vocabulary(): Vocabulary {
    return this.vocab;
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
    const { text, repairs } = readSearch(raw, folded, this.emoji, this.vocab);
    const r = this.analyseText(text, repairs);
    // Nothing matched in a search read otherwise than folded ("my\u200bself", "k*ll"): it says
    // how it was read all the same, so the learned model reads what the lists read.
    return r.hits.length === 0 && text !== (folded ?? raw) && text !== '' ? { ...NO_PHRASES, repairs, read: text } : r;
  }

  /** Text already folded with foldText (a title, words from elsewhere): no repairs. */
  match(foldedText: string): PhraseResult {
    return this.analyseText(foldedText, NO_REPAIRS);
  }

  /**
   * The words of an address ("/news/How-To-Stay-Safe"). An address in which no positive rule
   * could match (address-anchors.ts) is answered by one walk, most without folding it into a
   * new string; anything else is read in full, as readWords reads it.
   */
  matchWords(raw: string): PhraseResult {
    const text = this.readAddress(raw);
    return text === null ? NO_PHRASES : this.readFolded(text);
  }

  /**
   * The full reading of an address's words, whatever they hold: evasions read back, repairs but
   * no typo corrections (slugs are written, not typed). matchWords answers the same wherever
   * this finds a positive rule.
   */
  readWords(raw: string): PhraseResult {
    return this.readFolded(foldText(readCharacters(raw, this.emoji)));
  }

  private readFolded(text: string): PhraseResult {
    const { text: read, repairs } = repairTokens(text, this.vocab, false);
    return this.analyseText(read, repairs);
  }

  /**
   * The address folded for reading, or null where no positive rule could match in it (the gate
   * matchWords begins with): rules laid over this matcher (phrase-overlay.ts) read an address
   * when either matcher's gate opens, and fold it only once.
   */
  readAddress(raw: string): string | null {
    return this.addressGate.read(raw, this.emoji);
  }

  /**
   * A page's text (HTML already turned into text): characters read back, words matched as
   * written. The text is folded straight into the workspace (page-fold.ts) and made a string
   * only when something matched.
   */
  matchPage(text: string): PhraseResult {
    const n = this.pageFold.fold(text, this.ws.text);
    return this.analyse(n, null, NO_REPAIRS, true);
  }

  // -------------------------------------------------------------------------------------

  private analyseText(text: string, repairs: readonly Repair[]): PhraseResult {
    if (text === '') return NO_PHRASES;
    const buffer = this.ws.text;
    const n = text.length;
    buffer.reserve(n);
    const chars = buffer.chars;
    for (let i = 0; i < n; i++) chars[i] = text.charCodeAt(i);
    return this.analyse(n, text, repairs);
  }

  /** The folded text is ws.text.chars[0 .. n); `text` is it as a string, or null to make one when needed. */
  private analyse(n: number, text: string | null, repairs: readonly Repair[], page = false): PhraseResult {
    if (n === 0) return NO_PHRASES;
    const ws = this.ws;
    ws.next();
    const positions = this.walk(n);
    if (ws.touchedCount === 0) return NO_PHRASES;
    this.markSlots(positions);
    const candidates = this.candidates();
    if (candidates === 0) return NO_PHRASES;
    if (page) ws.pairs.mark(ws.evId, ws.posStart, positions);

    let hits: PhraseHit[] | null = null;
    // In the order of the rules: sorted when few woke, else read off the marks.
    const all = candidates * 16 > this.rules.length;
    if (!all) sortRange(ws.candidates, candidates);
    const count = all ? this.rules.length : candidates;
    for (let c = 0; c < count; c++) {
      const ri = all ? c : ws.candidates[c]!;
      if (all && ws.ruleStamp[ri] !== ws.gen) continue;
      if (!this.possible(ri)) continue;
      if (!page && this.rules[ri]!.pagesOnly) continue;
      if (page && !this.paired(ri)) continue;
      const single = this.singlePart[ri]!;
      const taken = single >= 0 ? this.matchPart(single, positions, page) : this.matchRule(ri, positions, page);
      if (taken === 0) continue;
      const r = this.rules[ri]!;
      text ??= ws.text.string(n);
      const spans = this.spansTaken(taken);
      hits ??= [];
      const category = this.categories[r.category]!;
      const matched = wordsOf(text, spans, ws.wordChar);
      // Literals, not a spread: a hit has one of a few shapes, made without a copy.
      if (page) {
        const blocks = this.blocksOf(spans, r.weight > 0 ? text : null);
        if (r.pagesOnly) hits.push({ category, phrase: r.phrase, weight: r.weight, matched, intent: r.intent, language: r.language, file: r.file, line: r.line, spans, pagesOnly: true, blocks });
        else if (r.weight < 0 && single >= 0 && isOneTerm(r.phrase)) {
          // One-term context: all its places, with their blocks (scorePage, oneWordPlace). Listed
          // whatever the other hits are, so that rules laid over these (phrase-overlay.ts) give
          // the same hits as one matcher of all of them.
          const places = this.oneWordPlaces(single, positions);
          hits.push({ category, phrase: r.phrase, weight: r.weight, matched, intent: r.intent, language: r.language, file: r.file, line: r.line, spans, blocks, places });
        } else hits.push({ category, phrase: r.phrase, weight: r.weight, matched, intent: r.intent, language: r.language, file: r.file, line: r.line, spans, blocks });
      } else {
        hits.push(r.pagesOnly
          ? { category, phrase: r.phrase, weight: r.weight, matched, intent: r.intent, language: r.language, file: r.file, line: r.line, spans, pagesOnly: true }
          : { category, phrase: r.phrase, weight: r.weight, matched, intent: r.intent, language: r.language, file: r.file, line: r.line, spans });
      }
    }
    if (hits === null || text === null) return NO_PHRASES;
    return { hits, flagged: flagHits(hits, page, (c) => this.thresholdsOf(c)), repairs, read: text };
  }

  /**
   * The blocks of the page just folded that a hit's first and last words are in (pageFold's
   * breaks), and, given the folded text (for positive evidence only), whether they say "I".
   */
  private blocksOf(spans: readonly WordSpan[], text: string | null): BlockRange {
    const { start, end } = extentOf(spans);
    const wordChar = this.ws.wordChar;
    const first = this.blockAt(wordChar[start]!);
    const last = this.blockAt(wordChar[end - 1]!);
    if (text === null) return { first, last, firstPerson: false };
    const { breaks, breakCount } = this.pageFold;
    const from = first === 0 ? 0 : breaks[first - 1]!;
    const to = last < breakCount ? breaks[last]! : text.length;
    return { first, last, firstPerson: postSaysFirstPerson(text.slice(from, to).trim()) };
  }

  /** Every place of part pi of a page (at most PAGE_ONE_WORD_PLACES), each with its block. */
  private oneWordPlaces(pi: number, positions: number): OneWordPlace[] {
    this.partSpans(pi, positions);
    const ws = this.ws;
    const offset = ws.partOffset[pi]!;
    const count = Math.min(ws.partCount[pi]!, PAGE_ONE_WORD_PLACES);
    const out: OneWordPlace[] = [];
    for (let k = 0; k < count; k++) {
      const start = ws.spans[offset + 2 * k]!;
      out.push({ start, end: ws.spans[offset + 2 * k + 1]!, block: this.blockAt(ws.wordChar[start]!) });
    }
    return out;
  }

  /** How many of the folded page's block boundaries lie before character `at`. */
  private blockAt(at: number): number {
    const { breaks, breakCount } = this.pageFold;
    let lo = 0;
    let hi = breakCount;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (breaks[mid]! < at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Every listed word in ws.text.chars[0 .. n), as events (word id, word position) in the order
   * an automaton walking the text would report them, at most one per id and position; per id,
   * its events are linked in order. Word positions count spaces, the text being wrapped in one
   * more at the end, as text.split(' ') would number its words. Returns the last position.
   */
  private walk(n: number): number {
    const table = this.table;
    const cache = this.wordCache;
    const ws = this.ws;
    ws.ensurePositions(n + 3);
    const chars = ws.text.chars;
    const { posStart, wordChar } = ws;
    posStart[0] = 0;
    wordChar[0] = 0;
    let word = 0;
    let i = 0;
    while (i <= n) {
      const start = i;
      let h = HASH_SEED;
      for (; i < n; i++) {
        const c = chars[i]!;
        if (c === SPACE) break;
        h = hashStep(h, c);
      }
      const length = i - start;
      if (length === 0) {
        // Only the space the text is wrapped in.
      } else if (length <= MAX_CACHED_WORD) {
        // A word seen before (on this page or a recent one) is not looked up again.
        const e = cache.entry(table, chars, start, length, h);
        const codes = cache.codes;
        for (let k = cache.codeStart[e]!, end = cache.codeStart[e + 1]!; k < end; k++) this.found(codes[k]!, word);
      } else this.longWord(start, length, h, word);
      // The space after the word, or the one the text is wrapped in.
      word++;
      i++;
      posStart[word] = ws.events;
      wordChar[word] = i;
    }
    posStart[word + 1] = ws.events;
    return word;
  }

  /**
   * A word too long for the word cache, looked up in the table itself. Rare (most pages have
   * none or one), so a method of its own: inside walk's loop, its never-run arithmetic would
   * leave walk's optimised code without type feedback and throw it away on every page that has
   * one.
   */
  private longWord(start: number, length: number, h: number, word: number): void {
    const ws = this.ws;
    ws.ensureCodes(length + 1);
    const found = this.table.codesOf(ws.text.chars, start, length, h, ws.codes, 0);
    for (let k = 0; k < found; k++) this.found(ws.codes[k]!, word);
  }

  /** Records the word ids a word table code stands for at word position `word`. */
  private found(code: number, word: number): void {
    if ((code & 1) === 0) {
      this.event(code >> 1, word);
      return;
    }
    const lists = this.table.lists;
    const first = (code - 1) >> 1;
    for (let j = first + 1, end = first + 1 + lists[first]!; j < end; j++) this.event(lists[j]!, word);
  }

  /** Records word id `id` at word position `word`, unless it is there already. */
  private event(id: number, word: number): void {
    const ws = this.ws;
    const { idFirst, idLast, idCount } = ws;
    const events = ws.events;
    for (let e = ws.posStart[word]!; e < events; e++) if (ws.evId[e] === id) return;
    if (events === ws.evId.length) ws.growEvents();
    ws.evId[events] = id;
    ws.evPos[events] = word;
    ws.evNext[events] = -1;
    if (idCount[id] === 0) {
      idFirst[id] = events;
      idCount[id] = 1;
      ws.touched[ws.touchedCount++] = id;
    } else {
      ws.evNext[idLast[id]!] = events;
      idCount[id] = idCount[id]! + 1;
    }
    idLast[id] = events;
    ws.events = events + 1;
  }

  /**
   * Marks every slot one of whose first words was found, with the first position one was found
   * at (ids were touched in the order first found, so the first to mark a slot is its first),
   * how often they were found (at most that many places), and in which blocks of words.
   */
  private markSlots(positions: number): void {
    const ws = this.ws;
    const { touched, idFirst, idCount, evPos, evNext, slotStamp, slotFirst, slotFound } = ws;
    const start = this.slotsOfWordStart;
    const slots = this.slotsOfWordIds;
    const gen = ws.gen;
    ws.startBlocks(positions);
    const { blocks, blockShift, blockWords, idBlocks } = ws;
    for (let t = 0; t < ws.touchedCount; t++) {
      const id = touched[t]!;
      const at = evPos[idFirst[id]!]!;
      const count = idCount[id]!;
      for (let w = 0; w < blockWords; w++) idBlocks[w] = 0;
      for (let e = idFirst[id]!; e >= 0; e = evNext[e]!) {
        const b = evPos[e]! >> blockShift;
        idBlocks[b >> 5] = idBlocks[b >> 5]! | (1 << (b & 31));
      }
      for (let k = start[id]!, end = start[id + 1]!; k < end; k++) {
        const s = slots[k]!;
        const row = s * blockWords;
        if (slotStamp[s] === gen) {
          slotFound[s] = slotFound[s]! + count;
          for (let w = 0; w < blockWords; w++) blocks[row + w] = blocks[row + w]! | idBlocks[w]!;
        } else {
          slotStamp[s] = gen;
          slotFirst[s] = at;
          slotFound[s] = count;
          for (let w = 0; w < blockWords; w++) blocks[row + w] = idBlocks[w]!;
        }
      }
    }
  }

  /** Rules woken by the words found, into ws.candidates (unsorted); their number. */
  private candidates(): number {
    const ws = this.ws;
    const { touched, ruleStamp, candidates } = ws;
    const start = this.rulesOfWordStart;
    const ids = this.rulesOfWordIds;
    const gen = ws.gen;
    let count = 0;
    for (let t = 0; t < ws.touchedCount; t++) {
      const id = touched[t]!;
      for (let k = start[id]!, end = start[id + 1]!; k < end; k++) {
        const ri = ids[k]!;
        if (ruleStamp[ri] === gen) continue;
        ruleStamp[ri] = gen;
        candidates[count++] = ri;
      }
    }
    return count;
  }

  /**
   * Whether the rule can match: every slot it needs has one of its first words somewhere in the
   * text, and the slots that must be found near each other (nearSlots) were found in the same
   * block of words or in neighbouring ones.
   */
  private possible(ri: number): boolean {
    const ws = this.ws;
    const { slotStamp, gen } = ws;
    const checks = this.checks;
    const near = this.nearStart[ri]!;
    for (let k = this.checkStart[ri]!; k < near; k++) if (slotStamp[checks[k]!] !== gen) return false;
    for (let k = near, end = this.checkStart[ri + 1]!; k < end; k += 2) if (!ws.nearBlocks(checks[k]!, checks[k + 1]!)) return false;
    return true;
  }

  /**
   * On a page, whether every part of the rule may have a place: the words it cannot be found
   * without side by side were found side by side (word-pairs.ts; worked out once per part per
   * page). A rule ruled out here has a part with no place, which matchRule would have found
   * before listing any part's places (in a page, every part's having a place is asked first), and
   * given up on: so ruling it out changes no rule's answer, nor the parts listed that later
   * rules' matching reads (which place of a rule is reported depends on those).
   */
  private paired(ri: number): boolean {
    const ws = this.ws;
    const gen = ws.gen;
    const parts = this.ruleParts;
    for (let k = this.rulePartStart[ri]!, end = this.rulePartStart[ri + 1]!; k < end; k++) {
      const pi = parts[k]!;
      if (ws.pairStamp[pi] !== gen) {
        ws.pairStamp[pi] = gen;
        ws.pairOk[pi] = this.pairFilter.passes(pi, ws.pairs) ? 1 : 0;
      }
      if (ws.pairOk[pi] === 0) return false;
    }
    return true;
  }

  /** A part's places in this text (found once per text, as many rules share a part): ws.partOffset, ws.partCount. */
  private partSpans(pi: number, positions: number): void {
    const ws = this.ws;
    if (ws.partStamp[pi] === ws.gen) return;
    ws.partStamp[pi] = ws.gen;
    const offset = ws.spanCount;
    spansOf(pi, positions, ws);
    ws.partOffset[pi] = offset;
    ws.partCount[pi] = (ws.spanCount - offset) >> 1;
  }

  /**
   * The first place the rule matches, in the order below: the number of spans written to
   * ws.taken (one per part, the part with fewest places first, then the others in order), or 0.
   * In a page, some place of it, found with less work (whether it matches is the same).
   */
  private matchRule(ri: number, positions: number, page: boolean): number {
    // The rule's parts are parts[base .. base + m), read from one array shared by every rule.
    const parts = this.ruleParts;
    const base = this.rulePartStart[ri]!;
    const m = this.rulePartStart[ri + 1]! - base;
    if (m === 1) return this.matchPart(parts[base]!, positions, page);
    const ws = this.ws;
    const gen = ws.gen;
    ws.ensureRuleParts(m);
    const { order, estimate, lazy } = ws;
    // The search below anchors on the part with the fewest places (the first such). Parts are
    // counted from the likely rarest on, and a part that surely has more places than the best
    // so far (a lower bound says so), and so many that looking around each of the best's
    // places costs less than listing them, is never listed: its places are looked for only
    // inside the windows around the anchor.
    if (page) {
      // A part already found to have no place in this page (parts are shared by many rules)
      // ends the rule before any part is estimated: the answer is 0 in whatever order they are asked.
      for (let i = 0; i < m; i++) {
        const pi = parts[base + i]!;
        if (ws.partStamp[pi] === gen ? ws.partCount[pi] === 0 : ws.firstStamp[pi] === gen && ws.firstStart[pi]! < 0) return 0;
      }
    }
    const within = this.ruleWithin[ri]!;
    for (let i = 0; i < m; i++) {
      order[i] = i;
      const pi = parts[base + i]!;
      estimate[i] = ws.partStamp[pi] === gen ? ws.partCount[pi]! : partEstimate(pi, ws);
      for (let j = i; j > 0 && estimate[order[j]!]! < estimate[order[j - 1]!]!; j--) {
        const t = order[j]!;
        order[j] = order[j - 1]!;
        order[j - 1] = t;
      }
    }
    if (page) {
      // A page reports any one place of a rule, not the first: a part with no place at all
      // ends the rule before any part is listed (the likely rarest asked first), and finding
      // that a part has one stops at its first. Past the anchor, a part likely to have more
      // places than looking around the anchor's costs is never listed.
      for (let k = 0; k < m; k++) {
        const pi = parts[base + order[k]!]!;
        if (ws.partStamp[pi] === gen ? ws.partCount[pi] === 0 : this.firstPlace(pi, positions, true) < 0) return 0;
      }
    }
    let a = -1;
    let least = 0;
    for (let k = 0; k < m; k++) {
      const i = order[k]!;
      const pi = parts[base + i]!;
      if (a >= 0 && ws.partStamp[pi] !== gen) {
        const atLeast = page ? estimate[i]! : partLowerBound(pi, ws);
        if ((page || atLeast > least || (atLeast === least && i > a)) && atLeast > 2 * within * least) {
          lazy[i] = 1;
          continue;
        }
      }
      this.partSpans(pi, positions);
      const count = ws.partCount[pi]!;
      if (count === 0) return 0;
      lazy[i] = 0;
      if (a < 0 || count < least || (count === least && i < a)) {
        a = i;
        least = count;
      }
    }
    // Then look for the others in each window of `within` words that holds an anchor place.
    ws.ensureTaken(m);
    ws.ensureMemo(m * 2 * within);
    const spans = ws.spans;
    const anchorOffset = ws.partOffset[parts[base + a]!]!;
    for (let s = 0; s < least; s++) {
      const start = spans[anchorOffset + 2 * s]!;
      const end = spans[anchorOffset + 2 * s + 1]!;
      ws.taken[0] = start;
      ws.taken[1] = end;
      // Unlisted parts' places around this one, as they are found: every window lies in [base, base + 2 * within).
      ws.memoBase = Math.max(0, end - within);
      ws.memoWidth = 2 * within;
      ws.memo.fill(UNKNOWN, 0, m * 2 * within);
      for (let from = Math.max(0, end - within); from <= start; from++) {
        if (this.assign(base, m, a, 0, from, from + within, 1, positions)) return m;
      }
    }
    return 0;
  }

  /** A rule of one part: the part's first place, into ws.taken; 1, or 0 when it has none. */
  private matchPart(pi: number, positions: number, page: boolean): number {
    const ws = this.ws;
    const taken = ws.taken;
    const simple = this.simpleSlot[pi]!;
    if (simple >= 0) {
      // One word of a list: it is first found where the slot was first marked.
      taken[0] = ws.slotFirst[simple]!;
      taken[1] = taken[0] + 1;
      return 1;
    }
    if (ws.partStamp[pi] === ws.gen) {
      if (ws.partCount[pi] === 0) return 0;
      taken[0] = ws.spans[ws.partOffset[pi]!]!;
      taken[1] = ws.spans[ws.partOffset[pi]! + 1]!;
      return 1;
    }
    if (this.firstPlace(pi, positions, page) < 0) return 0;
    taken[0] = ws.firstStart[pi]!;
    taken[1] = ws.firstEnd[pi]!;
    return 1;
  }

  /**
   * The start of part pi's first place in this text (found once per text), its end in
   * ws.firstEnd[pi]; or -1. In a page, any place will do (anyPlace): the first found.
   */
  private firstPlace(pi: number, positions: number, page: boolean): number {
    const ws = this.ws;
    if (ws.firstStamp[pi] !== ws.gen) {
      ws.firstStamp[pi] = ws.gen;
      ws.firstStart[pi] = page ? anyPlace(pi, positions, ws) : firstSpan(pi, positions, ws);
      ws.firstEnd[pi] = ws.taken[1]!;
    }
    return ws.firstStart[pi]!;
  }

  /**
   * Places for parts i… (the anchor part `skip` already placed) inside [from, to), none sharing a
   * word with the `taken` spans already in ws.taken; tries each candidate place of a part in
   * turn, so the order of the text never matters. A part that was not listed is tried at each
   * word of the window: its places there are the same.
   */
  private assign(base: number, m: number, skip: number, i: number, from: number, to: number, taken: number, positions: number): boolean {
    if (i === skip) i++;
    if (i === m) return true;
    const ws = this.ws;
    const pi = this.ruleParts[base + i]!;
    if (ws.lazy[i] === 1) {
      const memo = ws.memo;
      const row = i * ws.memoWidth - ws.memoBase;
      for (let xs = from; xs < to; xs++) {
        let xe = memo[row + xs]!;
        if (xe === UNKNOWN) memo[row + xs] = xe = endAt(pi, xs, positions, ws);
        if (xe >= 0 && xe <= to && this.place(base, m, skip, i, from, to, taken, positions, xs, xe)) return true;
      }
      return false;
    }
    const spans = ws.spans;
    const offset = ws.partOffset[pi]!;
    const count = ws.partCount[pi]!;
    let lo = 0;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (spans[offset + 2 * mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < count && spans[offset + 2 * k]! < to; k++) {
      const xs = spans[offset + 2 * k]!;
      const xe = spans[offset + 2 * k + 1]!;
      if (xe <= to && this.place(base, m, skip, i, from, to, taken, positions, xs, xe)) return true;
    }
    return false;
  }

  /** Part i at [xs, xe) if that shares no word with the parts already placed, then the parts after it. */
  private place(base: number, m: number, skip: number, i: number, from: number, to: number, taken: number, positions: number, xs: number, xe: number): boolean {
    const t = this.ws.taken;
    for (let y = 0; y < taken; y++) if (xe > t[2 * y]! && xs < t[2 * y + 1]!) return false;
    t[2 * taken] = xs;
    t[2 * taken + 1] = xe;
    return this.assign(base, m, skip, i + 1, from, to, taken + 1, positions);
  }

  /** The spans in ws.taken as a hit reports them: sorted by start (they never overlap). */
  private spansTaken(count: number): Span[] {
    const t = this.ws.taken;
    const out: Span[] = [];
    for (let k = 0; k < count; k++) out.push({ start: t[2 * k]!, end: t[2 * k + 1]! });
    if (count > 1) out.sort((x, y) => x.start - y.start);
    return out;
  }
}

const NO_REPAIRS: readonly Repair[] = Object.freeze([]);
/**
 * Blocks of words are at least this long, so two parts of a combination (at most MAX_WITHIN
 * words apart, phrase-rules.ts) start in the same block or in neighbouring ones; and at most
 * MAX_BLOCKS of them, so a long text's bit sets stay small.
 */
const BLOCK_MIN = 32;
const MAX_BLOCKS = 256;
/** A memo entry not yet worked out (-1 is "no place starts here"). */
const UNKNOWN = -2;
/** How much more often a common word is taken to occur than any other, when choosing the slot a rule is woken by. */
const COMMON_COST = 300;

/**
 * What the repairs know: the word table holds every form and prefix, so it is asked rather than
 * a set of strings. An object of its own, not closures, so that it holds only these two, not
 * the compiler's working state, and a matcher built in a worker can be sent (phrase-build-child.ts).
 */
class ListVocabulary implements Vocabulary {
  constructor(private readonly table: WordTable, private readonly near: NearIndex) {}

  known(t: string): boolean {
    return this.table.knows(t);
  }

  nearest(t: string): string | null {
    return this.near.nearest(t);
  }

  listedPieces(t: string, min: number): { forms: number[]; prefixes: number[] } {
    return this.table.listedPieces(t, min);
  }
}

function vocabulary(table: WordTable, near: NearIndex): Vocabulary {
  return new ListVocabulary(table, near);
}

/** The words of the text a hit's spans cover, joined as "kill … myself". */
function wordsOf(text: string, spans: readonly Span[], wordChar: Int32Array): string {
  let out = '';
  for (let k = 0; k < spans.length; k++) {
    const s = spans[k]!;
    const piece = text.slice(wordChar[s.start]!, wordChar[s.end]! - 1);
    out = k === 0 ? piece : `${out} … ${piece}`;
  }
  return out;
}

/** The most words a part can take. */
function maxLength(slots: Slots): number {
  let total = 0;
  for (const slot of slots) total += Math.max(...slot.alts.map((a) => a.length));
  return total;
}


/**
 * The key under which an entry is one rule: its category and its rule as parsed (so spacing and
 * order of a combination do not matter), a pages-only rule apart (it must never take a rule away
 * from searches). Null when the phrase does not parse.
 */
export function entryKey(e: Pick<PhraseEntry, 'category' | 'phrase' | 'pagesOnly'>): string | null {
  const parsed = parseRule(e.phrase);
  return 'error' in parsed ? null : `${e.category}\n${ruleKey(parsed)}${e.pagesOnly === true ? '\npage' : ''}`;
}

/** The categories a text's hits raise: per category, its hits scored together; highest score first. */
export function flagHits(hits: readonly PhraseHit[], page: boolean, thresholdsOf: (category: string) => { caution: number; danger: number }): PhraseScore[] {
  const out: PhraseScore[] = [];
  const share = page ? pageShare(hits) : 1;
  for (const category of new Set(hits.map((h) => h.category))) {
    const t = thresholdsOf(category);
    const score = share * scoreHits(hits.filter((h) => h.category === category), page, t);
    const severity = pageSeverity(severityOf(score, t.caution, t.danger), share);
    if (severity) out.push({ category, score, severity });
  }
  return out.sort((a, b) => b.score - a.score || (a.category < b.category ? -1 : 1));
}

/**
 * The share of each concern's score a page keeps: PAGE_MANY_CONCERNS_SHARE on a page naming
 * PAGE_MANY_CONCERNS concerns or more, with first-person intent for none (an information page),
 * else all. An intent rule counts as someone's own words only when the words it matched say "i",
 * "me", "my" …: a help hub's "if you feel like you don't want to be alive, please talk to
 * someone" matches an intent rule, but speaks to its reader. A hit without its words (a test's)
 * counts as first person.
 */
export function pageShare(hits: readonly (Pick<PhraseHit, 'category' | 'weight' | 'intent'> & { readonly matched?: string; readonly language?: string })[]): number {
  const named = new Set<string>();
  for (const h of hits) {
    if (h.weight <= 0) continue;
    if (h.intent && (h.matched === undefined || phraseSaysFirstPerson(h.matched, h.language ?? ''))) return 1;
    named.add(h.category);
  }
  return named.size >= PAGE_MANY_CONCERNS ? PAGE_MANY_CONCERNS_SHARE : 1;
}

/**
 * A page's severity for a concern: an information page (pageShare below 1) raises caution at
 * most. A help hub or a guide that lists self-harm, abuse, nudes and county lines is not a
 * child in danger, however many of a concern's phrases its advice matches; with first-person
 * intent anywhere on the page the share is 1 and this changes nothing.
 */
export function pageSeverity(severity: PhraseSeverity | null, share: number): PhraseSeverity | null {
  return share < 1 && severity === 'danger' ? 'caution' : severity;
}

/** What a search's or an address's score needs of a hit. */
export type ScoredHit = Pick<PhraseHit, 'weight' | 'intent' | 'language' | 'pagesOnly'>;
/** A page's score also needs where each hit is. */
export type PageScoredHit = ScoredHit & Pick<PhraseHit, 'spans' | 'blocks' | 'places'> & { readonly phrase?: string };
/** A category's thresholds, which a page's score needs (scorePage). */
export interface CategoryThresholds {
  readonly caution: number;
  readonly danger: number;
}
const DEFAULT_THRESHOLDS: CategoryThresholds = { caution: DEFAULT_PHRASE_THRESHOLD, danger: DEFAULT_DANGER_THRESHOLD };

/**
 * A category's score from its matched rules. Context (negative weights) lowers it, but only
 * context in a language of the rules it qualifies (the English "pe", PE lessons, is not the Urdu
 * "pe", on), and never below a matched intent rule's weight. A page is scored by scorePage,
 * which needs the category's thresholds (the defaults unless given).
 */
export function scoreHits(hits: readonly ScoredHit[], page?: false): number;
export function scoreHits(hits: readonly PageScoredHit[], page: boolean, thresholds?: CategoryThresholds): number;
export function scoreHits(hits: readonly PageScoredHit[] | readonly ScoredHit[], page = false, thresholds: CategoryThresholds = DEFAULT_THRESHOLDS): number {
  if (page) return scorePage(hits as readonly PageScoredHit[], thresholds);
  let positive = 0;
  let floor = -Infinity;
  const languages = new Set<string>();
  for (const h of hits) {
    if (h.weight <= 0) continue;
    positive += h.weight;
    languages.add(h.language);
    if (h.intent && h.weight > floor) floor = h.weight;
  }
  let context = 0;
  let strongest = 0;
  let next = 0;
  for (const h of hits) {
    if (h.weight >= 0 || !languages.has(h.language)) continue;
    if (h.pagesOnly !== true) context += h.weight;
    else if (h.weight < strongest) [strongest, next] = [h.weight, strongest];
    else if (h.weight < next) next = h.weight;
  }
  return Math.max(positive + context + strongest + next, floor);
}

/**
 * On a page, context lowers in full the phrases within this many words of it. A search's few
 * words are all one context; a page's are not: a forum post's "end my life" is not a headache
 * because the sidebar says "headache". Measured on the dev and third blind pages
 * (bench/RESULTS.md, "Page context near its phrase"): 0 to 5 words score the same there, 8 and
 * more lose harmful pages whose intent shares a sentence with a stray context word ("I cut again
 * after the argument about my report card"). 5, about a clause, keeps a context word in the
 * phrase's own clause ("this exam will end my life") counting in full, as a search's words do.
 */
export const PAGE_CONTEXT_REACH = 5;
/** Context further away on a page takes at most this share of the score (see scorePage). */
export const PAGE_FAR_CONTEXT_SHARE = 0.5;
/**
 * ... but of a page's one piece of evidence, without intent, this share: a lesson's or a lyric
 * page's one quote ("him … dead … stabs", weight 20, the danger threshold) no longer keeps
 * caution against a page of "essay" and "romeo", while one piece of 30 still does
 * (bench/RESULTS.md, "Page scoring, fifth round"). More than 0.6 lost harmful dev pages whose
 * one piece weighs 30; applied to every piece without intent it lost pages of many weak pieces.
 */
export const PAGE_FAR_CONTEXT_LONE_SHARE = 0.6;
/**
 * A page with positive evidence for at least this many concerns and intent for none is about
 * them (a helpline's list, a guide for parents, a school's policy): each concern's score counts
 * PAGE_MANY_CONCERNS_SHARE. On the dev pages no harmful page changed, from 3 to 5.
 */
export const PAGE_MANY_CONCERNS = 4;
export const PAGE_MANY_CONCERNS_SHARE = 0.5;
/** A rule matching words a stronger rule already matched on a page counts this share of its weight. */
export const PAGE_OVERLAP_SHARE = 0.5;
/**
 * Pieces of evidence at most this many words apart are one place of a page (a post, a comment, a
 * paragraph: page text keeps no boundaries, so the place is a run of words). Measured with
 * PAGE_INTENT_FRAME_REACH and PAGE_INTENT_MAX_PLACES (bench/RESULTS.md, "Intent in one post").
 */
export const PAGE_PLACE_GAP = 30;
/** Context or framing within this many words of a place of intent frames it: the floor does not hold. */
export const PAGE_INTENT_FRAME_REACH = 20;
/** Intent keeps its floor only on a page that says the concern in at most this many places. */
export const PAGE_INTENT_MAX_PLACES = 2;
/** A lone weak piece of evidence (no intent, below danger) counts this share of its score. */
export const PAGE_LONE_WEAK_SHARE = 0.5;

/**
 * A category's score on a page. A page is long, so where a hit lies matters:
 * - Rules matching overlapping words are one piece of evidence: the strongest counts in full,
 *   each other at PAGE_OVERLAP_SHARE. "going to end my life", "end my life" and a combination
 *   on the same four words say one thing; a page scores more for several places than for one
 *   quote many rules match.
 * - Context within PAGE_CONTEXT_REACH words of a matched phrase (of the context's language)
 *   lowers in full the pieces it is near, the nearest first, each to zero at most; what they
 *   cannot take counts as far context. Context holding a phrase's own words ("anti bullying",
 *   "ethical hacking") lowers the whole score, as in a search. A "say the cat scratched me" in
 *   a blog of hiding tips takes that tip, not the blog's other pieces (bench/RESULTS.md,
 *   "Pages, sixth round").
 * - Context elsewhere on the page still says something about the page (a lesson's "homework", a
 *   report's "the court heard"), but a forum's chrome, comments and unrelated posts must not
 *   outweigh a post of real intent: all of it together takes at most PAGE_FAR_CONTEXT_SHARE of
 *   the score left, PAGE_FAR_CONTEXT_LONE_SHARE when the page's evidence is one piece without
 *   intent (a literature Q&A's one "him … dead … stabs" among "essay", "romeo", "homework").
 *   Applied to every piece without intent, a larger share lost harmful pages of several
 *   pieces; intent keeps its floor below anyway.
 * - The page's framing (pages-only rules: "lesson plan", "the court heard", "helpline") lowers
 *   by its two strongest rules only, not their sum: two steps are enough to quiet a lesson plan
 *   that names a concern throughout, but a thread with a help banner, a "symptoms" link and a
 *   "wiki" tab must not be talked down to nothing by its page furniture.
 * - Context lowers, never erases, first-person intent said in one post: pieces of evidence at
 *   most PAGE_PLACE_GAP words apart are one place; a place holding an intent rule, with no
 *   context or framing within PAGE_INTENT_FRAME_REACH words of it, on a page that says the
 *   concern in at most PAGE_INTENT_MAX_PLACES places, keeps the score at caution at least. A
 *   gaming thread's "im going to kill myself this weekend" is not talked away by the thread's
 *   "spoilers", a reply's "helpline" and the game talk around it. Intent is no floor otherwise: a
 *   charity page or a lesson frames its quotes where it quotes them, and a page that says the
 *   concern in many places is about it, and its framing applies.
 * - Context of one term (isOneTerm: "holidays", "xbox", "brother"; written for searches) is
 *   context for the words around it, not for the page: near a piece it lowers it in full unless
 *   it opens the block after the piece's (the next post); in the block of a piece said in the
 *   first person it is that post's far context; elsewhere it is far context only for pieces not
 *   said in the first person, unless the page frames itself (a framing rule matched). A forum's
 *   nav and other posts no longer talk down a pupil's own post (bench/RESULTS.md, "Everyday
 *   words on a page").
 * - A lone weak piece of evidence (one place of one piece, no intent, below danger) counts
 *   PAGE_LONE_WEAK_SHARE of its score: one "got battered" in a match report, far from anything,
 *   is not enough on a page of hundreds of words.
 * A hit's place is the one its spans record (a rule counts once per page, at one of its places).
 * Across concerns (flagHits, pageShare): a page with evidence for PAGE_MANY_CONCERNS concerns or
 * more and intent for none (a helpline naming every concern) keeps PAGE_MANY_CONCERNS_SHARE of
 * each score.
 */
export function scorePage(hits: readonly PageScoredHit[], thresholds: CategoryThresholds = DEFAULT_THRESHOLDS): number {
  const positives: { weight: number; language: string; intent: boolean; start: number; end: number; blocks: BlockRange | undefined }[] = [];
  for (const h of hits) if (h.weight > 0) positives.push({ weight: h.weight, language: h.language, intent: h.intent, ...extentOf(h.spans), blocks: h.blocks });
  positives.sort((a, b) => a.start - b.start || b.end - a.end);
  // Pieces (overlapping rules), gathered into places (pieces near each other).
  const places: { start: number; end: number; intent: boolean; framed: boolean }[] = [];
  // Each piece: its words, its hits (positives[first, last)) and what near context has left of it.
  const pieceSpans: { start: number; end: number; first: number; last: number; left: number }[] = [];
  let score = 0;
  let pieces = 0;
  let lone = 0;
  for (let i = 0; i < positives.length;) {
    const first = positives[i]!;
    let { end, weight: strongest, intent } = first;
    let sum = strongest;
    let j = i + 1;
    for (; j < positives.length && positives[j]!.start < end; j++) {
      const p = positives[j]!;
      end = Math.max(end, p.end);
      strongest = Math.max(strongest, p.weight);
      sum += p.weight;
      intent ||= p.intent;
    }
    const piece = strongest + PAGE_OVERLAP_SHARE * (sum - strongest);
    score += piece;
    pieceSpans.push({ start: first.start, end, first: i, last: j, left: piece });
    pieces++;
    lone = intent ? Infinity : piece;
    const last = places[places.length - 1];
    if (last !== undefined && first.start - last.end <= PAGE_PLACE_GAP) {
      last.end = Math.max(last.end, end);
      last.intent ||= intent;
    } else places.push({ start: first.start, end, intent, framed: false });
    i = j;
  }
  const languages = new Set(positives.map((p) => p.language));
  let far = 0;
  // Far context of one everyday word each (isOneTerm), kept apart: it does not reach own posts.
  let farWord = 0;
  let strongest = 0;
  let next = 0;
  for (const h of hits) {
    if (h.weight >= 0 || !languages.has(h.language)) continue;
    let { start, end } = extentOf(h.spans);
    // One everyday word ("holidays", "match", "xbox": a context rule of one term) is context for
    // the words around it, not for the page. Near a piece of evidence it lowers it in full, as
    // other context does, unless it opens the next block (the next post of a thread); in the
    // block of someone's own post ("i", "my") it is that post's context, far; anywhere else (the
    // nav, the footer, other posts) it is far context for everything but someone's own post,
    // unless the page frames itself (scorePage's end). Either way it still frames a place of
    // intent within PAGE_INTENT_FRAME_REACH words.
    const word = h.pagesOnly !== true && h.blocks !== undefined && isOneTerm(h.phrase);
    if (word) {
      const at = oneWordPlace(h, positives);
      ({ start, end } = at);
      if (at.kind !== ONE_WORD_NEAR) {
        for (const place of places) if (start - place.end <= PAGE_INTENT_FRAME_REACH && place.start - end <= PAGE_INTENT_FRAME_REACH) place.framed = true;
        if (at.kind === ONE_WORD_IN_OWN_POST) far += h.weight;
        else farWord += h.weight;
        continue;
      }
    }
    for (const place of places) if (start - place.end <= PAGE_INTENT_FRAME_REACH && place.start - end <= PAGE_INTENT_FRAME_REACH) place.framed = true;
    if (h.pagesOnly === true) {
      if (h.weight < strongest) [strongest, next] = [h.weight, strongest];
      else if (h.weight < next) next = h.weight;
      continue;
    }
    // Plain loops and a named function, no closure per context hit: a page has hundreds of
    // context hits, and each closure made was a cost of its own (under tsx, a defineProperty).
    let nearAny = false;
    for (const p of positives) {
      if (nearHit(p, h.language, start, end)) {
        nearAny = true;
        break;
      }
    }
    if (!nearAny) {
      far += h.weight;
      continue;
    }
    // Context holding a phrase's own words ("anti bullying" round "bullying") says what the
    // phrase is: it lowers the score in full, as in a search.
    let holds = false;
    for (const p of positives) {
      if (p.language === h.language && start <= p.start && p.end <= end) {
        holds = true;
        break;
      }
    }
    if (holds) {
      score += h.weight;
      continue;
    }
    // Other context near a phrase lowers the pieces it is near, the nearest first, each to zero
    // at most; what they could not take counts as far context. A relapse blog's "say the cat
    // scratched me" takes its own hiding tip, not the blog's other six pieces.
    let rest = -h.weight;
    const mid = (start + end) / 2;
    // The pieces with a hit near it, read in place: a page has hundreds of context hits and of
    // pieces, and a copy of each piece's hits per context hit was most of a page's scoring.
    const nearPieces: typeof pieceSpans = [];
    for (const pc of pieceSpans) {
      for (let k = pc.first; k < pc.last; k++) {
        if (nearHit(positives[k]!, h.language, start, end) && !(word && laterBlock(h.blocks!.first, positives[k]!.blocks))) {
          nearPieces.push(pc);
          break;
        }
      }
    }
    nearPieces.sort((a, b) => Math.abs((a.start + a.end) / 2 - mid) - Math.abs((b.start + b.end) / 2 - mid));
    for (const pc of nearPieces) {
      const taken = Math.min(rest, pc.left);
      pc.left -= taken;
      score -= taken;
      rest -= taken;
      if (rest <= 0) break;
    }
    if (word) farWord -= rest;
    else far -= rest;
  }
  // Far context's reach: a share of what near context left, a little more on a page of one piece without intent.
  const farShare = pieces === 1 && lone !== Infinity ? PAGE_FAR_CONTEXT_LONE_SHARE : PAGE_FAR_CONTEXT_SHARE;
  // Everyday words elsewhere take nothing of what is said in someone's own post (a block saying "I").
  let ownPosts = 0;
  for (const pc of pieceSpans) {
    for (let k = pc.first; k < pc.last; k++) {
      if (positives[k]!.blocks?.firstPerson === true) {
        ownPosts += pc.left;
        break;
      }
    }
  }
  // ... unless the page frames itself (a help page's or a lesson's quotes of "I" are not a post).
  const farWords = Math.max(farWord, -farShare * Math.max(0, score - (strongest < 0 ? 0 : ownPosts)));
  let total = score + Math.max(far + farWords, -farShare * Math.max(0, score)) + strongest + next;
  if (pieces === 1 && lone < thresholds.danger) total = Math.min(total, PAGE_LONE_WEAK_SHARE * lone);
  if (places.length <= PAGE_INTENT_MAX_PLACES && places.some((p) => p.intent && !p.framed)) total = Math.max(total, thresholds.caution);
  return total;
}

/** Whether a positive piece of a page is in the language of context at [start, end) and within PAGE_CONTEXT_REACH words of it. */
function nearHit(p: { readonly language: string; readonly start: number; readonly end: number }, language: string, start: number, end: number): boolean {
  return p.language === language && start - p.end <= PAGE_CONTEXT_REACH && p.start - end <= PAGE_CONTEXT_REACH;
}

/** A one-term context rule's places on a page looked at, at most (a word in every post of a long thread). */
export const PAGE_ONE_WORD_PLACES = 64;
/** Where a one-term context hit counts on a page (oneWordPlace). */
const ONE_WORD_NEAR = 0;
const ONE_WORD_IN_OWN_POST = 1;
const ONE_WORD_ELSEWHERE = 2;

/**
 * Where a one-term context hit counts on a page: ONE_WORD_NEAR when the place its spans name is
 * within PAGE_CONTEXT_REACH words of a piece of evidence and not in a block after the piece's
 * (the next post's first words are not the piece's context); else ONE_WORD_IN_OWN_POST at one of
 * its places (PhraseHit.places) in the block of a piece said in the first person; else
 * ONE_WORD_ELSEWHERE, at the place its spans name.
 */
function oneWordPlace(h: PageScoredHit, positives: readonly { readonly language: string; readonly start: number; readonly end: number; readonly blocks: BlockRange | undefined }[]): { kind: number; start: number; end: number } {
  const own = extentOf(h.spans);
  const ownBlock = h.blocks!.first;
  for (const p of positives) {
    if (nearHit(p, h.language, own.start, own.end) && !laterBlock(ownBlock, p.blocks)) return { kind: ONE_WORD_NEAR, start: own.start, end: own.end };
  }
  const places = h.places ?? [{ start: own.start, end: own.end, block: ownBlock }];
  for (const at of places) {
    for (const p of positives) {
      if (p.language === h.language && p.blocks?.firstPerson === true && p.blocks.first <= at.block && at.block <= p.blocks.last) return { kind: ONE_WORD_IN_OWN_POST, start: at.start, end: at.end };
    }
  }
  return { kind: ONE_WORD_ELSEWHERE, start: own.start, end: own.end };
}

/** Whether `block` comes after a piece's blocks (never, without blocks: not a page's text). */
function laterBlock(block: number, piece: BlockRange | undefined): boolean {
  return piece !== undefined && block > piece.last;
}

/**
 * Whether a rule is one term: a word, a word prefix or a word class, not a phrase of several or a
 * combination. A hit without its rule (a test's) is not.
 */
export function isOneTerm(phrase: string | undefined): boolean {
  return phrase !== undefined && phrase.indexOf(' ') < 0;
}

/** The words a hit covers, from the first word of its first part to the last of its last. */
function extentOf(spans: readonly WordSpan[]): WordSpan {
  let start = Infinity;
  let end = -Infinity;
  for (const s of spans) {
    if (s.start < start) start = s.start;
    if (s.end > end) end = s.end;
  }
  return { start, end };
}

export function severityOf(score: number, caution: number, danger: number): PhraseSeverity | null {
  return score >= danger ? 'danger' : score >= caution ? 'caution' : null;
}

// ---------------------------------------------------------------------------------------
// The workspace

/**
 * The buffers one call works in, kept from call to call: the matcher runs synchronously, one
 * text at a time, so a page's thousands of words cost no garbage. Per-id, per-rule, per-slot and
 * per-part marks are stamped with the call's generation instead of being cleared.
 */
class Workspace {
  gen = 0;
  /** The folded text. */
  readonly text = new TextBuffer();
  /** Events (a word id found at a word position), in the order found; evNext links an id's events. */
  evId: Int32Array = new Int32Array(256);
  evPos: Int32Array = new Int32Array(256);
  evNext: Int32Array = new Int32Array(256);
  events = 0;
  /** Per word position: its first event, and where its word starts in the text. */
  posStart: Int32Array = new Int32Array(256);
  wordChar: Int32Array = new Int32Array(256);
  /**
   * Per id: its first and last events in this text, and how many; idCount is 0 for an id not
   * found, kept so by next() (which clears the ids the last text touched), so that reading how
   * often a word was found takes one load, not a stamp's and a count's.
   */
  readonly idFirst: Int32Array;
  readonly idLast: Int32Array;
  readonly idCount: Int32Array;
  /** The distinct ids found, in the order first found. */
  readonly touched: Int32Array;
  touchedCount = 0;
  readonly ruleStamp: Int32Array;
  readonly candidates: Int32Array;
  /**
   * The text in blocks of 2^blockShift words (at least BLOCK_MIN, at most MAX_BLOCKS blocks):
   * per slot, a bit set of the blocks one of its first words was found in, at
   * blocks[slot * blockWords ..]; idBlocks is one word's, being made.
   */
  blocks: Int32Array;
  blockShift = 5;
  blockWords = 1;
  idBlocks: Int32Array = new Int32Array(MAX_BLOCKS >> 5);
  /** Per slot: one of its first words was found (stamped), first at slotFirst, slotFound times in all. */
  readonly slotStamp: Int32Array;
  readonly slotFirst: Int32Array;
  readonly slotFound: Int32Array;
  /** Per slot: how often its key words were found (slotWeight). */
  readonly weightStamp: Int32Array;
  readonly weights: Int32Array;
  /** The page's words alone and side by side (word-pairs.ts), and per part whether it has those it needs (stamped). */
  readonly pairs = new PagePairs();
  readonly pairStamp: Int32Array;
  readonly pairOk: Uint8Array;
  /** Per part: its places, found (stamped), as (start, end) pairs at spans[2 * partOffset ..]. */
  readonly partStamp: Int32Array;
  readonly partOffset: Int32Array;
  readonly partCount: Int32Array;
  /** Per part: startSlot's answer, worked out (stamped). */
  readonly startStamp: Int32Array;
  readonly startFrom: Int32Array;
  readonly startBest: Int32Array;
  /** Per part: its first place, when only that was wanted. */
  readonly firstStamp: Int32Array;
  readonly firstStart: Int32Array;
  readonly firstEnd: Int32Array;
  spans: Int32Array = new Int32Array(256);
  spanCount = 0;
  /** One bit per word position, all clear between uses (sortDistinct). */
  positionBits: Int32Array = new Int32Array(64);
  /** Where a part may start, being tried. */
  starts: Int32Array = new Int32Array(256);
  /** A long word's word table codes (WordTable.codesOf). */
  codes: Int32Array = new Int32Array(64);
  /** The places chosen for a rule, (start, end) pairs. */
  taken: Int32Array = new Int32Array(16);
  /** Per part of the rule being matched: the order its parts are counted in, their estimates, and whether left unlisted. */
  order: Int32Array = new Int32Array(16);
  estimate: Int32Array = new Int32Array(16);
  lazy: Uint8Array = new Uint8Array(16);
  /** Ends of unlisted parts' places near the anchor place being tried: memo[part * memoWidth + word - memoBase]. */
  memo: Int32Array = new Int32Array(64);
  memoBase = 0;
  memoWidth = 0;
  /** startSlot's answer. */
  rarest = 0;
  /** Slots' key words (slotWeight): (word, index) pairs, ws.keyTotal of them in this text so far. */
  keys: Int32Array = new Int32Array(256);
  keyTotal = 0;
  readonly keyOffset: Int32Array;
  readonly keyCount: Int32Array;
  /** Per word, the last slot (by keyMarks) and index it was made a key word at, so it is made one once. */
  readonly keyMark: Int32Array;
  readonly keyMarkAt: Int32Array;
  keyMarks = 0;

  constructor(readonly alts: AltIndex, readonly parts: PartTable, words: number, rules: number, partCount: number, slots: number) {
    this.idFirst = new Int32Array(words);
    this.idLast = new Int32Array(words);
    this.idCount = new Int32Array(words);
    this.touched = new Int32Array(words);
    this.ruleStamp = new Int32Array(rules);
    this.candidates = new Int32Array(rules);
    this.slotStamp = new Int32Array(slots);
    this.slotFirst = new Int32Array(slots);
    this.slotFound = new Int32Array(slots);
    this.slots = slots;
    this.blocks = new Int32Array(slots);
    this.weightStamp = new Int32Array(slots);
    this.weights = new Int32Array(slots);
    this.keyOffset = new Int32Array(slots);
    this.keyCount = new Int32Array(slots);
    this.keyMark = new Int32Array(words);
    this.keyMarkAt = new Int32Array(words);
    this.partStamp = new Int32Array(partCount);
    this.partOffset = new Int32Array(partCount);
    this.partCount = new Int32Array(partCount);
    this.firstStamp = new Int32Array(partCount);
    this.pairStamp = new Int32Array(partCount);
    this.pairOk = new Uint8Array(partCount);
    this.startStamp = new Int32Array(partCount);
    this.startFrom = new Int32Array(partCount);
    this.startBest = new Int32Array(partCount);
    this.firstStart = new Int32Array(partCount);
    this.firstEnd = new Int32Array(partCount);
  }

  private readonly slots: number;

  /** Sizes the blocks for a text of `positions` words. */
  startBlocks(positions: number): void {
    let shift = Math.log2(BLOCK_MIN);
    while ((positions >> shift) >= MAX_BLOCKS) shift++;
    this.blockShift = shift;
    this.blockWords = ((positions >> shift) >> 5) + 1;
    if (this.blocks.length < this.slots * this.blockWords) this.blocks = new Int32Array(this.slots * this.blockWords);
    this.idBlocks = this.idBlocks.length >= this.blockWords ? this.idBlocks : new Int32Array(this.blockWords);
  }

  /** Whether a block of slot a's and one of slot b's are the same or neighbours. */
  nearBlocks(a: number, b: number): boolean {
    const { blocks, blockWords } = this;
    const ra = a * blockWords;
    const rb = b * blockWords;
    for (let w = 0; w < blockWords; w++) {
      const x = blocks[ra + w]!;
      let near = x | (x << 1) | (x >>> 1);
      if (w > 0) near |= blocks[ra + w - 1]! >>> 31;
      if (w + 1 < blockWords) near |= blocks[ra + w + 1]! << 31;
      if ((near & blocks[rb + w]!) !== 0) return true;
    }
    return false;
  }

  /** A new call: every stamp of the last one goes stale. */
  next(): void {
    if (this.gen === 0x7fffffff) {
      this.gen = 0;
      for (const a of [this.ruleStamp, this.slotStamp, this.weightStamp, this.partStamp, this.firstStamp, this.startStamp, this.pairStamp]) a.fill(0);
    }
    this.gen++;
    this.events = 0;
    for (let t = 0; t < this.touchedCount; t++) this.idCount[this.touched[t]!] = 0;
    this.touchedCount = 0;
    this.spanCount = 0;
    this.keyTotal = 0;
    if (this.keyMarks > 0x3fffffff) {
      this.keyMarks = 0;
      this.keyMark.fill(0);
    }
  }

  ensurePositions(n: number): void {
    if (this.posStart.length < n) {
      this.posStart = new Int32Array(capacity(n));
      this.wordChar = new Int32Array(capacity(n));
    }
    if (this.positionBits.length < (n >> 5) + 1) this.positionBits = new Int32Array(capacity((n >> 5) + 1));
  }

  growEvents(): void {
    const n = this.evId.length * 2;
    this.evId = grown(this.evId, n);
    this.evPos = grown(this.evPos, n);
    this.evNext = grown(this.evNext, n);
  }

  ensureSpans(n: number): void {
    if (this.spans.length < n) this.spans = grown(this.spans, n);
  }

  ensureKeys(n: number): void {
    if (this.keys.length < n) this.keys = grown(this.keys, n);
  }

  ensureStarts(n: number): void {
    if (this.starts.length < n) this.starts = grown(this.starts, n);
  }

  ensureCodes(n: number): void {
    if (this.codes.length < n) this.codes = new Int32Array(capacity(n));
  }

  ensureTaken(parts: number): void {
    if (this.taken.length < 2 * parts) this.taken = new Int32Array(capacity(2 * parts));
  }

  ensureMemo(n: number): void {
    if (this.memo.length < n) this.memo = new Int32Array(capacity(n));
  }

  ensureRuleParts(parts: number): void {
    if (this.order.length >= parts) return;
    this.order = new Int32Array(capacity(parts));
    this.estimate = new Int32Array(capacity(parts));
    this.lazy = new Uint8Array(capacity(parts));
  }
}

function capacity(n: number): number {
  return 1 << Math.ceil(Math.log2(Math.max(n, 16)));
}

function grown(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(capacity(n));
  b.set(a);
  return b;
}

// ---------------------------------------------------------------------------------------
// Where a part matches

/** One place in a part: its alternatives (runs of word ids), and them by first word. */
interface Slot {
  readonly alts: readonly (readonly number[])[];
  readonly byFirst: ReadonlyMap<number, readonly (readonly number[])[]>;
  /** The distinct first words of its alternatives. */
  readonly firstIds: readonly number[];
  /** The words that are alternatives on their own: wherever one is found, the slot matches. */
  readonly singleIds: readonly number[];
  /** Its number among the matcher's distinct slots. */
  readonly index: number;
}
type Slots = readonly Slot[];

/** A part (its slots' indices, in order), with what finding it needs: all a text's reading uses of it. */
interface Part {
  readonly slots: Int32Array;
  /**
   * Per slot, the numbers of words the slots before it can take, or null when there are more
   * than MAX_OFFSETS of them: a part can be looked for from any slot that has them, if that
   * slot is rarer in the text than the first.
   */
  readonly offsets: readonly (readonly number[] | null)[];
  /** One slot of one-word alternatives: every place one of them is found is a place of the part. */
  readonly simple: boolean;
  /** Its number among the matcher's parts. */
  readonly index: number;
}

const MAX_OFFSETS = 16;

/** A part as matching reads it; `shared` hands out one array for equal offsets, which most parts have. */
function partOf(slots: Slots, shared: Map<string, readonly number[]>, index: number): Part {
  const offsets: (readonly number[] | null)[] = [];
  let before: readonly number[] | null = [0];
  for (const slot of slots) {
    if (before !== null) {
      const key = before.join(',');
      const same = shared.get(key);
      if (same === undefined) shared.set(key, before);
      else before = same;
    }
    offsets.push(before);
    if (before === null) continue;
    const next = new Set<number>();
    for (const o of before) for (const alt of slot.alts) next.add(o + alt.length);
    before = next.size <= MAX_OFFSETS ? [...next].sort((a, b) => a - b) : null;
  }
  return { slots: Int32Array.from(slots, (slot) => slot.index), offsets, simple: slots.length === 1 && slots[0]!.alts.every((a) => a.length === 1), index };
}

/**
 * A slot's key words in this text: per alternative whose every word was found, the word of it
 * found least often, with its index in the alternative (ws.keys, from ws.keyOffset[slot], as
 * ws.keyCount[slot] pairs). A place of the slot starts at a place of a key word less its index,
 * so how often they were found (returned) bounds how many places the slot can have.
 */
function slotWeight(si: number, ws: Workspace): number {
  const gen = ws.gen;
  if (ws.weightStamp[si] === gen) return ws.weights[si]!;
  const { idCount, keyMark, keyMarkAt } = ws;
  const mark = ++ws.keyMarks;
  const offset = ws.keyTotal;
  const { altStart, altWords, slotAltStart, slotGroupStart, groupWord, groupStart, groupAlts } = ws.alts;
  // Room for a key word per alternative of the slot, reserved once.
  ws.ensureKeys(offset + 2 * (slotAltStart[si + 1]! - slotAltStart[si]!));
  const keys = ws.keys;
  let total = offset;
  let weight = 0;
  // An alternative whose first word was not found counts for nothing: its group is passed over whole.
  for (let g = slotGroupStart[si]!, lastGroup = slotGroupStart[si + 1]!; g < lastGroup; g++) {
    const firstWord = groupWord[g]!;
    if (idCount[firstWord] === 0) continue;
    // Every alternative of the group starts with that word, found this often.
    const firstCount = idCount[firstWord]!;
    for (let q = groupStart[g]!, qEnd = groupStart[g + 1]!; q < qEnd; q++) {
      const alt = groupAlts[q]!;
      const first = altStart[alt]!;
      const length = altStart[alt + 1]! - first;
      let at = 0;
      let least = firstCount;
      for (let i = 1; i < length && least > 0; i++) {
        const w = altWords[first + i]!;
        const count = idCount[w]!;
        if (count < least) {
          least = count;
          at = i;
        }
      }
      if (least === 0) continue;
      const id = altWords[first + at]!;
      // Alternatives often share their rarest word ("kill myself", "kill me"): once is enough.
      if (keyMark[id] === mark && keyMarkAt[id] === at) continue;
      keyMark[id] = mark;
      keyMarkAt[id] = at;
      keys[total++] = id;
      keys[total++] = at;
      weight += least;
    }
  }
  ws.keyTotal = total;
  ws.weightStamp[si] = gen;
  ws.weights[si] = weight;
  ws.keyOffset[si] = offset;
  ws.keyCount[si] = (total - offset) >> 1;
  return weight;
}

/**
 * The slot of a part to find its candidate starts from, in ws.rarest: the one whose first words
 * were found least often (times the number of ways it can be placed); and that many, at most
 * as many places as the part can have.
 */
function startSlot(pi: number, ws: Workspace): number {
  const { slotStamp, slotFound, gen, startStamp, startBest, startFrom } = ws;
  // Many rules share a part, and each asks: worked out once per text.
  if (startStamp[pi] === gen) {
    ws.rarest = startFrom[pi]!;
    return startBest[pi]!;
  }
  const { slotStart, slots, offsetCount } = ws.parts;
  const first = slotStart[pi]!;
  const length = slotStart[pi + 1]! - first;
  let from = 0;
  let best = slotStamp[slots[first]!] === gen ? slotFound[slots[first]!]! : 0;
  for (let j = 1; j < length && best > 0; j++) {
    const ways = offsetCount[first + j]!;
    if (ways < 0) continue;
    const weight = (slotStamp[slots[first + j]!] === gen ? slotFound[slots[first + j]!]! : 0) * ways;
    if (weight < best) {
      best = weight;
      from = j;
    }
  }
  // First words are often common ("want to", "go forever"): when they give many starts, count
  // by each alternative's rarest word instead, which costs more to work out but gives fewer.
  // A simple part (one slot of one-word alternatives) would count the same: each alternative is
  // its own rarest word.
  if (best > FEW_STARTS && ws.parts.simple[pi] === 0) {
    best = slotWeight(slots[first]!, ws);
    from = 0;
    for (let j = 1; j < length && best > 0; j++) {
      const ways = offsetCount[first + j]!;
      if (ways < 0) continue;
      const weight = slotWeight(slots[first + j]!, ws) * ways;
      if (weight < best) {
        best = weight;
        from = j;
      }
    }
  }
  ws.rarest = from;
  startStamp[pi] = gen;
  startFrom[pi] = from;
  startBest[pi] = best;
  return best;
}

/** Candidate starts few enough not to look for fewer. */
const FEW_STARTS = 8;

/** At least how many places a part has: for a slot with one-word alternatives, the count of the most found of them. */
function partLowerBound(pi: number, ws: Workspace): number {
  const { slotStart, slots } = ws.parts;
  if (slotStart[pi + 1]! - slotStart[pi]! !== 1) return 0;
  const idCount = ws.idCount;
  let most = 0;
  const { singleStart, singleIds } = ws.alts;
  const si = slots[slotStart[pi]!]!;
  for (let k = singleStart[si]!, end = singleStart[si + 1]!; k < end; k++) {
    const id = singleIds[k]!;
    if (idCount[id]! > most) most = idCount[id]!;
  }
  return most;
}

/** At most how many places a part has, roughly (only the order parts are counted in depends on it). */
function partEstimate(pi: number, ws: Workspace): number {
  return startSlot(pi, ws);
}

/** Which of the part's slots to find its starts from (the one whose key words were found least), its weights worked out. */
function slotToStartFrom(pi: number, ws: Workspace): number {
  const { slotStart, slots } = ws.parts;
  let from = 0;
  if (slotStart[pi + 1]! - slotStart[pi]! > 1) {
    startSlot(pi, ws);
    from = ws.rarest;
  }
  slotWeight(slots[slotStart[pi]! + from]!, ws);
  return from;
}

/**
 * Writes to ws.starts, sorted and distinct, every word position the part could start at in this
 * text; returns how many. A part matches only where each alternative it takes has all its
 * words, so the places of one slot's key words, less the words before them, hold every start;
 * the slot whose key words were found least is used.
 */
function candidateStarts(pi: number, ws: Workspace): number {
  const table = ws.parts;
  const from = slotToStartFrom(pi, ws);
  const x = table.slotStart[pi]! + from;
  const offsets = table.offsets;
  const oStart = table.offsetStart[x]!;
  const oEnd = oStart + table.offsetCount[x]!;
  const ways = oEnd - oStart;
  const { idFirst, evNext, evPos, keys } = ws;
  const si = table.slots[x]!;
  const keysEnd = ws.keyOffset[si]! + 2 * ws.keyCount[si]!;
  let starts = ws.starts;
  let n = 0;
  let lists = 0;
  for (let k = ws.keyOffset[si]!; k < keysEnd; k += 2) {
    const at = keys[k + 1]!;
    lists++;
    for (let e = idFirst[keys[k]!]!; e >= 0; e = evNext[e]!) {
      if (n + ways > starts.length) {
        ws.ensureStarts(n + ways);
        starts = ws.starts;
      }
      for (let q = oStart; q < oEnd; q++) {
        const p = evPos[e]! - at - offsets[q]!;
        if (p >= 0) starts[n++] = p;
      }
    }
  }
  if (lists > 1 || ways > 1) {
    if (n <= 32) {
      sortRange(starts, n);
      let distinct = 0;
      for (let k = 0; k < n; k++) if (distinct === 0 || starts[k] !== starts[distinct - 1]) starts[distinct++] = starts[k]!;
      n = distinct;
    } else n = sortDistinct(starts, n, ws);
  }
  return n;
}

/** Sorts a[0 .. n) in place and drops repeats, through a bit set of word positions; the number left. */
function sortDistinct(a: Int32Array, n: number, ws: Workspace): number {
  const bits = ws.positionBits;
  let low = Infinity;
  let high = -1;
  for (let k = 0; k < n; k++) {
    const p = a[k]!;
    bits[p >> 5] = bits[p >> 5]! | (1 << (p & 31));
    if (p < low) low = p;
    if (p > high) high = p;
  }
  let distinct = 0;
  for (let w = low >> 5; w <= high >> 5; w++) {
    let x = bits[w]!;
    bits[w] = 0;
    while (x !== 0) {
      const bit = x & -x;
      a[distinct++] = (w << 5) + 31 - Math.clz32(bit);
      x ^= bit;
    }
  }
  return distinct;
}

/** Sorts a[0 .. n) in place. */
function sortRange(a: Int32Array, n: number): void {
  if (n > 32) {
    a.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}

/** The end of the part's place that starts at word `p`, or -1 when none does. */
function endAt(pi: number, p: number, positions: number, ws: Workspace): number {
  const table = ws.parts;
  if (table.simple[pi] === 0) return matchSlots(table.slotStart[pi]!, table.slotStart[pi + 1]!, p, positions, ws);
  if (p > positions) return -1;
  const si = table.slots[table.slotStart[pi]!]!;
  for (let e = ws.posStart[p]!, end = ws.posStart[p + 1]!; e < end; e++) if (ws.alts.group(si, ws.evId[e]!) >= 0) return p + 1;
  return -1;
}

/** The first place of a part (the first spansOf would list): its start, with its end in ws.taken[1]; or -1. */
function firstSpan(pi: number, positions: number, ws: Workspace): number {
  const n = candidateStarts(pi, ws);
  const starts = ws.starts;
  const table = ws.parts;
  const simple = table.simple[pi] === 1;
  const first = table.slotStart[pi]!;
  const last = table.slotStart[pi + 1]!;
  for (let k = 0; k < n; k++) {
    const p = starts[k]!;
    const end = simple ? p + 1 : matchSlots(first, last, p, positions, ws);
    if (end >= 0) {
      ws.taken[1] = end;
      return p;
    }
  }
  return -1;
}

/**
 * Some place of a part, the first its candidate starts (candidateStarts) lead to, unsorted: its
 * start, with its end in ws.taken[1]; or -1. Whether a part has a place at all is what a page
 * needs, and this stops at the first without listing or sorting the rest.
 */
function anyPlace(pi: number, positions: number, ws: Workspace): number {
  const table = ws.parts;
  if (table.simple[pi] === 1) return anySimplePlace(table.slots[table.slotStart[pi]!]!, ws);
  const from = slotToStartFrom(pi, ws);
  const first = table.slotStart[pi]!;
  const last = table.slotStart[pi + 1]!;
  const simple = table.simple[pi] === 1;
  const x = first + from;
  const offsets = table.offsets;
  const oStart = table.offsetStart[x]!;
  const oEnd = oStart + table.offsetCount[x]!;
  const { idFirst, evNext, evPos, keys } = ws;
  const si = table.slots[x]!;
  const keysEnd = ws.keyOffset[si]! + 2 * ws.keyCount[si]!;
  for (let k = ws.keyOffset[si]!; k < keysEnd; k += 2) {
    const at = keys[k + 1]!;
    for (let e = idFirst[keys[k]!]!; e >= 0; e = evNext[e]!) {
      for (let q = oStart; q < oEnd; q++) {
        const p = evPos[e]! - at - offsets[q]!;
        if (p < 0) continue;
        const end = simple ? p + 1 : matchSlots(first, last, p, positions, ws);
        if (end >= 0) {
          ws.taken[1] = end;
          return p;
        }
      }
    }
  }
  return -1;
}

/**
 * anyPlace of a simple part (one slot si of one-word alternatives): the first place of the first
 * of its words, in the slot's order, found in the text, which is where anyPlace's first key word
 * leads. Found without working out every key word of the slot (slotWeight), which for a class of
 * hundreds of words was most of the cost.
 */
function anySimplePlace(si: number, ws: Workspace): number {
  const { slotGroupStart, groupWord } = ws.alts;
  const { idCount, idFirst, evPos } = ws;
  for (let g = slotGroupStart[si]!, last = slotGroupStart[si + 1]!; g < last; g++) {
    const word = groupWord[g]!;
    if (idCount[word] === 0) continue;
    const p = evPos[idFirst[word]!]!;
    ws.taken[1] = p + 1;
    return p;
  }
  return -1;
}

/** Appends to ws.spans where a part matches: (start, end) pairs, sorted by start. */
function spansOf(pi: number, positions: number, ws: Workspace): void {
  const n = candidateStarts(pi, ws);
  ws.ensureSpans(ws.spanCount + 2 * n);
  const starts = ws.starts;
  const spans = ws.spans;
  const table = ws.parts;
  const simple = table.simple[pi] === 1;
  const first = table.slotStart[pi]!;
  const last = table.slotStart[pi + 1]!;
  for (let k = 0; k < n; k++) {
    const p = starts[k]!;
    const end = simple ? p + 1 : matchSlots(first, last, p, positions, ws);
    if (end >= 0) {
      spans[ws.spanCount++] = p;
      spans[ws.spanCount++] = end;
    }
  }
}

/** Whether word id `id` was found at word position `w`. */
function has(ws: Workspace, id: number, w: number, positions: number): boolean {
  if (w > positions) return false;
  const evId = ws.evId;
  for (let e = ws.posStart[w]!, end = ws.posStart[w + 1]!; e < end; e++) if (evId[e] === id) return true;
  return false;
}

/**
 * The end of the first way the slots ws.parts.slots[k .. last) match from word `w`, or -1. Only
 * the alternatives that start with a word found at `w` are tried, so a class of hundreds of
 * members costs no more than one of three.
 */
function matchSlots(k: number, last: number, w: number, positions: number, ws: Workspace): number {
  if (k === last) return w;
  if (w > positions) return -1;
  const index = ws.alts;
  const { groupStart, groupAlts, altStart, altWords } = index;
  const si = ws.parts.slots[k]!;
  const evId = ws.evId;
  for (let e = ws.posStart[w]!, end = ws.posStart[w + 1]!; e < end; e++) {
    const g = index.group(si, evId[e]!);
    if (g < 0) continue;
    for (let q = groupStart[g]!, qEnd = groupStart[g + 1]!; q < qEnd; q++) {
      const alt = groupAlts[q]!;
      const first = altStart[alt]!;
      const length = altStart[alt + 1]! - first;
      let ok = true;
      for (let j = 1; j < length && ok; j++) ok = has(ws, altWords[first + j]!, w + j, positions);
      if (!ok) continue;
      const end = matchSlots(k + 1, last, w + length, positions, ws);
      if (end >= 0) return end;
    }
  }
  return -1;
}

/**
 * Every part's slots and offsets in typed arrays, one run of memory per part: what finding a
 * part reads, without going through an object per part and an array per slot (each of which is
 * a load that misses the cache when thousands of parts are read in a page).
 */
class PartTable {
  /** Part pi's slots are slots[slotStart[pi] .. slotStart[pi + 1]). */
  readonly slotStart: Int32Array;
  readonly slots: Int32Array;
  /**
   * Per slot of a part (x, its index in `slots`): Part.offsets of it, as
   * offsets[offsetStart[x] .. offsetStart[x] + offsetCount[x]), or offsetCount[x] = -1 for none
   * (more than MAX_OFFSETS). Equal offsets share one run.
   */
  readonly offsetStart: Int32Array;
  readonly offsetCount: Int32Array;
  readonly offsets: Int32Array;
  /** Per part: 1 for one slot of one-word alternatives (Part.simple). */
  readonly simple: Uint8Array;

  constructor(parts: readonly Part[]) {
    [this.slotStart, this.slots] = flatten(parts.map((p) => [...p.slots]));
    this.offsetStart = new Int32Array(this.slots.length);
    this.offsetCount = new Int32Array(this.slots.length);
    const pool: number[] = [];
    const at = new Map<readonly number[], number>();
    let x = 0;
    for (const p of parts) {
      for (const offsets of p.offsets) {
        if (offsets === null) this.offsetCount[x] = -1;
        else {
          let start = at.get(offsets);
          if (start === undefined) {
            start = pool.length;
            pool.push(...offsets);
            at.set(offsets, start);
          }
          this.offsetStart[x] = start;
          this.offsetCount[x] = offsets.length;
        }
        x++;
      }
    }
    this.offsets = Int32Array.from(pool);
    this.simple = Uint8Array.from(parts, (p) => (p.simple ? 1 : 0));
  }
}

/**
 * Every slot's alternatives by (slot, first word), in typed arrays: what matchSlots looks up at
 * each word. The alternatives of group g are groupAlts[groupStart[g] .. groupStart[g + 1]), in
 * the order the slot lists them; alternative a is altWords[altStart[a] .. altStart[a + 1]).
 */
class AltIndex {
  readonly groupStart: Int32Array;
  readonly groupAlts: Int32Array;
  readonly altStart: Int32Array;
  readonly altWords: Int32Array;
  /** Slot s's alternatives are slotAltStart[s] .. slotAltStart[s + 1] (grouped by first word). */
  readonly slotAltStart: Int32Array;
  /** Slot s's groups are slotGroupStart[s] .. slotGroupStart[s + 1]; group g's alternatives start with word groupWord[g]. */
  readonly slotGroupStart: Int32Array;
  readonly groupWord: Int32Array;
  /** Slot s's words that are alternatives on their own: singleIds[singleStart[s] .. singleStart[s + 1]). */
  readonly singleStart: Int32Array;
  readonly singleIds: Int32Array;
  /**
   * Per slot of more than FEW_GROUPS groups, its groups' first words sorted, over the same range
   * as its groups (slotGroupStart), with the group of each in sortedGroup: a binary search reads
   * a few neighbouring cache lines of the slot's own, where a probe into one hash table of every
   * slot's groups (768 KB) missed the cache on nearly every look-up.
   */
  private readonly sortedWord: Int32Array;
  private readonly sortedGroup: Int32Array;
  /**
   * Per slot of more than FEW_GROUPS groups, a bit set of its alternatives' first words, about
   * eight bits to a word (bit wordBit(w, firstShift[s]) of the words from firstStart[s]): most
   * words asked about start none of the slot's alternatives, and the bits say so without a
   * search of its sorted words.
   */
  private readonly firstBits: Int32Array;
  private readonly firstStart: Int32Array;
  private readonly firstShift: Uint8Array;

  constructor(slots: readonly Slot[]) {
    const groups: { slot: number; word: number; alts: number[] }[] = [];
    const alts: (readonly number[])[] = [];
    this.slotAltStart = new Int32Array(slots.length + 1);
    this.slotGroupStart = new Int32Array(slots.length + 1);
    for (const [si, slot] of slots.entries()) {
      if (slot.index !== si) throw new Error('slots out of order');
      this.slotAltStart[slot.index] = alts.length;
      this.slotGroupStart[slot.index] = groups.length;
      for (const [word, list] of slot.byFirst) {
        groups.push({ slot: slot.index, word, alts: list.map((alt) => alts.push(alt) - 1) });
      }
    }
    this.slotAltStart[slots.length] = alts.length;
    this.slotGroupStart[slots.length] = groups.length;
    this.groupWord = Int32Array.from(groups, (g) => g.word);
    [this.singleStart, this.singleIds] = flatten(slots.map((slot) => slot.singleIds));
    [this.groupStart, this.groupAlts] = flatten(groups.map((g) => g.alts));
    [this.altStart, this.altWords] = flatten(alts);
    this.firstStart = new Int32Array(slots.length);
    this.firstShift = new Uint8Array(slots.length);
    let bitWords = 0;
    for (let si = 0; si < slots.length; si++) {
      const count = this.slotGroupStart[si + 1]! - this.slotGroupStart[si]!;
      if (count <= FEW_GROUPS) continue;
      let log = 6;
      while (1 << log < 8 * count) log++;
      this.firstStart[si] = bitWords;
      this.firstShift[si] = 32 - log;
      bitWords += (1 << log) >> 5;
    }
    this.firstBits = new Int32Array(bitWords);
    for (const g of groups) {
      const count = this.slotGroupStart[g.slot + 1]! - this.slotGroupStart[g.slot]!;
      if (count <= FEW_GROUPS) continue;
      const b = wordBit(g.word, this.firstShift[g.slot]!);
      const at = this.firstStart[g.slot]! + (b >>> 5);
      this.firstBits[at] = this.firstBits[at]! | (1 << (b & 31));
    }
    this.sortedWord = new Int32Array(groups.length);
    this.sortedGroup = new Int32Array(groups.length);
    for (let si = 0; si < slots.length; si++) {
      const first = this.slotGroupStart[si]!;
      const last = this.slotGroupStart[si + 1]!;
      if (last - first <= FEW_GROUPS) continue;
      const order = Array.from({ length: last - first }, (_, k) => first + k).sort((a, b) => groups[a]!.word - groups[b]!.word);
      order.forEach((g, k) => {
        this.sortedWord[first + k] = groups[g]!.word;
        this.sortedGroup[first + k] = g;
      });
    }
  }

  /** The group of the slot's alternatives that start with `word`, or -1. */
  group(slot: number, word: number): number {
    // Most slots start their alternatives with a few words: those are compared in place, in
    // one run of memory, rather than searched for among its sorted words.
    const first = this.slotGroupStart[slot]!;
    const last = this.slotGroupStart[slot + 1]!;
    if (last - first <= FEW_GROUPS) {
      const groupWord = this.groupWord;
      for (let g = first; g < last; g++) if (groupWord[g] === word) return g;
      return -1;
    }
    const b = wordBit(word, this.firstShift[slot]!);
    if ((this.firstBits[this.firstStart[slot]! + (b >>> 5)]! & (1 << (b & 31))) === 0) return -1;
    const sortedWord = this.sortedWord;
    let lo = first;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sortedWord[mid]! < word) lo = mid + 1;
      else hi = mid;
    }
    return lo < last && sortedWord[lo] === word ? this.sortedGroup[lo]! : -1;
  }

  get bytes(): number {
    return this.groupStart.byteLength + this.groupAlts.byteLength + this.altStart.byteLength + this.altWords.byteLength + this.slotAltStart.byteLength
      + this.slotGroupStart.byteLength + this.groupWord.byteLength
      + this.singleStart.byteLength + this.singleIds.byteLength
      + this.sortedWord.byteLength + this.sortedGroup.byteLength + this.firstBits.byteLength + this.firstStart.byteLength + this.firstShift.byteLength;
  }
}

/** A slot whose alternatives start with at most this many words is read in place by AltIndex.group. */
const FEW_GROUPS = 8;

/** A word's bit in a slot's AltIndex.firstBits, of 2^(32 - shift) bits. */
function wordBit(word: number, shift: number): number {
  return Math.imul(word, 0x9e3779b1) >>> shift;
}


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
  private readonly slotOfWord = new Map<number, Slot>();
  /** Every distinct slot (a class is one slot however many rules name it; so is a word). */
  readonly slots: Slot[] = [];

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
        if (t.kind === 'word') return this.wordSlot(this.wordId(t.word, e.language));
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
      category, weight: e.weight, intent: e.intent === true, within: e.within ?? DEFAULT_WITHIN, language: e.language, pagesOnly: e.pagesOnly === true, parts,
      phrase: e.phrase, file: e.file, line: e.line,
    };
  }

  private slot(alts: readonly (readonly number[])[]): Slot {
    const byFirst = new Map<number, (readonly number[])[]>();
    const singleIds = new Set<number>();
    for (const alt of alts) {
      const list = byFirst.get(alt[0]!);
      if (list) list.push(alt);
      else byFirst.set(alt[0]!, [alt]);
      if (alt.length === 1) singleIds.add(alt[0]!);
    }
    const slot = {
      alts, byFirst, firstIds: [...byFirst.keys()], singleIds: [...singleIds], index: this.slots.length,
    };
    this.slots.push(slot);
    return slot;
  }

  private wordSlot(id: number): Slot {
    let slot = this.slotOfWord.get(id);
    if (slot === undefined) this.slotOfWord.set(id, (slot = this.slot([[id]])));
    return slot;
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
    const slot = this.slot(alts);
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
  patterns(): { patterns: string[]; patternWords: number[][]; forms: Set<string>; near: NearIndex } {
    const index = new Map<string, number>();
    const patterns: string[] = [];
    const patternWords: number[][] = [];
    const forms = new Set<string>();
    const near = new NearIndex();
    const add = (pattern: string, id: number): void => {
      let p = index.get(pattern);
      if (p === undefined) {
        p = patterns.push(pattern) - 1;
        index.set(pattern, p);
        patternWords.push([]);
      }
      if (!patternWords[p]!.includes(id)) patternWords[p]!.push(id);
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
      // Typos are read back onto the listed spelling of English words ("suicde", "mysefl"), not
      // onto every form of them: the index stays small, and "hangign" is rare beside "hangin".
      // Common words too: "ymself" hides "kill myself" as well as "kll" would.
      if (w.english && /^[a-z]+$/.test(w.word)) near.add(w.word);
    });
    return { patterns, patternWords, forms, near };
  }
}

/** Whether a word starts with one of the prefixes: a look-up per length of them, not a test per prefix. */
function startsWithAny(prefixes: readonly string[]): (t: string) => boolean {
  const set = new Set(prefixes);
  const lengths = [...new Set(prefixes.map((p) => p.length))].sort((a, b) => a - b);
  return (t) => {
    for (const n of lengths) {
      if (n > t.length) return false;
      if (set.has(t.slice(0, n))) return true;
    }
    return false;
  };
}

/** The address gate of the compiled lists (address-anchors.ts). */
function addressGate(compiler: Compiler, rules: readonly Rule[], patterns: readonly string[], patternWords: readonly (readonly number[])[]): AddressGate {
  const words = compiler.words.map((w, id) => ({ word: w.word, common: compiler.common[id]! }));
  const lists = {
    words,
    rules: rules.map((r) => ({ weight: r.weight, slots: [...new Set(r.parts.flatMap((pi) => compiler.parts[pi]!))].map((slot) => slot.alts) })),
    patterns,
    patternWords,
  };
  return new AddressGate(lists, gateRules(lists));
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

/** The classes of this file a compiled matcher is made of: what a worker may send of one (phrase-build-child.ts). */
export const MATCHER_CLASSES = [PhraseMatcher, Workspace, AltIndex, PartTable, ListVocabulary, WordCache, PairFilter, PagePairs] as const;
