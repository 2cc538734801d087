// The policy's own small site lists (per group, per user, per schedule, per unblock): domain
// entries covering subdomains and URL-prefix entries, with the same normalisation and the same
// specificity scale as the blocklists, so "most specific wins" compares like with like.
import { normaliseListHost, parseUrlEntry } from '../classify/parse-list.js';
import { listPrefixLength, type NormalisedUrl } from '../classify/normalise-url.js';

export interface SiteHit<T> {
  readonly value: T;
  /** The entry as normalised ("example.com", "example.com/games"). */
  readonly entry: string;
  /** Domain entries count their labels; URL entries 1000 plus their path length (as Match.specificity). */
  readonly specificity: number;
}

export type SiteEntryError = { readonly error: string };

/** Builds a SiteList; `add` returns an error message for an entry that is not a host or host/path. */
export class SiteListBuilder<T> {
  private readonly domains = new Map<string, T>();
  private readonly urls = new Map<string, { key: string; value: T }[]>();

  add(text: string, value: T): SiteEntryError | undefined {
    if (/[/?]/.test(text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''))) {
      const e = parseUrlEntry(text);
      if (typeof e === 'string') return { error: `"${text}" is not a valid site (${e})` };
      const list = this.urls.get(e.host) ?? [];
      list.push({ key: e.key, value });
      this.urls.set(e.host, list);
      return undefined;
    }
    const h = normaliseListHost(text);
    if (h.reason !== undefined) return { error: `"${text}" is not a valid site (${h.reason})` };
    this.domains.set(h.host, value);
    return undefined;
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
    private readonly domains: ReadonlyMap<string, T>,
    private readonly urls: ReadonlyMap<string, readonly { key: string; value: T }[]>,
  ) {}

  get size(): number {
    let n = this.domains.size;
    for (const l of this.urls.values()) n += l.length;
    return n;
  }

  /** The most specific entry the URL hits, or undefined. */
  find(url: NormalisedUrl): SiteHit<T> | undefined {
    if (this.domains.size === 0 && this.urls.size === 0) return undefined;
    let best: SiteHit<T> | undefined;
    const host = url.host;
    const bucket = this.urls.size === 0 ? undefined : this.urls.get(host.slice(listPrefixLength(host)));
    if (bucket) {
      const key = (url.query === '' ? url.path : `${url.path}?${url.query}`).toLowerCase();
      for (const e of bucket) {
        if (e.key !== '' && !(key.startsWith(e.key) && (key.length === e.key.length || '/?&;'.includes(key[e.key.length]!)))) continue;
        const specificity = 1000 + e.key.length;
        if (!best || specificity > best.specificity) best = { value: e.value, entry: host.slice(listPrefixLength(host)) + e.key, specificity };
      }
      if (best) return best;
    }
    if (this.domains.size === 0) return undefined;
    // Longest suffix first: the whole host, then each parent domain.
    for (let start = 0; ;) {
      const suffix = start === 0 ? host : host.slice(start);
      const value = this.domains.get(suffix);
      if (value !== undefined) return { value, entry: suffix, specificity: suffix.split('.').length };
      const dot = host.indexOf('.', start);
      if (url.hostType !== 'name' || dot < 0) return undefined;
      start = dot + 1;
    }
  }
}
