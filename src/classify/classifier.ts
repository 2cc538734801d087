// "What is this URL?" in one call: normalise, match the lists, read the search term, and run
// the phrase lists over the search term and the URL's slug. A Classifier is an immutable
// snapshot; reloading lists builds a new one and swaps it in.
import { LRUCache } from 'lru-cache';
import { categoriesOf, type Match, type Matcher } from './matcher.js';
import { normaliseUrl, type NormalisedUrl } from './normalise-url.js';
import { decodeQueryValue } from './normalise-text.js';
import { postReader, readPostsWith, type PostConcern } from './page-posts.js';
import { hearTurns } from './page-turns.js';
import { findTurns, NO_TURNS } from './turns.js';
import type { PhraseEngine } from './phrase-overlay.js';
import type { PhraseHit, PhraseResult, PhraseScore } from './phrases.js';
import type { Repair } from './evasions.js';
import type { LearnedScore, SearchModel } from './search-model.js';
import type { SearchTerm, SearchTermExtractor } from './search-terms.js';

export interface Classification {
  readonly url: NormalisedUrl;
  /** Every list entry the URL hits, most specific first. */
  readonly matches: readonly Match[];
  /** The categories of those entries, most specific first, each once. */
  readonly categories: readonly string[];
  readonly searchTerm: SearchTerm | null;
  /** Safeguarding rules matched in the search term, the URL's words, and the page when one was read. */
  readonly phrases: readonly SourcedHit[];
  /** Phrase categories whose scores reached their threshold, per source: what the DSL is alerted to. */
  readonly flagged: readonly SourcedScore[];
  /** How evasions in the search term or the address were read ("k i l l" as "kill"). */
  readonly repairs: readonly Repair[];
  /**
   * What the learned search model reads in the search term: the phrase categories whose
   * probability reaches its threshold, or whose danger class's reaches its danger threshold;
   * absent when none. Evidence is worked out only when read.
   */
  readonly learned?: readonly LearnedScore[];
  /**
   * What the learned model reads in the posts of the page (page-posts.ts): concerns the lists
   * did not raise that one post reaches the page threshold for; absent when none, or no page.
   */
  readonly posts?: readonly PostConcern[];
}

/** Where a phrase was found: the search term, the words of the address, or the page's text. */
export type PhraseSource = 'search' | 'url' | 'page';

export interface SourcedHit extends PhraseHit {
  readonly source: PhraseSource;
  /** The text it was found in, as read (folded and repaired): what its spans count words of. */
  readonly read: string;
}

export interface SourcedScore extends PhraseScore {
  readonly source: PhraseSource;
  /** The category's thresholds, so a caller that drops a hit (an exclusion) can score again. */
  readonly caution: number;
  readonly danger: number;
}

export interface SearchModelUse {
  readonly model: SearchModel;
  readonly threshold: number;
  readonly danger?: number | null;
  /** The probability one post of a page must reach to raise a concern there; absent or null: pages are not read by the model. */
  readonly page?: number | null;
  /** The danger-class probability at which a concern the model raises is danger on its own (null: never). */
  readonly alone?: number | null;
  /** The post model, which reads a page's posts beside this one at its own threshold; absent or null: none. */
  readonly posts?: { readonly model: SearchModel; readonly page: number } | null;
}

export interface ClassifierParts {
  readonly matcher: Matcher;
  readonly search: SearchTermExtractor;
  readonly phrases: PhraseEngine;
  /** Size of the cache in front of expensive classifications (hashed or expression lists); 0 for none. */
  readonly cacheSize: number;
  /** The learned search model, the probability it raises a concern at, and its danger class's that takes a concern to danger (null: never); absent or null for none. */
  readonly searchModel?: SearchModelUse | null;
}

export class Classifier {
  readonly matcher: Matcher;
  private readonly search: SearchTermExtractor;
  private readonly phrases: PhraseEngine;
  private readonly model: SearchModelUse | null;
  // Only worth it where a lookup costs more than the cache (~1 µs a get here): hashed lists
  // cost several SHA-256s a URL. In front of the plain matcher a cache is a loss
  // (bench/RESULTS.md), so it is off unless such lists are loaded.
  private readonly cache: LRUCache<string, Classification> | null;

  constructor(parts: ClassifierParts) {
    this.matcher = parts.matcher;
    this.search = parts.search;
    this.phrases = parts.phrases;
    this.model = parts.searchModel ?? null;
    this.cache = parts.cacheSize > 0 && parts.matcher.isExpensive ? new LRUCache({ max: parts.cacheSize }) : null;
  }

  /**
   * Classifies a URL (absolute, or host[:port][/path]); throws UrlError if it cannot be parsed.
   * A caller that has already normalised it passes `url` too, so it is not normalised twice.
   */
  classify(input: string, url?: NormalisedUrl): Classification {
    if (this.cache === null) return this.classifyUrl(url ?? normaliseUrl(input));
    let result = this.cache.get(input);
    if (result === undefined) this.cache.set(input, (result = this.classifyUrl(url ?? normaliseUrl(input))));
    return result;
  }

  /** The search engine whose terms this host carries, or null (its HTTPS is worth decrypting). */
  searchEngineOf(host: string): string | null {
    return this.search.engineOf(host);
  }

  classifyUrl(url: NormalisedUrl): Classification {
    const matches = this.matcher.match(url);
    const searchTerm = this.search.extract(url);
    const inUrl = this.phrases.matchWords(pathWords(url.path));
    const inSearch = searchTerm === null ? null : this.phrases.matchSearch(searchTerm.raw, searchTerm.text);
    const categories = matches.length === 0 ? NONE : categoriesOf(matches);
    // The model reads the search as the lists read it (look-alikes, invisible characters and typos
    // put back), not merely folded: evasions hide a word from both alike.
    const modelText = inSearch !== null && inSearch.read !== '' ? inSearch.read : searchTerm?.text;
    const learned = modelText === undefined || this.model === null ? NONE_LEARNED : this.model.model.concerns(modelText, this.model.threshold, this.model.danger ?? null, this.model.alone ?? null);
    const more = learned.length === 0 ? undefined : { learned };
    // The common case, nothing found, builds one object and no arrays.
    const found = inSearch !== null && inSearch.hits.length > 0;
    if (!found && inUrl.hits.length === 0) return { url, matches, categories, searchTerm, phrases: NONE_HITS, flagged: NONE_SCORES, repairs: NONE_REPAIRS, ...more };
    return { url, matches, categories, searchTerm, ...this.sourced(found ? [['search', inSearch], ['url', inUrl]] : [['url', inUrl]]), ...more };
  }

  /**
   * A URL with the text of the page it returned (HTML already turned into text): the
   * classification of the address, and what the page's text raises, from the same engine.
   */
  classifyPage(input: string, pageText: string): Classification {
    const c = this.classify(input);
    const matched = this.phrases.matchPage(pageText);
    const m = this.model;
    const readers = m === null ? [] : postReader(m);
    // A page the lists found nothing in is still read by a reader that sweeps its posts.
    const sweeps = readers.some((r) => r.sweep != null);
    if (matched.hits.length === 0 && !sweeps) return c;
    // Who says what, on a conversation page (turns.ts): a helper's safety text is not evidence,
    // and a helper's turn is not read as the pupil's post.
    const turns = findTurns(pageText);
    const inPage = turns === NO_TURNS ? matched : hearTurns(matched, pageText, turns, (category) => this.phrases.thresholdsOf(category));
    if (inPage.hits.length === 0 && !sweeps) return c;
    const page = this.sourced([['page', inPage]]);
    const flagged = [...c.flagged, ...page.flagged];
    const posts = readers.length === 0 ? NONE_POSTS : readPostsWith(readers, pageText, inPage.hits, inPage.read, new Set(flagged.map((f) => f.category)), new Set(flagged.filter((f) => f.severity === 'danger').map((f) => f.category)), turns);
    return { ...c, phrases: [...c.phrases, ...page.phrases], flagged, ...(posts.length > 0 ? { posts } : {}) };
  }

  private sourced(results: readonly (readonly [PhraseSource, PhraseResult])[]): Pick<Classification, 'phrases' | 'flagged' | 'repairs'> {
    const phrases: SourcedHit[] = [];
    const flagged: SourcedScore[] = [];
    const repairs: Repair[] = [];
    for (const [source, r] of results) {
      for (const h of r.hits) phrases.push({ ...h, source, read: r.read });
      for (const f of r.flagged) flagged.push({ ...f, source, ...this.phrases.thresholdsOf(f.category) });
      repairs.push(...r.repairs);
    }
    return { phrases, flagged, repairs };
  }
}

const NONE_HITS: readonly SourcedHit[] = Object.freeze([]);
const NONE_SCORES: readonly SourcedScore[] = Object.freeze([]);
const NONE_REPAIRS: readonly Repair[] = Object.freeze([]);
const NONE_LEARNED: readonly LearnedScore[] = Object.freeze([]);
const NONE_POSTS: readonly PostConcern[] = Object.freeze([]);

const NONE: readonly string[] = Object.freeze([]);

/** A URL path as text for the phrase lists: percent-escapes decoded ("/caf%C3%A9" -> "/café"). */
export function pathWords(path: string): string {
  return path.includes('%') ? decodeQueryValue(path) : path;
}

/** A normalised URL written out whole ("https://host:port/path?query"). */
export function urlText(u: NormalisedUrl): string {
  return `${u.scheme}://${u.host}${u.port ? `:${u.port}` : ''}${u.path}${u.query ? `?${u.query}` : ''}`;
}

/** The plain-data form of a classification, for `--json` and logs. */
export function classificationJson(c: Classification): Record<string, unknown> {
  const u = c.url;
  return {
    url: urlText(u),
    host: u.host,
    categories: c.categories,
    matches: c.matches.map((m) => ({ category: m.category, list: m.list, role: m.role, kind: m.kind, entry: m.entry, line: m.line })),
    searchTerm: c.searchTerm?.text ?? null,
    search: c.searchTerm,
    phrases: c.phrases.map((p) => ({ category: p.category, phrase: p.phrase, weight: p.weight, matched: p.matched, source: p.source, intent: p.intent, file: p.file, line: p.line })),
    flagged: c.flagged.map((f) => ({ category: f.category, score: f.score, severity: f.severity, source: f.source })),
    ...(c.repairs.length > 0 ? { repairs: c.repairs } : {}),
    ...(c.learned ? { learned: c.learned } : {}),
    ...(c.posts ? { posts: c.posts } : {}),
  };
}
