// Proxy authentication (Proxy-Authorization: Basic). Verifying a password is deliberately slow
// (scrypt), so a verified header is remembered for a few minutes: a page with 80 resources
// hashes once, not 80 times. Repeated failures from one address are slowed, then refused for a
// while, so a pupil cannot guess a teacher's password through the proxy.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { SignInLimiter, type FailureOptions } from './failures.js';

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

export interface AuthOptions extends FailureOptions {
  readonly verify: (username: string, password: string) => Promise<VerifyResult>;
  /** How long a verified header is trusted without hashing again. */
  readonly cacheMs?: number;
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

export class Authenticator {
  private readonly verified = new LRUCache<string, { user: AuthUser; until: number }>({ max: 10_000 });
  private readonly cacheMs: number;
  private readonly failures: SignInLimiter;
  /** Verifications under way, by header: a page's 80 first requests share one. */
  private readonly pending = new Map<string, Promise<VerifyResult>>();
  private readonly now: () => number;

  constructor(private readonly opts: AuthOptions) {
    this.now = opts.now ?? Date.now;
    this.failures = new SignInLimiter(opts);
    this.cacheMs = opts.cacheMs ?? 5 * 60_000;
  }

  async check(address: string, header: string | undefined): Promise<AuthOutcome> {
    const t = this.now();
    const creds = parseBasic(header);
    const locked = this.failures.lockedFor(address, creds?.username);
    if (locked > 0) return { kind: 'locked', retryAfterS: locked };
    if (!creds) return { kind: 'challenge', delayMs: 0, reason: header ? 'not Basic credentials' : 'no credentials' };
    // The cache is keyed by a hash of the header, so no password is held in memory as text.
    const key = createHash('sha256').update(header!).digest('base64');
    const cached = this.verified.get(key);
    if (cached && cached.until > t) return { kind: 'ok', user: cached.user };
    let verifying = this.pending.get(key);
    if (!verifying) {
      const counted = this.failures.attempt(address, creds.username);
      if (counted.kind === 'locked') return counted;
      verifying = this.opts.verify(creds.username, creds.password).finally(() => this.pending.delete(key));
      this.pending.set(key, verifying);
    }
    const result = await verifying;
    if (result.ok) {
      this.verified.set(key, { user: result.user, until: this.now() + this.cacheMs });
      this.failures.succeeded(address, creds.username);
      return { kind: 'ok', user: result.user };
    }
    const verdict = this.failures.failed(address, creds.username);
    return verdict.kind === 'locked' ? verdict : { kind: 'challenge', delayMs: verdict.delayMs, reason: result.reason };
  }

  /** Forgets remembered credentials (after a password change or a user is disabled). */
  forget(): void {
    this.verified.clear();
  }

  /** How many addresses have failures on record (for tests and status). */
  get trackedAddresses(): number {
    return this.failures.tracked;
  }
}
