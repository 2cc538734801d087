// "What is this URL?" in one call: normalise, match the lists, read the search term, and run
// the phrase lists over the search term and the URL's slug. A Classifier is an immutable
// snapshot; reloading lists builds a new one and swaps it in.
import { LRUCache } from 'lru-cache';
import { categoriesOf, type Match, type Matcher } from './matcher.js';
import { normaliseUrl, type NormalisedUrl } from './normalise-url.js';
import { decodeQueryValue, foldText } from './normalise-text.js';
import type { PhraseHit, PhraseMatcher, PhraseScore } from './phrases.js';
import type { SearchTerm, SearchTermExtractor } from './search-terms.js';

export interface Classification {
  readonly url: NormalisedUrl;
  /** Every list entry the URL hits, most specific first. */
  readonly matches: readonly Match[];
  /** The categories of those entries, most specific first, each once. */
  readonly categories: readonly string[];
  readonly searchTerm: SearchTerm | null;
  /** Safeguarding phrases found in the search term and the URL's slug. */
  readonly phrases: readonly PhraseHit[];
  /** Phrase categories whose weights reached the threshold: what the DSL is alerted to. */
  readonly flagged: readonly PhraseScore[];
}

export interface ClassifierParts {
  readonly matcher: Matcher;
  readonly search: SearchTermExtractor;
  readonly phrases: PhraseMatcher;
  /** Size of the cache in front of expensive classifications (hashed or expression lists); 0 for none. */
  readonly cacheSize: number;
}

export class Classifier {
  readonly matcher: Matcher;
  private readonly search: SearchTermExtractor;
  private readonly phrases: PhraseMatcher;
  // Only worth it where a lookup costs more than the cache (~1 µs a get here): hashed lists
  // cost several SHA-256s a URL. In front of the plain matcher a cache is a loss
  // (bench/RESULTS.md), so it is off unless such lists are loaded.
  private readonly cache: LRUCache<string, Classification> | null;

  constructor(parts: ClassifierParts) {
    this.matcher = parts.matcher;
    this.search = parts.search;
    this.phrases = parts.phrases;
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
    const words = pathWords(url.path);
    // With a search term, one pass over both texts (the separator is outside the phrase
    // alphabet, so no phrase spans it); without one, the path alone, walked without folding.
    const found = searchTerm === null
      ? this.phrases.matchWords(words)
      : this.phrases.match(`${searchTerm.text} ${SEPARATOR} ${foldText(words)}`);
    return {
      url, matches, categories: matches.length === 0 ? NONE : categoriesOf(matches), searchTerm,
      phrases: found.hits, flagged: found.flagged,
    };
  }
}

const NONE: readonly string[] = Object.freeze([]);
const SEPARATOR = '\u0001';

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
    phrases: c.phrases.map((p) => ({ category: p.category, phrase: p.phrase, weight: p.weight })),
    flagged: c.flagged,
  };
}
