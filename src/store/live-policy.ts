// What the proxy reads per request: the list service's snapshot with the unblocks in force laid
// over its policy. The overlay is rebuilt (once, then swapped with one assignment) when an
// unblock changes, when configuration or lists reload, and every minute so ended unblocks drop
// out of the list; each unblock's own start and end are enforced to the second by decide().
import type { Classifier } from '../classify/classifier.js';
import type { SchoolgateConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import { withUnblocks } from '../policy/compile.js';
import type { PolicySnapshot, Unblock } from '../policy/types.js';

export interface BaseSource {
  readonly classifier: Classifier;
  readonly config: SchoolgateConfig;
}

export class LivePolicy {
  #base: SchoolgateConfig | null = null;
  #effective: SchoolgateConfig | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** The unblocks last read, laid over a new base if the store cannot be read at that moment. */
  #active: Unblock[] = [];

  constructor(
    private readonly source: BaseSource,
    private readonly unblocks: { inForce(now: Date): Unblock[] },
    private readonly opts: { now?: () => Date; log?: Logger } = {},
  ) {}

  get classifier(): Classifier {
    return this.source.classifier;
  }

  /** The configuration with unblocks applied; rebuilt lazily when the base snapshot changes. */
  get config(): SchoolgateConfig {
    const base = this.source.config;
    if (base !== this.#base || this.#effective === null) this.refresh();
    return this.#effective!;
  }

  /** Rebuilds the overlay now (after an unblock is approved, revoked or declined). */
  refresh(): void {
    const base = this.source.config;
    const now = this.opts.now?.() ?? new Date();
    let effective = base;
    try {
      this.#active = this.unblocks.inForce(now);
    } catch (err) {
      // The store could not be read (busy): the unblocks last read stay in force, over the new base too.
      this.opts.log?.error({ err: String(err) }, 'unblocks could not be read; the previous ones stay in force');
    }
    if (this.#active.length > 0) effective = { ...base, policy: applyUnblocks(base.policy, this.#active, this.opts.log) };
    this.#base = base;
    this.#effective = effective;
  }

  /** Refreshes every `everyMs` until stop(). */
  start(everyMs = 60_000): void {
    this.#timer = setInterval(() => this.refresh(), everyMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

/** The policy with these unblocks laid over it; each is checked on its own, and one that cannot be applied is left out (and logged), never the rest. */
export function applyUnblocks(policy: PolicySnapshot, unblocks: readonly Unblock[], log?: Logger): PolicySnapshot {
  const valid = unblocks.filter((u) => {
    try {
      withUnblocks(policy, [u]);
      return true;
    } catch (err) {
      log?.error({ unblock: u.id, err: String(err) }, 'an unblock could not be applied and is left out');
      return false;
    }
  });
  return withUnblocks(policy, valid);
}
