// The phrase files' rules and a few more laid over them (the DSL's, src/alerts/dsl-phrases.ts)
// as one detection engine, without compiling the files' thousands of rules again.
//
// The files' rules are compiled once per configuration (the base: 0.3–1.2 s for the shipped
// lists; in a worker thread when a running Schoolgate starts or reloads, compileBaseInWorker);
// the few laid over them are compiled on their own (the overlay: a few milliseconds).
// A text is matched by both and the hits scored together, as one matcher of all the rules
// would score them. An overlay rule that is also a base rule (the DSL re-weighting a shipped
// phrase) replaces it: the base's hit for that rule is dropped, the overlay's counts.
//
// Both read a text the same way (same emoji, same folding); the repairs of searches and
// addresses ("z o r b l a x", "zorblaxxx") read towards the words either knows, so when the
// overlay finds something the text is read once more with both vocabularies together.
import { existsSync } from 'node:fs';
import { keptFolder } from '../config/kept.js';
import { emojiMap, listedPieces, readSearch, repairTokens, type EmojiMap, type Repair, type Vocabulary } from './evasions.js';
import { compileAndKeep, compileInChild, fingerprintOf, MATCHER_GRAPH, type CompiledFrom } from './phrase-build-child.js';
import { cacheFile, decodeCached, readCached, type Compiled } from './phrase-cache.js';
import { classesOf, parseRule } from './phrase-rules.js';
import {
  buildPhraseMatcher, entryKey, flagHits, NO_PHRASES, PhraseMatcher, type PhraseEntry, type PhraseHit, type PhraseResult, type PhraseScore, type PhraseSettings,
} from './phrases.js';

/** What the classifier asks of the phrase engine: one matcher, or a base with rules laid over it. */
export type PhraseEngine = Pick<PhraseMatcher, 'matchSearch' | 'matchWords' | 'matchPage' | 'match' | 'thresholdsOf'>;

/** A base matcher and what it was compiled from. */
interface Base {
  readonly matcher: PhraseMatcher;
  readonly settings: PhraseSettings;
  /** "category\nrule key" to the entry in force for it (the last). */
  readonly entryOfRule: Map<string, PhraseEntry>;
}

/**
 * Base matchers by the settings object they were built for (a running Schoolgate lays the DSL's
 * rules over the configuration it loaded, the same object), and the last one by content, so a
 * reload whose phrase files did not change compiles nothing.
 */
const bases = new WeakMap<PhraseSettings, Base>();
let lastBase: { fingerprint: string; base: Base } | null = null;

function baseFor(settings: PhraseSettings): Base {
  const known = bases.get(settings);
  if (known) return known;
  const fingerprint = fingerprintOf(settings);
  // The rule table is made with the matcher (some 10–40 ms), so the DSL's first change does not wait for it.
  const base = lastBase?.fingerprint === fingerprint ? lastBase.base : compiledHere(settings, fingerprint);
  return remember(settings, fingerprint, base);
}

/**
 * The rules compiled in this process (a command; a running Schoolgate compiles them in a worker
 * thread first): kept in the state folder's cache when this process may write there
 * (config/kept.ts), so that the next command, or the first start, reads them back rather than
 * compile them again (seconds).
 */
function compiledHere(settings: PhraseSettings, fingerprint: string): Base {
  const kept = keptFolder();
  const { matcher, ruleKeys } = compileAndKeep(settings, fingerprint, kept?.write === true ? kept.dir : null);
  return { matcher, settings, entryOfRule: entriesByRule(settings.entries, ruleKeys) };
}

function remember(settings: PhraseSettings, fingerprint: string, base: Base): Base {
  lastBase = { fingerprint, base };
  bases.set(settings, base);
  return base;
}

/**
 * Compiles the files' rules for `settings` in a worker thread (phrase-build-child.ts), unless
 * they are compiled already: a running Schoolgate's event loop is held up for the matcher's
 * arrival (some tens of milliseconds), not for its compile (a second). With `cacheDir`, rules
 * compiled by an earlier run are read from there, and rules compiled now are kept there
 * (phrase-cache.ts). basePhrases() and layeredPhrases() then use it. Rejects as
 * buildPhraseMatcher would throw. Says where the rules came from, and any trouble with the cache.
 */
export async function compileBaseInWorker(settings: PhraseSettings, cacheDir: string | null = null): Promise<{ from: CompiledFrom | 'held'; cacheProblem: string | null }> {
  if (bases.has(settings)) return { from: 'held', cacheProblem: null };
  // A start (no rules held yet: nothing is served that would wait) reads kept rules here: the
  // child would read the same file and send its 9 MB over the channel, to be decoded here all the
  // same, after a Node start of its own (a quarter to half a second of CPU per process).
  if (lastBase === null && cacheDir !== null && baseFromCache(settings, cacheDir)) return { from: 'cache', cacheProblem: null };
  const previous = lastBase;
  const { fingerprint, compiled, from, cacheProblem } = await compileInChild(settings, previous?.fingerprint ?? null, cacheDir);
  if (bases.has(settings)) return { from: 'held', cacheProblem }; // compiled on the event loop meanwhile
  const base = compiled === null ? previous!.base : { matcher: compiled.matcher, settings, entryOfRule: entriesByRule(settings.entries, compiled.ruleKeys) };
  remember(settings, fingerprint, base);
  return { from, cacheProblem };
}

/**
 * The files' rules for `settings` from the cache a running Schoolgate keeps in `cacheDir`, when it
 * has them (a command run beside the service, on the same files, then compiles nothing). Reads
 * only: a command may run as another user than the service, and must not leave files it cannot
 * replace. True when they were there.
 */
export function baseFromCache(settings: PhraseSettings, cacheDir: string): boolean {
  if (bases.has(settings)) return true;
  const fingerprint = fingerprintOf(settings);
  let compiled: Compiled | null = null;
  try {
    const bytes = readCached(cacheDir, fingerprint);
    compiled = bytes === null ? null : decodeCached(bytes, MATCHER_GRAPH);
  } catch {
    return false; // unreadable or stale: compiled as if there were none
  }
  if (compiled === null) return false;
  remember(settings, fingerprint, { matcher: compiled.matcher, settings, entryOfRule: entriesByRule(settings.entries, compiled.ruleKeys) });
  return true;
}

/**
 * Whether rules compiled from these settings are kept in `cacheDir` (or held here), without
 * reading them: a start with several proxy workers compiles them once, before forking the
 * workers, when they are not.
 */
export function baseKept(settings: PhraseSettings, cacheDir: string): boolean {
  return bases.has(settings) || existsSync(cacheFile(cacheDir, fingerprintOf(settings)));
}

/** The configuration's phrase files compiled, as a running Schoolgate holds them (once per configuration). */
export function basePhrases(settings: PhraseSettings): PhraseMatcher {
  return baseFor(settings).matcher;
}

/**
 * The configuration's phrases with `more` laid over them (later ones replace earlier ones and the
 * files' for the same category and rule, as in one matcher). Compiles only `more`, with the word
 * classes they name; throws as buildPhraseMatcher would if they do not compile.
 */
export function layeredPhrases(settings: PhraseSettings, more: readonly PhraseEntry[]): PhraseEngine {
  const base = baseFor(settings);
  if (more.length === 0) return base.matcher;
  return new LayeredPhrases(base, compileOverlay(settings, more), more);
}

/** `more` compiled alone, with the thresholds, emoji and only the word classes they name. */
export function compileOverlay(settings: PhraseSettings, more: readonly PhraseEntry[]): PhraseMatcher {
  const named = new Set<string>();
  for (const e of more) {
    const parsed = parseRule(e.phrase);
    if ('error' in parsed) continue; // the matcher says what is wrong with it
    for (const name of classesOf(parsed)) named.add(name);
  }
  const classes = settings.classes.filter((c) => named.has(c.name));
  return new PhraseMatcher(more, { default: settings.threshold, byCategory: settings.thresholds, danger: settings.danger }, { classes, emoji: settings.emoji });
}

export class LayeredPhrases implements PhraseEngine {
  readonly base: PhraseMatcher;
  /** Rules (category, file, line) of the base that the overlay replaces: their hits are dropped. */
  private readonly replaced: Set<string>;
  private readonly emoji: EmojiMap;
  private readonly vocab: Vocabulary;

  constructor(base: Base, readonly overlay: PhraseMatcher, more: readonly PhraseEntry[]) {
    this.base = base.matcher;
    this.replaced = new Set();
    for (const e of more) {
      const key = entryKey(e);
      const shipped = key === null ? undefined : base.entryOfRule.get(key);
      if (shipped) this.replaced.add(ruleId(shipped.category, shipped.file, shipped.line));
    }
    this.emoji = emojiMap(base.settings.emoji);
    this.vocab = unionVocabulary(this.base.vocabulary, overlay.vocabulary);
  }

  thresholdsOf(category: string): { caution: number; danger: number } {
    const t = this.base.thresholdsOf(category);
    return Number.isFinite(t.caution) ? t : this.overlay.thresholdsOf(category);
  }

  matchSearch(raw: string, folded?: string): PhraseResult {
    const o = this.overlay.matchSearch(raw, folded);
    if (o.hits.length === 0) return this.layer(this.base.matchSearch(raw, folded), NO_PHRASES, false);
    const { text, repairs } = readSearch(raw, folded, this.emoji, this.vocab);
    return this.layer(this.base.match(text), this.overlay.match(text), false, repairs);
  }

  /**
   * Each matcher skips an address that holds none of its own uncommon words as written; one
   * matcher of all the rules would read it if either would, and repair it towards both's words
   * ("/kmssss-…" as "kms" because of a DSL word in it). So it is read here when either would.
   */
  matchWords(raw: string): PhraseResult {
    const text = this.base.readAddress(raw) ?? this.overlay.readAddress(raw);
    return text === null ? NO_PHRASES : this.reread(text, false);
  }

  /** A page is read as written, the same by both: no second reading. */
  matchPage(text: string): PhraseResult {
    return this.layer(this.base.matchPage(text), this.overlay.matchPage(text), true);
  }

  match(foldedText: string): PhraseResult {
    return this.layer(this.base.match(foldedText), this.overlay.match(foldedText), false);
  }

  /** Folded text read with both vocabularies, then matched by both as read. */
  private reread(text: string, fuzzy: boolean): PhraseResult {
    const { text: read, repairs } = repairTokens(text, this.vocab, fuzzy);
    return this.layer(this.base.match(read), this.overlay.match(read), false, repairs);
  }

  /** The base's hits less those the overlay replaces, then the overlay's, scored together. */
  private layer(b: PhraseResult, o: PhraseResult, page: boolean, repairs?: readonly Repair[]): PhraseResult {
    const kept = this.replaced.size === 0 || b.hits.length === 0 ? b.hits : b.hits.filter((h) => !this.replaced.has(ruleId(h.category, h.file, h.line)));
    if (o.hits.length === 0 && kept === b.hits && repairs === undefined) return b;
    const hits = o.hits.length === 0 ? kept : kept.length === 0 ? o.hits : [...kept, ...o.hits];
    if (hits.length === 0) return NO_PHRASES;
    return { hits, flagged: this.flagged(hits, page), repairs: repairs ?? (b.hits.length > 0 ? b.repairs : o.repairs), read: b.hits.length > 0 ? b.read : o.read };
  }

  private flagged(hits: readonly PhraseHit[], page: boolean): PhraseScore[] {
    return flagHits(hits, page, (c) => this.thresholdsOf(c));
  }
}

function ruleId(category: string, file: string, line: number): string {
  return `${category}\n${file}\n${line}`;
}

/** The entry in force per category and rule: the last one, as PhraseMatcher keeps it. `keys`: entryKey() of each, when worked out already. */
function entriesByRule(entries: readonly PhraseEntry[], keys?: readonly (string | null)[]): Map<string, PhraseEntry> {
  const out = new Map<string, PhraseEntry>();
  entries.forEach((e, i) => {
    const key = (keys ? keys[i] : entryKey(e)) ?? null;
    if (key !== null) out.set(key, e);
  });
  return out;
}

/** Words either knows; a typo read towards a word of only one of them, or the same word of both. */
function unionVocabulary(a: Vocabulary, b: Vocabulary): Vocabulary {
  return {
    known: (t) => a.known(t) || b.known(t),
    nearest: (t) => {
      const x = a.nearest(t);
      const y = b.nearest(t);
      return x !== null && y !== null && x !== y ? null : x ?? y;
    },
    listedPieces: (t, min) => {
      const x = listedPieces(a, t, min);
      const y = listedPieces(b, t, min);
      return { forms: [...x.forms, ...y.forms], prefixes: [...x.prefixes, ...y.prefixes] };
    },
  };
}
