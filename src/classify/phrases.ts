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
  /** Word ids that each pattern stands for: patternWordIds[patternWordStart[p] .. patternWordStart[p + 1]). */
  private readonly patternWordStart: Int32Array;
  private readonly patternWordIds: Int32Array;
  private readonly rules: readonly Rule[];
  /** Every distinct part of every rule: a sequence of slots; a slot is its alternatives, each a run of word ids. */
  private readonly parts: readonly Part[];
  /**
   * Rules to look at when a word occurs: each rule is listed under the first words of one slot
   * it cannot match without (its rarest), so a text wakes only rules whose required word it holds.
   * rulesOfWordIds[rulesOfWordStart[id] .. rulesOfWordStart[id + 1]).
   */
  private readonly rulesOfWordStart: Int32Array;
  private readonly rulesOfWordIds: Int32Array;
  /** Per rule, every slot it needs, rarest first: a rule whose slot has no first word in the text is skipped. */
  private readonly requiredSlots: readonly (readonly Slot[])[];
  private readonly slotCount: number;
  private readonly categories: readonly string[];
  private readonly caution: Float64Array;
  private readonly danger: Float64Array;
  private readonly emoji: EmojiMap;
  private readonly vocab: Vocabulary;
  private readonly pageFold: PageFold;
  private readonly ws: Workspace;

  constructor(entries: readonly PhraseEntry[], thresholds: PhraseThresholds, extras: LexiconExtras = EMPTY_LEXICON) {
    const compiler = new Compiler(extras.classes);
    STATS.words = compiler.words;
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
    this.parts = compiler.parts.map(partOf);
    this.slotCount = compiler.slotCount;
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
    // alternatives' first words is; so the rarest slot's first words are enough to wake it.
    // "Rare" is guessed: a common word is taken to be far more frequent than any other.
    const slotCost = (slot: Slot): number => {
      let cost = 0;
      for (const id of slot.firstIds) cost += compiler.common[id] ? COMMON_COST : 1;
      return cost;
    };
    const wordCount = compiler.words.length;
    const rulesOf: number[][] = Array.from({ length: wordCount }, () => []);
    const requiredSlots: Slot[][] = [];
    rules.forEach((r, ri) => {
      const slots = [...new Set(r.parts.flatMap((pi) => compiler.parts[pi]!))].sort((a, b) => slotCost(a) - slotCost(b));
      requiredSlots.push(slots);
      for (const id of slots[0]!.firstIds) rulesOf[id]!.push(ri);
    });
    this.requiredSlots = requiredSlots;
    [this.rulesOfWordStart, this.rulesOfWordIds] = flatten(rulesOf);

    const { patterns, patternWords, anchor, forms, near } = compiler.patterns();
    [this.patternWordStart, this.patternWordIds] = flatten(patternWords);
    this.forms = forms.size;
    this.dfa = compileDfa(patterns, (id) => anchor[id]!);
    if (compiler.words.length >= WORD_LIMIT) throw new RangeError(`the phrase lists hold ${compiler.words.length} distinct words; at most ${WORD_LIMIT - 1} are supported`);
    this.prefilter = { ...this.dfa, firstOut: this.dfa.firstAnchor };
    const prefixes = compiler.words.filter((w) => w.prefix).map((w) => w.word);
    for (const w of englishWordsWithPrefix(compiler.words.filter((w) => w.prefix && w.english).map((w) => w.word))) near.add(w);
    this.vocab = {
      known: (t) => forms.has(t) || prefixes.some((p) => t.startsWith(p)),
      nearest: (t) => near.nearest(t),
    };
    this.emoji = emojiMap(extras.emoji);
    this.pageFold = new PageFold(this.emoji);
    this.ws = new Workspace(wordCount, rules.length, compiler.parts.length, compiler.slotCount);
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
    return this.analyseText(read, repairs);
  }

  /** Text already folded with foldText (a title, words from elsewhere): no repairs. */
  match(foldedText: string): PhraseResult {
    return this.analyseText(foldedText, NO_REPAIRS);
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
    return this.analyseText(read, repairs);
  }

  /**
   * A page's text (HTML already turned into text): characters read back, words matched as
   * written. The text is folded straight into the workspace, the same as
   * foldText(readCharacters(text)) would give, and made a string only when something matched.
   */
  matchPage(text: string): PhraseResult {
    const ws = this.ws;
    const t0 = performance.now();
    const n = this.pageFold.fold(text, ws);
    T.fold += performance.now() - t0;
    return this.analyse(n, null, NO_REPAIRS);
  }

  // -------------------------------------------------------------------------------------

  private analyseText(text: string, repairs: readonly Repair[]): PhraseResult {
    if (text === '') return NO_PHRASES;
    const ws = this.ws;
    const n = text.length;
    ws.ensureChars(n);
    const chars = ws.chars;
    for (let i = 0; i < n; i++) chars[i] = text.charCodeAt(i);
    return this.analyse(n, text, repairs);
  }

  /** The folded text is ws.chars[0 .. n); `text` is it as a string, or null to make one if needed. */
  private analyse(n: number, text: string | null, repairs: readonly Repair[]): PhraseResult {
    if (n === 0) return NO_PHRASES;
    const ws = this.ws;
    ws.next();
    let t0 = performance.now();
    const positions = this.walk(n);
    T.walk += performance.now() - t0; t0 = performance.now();
    if (ws.touchedCount === 0) return NO_PHRASES;
    const candidates = this.candidates();
    if (candidates === 0) return NO_PHRASES;
    T.cands += performance.now() - t0; t0 = performance.now();

    let hits: PhraseHit[] | null = null;
    let hitCategory: number[] | null = null;
    const order = ws.candidates.subarray(0, candidates).sort();
    for (let c = 0; c < candidates; c++) {
      const ri = order[c]!;
      if (!this.possible(ri)) continue;
      const r = this.rules[ri]!;
      const taken = this.matchRule(r, positions);
      if (taken === 0) continue;
      text ??= ws.string(n);
      const spans = this.spansTaken(taken);
      hits ??= [];
      hitCategory ??= [];
      hits.push({
        category: this.categories[r.category]!, phrase: r.phrase, weight: r.weight, matched: wordsOf(text, spans, ws.wordChar),
        intent: r.intent, file: r.file, line: r.line, spans,
      });
      hitCategory.push(r.category);
    }
    T.rules += performance.now() - t0; t0 = performance.now();
    if (hits === null || hitCategory === null || text === null) return NO_PHRASES;
    const flagged: PhraseScore[] = [];
    for (const ci of new Set(hitCategory)) {
      const cat = this.categories[ci]!;
      const score = scoreHits(hits.filter((h) => h.category === cat));
      const severity = severityOf(score, this.caution[ci]!, this.danger[ci]!);
      if (severity) flagged.push({ category: cat, score, severity });
    }
    flagged.sort((a, b) => b.score - a.score || (a.category < b.category ? -1 : 1));
    T.flag += performance.now() - t0; T.calls++;
    return { hits, flagged, repairs, read: text };
  }

  /**
   * One walk of the automaton over ws.chars[0 .. n) and a closing space: every listed word
   * found, as events (word id, word position) in the order found, at most one per id and
   * position; and per id, its events linked in order. Returns the number of word positions.
   */
  private walk(n: number): number {
    const { symbolOf, delta, alphabet, firstOut, outStart, patternIds, start } = this.dfa;
    const pwStart = this.patternWordStart;
    const pwIds = this.patternWordIds;
    const ws = this.ws;
    ws.ensureWords(n + 3);
    const chars = ws.chars;
    const { posStart, wordChar, idStamp, idFirst, idLast, idCount, touched } = ws;
    const gen = ws.gen;
    const symbols = symbolOf.length;
    let evId = ws.evId;
    let evPos = ws.evPos;
    let evNext = ws.evNext;
    let events = 0;
    let touchedCount = 0;
    let word = 0;
    let wordEvents = 0;
    posStart[0] = 0;
    wordChar[0] = 0;
    let state = start;
    for (let i = 0; i <= n; i++) {
      // Position n is the closing space the text is wrapped in.
      const c = i < n ? chars[i]! : SPACE;
      state = delta[state * alphabet + (c < symbols ? symbolOf[c]! : 0)]!;
      if (state >= firstOut) {
        const o = state - firstOut;
        for (let k = outStart[o]!; k < outStart[o + 1]!; k++) {
          const p = patternIds[k]!;
          for (let j = pwStart[p]!; j < pwStart[p + 1]!; j++) {
            const id = pwIds[j]!;
            let seen = false;
            for (let e = wordEvents; e < events; e++) {
              if (evId[e] === id) {
                seen = true;
                break;
              }
            }
            if (seen) continue;
            if (events === evId.length) {
              ws.growEvents();
              evId = ws.evId;
              evPos = ws.evPos;
              evNext = ws.evNext;
            }
            evId[events] = id;
            evPos[events] = word;
            evNext[events] = -1;
            if (idStamp[id] !== gen) {
              idStamp[id] = gen;
              idFirst[id] = events;
              idCount[id] = 1;
              touched[touchedCount++] = id;
            } else {
              evNext[idLast[id]!] = events;
              idCount[id] = idCount[id]! + 1;
            }
            idLast[id] = events;
            events++;
          }
        }
      }
      if (c === SPACE) {
        word++;
        posStart[word] = events;
        wordChar[word] = i + 1;
        wordEvents = events;
      }
    }
    posStart[word + 1] = events;
    ws.touchedCount = touchedCount;
    return word;
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
      for (let k = start[id]!; k < start[id + 1]!; k++) {
        const ri = ids[k]!;
        if (ruleStamp[ri] === gen) continue;
        ruleStamp[ri] = gen;
        candidates[count++] = ri;
      }
    }
    return count;
  }

  /** Whether every slot the rule needs has an alternative whose every word is somewhere in the text. */
  private possible(ri: number): boolean {
    const ws = this.ws;
    for (const slot of this.requiredSlots[ri]!) if (slotWeight(slot, ws) === 0) return false;
    return true;
  }

  /** A part's places in this text (found once per text, as many rules share a part): [offset, count] into ws.spans. */
  private partSpans(pi: number, positions: number): void {
    const ws = this.ws;
    if (ws.partStamp[pi] === ws.gen) return;
    ws.partStamp[pi] = ws.gen;
    const offset = ws.spanCount;
    spansOf(this.parts[pi]!, positions, ws);
    ws.partOffset[pi] = offset;
    ws.partCount[pi] = (ws.spanCount - offset) >> 1;
  }

  /**
   * The first place the rule matches, as in the order below: the number of spans written to
   * ws.taken (one per part, the part with fewest places first, then the others in order), or 0.
   */
  private matchRule(r: Rule, positions: number): number {
    const ws = this.ws;
    const parts = r.parts;
    if (parts.length === 1) {
      const pi = parts[0]!;
      const part = this.parts[pi]!;
      if (ws.partStamp[pi] === ws.gen) {
        if (ws.partCount[pi] === 0) return 0;
        const o = ws.partOffset[pi]!;
        ws.taken[0] = ws.spans[o]!;
        ws.taken[1] = ws.spans[o + 1]!;
        return 1;
      }
      // Only its first place is wanted: no need to find them all.
      if (ws.firstStamp[pi] !== ws.gen) {
        ws.firstStamp[pi] = ws.gen;
        ws.firstStart[pi] = firstSpan(this.parts[pi]!, positions, ws);
        ws.firstEnd[pi] = ws.taken[1]!;
      }
      if (ws.firstStart[pi]! < 0) return 0;
      ws.taken[0] = ws.firstStart[pi]!;
      ws.taken[1] = ws.firstEnd[pi]!;
      return 1;
    }
    for (const pi of parts) {
      this.partSpans(pi, positions);
      if (ws.partCount[pi] === 0) return 0;
    }
    // Anchor on the part with the fewest places, then look for the others in each window of
    // `within` words that holds it; each part's places are sorted, so a window is a binary search.
    let a = 0;
    for (let i = 1; i < parts.length; i++) if (ws.partCount[parts[i]!]! < ws.partCount[parts[a]!]!) a = i;
    ws.ensureTaken(parts.length);
    const spans = ws.spans;
    const anchorOffset = ws.partOffset[parts[a]!]!;
    const anchorCount = ws.partCount[parts[a]!]!;
    const within = r.within;
    for (let s = 0; s < anchorCount; s++) {
      const start = spans[anchorOffset + 2 * s]!;
      const end = spans[anchorOffset + 2 * s + 1]!;
      ws.taken[0] = start;
      ws.taken[1] = end;
      for (let from = Math.max(0, end - within); from <= start; from++) {
        if (this.assign(parts, a, 0, from, from + within, 1)) return parts.length;
      }
    }
    return 0;
  }

  /**
   * Places for parts i… (the anchor part `skip` already placed) inside [from, to), none sharing a
   * word, after the `taken` spans already in ws.taken; tries each candidate place of a part in
   * turn, so the order of the text never matters.
   */
  private assign(parts: readonly number[], skip: number, i: number, from: number, to: number, taken: number): boolean {
    if (i === skip) i++;
    if (i === parts.length) return true;
    const ws = this.ws;
    const spans = ws.spans;
    const t = ws.taken;
    const offset = ws.partOffset[parts[i]!]!;
    const count = ws.partCount[parts[i]!]!;
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
      if (xe > to) continue;
      let free = true;
      for (let y = 0; y < taken && free; y++) free = xe <= t[2 * y]! || xs >= t[2 * y + 1]!;
      if (!free) continue;
      t[2 * taken] = xs;
      t[2 * taken + 1] = xe;
      if (this.assign(parts, skip, i + 1, from, to, taken + 1)) return true;
    }
    return false;
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
/** How much more often a common word is taken to occur than any other, when choosing a rule's rarest slot. */
const COMMON_COST = 300;

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

/** Lists of numbers as one array of them and where each list starts (the last start is the end). */
function flatten(lists: readonly (readonly number[])[]): [Int32Array, Int32Array] {
  const start = new Int32Array(lists.length + 1);
  let total = 0;
  lists.forEach((l, i) => {
    start[i] = total;
    total += l.length;
  });
  start[lists.length] = total;
  const all = new Int32Array(total);
  lists.forEach((l, i) => all.set(l, start[i]!));
  return [start, all];
}

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
// The workspace

/**
 * The buffers one call works in, kept from call to call: the matcher runs synchronously, one
 * text at a time, so a page's tens of thousands of words cost no garbage. Per-id, per-rule and
 * per-part marks are stamped with the call's generation instead of being cleared.
 */
class Workspace {
  gen = 0;
  /** The folded text's character codes. */
  chars: Uint16Array = new Uint16Array(256);
  /** Events (a word id found at a word position), in the order found; evNext links an id's events. */
  evId: Int32Array = new Int32Array(256);
  evPos: Int32Array = new Int32Array(256);
  evNext: Int32Array = new Int32Array(256);
  /** Per word position: its first event, and where its word starts in the text. */
  posStart: Int32Array = new Int32Array(256);
  wordChar: Int32Array = new Int32Array(256);
  readonly idStamp: Int32Array;
  readonly idFirst: Int32Array;
  readonly idLast: Int32Array;
  /** Per id, how many positions it was found at. */
  readonly idCount: Int32Array;
  /** The distinct ids found, in the order found. */
  readonly touched: Int32Array;
  touchedCount = 0;
  readonly ruleStamp: Int32Array;
  readonly candidates: Int32Array;
  readonly slotStamp: Int32Array;
  /** Per slot: over its alternatives, how often the rarest word of each was found (0: the slot is nowhere). */
  readonly slotWeights: Int32Array;
  readonly partStamp: Int32Array;
  readonly partOffset: Int32Array;
  readonly partCount: Int32Array;
  /** A part's first place, when only that was wanted. */
  readonly firstStamp: Int32Array;
  readonly firstStart: Int32Array;
  readonly firstEnd: Int32Array;
  /** rarestWord's answer. */
  rarest = 0;
  rarestCount = 0;
  /** Places of parts, (start, end) pairs; a part's are sorted by start. */
  spans: Int32Array = new Int32Array(256);
  spanCount = 0;
  /** Start positions of a part being placed. */
  starts: Int32Array = new Int32Array(256);
  /** The places chosen for a rule, (start, end) pairs. */
  taken: Int32Array = new Int32Array(16);

  constructor(words: number, rules: number, parts: number, slots: number) {
    this.idStamp = new Int32Array(words);
    this.idFirst = new Int32Array(words);
    this.idLast = new Int32Array(words);
    this.idCount = new Int32Array(words);
    this.touched = new Int32Array(words);
    this.ruleStamp = new Int32Array(rules);
    this.candidates = new Int32Array(rules);
    this.slotStamp = new Int32Array(slots);
    this.slotWeights = new Int32Array(slots);
    this.partStamp = new Int32Array(parts);
    this.partOffset = new Int32Array(parts);
    this.partCount = new Int32Array(parts);
    this.firstStamp = new Int32Array(parts);
    this.firstStart = new Int32Array(parts);
    this.firstEnd = new Int32Array(parts);
  }

  /** A new call: every stamp of the last one goes stale. */
  next(): void {
    if (this.gen === 0x7fffffff) {
      this.gen = 0;
      for (const a of [this.idStamp, this.ruleStamp, this.slotStamp, this.partStamp, this.firstStamp]) a.fill(0);
    }
    this.gen++;
    this.spanCount = 0;
    this.touchedCount = 0;
  }

  ensureChars(n: number): void {
    if (this.chars.length < n) this.chars = grownChars(this.chars, n);
  }

  ensureWords(n: number): void {
    if (this.posStart.length < n) {
      this.posStart = new Int32Array(capacity(n));
      this.wordChar = new Int32Array(capacity(n));
    }
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

  ensureStarts(n: number): void {
    if (this.starts.length < n) this.starts = grown(this.starts, n);
  }

  ensureTaken(parts: number): void {
    if (this.taken.length < 2 * parts) this.taken = new Int32Array(capacity(2 * parts));
  }

  /** The folded text as a string. */
  string(n: number): string {
    return Buffer.from(this.chars.buffer, this.chars.byteOffset, 2 * n).toString('utf16le');
  }
}

function capacity(n: number): number {
  return 1 << Math.ceil(Math.log2(Math.max(n, 16)));
}

function grownChars(a: Uint16Array, n: number): Uint16Array {
  const b = new Uint16Array(capacity(n));
  b.set(a);
  return b;
}

function grown(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(capacity(n));
  b.set(a);
  return b;
}

// ---------------------------------------------------------------------------------------
// Where a part matches

const WORD_LIMIT = 0x10000;

/** One place in a part: its alternatives (runs of word ids), and them by first word. */
interface Slot {
  readonly alts: readonly (readonly number[])[];
  readonly byFirst: ReadonlyMap<number, readonly (readonly number[])[]>;
  /** The distinct first words of its alternatives. */
  readonly firstIds: readonly number[];
  /** Its number among the matcher's distinct slots. */
  readonly index: number;
}
type Slots = readonly Slot[];

/** A part (slots in order), with what finding it needs. */
interface Part {
  readonly slots: Slots;
  /**
   * Per slot, the numbers of words the slots before it can take, or null when there are more
   * than MAX_OFFSETS of them: a part can be looked for from any slot that has them, if it is
   * rarer in the text than the first.
   */
  readonly offsets: readonly (readonly number[] | null)[];
  /** One slot of one-word alternatives: every place one of them is found is a place of the part. */
  readonly simple: boolean;
}

const MAX_OFFSETS = 4;

function partOf(slots: Slots): Part {
  const offsets: (number[] | null)[] = [];
  let before: number[] | null = [0];
  for (const slot of slots) {
    offsets.push(before);
    if (before === null) continue;
    const next = new Set<number>();
    for (const o of before) for (const alt of slot.alts) next.add(o + alt.length);
    before = next.size <= MAX_OFFSETS ? [...next].sort((a, b) => a - b) : null;
  }
  return { slots, offsets, simple: slots.length === 1 && slots[0]!.alts.every((a) => a.length === 1) };
}

/** The word of an alternative found least often in this text (its index), and how often: ws.rarest, ws.rarestCount. */
function rarestWord(alt: readonly number[], ws: Workspace): void {
  const { idStamp, idCount } = ws;
  const gen = ws.gen;
  let best = 0;
  let least = Infinity;
  for (let i = 0; i < alt.length; i++) {
    const id = alt[i]!;
    const count = idStamp[id] === gen ? idCount[id]! : 0;
    if (count < least) {
      least = count;
      best = i;
      if (count === 0) break;
    }
  }
  ws.rarest = best;
  ws.rarestCount = least;
}

/** How often a slot's alternatives can be placed at most: the sum of their rarest words' counts. */
function slotWeight(slot: Slot, ws: Workspace): number {
  const si = slot.index;
  if (ws.slotStamp[si] === ws.gen) return ws.slotWeights[si]!;
  let weight = 0;
  for (const alt of slot.alts) {
    rarestWord(alt, ws);
    weight += ws.rarestCount;
  }
  ws.slotStamp[si] = ws.gen;
  ws.slotWeights[si] = weight;
  return weight;
}

/**
 * Writes to ws.starts, sorted and distinct, every word position the part could start at in this
 * text, and returns how many. A part matches only where each alternative it takes has all its
 * words, so the places of one slot's alternatives' rarest words, less the words before them,
 * hold every start; the slot whose places are fewest is used.
 */
function candidateStarts(part: Part, ws: Workspace): number {
  const slots = part.slots;
  let from = 0;
  let best = slotWeight(slots[0]!, ws);
  for (let j = 1; j < slots.length && best > 0; j++) {
    const offsets = part.offsets[j];
    if (offsets === null || offsets === undefined) continue;
    const weight = slotWeight(slots[j]!, ws) * offsets.length;
    if (weight < best) {
      best = weight;
      from = j;
    }
  }
  if (best === 0) return 0;
  const offsets = part.offsets[from]!;
  const { idFirst, evNext, evPos } = ws;
  ws.ensureStarts(best);
  const starts = ws.starts;
  let n = 0;
  let lists = 0;
  for (const alt of slots[from]!.alts) {
    rarestWord(alt, ws);
    if (ws.rarestCount === 0) continue;
    lists++;
    const i = ws.rarest;
    for (let e = idFirst[alt[i]!]!; e >= 0; e = evNext[e]!) {
      for (const o of offsets) {
        const p = evPos[e]! - i - o;
        if (p >= 0) starts[n++] = p;
      }
    }
  }
  if (lists > 1 || offsets.length > 1) starts.subarray(0, n).sort();
  let distinct = 0;
  for (let k = 0; k < n; k++) if (distinct === 0 || starts[k] !== starts[distinct - 1]) starts[distinct++] = starts[k]!;
  return distinct;
}

/** The first place of a part (the first that spansOf would list): its start, with its end in ws.taken[1]; or -1. */
function firstSpan(part: Part, positions: number, ws: Workspace): number {
  const n = candidateStarts(part, ws);
  const starts = ws.starts;
  for (let k = 0; k < n; k++) {
    const p = starts[k]!;
    const end = part.simple ? p + 1 : matchSlots(part.slots, 0, p, positions, ws);
    if (end >= 0) {
      ws.taken[1] = end;
      return p;
    }
  }
  return -1;
}

export const T = { fold: 0, walk: 0, cands: 0, rules: 0, flag: 0, calls: 0 };
export const STATS = { parts: 0, starts: 0, words: [] as WordInfo[], steps: new Map<string, number>() };
const nameOf = (part: Part): string => part.slots.map((sl) => sl.alts.length > 3 ? `[${sl.alts.length}:${sl.alts.slice(0, 3).map((a) => a.map((i) => STATS.words[i]!.word).join('_')).join('|')}]` : sl.alts.map((a) => a.map((i) => STATS.words[i]!.word).join('_')).join('|')).join(' ');

/** Appends to ws.spans where a part matches: (start, end) pairs, sorted by start. */
function spansOf(part: Part, positions: number, ws: Workspace): void {
  STATS.parts++;
  const n = candidateStarts(part, ws);
  STATS.starts += n; STATS.steps.set(nameOf(part), n);
  ws.ensureSpans(ws.spanCount + 2 * n);
  const starts = ws.starts;
  const spans = ws.spans;
  for (let k = 0; k < n; k++) {
    const p = starts[k]!;
    const end = part.simple ? p + 1 : matchSlots(part.slots, 0, p, positions, ws);
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
 * The end of the first way slots k… match from word `w`, or -1. Only the alternatives that
 * start with a word found at `w` are tried, so a class of hundreds of members costs no more
 * than one of three.
 */
function matchSlots(slots: Slots, k: number, w: number, positions: number, ws: Workspace): number {
  if (k === slots.length) return w;
  if (w > positions) return -1;
  const slot = slots[k]!;
  for (let e = ws.posStart[w]!; e < ws.posStart[w + 1]!; e++) {
    const alts = slot.byFirst.get(ws.evId[e]!);
    if (alts === undefined) continue;
    for (const alt of alts) {
      let ok = true;
      for (let j = 1; j < alt.length && ok; j++) ok = has(ws, alt[j]!, w + j, positions);
      if (!ok) continue;
      const end = matchSlots(slots, k + 1, w + alt.length, positions, ws);
      if (end >= 0) return end;
    }
  }
  return -1;
}

// ---------------------------------------------------------------------------------------
// Folding a page

// Character classes, as foldText's ASCII path has them, and UNSAFE: a character that only the
// full reading (readCharacters, then foldText) can say what becomes of.
const SEP = 0;
const LOWER = 1;
const UPPER = 2;
const DIGIT = 3;
const LEET_DIGIT = 4;
const LEET_SYM = 5;
const APOS = 6;
const UNSAFE = 7;

const HAS_LETTER = 1;
const HAS_LEET_DIGIT = 4;
const HAS_LEET_SYM = 8;
const CLASS_BIT: readonly number[] = [0, HAS_LETTER, HAS_LETTER, 0, HAS_LEET_DIGIT, HAS_LEET_SYM, 0, 0];
const LEET_CODE = new Uint16Array(128);
for (const [from, to] of Object.entries({ '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's' })) LEET_CODE[from.charCodeAt(0)] = to.charCodeAt(0);

/**
 * Punctuation that pages are full of (a middle dot between links, curly quotes, dashes), taken
 * as a separator or an apostrophe without the full reading, so a page with "·" in it is not
 * read character by character. Each is kept only if the full reading agrees on it (PageFold's
 * constructor checks), so this list can only make pages faster, never read differently.
 */
const FAST_SEPARATORS = '\u00a0\u00a1\u00a2\u00a3\u00a5\u00a6\u00a7\u00a9\u00ab\u00ac\u00ae\u00b0\u00b1\u00b6\u00b7\u00bb\u00bf\u00d7\u00f7'
  + '\u2010\u2011\u2012\u2013\u2014\u2015\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030\u2032\u2033\u2039\u203a\u20ac'
  + '\u2190\u2191\u2192\u2193\u2194\u21d2\u2212\u25aa\u25b6\u25ba\u25cf\u2605\u2606\u2713\u2714\u2715\u2716\u2717';
const FAST_APOSTROPHES = '\u2018\u2019\u02bc';
/** Texts each fast character is tried in, against the full reading. */
const FAST_CHECKS = ['#', 'a#b', 'ab#cd', 'AB#CD', 'ab#', '#ab', '1#2', 'a1#b', 'k1ll#', '#k1ll', '$#a', 'a$#$5', "a#'b", "a'#b", '##', 'a##b', 'don#t', 'a # b', '# #', '7#a'];
/** Nearby words that also need the full reading are read with a word that does, up to this many words on. */
const SLOW_LOOKAHEAD = 3;

/**
 * foldText(readCharacters(text)) for page text, written into the workspace. Both are
 * word-local: every change they make stays between two spaces, so the text can be read a word
 * at a time. Words of ASCII (and the fast punctuation above) are folded here, the way
 * foldText's ASCII path does; any other word, with its neighbours of the same kind, goes
 * through readCharacters and foldText themselves.
 */
class PageFold {
  private readonly cls = new Uint8Array(0x10000).fill(UNSAFE);
  /** An emoji stand-in could match in ASCII (or spans a space): a text that is not ASCII is read whole. */
  private readonly wholeOnly: boolean;

  constructor(private readonly emoji: EmojiMap) {
    const cls = this.cls;
    for (let c = 0; c < 128; c++) cls[c] = SEP;
    for (let c = 97; c <= 122; c++) cls[c] = LOWER;
    for (let c = 65; c <= 90; c++) cls[c] = UPPER;
    for (let c = 48; c <= 57; c++) cls[c] = DIGIT;
    for (const ch of '013457') cls[ch.charCodeAt(0)] = LEET_DIGIT;
    cls[64] = LEET_SYM;
    cls[36] = LEET_SYM;
    cls[39] = APOS;
    const inSymbols = new Set(emoji.symbols.join(''));
    this.wholeOnly = emoji.symbols.some((s) => s.includes(' ') || /^[\x00-\x7f]*$/.test(s));
    // Then ASCII words of a text that is not all ASCII may change too: only ASCII text is fast.
    if (this.wholeOnly) return;
    const probe = new Workspace(0, 0, 0, 0);
    const tryAs = (chars: string, k: number): void => {
      for (const ch of chars) {
        const c = ch.charCodeAt(0);
        if (inSymbols.has(ch)) continue;
        cls[c] = k;
        const agrees = FAST_CHECKS.every((t) => {
          const text = t.replaceAll('#', ch);
          return probe.string(this.fold(text, probe)) === foldText(readCharacters(text, emoji));
        });
        if (!agrees) cls[c] = UNSAFE;
      }
    };
    tryAs(FAST_SEPARATORS, SEP);
    tryAs(FAST_APOSTROPHES, APOS);
  }

  /** Folds `text` into ws.chars; the folded length. */
  fold(text: string, ws: Workspace): number {
    const cls = this.cls;
    const n = text.length;
    ws.ensureChars(n + 1);
    let chars = ws.chars;
    let out = 0;
    let emitted = false;
    // Where the current word (between spaces) began, in the text and in the output.
    let wordStart = 0;
    let markOut = 0;
    let markEmitted = false;
    let i = 0;
    for (;;) {
      let c = 0;
      let k = SEP;
      while (i < n) {
        c = text.charCodeAt(i);
        k = cls[c]!;
        if (k !== SEP && k !== APOS) break;
        if (c === SPACE) {
          wordStart = i + 1;
          markOut = out;
          markEmitted = emitted;
        }
        i++;
      }
      if (i >= n) break;
      if (k !== UNSAFE) {
        // A token, as foldText's ASCII path reads one.
        const start = i;
        let bits = 0;
        for (; i < n; i++) {
          c = text.charCodeAt(i);
          k = cls[c]!;
          if (k === SEP || k === UNSAFE) break;
          if (k === APOS && !(isLetter(cls[text.charCodeAt(i - 1)]) && isLetter(cls[text.charCodeAt(i + 1)]))) break;
          bits |= CLASS_BIT[k]!;
        }
        if (i >= n || k !== UNSAFE) {
          const letters = (bits & HAS_LETTER) !== 0;
          if (!letters && (bits & HAS_LEET_SYM) !== 0) {
            // No letters: '@' and '$' separate.
            let inPiece = false;
            for (let j = start; j < i; j++) {
              const d = text.charCodeAt(j);
              if (cls[d] === LEET_SYM) {
                inPiece = false;
                continue;
              }
              if (!inPiece) {
                if (emitted) chars[out++] = SPACE;
                inPiece = emitted = true;
              }
              chars[out++] = d;
            }
          } else {
            const leet = letters && (bits & (HAS_LEET_DIGIT | HAS_LEET_SYM)) !== 0;
            if (emitted) chars[out++] = SPACE;
            emitted = true;
            for (let j = start; j < i; j++) {
              let d = text.charCodeAt(j);
              const dk = cls[d];
              if (dk === APOS) continue;
              if (dk === UPPER) d += 32;
              else if (leet && (dk === LEET_DIGIT || dk === LEET_SYM)) d = LEET_CODE[d]!;
              chars[out++] = d;
            }
          }
          continue;
        }
      }
      // A character only the full reading knows: read this word that way, from its start.
      if (this.wholeOnly) return this.foldWhole(text, ws);
      out = markOut;
      emitted = markEmitted;
      let end = this.wordEnd(text, i);
      for (let next = this.slowWordAfter(text, end); next >= 0; next = this.slowWordAfter(text, end)) end = next;
      const piece = foldText(readCharacters(text.slice(wordStart, end), this.emoji));
      if (piece !== '') {
        ws.ensureChars(out + piece.length + 1 + (n - end) + 1);
        chars = ws.chars;
        if (emitted) chars[out++] = SPACE;
        for (let q = 0; q < piece.length; q++) chars[out++] = piece.charCodeAt(q);
        emitted = true;
      }
      i = end;
    }
    return out;
  }

  private wordEnd(text: string, i: number): number {
    while (i < text.length && text.charCodeAt(i) !== SPACE) i++;
    return i;
  }

  /** The end of a word within SLOW_LOOKAHEAD words after `end` that needs the full reading, or -1. */
  private slowWordAfter(text: string, end: number): number {
    const n = text.length;
    let j = end;
    for (let look = 0; look < SLOW_LOOKAHEAD; look++) {
      while (j < n && text.charCodeAt(j) === SPACE) j++;
      if (j >= n) return -1;
      let slow = false;
      for (; j < n; j++) {
        const c = text.charCodeAt(j);
        if (c === SPACE) break;
        if (this.cls[c] === UNSAFE) slow = true;
      }
      if (slow) return j;
    }
    return -1;
  }

  private foldWhole(text: string, ws: Workspace): number {
    const folded = foldText(readCharacters(text, this.emoji));
    ws.ensureChars(folded.length);
    for (let q = 0; q < folded.length; q++) ws.chars[q] = folded.charCodeAt(q);
    return folded.length;
  }
}

function isLetter(k: number | undefined): boolean {
  return k === LOWER || k === UPPER;
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
  /** Distinct slots made so far (a class is one slot however many rules name it). */
  slotCount = 0;

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
      category, weight: e.weight, intent: e.intent === true, within: e.within ?? DEFAULT_WITHIN, parts,
      phrase: e.phrase, file: e.file, line: e.line,
    };
  }

  private slot(alts: readonly (readonly number[])[]): Slot {
    const byFirst = new Map<number, (readonly number[])[]>();
    for (const alt of alts) {
      const list = byFirst.get(alt[0]!);
      if (list) list.push(alt);
      else byFirst.set(alt[0]!, [alt]);
    }
    return { alts, byFirst, firstIds: [...byFirst.keys()], index: this.slotCount++ };
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
