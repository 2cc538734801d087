// Proxy authentication (Proxy-Authorization: Basic). Verifying a password is deliberately slow
// (scrypt), so a verified header is remembered for a few minutes: a page with 80 resources
// hashes once, not 80 times. Repeated failures from one address are slowed, then refused for a
// while, so a pupil cannot guess a teacher's password through the proxy.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface AuthUser {
  readonly username: string;
  readonly group: string;
}

export type VerifyResult = { readonly ok: true; readonly user: AuthUser } | { readonly ok: false; readonly reason: string };

export type AuthOutcome =
  | { readonly kind: 'ok'; readonly user: AuthUser }
  /** No credentials, or wrong ones: answer 407 and ask. `delayMs` slows repeated failures. */
  | { readonly kind: 'challenge'; readonly delayMs: number; readonly reason: string }
  /** Too many failures from this address: refuse without checking. */
  | { readonly kind: 'locked'; readonly retryAfterS: number };

export interface AuthOptions {
  readonly verify: (username: string, password: string) => Promise<VerifyResult>;
  readonly now?: () => number;
  /** How long a verified header is trusted without hashing again. */
  readonly cacheMs?: number;
  /** Failures from one address, within `windowMs`, before it is locked out. */
  readonly maxFailures?: number;
  readonly windowMs?: number;
  readonly lockoutMs?: number;
}

/** Parses "Basic base64(user:pass)"; null for anything else. */
export function parseBasic(header: string | undefined): { username: string; password: string } | null {
  if (!header) return null;
  const m = /^\s*basic\s+([A-Za-z0-9+/=._-]+)\s*$/i.exec(header);
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Past this many addresses on record, expired ones are dropped before adding another. */
const PRUNE_FAILURES_AT = 10_000;

interface Failures {
  count: number;
  first: number;
  lockedUntil: number;
}

export class Authenticator {
  private readonly verified = new LRUCache<string, { user: AuthUser; until: number }>({ max: 10_000 });
  private readonly cacheMs: number;
  private readonly failures = new Map<string, Failures>();
  /** Verifications under way, by header: a page's 80 first requests share one. */
  private readonly pending = new Map<string, Promise<VerifyResult>>();
  private readonly now: () => number;
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly lockoutMs: number;

  constructor(private readonly opts: AuthOptions) {
    this.now = opts.now ?? Date.now;
    this.maxFailures = opts.maxFailures ?? 10;
    this.windowMs = opts.windowMs ?? 5 * 60_000;
    this.lockoutMs = opts.lockoutMs ?? 15 * 60_000;
    this.cacheMs = opts.cacheMs ?? 5 * 60_000;
  }

  async check(address: string, header: string | undefined): Promise<AuthOutcome> {
    const t = this.now();
    const earlier = this.failures.get(address);
    if (earlier && earlier.lockedUntil > t) return { kind: 'locked', retryAfterS: Math.ceil((earlier.lockedUntil - t) / 1000) };
    const creds = parseBasic(header);
    if (!creds) return { kind: 'challenge', delayMs: 0, reason: header ? 'not Basic credentials' : 'no credentials' };
    // The cache is keyed by a hash of the header, so no password is held in memory as text.
    const key = createHash('sha256').update(header!).digest('base64');
    const cached = this.verified.get(key);
    if (cached && cached.until > t) return { kind: 'ok', user: cached.user };
    let verifying = this.pending.get(key);
    if (!verifying) {
      // The attempt is counted before the slow check, so guesses sent all at once count too.
      const counted = this.attempt(address);
      if (counted.count > this.maxFailures) return this.lock(counted);
      verifying = this.opts.verify(creds.username, creds.password).finally(() => this.pending.delete(key));
      this.pending.set(key, verifying);
    }
    const result = await verifying;
    if (result.ok) {
      this.verified.set(key, { user: result.user, until: this.now() + this.cacheMs });
      this.failures.delete(address);
      return { kind: 'ok', user: result.user };
    }
    const f = this.failures.get(address);
    if (!f) return { kind: 'challenge', delayMs: 0, reason: result.reason };
    if (f.count >= this.maxFailures) return this.lock(f);
    // From the third failure, each answer comes a little later (capped at 2 s).
    return { kind: 'challenge', delayMs: f.count < 3 ? 0 : Math.min(2000, (f.count - 2) * 250), reason: result.reason };
  }

  /** Forgets remembered credentials (after a password change or a user is disabled). */
  forget(): void {
    this.verified.clear();
  }

  /** Counts one attempt from the address (a new window when the last one has passed). */
  private attempt(address: string): Failures {
    const t = this.now();
    let f = this.failures.get(address);
    if (!f || (t - f.first > this.windowMs && f.lockedUntil <= t)) {
      if (!f && this.failures.size >= PRUNE_FAILURES_AT) this.prune(t);
      f = { count: 0, first: t, lockedUntil: 0 };
      this.failures.set(address, f);
    }
    f.count++;
    return f;
  }

  /** Drops addresses whose window and lockout have passed (many devices fail once and go). */
  private prune(t: number): void {
    for (const [address, f] of this.failures) if (t - f.first > this.windowMs && f.lockedUntil <= t) this.failures.delete(address);
  }

  /** How many addresses have failures on record (for tests and status). */
  get trackedAddresses(): number {
    return this.failures.size;
  }

  private lock(f: Failures): AuthOutcome {
    const t = this.now();
    if (f.lockedUntil <= t) f.lockedUntil = t + this.lockoutMs;
    return { kind: 'locked', retryAfterS: Math.ceil((f.lockedUntil - t) / 1000) };
  }
}
