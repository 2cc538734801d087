// The policy's own small site lists (per group, per user, per schedule, per unblock): domain
// entries covering subdomains and URL-prefix entries, with the same normalisation and the same
// specificity scale as the blocklists, so "most specific wins" compares like with like.
import { entryCovers, normaliseListHost, parseUrlEntry, requestKeys, type Reach } from '../classify/parse-list.js';
import { listPrefixLength, type NormalisedUrl } from '../classify/normalise-url.js';

export interface SiteHit<T> {
  readonly value: T;
  /** The entry as normalised ("example.com", "example.com/games"). */
  readonly entry: string;
  /** Domain entries count their labels; URL entries 1000 plus their path length (as Match.specificity). */
  readonly specificity: number;
}

export type SiteEntryError = { readonly error: string };

interface UrlSite<T> {
  readonly key: string;
  readonly readKey: string;
  readonly reach: Reach;
  readonly value: T;
}

/** A policy rule's entry blocks, so it covers any reading of a path; one that allows or warns only every reading (parse-list.ts, Reach). */
export function ruleReach(rule: { readonly action: string }): Reach {
  return rule.action === 'block' ? 'any' : 'every';
}

/**
 * Builds a SiteList; `add` returns an error message for an entry that is not a host or
 * host/path. An entry may carry several values (two unblocks of one site); `previous` gives the
 * values already added under the same normalised entry, so callers can refuse contradictions.
 */
export class SiteListBuilder<T> {
  private readonly domains = new Map<string, T[]>();
  private readonly urls = new Map<string, UrlSite<T>[]>();

  /** `reachOf` says how a value's URL entries cover odd spellings; by default every reading, which never opens more. */
  constructor(private readonly reachOf: (value: T) => Reach = () => 'every') {}

  add(text: string, value: T): SiteEntryError | { previous: readonly T[] } {
    if (/[/?]/.test(text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''))) {
      const e = parseUrlEntry(text);
      if (typeof e === 'string') return { error: `"${text}" is not a valid site (${e})` };
      const list = this.urls.get(e.host) ?? [];
      const previous = list.filter((x) => x.key === e.key).map((x) => x.value);
      list.push({ key: e.key, readKey: e.readKey, reach: this.reachOf(value), value });
      this.urls.set(e.host, list);
      return { previous };
    }
    const h = normaliseListHost(text);
    if (h.reason !== undefined) return { error: `"${text}" is not a valid site (${h.reason})` };
    const values = this.domains.get(h.host) ?? [];
    const previous = [...values];
    values.push(value);
    this.domains.set(h.host, values);
    return { previous };
  }

  build(): SiteList<T> {
    return new SiteList(this.domains, this.urls);
  }
}

export class SiteList<T> {
  static empty<T>(): SiteList<T> {
    return new SiteList<T>(new Map(), new Map());
  }

  constructor(
    private readonly domains: ReadonlyMap<string, readonly T[]>,
    private readonly urls: ReadonlyMap<string, readonly UrlSite<T>[]>,
  ) {}

  get size(): number {
    let n = 0;
    for (const l of this.domains.values()) n += l.length;
    for (const l of this.urls.values()) n += l.length;
    return n;
  }

  /** The most specific entry the URL hits (its first value), or undefined. */
  find(url: NormalisedUrl): SiteHit<T> | undefined {
    let first: SiteHit<T> | undefined;
    this.each(url, (hit) => {
      first = hit;
      return true;
    });
    return first;
  }

  /** Every value of every entry the URL hits, most specific first. */
  findAll(url: NormalisedUrl): SiteHit<T>[] {
    const out: SiteHit<T>[] = [];
    this.each(url, (hit) => {
      out.push(hit);
      return false;
    });
    return out;
  }

  /** Calls `visit` with each hit, most specific first, until it returns true. */
  private each(url: NormalisedUrl, visit: (hit: SiteHit<T>) => boolean): void {
    if (this.domains.size === 0 && this.urls.size === 0) return;
    const host = url.host;
    const bare = host.slice(listPrefixLength(host));
    const bucket = this.urls.size === 0 ? undefined : this.urls.get(bare);
    if (bucket) {
      const keys = requestKeys(url);
      const hits = bucket
        .filter((e) => entryCovers(keys, e.key, e.readKey, e.reach))
        .sort((a, b) => b.key.length - a.key.length);
      for (const e of hits) if (visit({ value: e.value, entry: bare + e.key, specificity: 1000 + e.key.length })) return;
    }
    if (this.domains.size === 0) return;
    // Longest suffix first: the whole host, then each parent domain.
    for (let start = 0; ;) {
      const suffix = start === 0 ? host : host.slice(start);
      const values = this.domains.get(suffix);
      if (values) {
        const specificity = suffix.split('.').length;
        for (const value of values) if (visit({ value, entry: suffix, specificity })) return;
      }
      const dot = host.indexOf('.', start);
      if (url.hostType !== 'name' || dot < 0) return;
      start = dot + 1;
    }
  }
}
