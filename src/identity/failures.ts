// Repeated failed sign-ins from one place (a device's address): counted in a window, slowed from
// the third, refused for a while after too many. Used by proxy sign-in and the staff app, so a
// pupil cannot guess a teacher's password through either.

export interface FailureOptions {
  readonly now?: () => number;
  /** Failures within `windowMs` before the key is locked out. */
  readonly maxFailures?: number;
  readonly windowMs?: number;
  readonly lockoutMs?: number;
}

export type FailureVerdict =
  /** Go on: answer after `delayMs` (0 for the first two failures, then up to 2 s). */
  | { readonly kind: 'retry'; readonly delayMs: number }
  /** Too many failures: refuse without checking. */
  | { readonly kind: 'locked'; readonly retryAfterS: number };

/** One key's failures on record (exported for the copies other proxy processes keep). */
export interface Failures {
  count: number;
  first: number;
  lockedUntil: number;
}

/** Past this many keys on record, expired ones are dropped before adding another. */
const PRUNE_AT = 10_000;

export class FailureLimiter {
  private readonly failures = new Map<string, Failures>();
  private readonly now: () => number;
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly lockoutMs: number;

  constructor(opts: FailureOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.maxFailures = opts.maxFailures ?? 10;
    this.windowMs = opts.windowMs ?? 5 * 60_000;
    this.lockoutMs = opts.lockoutMs ?? 15 * 60_000;
  }

  /** Seconds the key is still locked out for; 0 when it is not. */
  lockedFor(key: string): number {
    const f = this.failures.get(key);
    const t = this.now();
    return f && f.lockedUntil > t ? Math.ceil((f.lockedUntil - t) / 1000) : 0;
  }

  /**
   * Counts an attempt before the slow check, so guesses sent all at once count too; 'locked'
   * when this one is already past the limit.
   */
  attempt(key: string, t = this.now()): FailureVerdict {
    let f = this.failures.get(key);
    if (!f || (t - f.first > this.windowMs && f.lockedUntil <= t)) {
      if (!f && this.failures.size >= PRUNE_AT) this.prune(t);
      f = { count: 0, first: t, lockedUntil: 0 };
      this.failures.set(key, f);
    }
    f.count++;
    return f.count > this.maxFailures ? this.lock(f, t) : { kind: 'retry', delayMs: 0 };
  }

  /** The attempt failed: how to answer it. */
  failed(key: string, t = this.now()): FailureVerdict {
    const f = this.failures.get(key);
    if (!f) return { kind: 'retry', delayMs: 0 };
    if (f.count >= this.maxFailures) return this.lock(f, t);
    // From the third failure, each answer comes a little later (capped at 2 s).
    return { kind: 'retry', delayMs: f.count < 3 ? 0 : Math.min(2000, (f.count - 2) * 250) };
  }

  /** The attempt succeeded: the key starts afresh. */
  succeeded(key: string): void {
    this.failures.delete(key);
  }

  /** How many keys have failures on record (for tests and status). */
  get tracked(): number {
    return this.failures.size;
  }

  /** Every key's failures, for another process's copy. */
  records(): [string, Failures][] {
    return [...this.failures].map(([key, f]) => [key, { ...f }]);
  }

  /** A key's failures as another process has them. */
  restore(key: string, f: Failures): void {
    this.failures.set(key, { ...f });
  }

  /** Drops keys whose window and lockout have passed (many devices fail once and go). */
  private prune(t: number): void {
    for (const [key, f] of this.failures) if (t - f.first > this.windowMs && f.lockedUntil <= t) this.failures.delete(key);
  }

  private lock(f: Failures, t: number): FailureVerdict {
    if (f.lockedUntil <= t) f.lockedUntil = t + this.lockoutMs;
    return { kind: 'locked', retryAfterS: Math.ceil((f.lockedUntil - t) / 1000) };
  }
}

/**
 * Sign-in failures counted two ways, so that a person who can sign in as themselves cannot use
 * that to clear the count of their guesses at someone else's password: per device and account
 * (locked after `maxFailures`, cleared by that account's own success), and per device across
 * accounts (failures only, locked after three times as many, never cleared by a success).
 */
export class SignInLimiter {
  private readonly account: FailureLimiter;
  private readonly device: FailureLimiter;

  constructor(opts: FailureOptions = {}) {
    this.account = new FailureLimiter(opts);
    this.device = new FailureLimiter({ ...opts, maxFailures: (opts.maxFailures ?? 10) * 3 });
  }

  /** Seconds the device (or this account from it) is locked out for; 0 when it is not. */
  lockedFor(address: string, username?: string): number {
    return Math.max(this.device.lockedFor(address), username === undefined ? 0 : this.account.lockedFor(keyOf(address, username)));
  }

  /** Counts an attempt at `username` from `address` before the slow check; `at` is when (another process's attempt). */
  attempt(address: string, username: string, at?: number): FailureVerdict {
    const locked = this.lockedFor(address, username);
    if (locked > 0) return { kind: 'locked', retryAfterS: locked };
    return this.account.attempt(keyOf(address, username), at);
  }

  /** The attempt failed: how to answer it. */
  failed(address: string, username: string, at?: number): FailureVerdict {
    const device = this.device.attempt(address, at);
    const account = this.account.failed(keyOf(address, username), at);
    if (account.kind === 'locked') return account;
    return device.kind === 'locked' ? device : account;
  }

  succeeded(address: string, username: string): void {
    this.account.succeeded(keyOf(address, username));
  }

  /** Devices and accounts with failures on record (for tests and status). */
  get tracked(): number {
    return this.account.tracked + this.device.tracked;
  }

  /** Both counts, for another process's copy. */
  records(): { account: [string, Failures][]; device: [string, Failures][] } {
    return { account: this.account.records(), device: this.device.records() };
  }

  restore(count: 'account' | 'device', key: string, f: Failures): void {
    this[count].restore(key, f);
  }
}

function keyOf(address: string, username: string): string {
  return `${address}\n${username.toLowerCase()}`;
}
