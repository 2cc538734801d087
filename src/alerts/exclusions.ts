// Exclusions: what the DSL has decided is not a safeguarding concern for a group ("isis" in KS2's
// RE topic, a charity's support site). A term exclusion removes the phrase triggers whose phrase
// holds the term, or that were found inside the term (a song title); a site
// exclusion covers a host and its subdomains; a url exclusion covers an address prefix at path
// boundaries (the blocklists' rule). Exclusions never touch illegal-list attempts: detect.ts
// applies them to other triggers only.
import type { Database, Statement } from 'better-sqlite3';
import { foldText } from '../classify/normalise-text.js';
import type { NormalisedUrl } from '../classify/normalise-url.js';
import { normaliseListHost, parseUrlEntry } from '../classify/parse-list.js';
import { SiteListBuilder, type SiteList } from '../policy/site-list.js';

export const EXCLUSION_KINDS = ['term', 'site', 'url'] as const;
export type ExclusionKind = (typeof EXCLUSION_KINDS)[number];

export interface Exclusion {
  readonly kind: ExclusionKind;
  /** term: words ("isis"); site: a host ("example.org", subdomains included); url: "example.org/topic". */
  readonly value: string;
  /** Only for this group; every group when absent. */
  readonly group?: string;
  /** Why: shown to whoever reviews exclusions. */
  readonly reason?: string;
}

export interface ExclusionProblem {
  readonly message: string;
  readonly fix: string;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Why an exclusion cannot be used, or null when it can. */
export function exclusionProblem(e: Pick<Exclusion, 'kind' | 'value'>): ExclusionProblem | null {
  if (e.kind === 'term') {
    return foldText(e.value) === '' ? { message: `"${e.value}" has no letters or digits to match`, fix: 'write the term in words' } : null;
  }
  if (e.kind === 'site') {
    const bare = e.value.replace(SCHEME, '');
    if (/[/?]/.test(bare.replace(/\/$/, ''))) return { message: `"${e.value}" is an address, not a site`, fix: 'use "url:" for an address prefix, or give the host alone' };
    const h = normaliseListHost(bare.replace(/\/$/, ''));
    return h.reason === undefined ? null : { message: `"${e.value}" is not a host name (${h.reason})`, fix: 'write a host such as example.org' };
  }
  const entry = parseUrlEntry(urlEntryText(e.value));
  return typeof entry === 'string' ? { message: `"${e.value}" is not an address (${entry})`, fix: 'write an address prefix such as example.org/topic' } : null;
}

/** A url exclusion without a path is that host's whole site, not its subdomains. */
function urlEntryText(value: string): string {
  return /[/?]/.test(value.replace(SCHEME, '')) ? value : `${value}/`;
}

/** The statement, prepared once per connection: read at every notice that alerts.db changed. */
const readers = new WeakMap<Database, Statement>();

/** The DSL's exclusions in force, as alerts.db holds them (added by marking a false positive). */
export function readStoredExclusions(db: Database): Exclusion[] {
  let read = readers.get(db);
  if (!read) readers.set(db, read = db.prepare('SELECT kind, value, group_id AS "group", reason FROM exclusions WHERE removed_at IS NULL ORDER BY id'));
  const rows = read.all() as { kind: ExclusionKind; value: string; group: string | null; reason: string | null }[];
  return rows.map((x) => ({ kind: x.kind, value: x.value, ...(x.group ? { group: x.group } : {}), ...(x.reason ? { reason: x.reason } : {}) }));
}

/**
 * The safeguarding file's exclusions and the DSL's, compiled. The file's were checked when it was
 * loaded; a stored one that cannot be used is left out (and reported), never the rest.
 */
export function compileExclusions(fromFile: readonly Exclusion[], stored: readonly Exclusion[], leftOut?: (e: Exclusion, problem: ExclusionProblem) => void): ExclusionSet {
  if (fromFile.length === 0 && stored.length === 0) return ExclusionSet.EMPTY;
  const usable = stored.filter((e) => {
    const problem = exclusionProblem(e);
    if (problem) leftOut?.(e, problem);
    return problem === null;
  });
  return new ExclusionSet([...fromFile, ...usable]);
}

interface TermRule {
  readonly words: string;
  readonly group: string | null;
}

/** Exclusions compiled once (on load or when the DSL changes them); detection only reads. */
export class ExclusionSet {
  static readonly EMPTY = new ExclusionSet([]);
  readonly size: number;
  private readonly terms: readonly TermRule[];
  private readonly sites: SiteList<Exclusion>;

  /** Throws RangeError for an exclusion exclusionProblem() refuses. */
  constructor(exclusions: readonly Exclusion[]) {
    this.size = exclusions.length;
    const terms: TermRule[] = [];
    const sites = new SiteListBuilder<Exclusion>();
    for (const e of exclusions) {
      const problem = exclusionProblem(e);
      if (problem) throw new RangeError(`exclusion ${e.kind} ${problem.message}`);
      if (e.kind === 'term') terms.push({ words: foldText(e.value), group: e.group ?? null });
      else sites.add(e.kind === 'url' ? urlEntryText(e.value) : e.value.replace(SCHEME, '').replace(/\/$/, ''), e);
    }
    this.terms = terms;
    this.sites = sites.build();
  }

  /** Whether a site or url exclusion for the group covers the address. */
  coversUrl(url: NormalisedUrl, group: string): boolean {
    if (this.sites.size === 0) return false;
    return this.sites.findAll(url).some((hit) => hit.value.group === undefined || hit.value.group === group);
  }

  /**
   * Whether a term exclusion for the group covers what a rule found: one of the parts it
   * matched holds the term ("join isis" holds "isis"), or every part lies inside one
   * occurrence of the term in the text as read (a song title: "killing myself" inside
   * "killing myself to live").
   */
  coversFound(parts: readonly string[], spans: readonly { start: number; end: number }[], read: string, group: string): boolean {
    let words: string[] | null = null;
    const lo = Math.min(...spans.map((s) => s.start));
    const hi = Math.max(...spans.map((s) => s.end));
    for (const t of this.terms) {
      if (t.group !== null && t.group !== group) continue;
      if (parts.some((p) => containsWords(p, t.words))) return true;
      if (!containsWords(read, t.words) || spans.length === 0) continue;
      words ??= read.split(' ');
      const term = t.words.split(' ');
      for (let i = Math.max(0, hi - term.length); i <= lo; i++) {
        if (term.every((w, k) => words![i + k] === w)) return true;
      }
    }
    return false;
  }
}

/** Whether folded `text` holds the folded words `words` as whole words. */
export function containsWords(text: string, words: string): boolean {
  return ` ${text} `.includes(` ${words} `);
}
