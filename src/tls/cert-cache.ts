// The TLS contexts the proxy presents to devices, one a site, kept ready: a cached context
// is returned synchronously (a handshake on a known site pays no promise, no mint and no
// tls.createSecureContext, which costs about 2 ms), and a new site is minted once however many
// connections ask for it at the same moment. An entry leaves the cache a day before its
// certificate expires, so no device is ever shown an expired certificate.
import tls from 'node:tls';
import { LRUCache } from 'lru-cache';
import type { SchoolCa } from './ca.js';
import { certNameFor, type CertName } from './cert-name.js';
import { DEFAULT_LEAF_DAYS, mintLeaf } from './mint.js';

const DAY = 86_400_000;
const MIN_TTL = 60_000;

/** The part of a pino logger the cache uses. */
export interface CacheLog {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface CertificateCacheOptions {
  /** Sites kept (default 5,000: a school's day of browsing fits, at a few KB each). */
  readonly max?: number;
  /** Life of each leaf certificate (default 7 days). */
  readonly validityDays?: number;
  /** The clock, in milliseconds since the epoch (tests move it). */
  readonly now?: () => number;
  readonly log?: CacheLog;
}

export class CertificateCache {
  /** mints: certificates made (or attempted); hits: answered from the cache; waits: joined a mint under way. */
  readonly stats = { mints: 0, hits: 0, waits: 0 };
  readonly #ca: SchoolCa;
  readonly #validityDays: number;
  readonly #now: () => number;
  readonly #log: CacheLog | undefined;
  readonly #contexts: LRUCache<string, tls.SecureContext>;
  /** Mints under way, by key: everyone asking for the same site meanwhile shares the promise. */
  readonly #minting = new Map<string, Promise<tls.SecureContext>>();

  constructor(ca: SchoolCa, opts: CertificateCacheOptions = {}) {
    this.#ca = ca;
    this.#validityDays = opts.validityDays ?? DEFAULT_LEAF_DAYS;
    this.#now = opts.now ?? Date.now;
    this.#log = opts.log;
    this.#contexts = new LRUCache<string, tls.SecureContext>({
      max: opts.max ?? 5000,
      ttl: this.#validityDays * DAY,
      // A moved clock in tests must be seen at once; by default lru-cache reads it at most once a ms.
      ...(opts.now ? { perf: { now: opts.now }, ttlResolution: 0 } : {}),
    });
  }

  /**
   * The context for a device's handshake with `host` (SNI or the CONNECT host): the context
   * itself when cached, else a promise of it. Throws CertNameError for a host no certificate
   * can name. A failed mint is not remembered: the next handshake tries again.
   */
  context(host: string): tls.SecureContext | Promise<tls.SecureContext> {
    const name = certNameFor(host);
    const cached = this.#contexts.get(name.key);
    if (cached !== undefined) {
      this.stats.hits++;
      return cached;
    }
    const underway = this.#minting.get(name.key);
    if (underway !== undefined) {
      this.stats.waits++;
      return underway;
    }
    this.stats.mints++;
    const minting = this.#mint(name).finally(() => this.#minting.delete(name.key));
    this.#minting.set(name.key, minting);
    return minting;
  }

  /** Sites cached now. */
  get size(): number {
    return this.#contexts.size;
  }

  async #mint(name: CertName): Promise<tls.SecureContext> {
    const started = performance.now();
    try {
      const leaf = await mintLeaf(this.#ca, name, { now: new Date(this.#now()), validityDays: this.#validityDays });
      const context = tls.createSecureContext({ key: this.#ca.leafKeyPem, cert: leaf.certPem + this.#ca.chainPem.join('') });
      // Leave the cache a day before expiry (half the life for leaves shorter than two days).
      const margin = Math.min(DAY, (this.#validityDays * DAY) / 2);
      const ttl = Math.max(MIN_TTL, leaf.notAfter.getTime() - margin - this.#now());
      this.#contexts.set(name.key, context, { ttl });
      this.#log?.debug({ certificate: name.key, ms: Math.round(performance.now() - started) }, 'minted a certificate');
      return context;
    } catch (err) {
      this.#log?.warn({ certificate: name.key, err }, 'could not mint a certificate');
      throw err;
    }
  }
}
