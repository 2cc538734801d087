// Apps that pin their certificates (and devices without the school's CA) fail the handshake with
// Schoolgate's certificate. A host that fails on several different devices within a window is
// most likely a pinned app, not one untrusting device: it is tunnelled undecrypted for a while,
// and logged so the technician can add it to the never-intercept list.
const MAX_HOSTS = 10_000;

export class PinningMemory {
  private readonly failures = new Map<string, Map<string, number>>();
  private readonly bypassed = new Map<string, number>();

  constructor(private readonly settings: () => { readonly devices: number; readonly windowMs: number; readonly bypassMs: number }) {}

  /** Records a failed handshake; true when this failure starts a bypass for the host. */
  failed(host: string, device: string, now: number): boolean {
    const { devices, windowMs, bypassMs } = this.settings();
    const seen = this.failures.get(host) ?? new Map<string, number>();
    seen.set(device, now);
    for (const [d, at] of seen) if (now - at > windowMs) seen.delete(d);
    this.failures.set(host, seen);
    if (this.failures.size > MAX_HOSTS) this.prune(now, windowMs);
    if (seen.size < devices) return false;
    this.failures.delete(host);
    this.bypassed.set(host, now + bypassMs);
    this.prune(now, windowMs);
    return true;
  }

  /** The host is being tunnelled undecrypted after repeated handshake failures. */
  isBypassed(host: string, now: number): boolean {
    const until = this.bypassed.get(host);
    if (until === undefined) return false;
    if (now < until) return true;
    this.bypassed.delete(host);
    return false;
  }

  /** Keeps both maps bounded by what happened recently. */
  private prune(now: number, windowMs: number): void {
    for (const [host, seen] of this.failures) {
      for (const [d, at] of seen) if (now - at > windowMs) seen.delete(d);
      if (seen.size === 0) this.failures.delete(host);
    }
    for (const [host, until] of this.bypassed) if (until <= now) this.bypassed.delete(host);
  }
}
