// The matcher answers "which list entries does this URL hit?", with every hit explained
// (list, entry, line) and ordered most specific first. It is an immutable snapshot built
// from MatcherData; a reload builds a new one and swaps it in.
import { hash as oneShotHash, createHash } from 'node:crypto';
import { DomainTable, POSTING_BYTES, URL_BUCKET } from './domain-table.js';
import type { RE2JS } from 're2js';
import { compileExpression, type MatcherData, type UrlRecord } from './build.js';
import type { ListRole, ListSpec, ListStats } from './lists.js';
import { listPrefixLength, urlListHost, type NormalisedUrl } from './normalise-url.js';
import { keyMatches, requestKey } from './parse-list.js';

export type MatchKind = 'domain' | 'url' | 'hash' | 'expression';

export interface Match {
  readonly list: string;
  readonly category: string;
  readonly role: ListRole;
  readonly kind: MatchKind;
  /** The entry that matched, as normalised; withheld for sensitive (IWF-style) lists. */
  readonly entry: string;
  readonly line: number;
  /** Larger is more specific: a domain entry counts its labels, a URL entry its length above 1000. */
  readonly specificity: number;
}

export const WITHHELD = '(withheld: entry of a sensitive list)';

interface HashRef {
  readonly list: number;
  readonly line: number;
}

const ROLE_RANK: Readonly<Record<ListRole, number>> = { block: 2, allow: 1, category: 0 };
/** Path and query prefixes hashed at most (a path deeper than this is still hashed whole). */
const MAX_HASH_PREFIXES = 32;

const sha256 = typeof oneShotHash === 'function'
  ? (s: string): string => oneShotHash('sha256', s, 'hex')
  : (s: string): string => createHash('sha256').update(s).digest('hex');

export class Matcher {
  readonly lists: readonly ListSpec[];
  readonly stats: readonly ListStats[];
  readonly buildMs: number;
  private readonly domains: DomainTable;
  private readonly urlBuckets: readonly UrlBucket[];
  private readonly hashes = new Map<string, HashRef>();
  private readonly expressions: { list: number; line: number; source: string; re: RE2JS }[] = [];
  // Scratch for domain hits: filled by the lookup callback, read straight after.
  private hitIdx = new Int32Array(128);
  private hitStart = new Int32Array(128);
  private hitCount = 0;
  private readonly onDomainHit = (idx: number, start: number): void => {
    if (this.hitCount < 128) {
      this.hitIdx[this.hitCount] = idx;
      this.hitStart[this.hitCount++] = start;
    }
  };

  constructor(data: MatcherData) {
    this.lists = data.lists;
    this.stats = data.stats;
    this.buildMs = data.buildMs;
    this.domains = new DomainTable(data.domains);
    this.urlBuckets = data.urlBuckets.map(indexBucket);
    for (const h of data.hashes) if (!this.hashes.has(h.hash)) this.hashes.set(h.hash, { list: h.list, line: h.line });
    for (const e of data.expressions) this.expressions.push({ list: e.list, line: e.line, source: e.source, re: compileExpression(e.source) });
  }

  /** Every entry the URL hits, most specific first (ties: the school's block, then allow, then category lists). */
  match(url: NormalisedUrl): Match[] {
    const out: Match[] = [];
    this.matchDomainsAndUrls(url, out);
    if (this.hashes.size > 0) this.matchHashes(url, out);
    if (this.expressions.length > 0) this.matchExpressions(url, out);
    if (out.length > 1) out.sort((a, b) => b.specificity - a.specificity || ROLE_RANK[b.role] - ROLE_RANK[a.role]);
    return out;
  }

  /** Only whether anything matches: the cheapest question, for benchmarks and quick checks. */
  hasDomain(host: string): boolean {
    return this.domains.has(host);
  }

  /** True when hashed or expression lists are loaded: those cost microseconds a URL, worth caching. */
  get isExpensive(): boolean {
    return this.hashes.size > 0 || this.expressions.length > 0;
  }

  get domainCount(): number {
    return this.domains.size;
  }

  get urlCount(): number {
    let n = 0;
    for (const b of this.urlBuckets) n += b.size;
    return n;
  }

  /** Bytes held in typed arrays (the domain table); URL, hash and expression maps are small and not counted. */
  byteLength(): number {
    return this.domains.byteLength();
  }

  /**
   * One walk over the host's suffixes finds both its domain entries and, through bucket
   * postings on the host itself (or the host without www.), its URL entries.
   */
  private matchDomainsAndUrls(url: NormalisedUrl, out: Match[]): void {
    this.hitCount = 0;
    const host = url.host;
    this.domains.lookup(host, url.hostType !== 'name', this.onDomainHit);
    if (this.hitCount === 0) return;
    const table = this.domains;
    const urlHostStart = listPrefixLength(host);
    for (let h = 0; h < this.hitCount; h++) {
      const rec = this.hitIdx[h]!;
      const start = this.hitStart[h]!;
      let entry: string | undefined;
      const first = table.firstPosting(rec);
      const end = first + table.postingCount(rec) * POSTING_BYTES;
      for (let p = first; p < end; p += POSTING_BYTES) {
        const list = table.listAt(p);
        if (list === URL_BUCKET) {
          if (start === 0 || start === urlHostStart) this.matchUrlBucket(url, this.urlBuckets[table.lineAt(p)]!, out);
          continue;
        }
        entry ??= start === 0 ? host : host.slice(start);
        out.push(this.makeMatch(list, 'domain', entry, table.lineAt(p), labelCount(entry)));
      }
    }
  }

  private matchUrlBucket(url: NormalisedUrl, bucket: UrlBucket, out: Match[]): void {
    const key = requestKey(url);
    const candidates = bucket.bySegment === null ? bucket.entries : bucket.bySegment.get(firstSegment(key));
    if (candidates) this.matchUrlEntries(url, key, candidates, out);
    if (bucket.bySegment !== null) this.matchUrlEntries(url, key, bucket.entries, out);
  }

  private matchUrlEntries(url: NormalisedUrl, key: string, entries: readonly UrlRecord[], out: Match[]): void {
    for (const e of entries) {
      if (keyMatches(key, e.key)) out.push(this.makeMatch(e.list, 'url', urlListHost(url.host) + e.key, e.line, 1000 + e.key.length));
    }
  }

  private matchHashes(url: NormalisedUrl, out: Match[]): void {
    // A hashed list hides its entries, so every form an entry for this page could take is
    // hashed: the host with and without www.; the host alone; each path prefix, with and
    // without its trailing slash; the whole path; and the query, whole and cut at each '&'.
    // That is 10-30 SHA-256s a URL (bench/RESULTS.md): the price of not being evaded.
    const bare = urlListHost(url.host);
    const hosts = bare === url.host ? [url.host, `www.${url.host}`] : [url.host, bare];
    const seen = new Set<string>();
    for (const host of hosts) {
      const base = host.length;
      const add = (candidate: string): void => {
        if (seen.has(candidate)) return;
        seen.add(candidate);
        const ref = this.hashes.get(sha256(candidate));
        if (ref) out.push(this.makeMatch(ref.list, 'hash', candidate, ref.line, 1000 + candidate.length - base));
      };
      add(host);
      const path = url.path;
      let slash = 0;
      for (let n = 0; n < MAX_HASH_PREFIXES && (slash = path.indexOf('/', slash + 1)) > 0; n++) {
        add(host + path.slice(0, slash));
        add(host + path.slice(0, slash + 1));
      }
      add(host + path);
      if (url.query === '') continue;
      let amp = -1;
      for (let n = 0; n < MAX_HASH_PREFIXES && (amp = url.query.indexOf('&', amp + 1)) > 0; n++) add(`${host}${path}?${url.query.slice(0, amp)}`);
      add(`${host}${path}?${url.query}`);
    }
  }

  private matchExpressions(url: NormalisedUrl, out: Match[]): void {
    const text = `${url.host}${url.path}${url.query === '' ? '' : '?' + url.query}`;
    for (const e of this.expressions) if (e.re.test(text)) out.push(this.makeMatch(e.list, 'expression', e.source, e.line, 0));
  }

  private makeMatch(listId: number, kind: MatchKind, entry: string, line: number, specificity: number): Match {
    const spec = this.lists[listId]!;
    return {
      list: spec.name, category: spec.category, role: spec.role, kind,
      entry: spec.sensitive ? WITHHELD : entry, line, specificity,
    };
  }
}

/**
 * A host's URL entries. A host with many (docs.google.com has almost a thousand in UT1) has
 * them indexed by first path segment, since an entry can only match a request whose first
 * segment is the same; `entries` then holds only the whole-host entries.
 */
interface UrlBucket {
  readonly size: number;
  readonly entries: readonly UrlRecord[];
  readonly bySegment: ReadonlyMap<string, readonly UrlRecord[]> | null;
}

const INDEX_BUCKETS_OVER = 8;

function indexBucket(records: readonly UrlRecord[]): UrlBucket {
  if (records.length <= INDEX_BUCKETS_OVER) return { size: records.length, entries: records, bySegment: null };
  const whole: UrlRecord[] = [];
  const bySegment = new Map<string, UrlRecord[]>();
  for (const r of records) {
    if (r.key === '') { whole.push(r); continue; }
    const seg = firstSegment(r.key);
    const list = bySegment.get(seg);
    if (list) list.push(r); else bySegment.set(seg, [r]);
  }
  return { size: records.length, entries: whole, bySegment };
}

/** "/forms/d/x?y" -> "/forms"; "/?cat=1" -> "/": the part an entry and any request it matches share (the boundary characters end it). */
function firstSegment(key: string): string {
  let end = key.length;
  for (let j = 1; j < key.length; j++) {
    const c = key.charCodeAt(j);
    if (c === 47 || c === 63 || c === 59) { end = j; break; }
  }
  return key.slice(0, end);
}

function labelCount(host: string): number {
  let n = 1;
  for (let j = 0; j < host.length; j++) if (host.charCodeAt(j) === 46) n++;
  return n;
}

/** The categories of a match list, most specific first, each once. */
export function categoriesOf(matches: readonly Match[]): string[] {
  const out: string[] = [];
  for (const m of matches) if (!out.includes(m.category)) out.push(m.category);
  return out;
}

/** The school's word on a URL: the most specific match, where school lists win ties. */
export function winningMatch(matches: readonly Match[]): Match | undefined {
  return matches[0];
}
