// DNS answers kept for a short while, so a page's many tunnels and upstream connections to the
// same site ask the resolver (getaddrinfo, on libuv's four-thread pool) once rather than once
// each. getaddrinfo gives no TTL, so every answer is kept for at most LOOKUP_TTL_MS, a bound
// shorter than the TTL of almost any web name; failures are not kept. The cache holds the
// resolver's whole answer: the private-address guard (destinations.ts) runs on every use, so a
// cached answer is judged by the configuration in force when it is used.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';

/** How long one answer is used: far below common record TTLs (300 s and more), as browsers do (Chrome: 60 s). */
export const LOOKUP_TTL_MS = 10_000;
/** Names kept at most: beyond it the oldest answer is dropped. */
export const LOOKUP_MAX_NAMES = 10_000;

export type AddressesCallback = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void;
/** dns.lookup with `all: true`, as the cache asks the resolver. */
export type Resolve = (hostname: string, options: LookupOptions, callback: AddressesCallback) => void;
/** What net.connect and undici ask for: an address family (0 for both) and getaddrinfo hints. */
export interface LookupOptions { readonly all: true; readonly family: number; readonly hints: number }

const systemResolve: Resolve = (hostname, options, callback) => dnsLookup(hostname, options, callback as never);

interface Entry {
  readonly addresses: LookupAddress[];
  readonly until: number;
}

export interface LookupCacheOptions {
  readonly ttlMs?: number;
  readonly maxNames?: number;
  readonly now?: () => number;
  readonly resolve?: Resolve;
}

export class LookupCache {
  readonly #answers = new Map<string, Entry>();
  /** Callbacks waiting on a lookup in flight, by key: concurrent askers share one resolver call. */
  readonly #pending = new Map<string, AddressesCallback[]>();
  readonly #ttlMs: number;
  readonly #maxNames: number;
  readonly #now: () => number;
  readonly #resolve: Resolve;

  constructor(o: LookupCacheOptions = {}) {
    this.#ttlMs = o.ttlMs ?? LOOKUP_TTL_MS;
    this.#maxNames = o.maxNames ?? LOOKUP_MAX_NAMES;
    this.#now = o.now ?? Date.now;
    this.#resolve = o.resolve ?? systemResolve;
  }

  /** Every address of `hostname` (of `family`, 0 for both), from the cache while it is fresh. */
  lookup(hostname: string, family: number, hints: number, callback: AddressesCallback): void {
    const key = `${family}/${hints}/${hostname.toLowerCase()}`;
    const hit = this.#answers.get(key);
    if (hit !== undefined) {
      if (hit.until > this.#now()) return callback(null, hit.addresses);
      this.#answers.delete(key);
    }
    const waiting = this.#pending.get(key);
    if (waiting !== undefined) return void waiting.push(callback);
    const callbacks = [callback];
    this.#pending.set(key, callbacks);
    this.#resolve(hostname, { all: true, family, hints }, (err, addresses) => {
      this.#pending.delete(key);
      if (!err) this.#keep(key, addresses);
      for (const cb of callbacks) cb(err, addresses);
    });
  }

  /** Names held now (tests). */
  get size(): number {
    return this.#answers.size;
  }

  #keep(key: string, addresses: LookupAddress[]): void {
    if (this.#answers.size >= this.#maxNames) {
      // Insertion order: the first key is the oldest answer.
      const oldest = this.#answers.keys().next();
      if (!oldest.done) this.#answers.delete(oldest.value);
    }
    this.#answers.set(key, { addresses, until: this.#now() + this.#ttlMs });
  }
}
