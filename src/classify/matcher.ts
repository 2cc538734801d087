// The matcher answers "which list entries does this URL hit?", with every hit explained
// (list, entry, line) and ordered most specific first. It is an immutable snapshot built
// from MatcherData; a reload builds a new one and swaps it in.
import { hash as oneShotHash, createHash } from 'node:crypto';
import { DomainTable, POSTING_BYTES, URL_BUCKET } from './domain-table.js';
import type { RE2JS } from 're2js';
import { compileExpression, type MatcherData, type UrlRecord } from './build.js';
import type { ListRole, ListSpec, ListStats } from './lists.js';
import { listPrefixLength, urlListHost, type NormalisedUrl } from './normalise-url.js';
import { entryCovers, requestKeys, type Reach, type RequestKeys } from './parse-list.js';
import { pathIsPlain, readPath } from './path-readings.js';

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
  /** By list: an allow list's URL entry must cover every reading of a path, any other list's any reading (parse-list.ts, Reach). */
  private readonly reach: readonly Reach[];
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
    this.reach = data.lists.map((l) => (l.role === 'allow' ? 'every' : 'any'));
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
    const keys = requestKeys(url);
    if (bucket.bySegment !== null) {
      const first = firstSegment(keys.written);
      const candidates = bucket.bySegment.get(first);
      if (keys.read === keys.written && keys.bare === keys.written) {
        if (candidates) this.matchUrlEntries(url, keys, candidates, out);
      } else {
        // A reading can start with another segment ("/a%2Fb" is read as "/a/b"); an entry
        // indexed under two segments is still matched once.
        const seen = new Set<UrlRecord>();
        for (const segment of new Set([first, firstSegment(keys.read), firstSegment(keys.bare)])) {
          const list = segment === first ? candidates : bucket.bySegment.get(segment);
          if (list) this.matchUrlEntries(url, keys, list.filter((r) => !seen.has(r) && seen.add(r)), out);
        }
      }
    }
    this.matchUrlEntries(url, keys, bucket.entries, out);
  }

  private matchUrlEntries(url: NormalisedUrl, keys: RequestKeys, entries: readonly UrlRecord[], out: Match[]): void {
    for (const e of entries) {
      if (entryCovers(keys, e.key, e.readKey ?? e.key, this.reach[e.list]!)) {
        out.push(this.makeMatch(e.list, 'url', urlListHost(url.host) + e.key, e.line, 1000 + e.key.length));
      }
    }
  }

  private matchHashes(url: NormalisedUrl, out: Match[]): void {
    // A hashed list hides its entries, so every form an entry for this page could take is
    // hashed: the host with and without www.; the host alone; each path prefix, with and
    // without its trailing slash; the whole path; and the query, whole and cut at each '&'.
    // That is 10-30 SHA-256s a URL (bench/RESULTS.md): the price of not being evaded. A path
    // that decoding servers read differently (path-readings.ts) has its readings hashed too.
    const bare = urlListHost(url.host);
    const hosts = bare === url.host ? [url.host, `www.${url.host}`] : [url.host, bare];
    const paths = pathAndReadings(url.path);
    const seen = new Set<string>();
    for (const host of hosts) {
      const base = host.length;
      for (let i = 0; i < paths.length; i++) {
        const path = paths[i]!;
        const add = (candidate: string): void => {
          if (seen.has(candidate)) return;
          seen.add(candidate);
          const ref = this.hashes.get(sha256(candidate));
          if (ref && (i === 0 || this.reach[ref.list] === 'any')) out.push(this.makeMatch(ref.list, 'hash', candidate, ref.line, 1000 + candidate.length - base));
        };
        add(host);
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
  }

  private matchExpressions(url: NormalisedUrl, out: Match[]): void {
    const tail = url.query === '' ? '' : '?' + url.query;
    const texts = pathAndReadings(url.path).map((path) => `${url.host}${path}${tail}`);
    for (const e of this.expressions) {
      for (let i = 0; i < texts.length; i++) {
        if (i > 0 && this.reach[e.list] !== 'any') break;
        if (e.re.test(texts[i]!)) {
          out.push(this.makeMatch(e.list, 'expression', e.source, e.line, 0));
          break;
        }
      }
    }
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
  const add = (seg: string, r: UrlRecord): void => {
    const list = bySegment.get(seg);
    if (list) list.push(r); else bySegment.set(seg, [r]);
  };
  for (const r of records) {
    if (r.key === '') { whole.push(r); continue; }
    const seg = firstSegment(r.key);
    add(seg, r);
    // Also under the first segment of its reading, where a request read the same way looks.
    if (r.readKey !== undefined && firstSegment(r.readKey) !== seg) add(firstSegment(r.readKey), r);
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

/** The path as written, then each reading of it that differs (path-readings.ts); allow lists see only the first. */
function pathAndReadings(path: string): string[] {
  if (pathIsPlain(path)) return [path];
  const out = [path];
  for (const p of [readPath(path, false), readPath(path, true)]) if (!out.includes(p)) out.push(p);
  return out;
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
