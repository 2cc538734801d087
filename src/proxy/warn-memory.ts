// Click-throughs on warn pages. The warn page carries a token signed for this person (or device)
// and this site, so the continue button works only for whom it was shown and only for a while;
// a continue is then remembered for policy.warnRememberMinutes. Kept in memory: a restart asks
// again, which errs on the side of the warning. With several proxy processes (proxy.workers) the
// signing key and the click-throughs are shared (cluster/shared-memory.ts), so a continue on one
// connection counts on every other.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ChangeListeners, type SharedMemory } from './cluster/shared-memory.js';

/** How long a warn page's continue button stays valid. */
const TOKEN_LIFETIME_MS = 30 * 60_000;
/** A continue is remembered at least this long, so the redirect back to the site is let through. */
const MIN_REMEMBER_MS = 60_000;
const PRUNE_AT = 10_000;

/** The key tokens are signed with (base64), or one continue remembered until a time. */
export type WarnChange = { readonly secret: string } | { readonly entry: string; readonly until: number };

export class WarnMemory implements SharedMemory<WarnChange> {
  private key = randomBytes(32);
  private readonly until = new Map<string, number>();
  private readonly listeners = new ChangeListeners<WarnChange>();

  /** The token for a warn page shown to `who` for `host`. */
  token(who: string, host: string, now: number): string {
    const expires = now + TOKEN_LIFETIME_MS;
    return `${expires}.${this.sign(who, host, expires)}`;
  }

  /** Records a continue if the token is genuine, unexpired, and for this person and site. */
  accept(token: string, who: string, host: string, rememberMs: number, now: number): boolean {
    const m = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return false;
    const expires = Number(m[1]);
    if (expires < now) return false;
    const given = Buffer.from(m[2]!);
    const wanted = Buffer.from(this.sign(who, host, expires));
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return false;
    const entry = keyOf(who, host);
    const until = now + Math.max(rememberMs, MIN_REMEMBER_MS);
    this.remember(entry, until, now);
    if (this.listeners.any) this.listeners.emit({ entry, until });
    return true;
  }

  /** True while a continue for this person and site is remembered. */
  continued(who: string, host: string, now: number): boolean {
    const key = keyOf(who, host);
    const until = this.until.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    this.until.delete(key);
    return false;
  }

  onChange(fn: (change: WarnChange) => void): void {
    this.listeners.add(fn);
  }

  apply(change: WarnChange): void {
    if ('secret' in change) this.key = Buffer.from(change.secret, 'base64');
    // Pruned by this machine's clock: the same as the other process's, give or take a message.
    else this.remember(change.entry, change.until, Date.now());
  }

  /** The key first: a token signed in one process is accepted in another. */
  changes(): WarnChange[] {
    return [{ secret: this.key.toString('base64') }, ...[...this.until].map(([entry, until]) => ({ entry, until }))];
  }

  private remember(entry: string, until: number, now: number): void {
    if (this.until.size >= PRUNE_AT) this.prune(now);
    this.until.set(entry, Math.max(until, this.until.get(entry) ?? 0));
  }

  private sign(who: string, host: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${who}\n${host}\n${expires}`).digest('base64url');
  }

  private prune(now: number): void {
    for (const [k, until] of this.until) if (until <= now) this.until.delete(k);
  }
}

function keyOf(who: string, host: string): string {
  return `${who}\n${host}`;
}
