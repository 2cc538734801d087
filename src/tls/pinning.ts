// Apps that pin their certificates (and devices without the school's CA) fail the handshake with
// Schoolgate's certificate. A host that fails on several different devices within a window is
// most likely a pinned app, not one untrusting device: it is tunnelled undecrypted for a while,
// and logged so the technician can add it to the never-intercept list. With several proxy
// processes (proxy.workers) every failure is shared (proxy/cluster/shared-memory.ts): the devices
// count together whichever process their connections landed on.
import { ChangeListeners, type SharedMemory } from '../proxy/cluster/shared-memory.js';

const MAX_HOSTS = 10_000;

/** A failed handshake of a device with a host, or a bypass in force until a time. */
export type PinningChange = { readonly failed: string; readonly device: string; readonly at: number } | { readonly bypassed: string; readonly until: number };

export class PinningMemory implements SharedMemory<PinningChange> {
  private readonly failures = new Map<string, Map<string, number>>();
  private readonly bypassed = new Map<string, number>();
  private readonly listeners = new ChangeListeners<PinningChange>();

  constructor(private readonly settings: () => { readonly devices: number; readonly windowMs: number; readonly bypassMs: number }) {}

  /** Records a failed handshake; true when this failure starts a bypass for the host. */
  failed(host: string, device: string, now: number): boolean {
    if (this.listeners.any) this.listeners.emit({ failed: host, device, at: now });
    return this.record(host, device, now);
  }

  onChange(fn: (change: PinningChange) => void): void {
    this.listeners.add(fn);
  }

  apply(change: PinningChange): void {
    if ('failed' in change) this.record(change.failed, change.device, change.at);
    else this.bypassed.set(change.bypassed, Math.max(change.until, this.bypassed.get(change.bypassed) ?? 0));
  }

  changes(): PinningChange[] {
    const out: PinningChange[] = [];
    for (const [host, seen] of this.failures) for (const [device, at] of seen) out.push({ failed: host, device, at });
    for (const [host, until] of this.bypassed) out.push({ bypassed: host, until });
    return out;
  }

  private record(host: string, device: string, now: number): boolean {
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
