// Proxy authentication (Proxy-Authorization: Basic). Verifying a password is deliberately slow
// (scrypt), so a verified header is remembered for a few minutes: a page with 80 resources
// hashes once, not 80 times. Repeated failures from one address are slowed, then refused for a
// while, so a pupil cannot guess a teacher's password through the proxy. With several proxy
// processes (proxy.workers) the failures and the remembered sign-ins are shared
// (proxy/cluster/shared-memory.ts): guesses count together, whichever process they land on.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ChangeListeners, type SharedMemory } from '../proxy/cluster/shared-memory.js';
import { SignInLimiter, type FailureOptions, type Failures } from './failures.js';

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

/**
 * A change to what sign-in remembers: an attempt counted, a failure, a success (each from an
 * address, at a user name), a verified header (by its hash) and whom it signs in, or (for a new
 * process) one key's failures as they stand.
 */
export type SignInChange =
  | { readonly attempt: string; readonly username: string; readonly at: number }
  | { readonly failed: string; readonly username: string; readonly at: number }
  | { readonly succeeded: string; readonly username: string }
  | { readonly verified: string; readonly user: AuthUser; readonly until: number }
  | { readonly count: 'account' | 'device'; readonly key: string; readonly failures: Failures };

export class Authenticator implements SharedMemory<SignInChange> {
  private readonly listeners = new ChangeListeners<SignInChange>();
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
      const at = this.now();
      const counted = this.failures.attempt(address, creds.username, at);
      if (counted.kind === 'locked') return counted;
      this.share({ attempt: address, username: creds.username, at });
      verifying = this.opts.verify(creds.username, creds.password).finally(() => this.pending.delete(key));
      this.pending.set(key, verifying);
    }
    const result = await verifying;
    if (result.ok) {
      const until = this.now() + this.cacheMs;
      this.verified.set(key, { user: result.user, until });
      this.failures.succeeded(address, creds.username);
      this.share({ verified: key, user: result.user, until });
      this.share({ succeeded: address, username: creds.username });
      return { kind: 'ok', user: result.user };
    }
    const at = this.now();
    const verdict = this.failures.failed(address, creds.username, at);
    this.share({ failed: address, username: creds.username, at });
    return verdict.kind === 'locked' ? verdict : { kind: 'challenge', delayMs: verdict.delayMs, reason: result.reason };
  }

  /** Forgets remembered credentials (after a password change or a user is disabled). */
  forget(): void {
    this.verified.clear();
  }

  onChange(fn: (change: SignInChange) => void): void {
    this.listeners.add(fn);
  }

  apply(c: SignInChange): void {
    if ('attempt' in c) this.failures.attempt(c.attempt, c.username, c.at);
    else if ('failed' in c) this.failures.failed(c.failed, c.username, c.at);
    else if ('succeeded' in c) this.failures.succeeded(c.succeeded, c.username);
    else if ('verified' in c) this.verified.set(c.verified, { user: c.user, until: c.until });
    else this.failures.restore(c.count, c.key, c.failures);
  }

  changes(): SignInChange[] {
    const { account, device } = this.failures.records();
    const out: SignInChange[] = [
      ...account.map(([key, failures]) => ({ count: 'account' as const, key, failures })),
      ...device.map(([key, failures]) => ({ count: 'device' as const, key, failures })),
    ];
    const t = this.now();
    for (const [key, v] of this.verified.entries()) if (v.until > t) out.push({ verified: key, user: v.user, until: v.until });
    return out;
  }

  private share(change: SignInChange): void {
    if (this.listeners.any) this.listeners.emit(change);
  }

  /** How many addresses have failures on record (for tests and status). */
  get trackedAddresses(): number {
    return this.failures.tracked;
  }
}
