// Moving outbox rows to delivery. With `alerts.redis` set, a relay puts each row on a BullMQ
// queue (queue-bullmq.ts) and BullMQ workers deliver with retries and backoff. Without Redis (the
// embedded default), the same delivery code runs in this process from the outbox, here. Either
// way the outbox is the truth: while Redis is away, alerts wait in it.
import type { Logger } from '../log.js';
import { deliverOutbox, type DeliveryDeps } from './deliver.js';

export interface AlertQueue {
  readonly mode: 'in-process' | 'bullmq';
  start(): Promise<void>;
  /** Something was written to the outbox: look now rather than at the next poll. */
  kick(): void;
  /**
   * Stops delivering and closes every connection. A delivery under way may finish for `graceMs`;
   * after that it is no longer waited for, and its row is delivered again after the next start.
   */
  close(graceMs?: number): Promise<void>;
}

export interface RetryOptions {
  /** Attempts before a notification is marked failed (shown to the DSL, resent by the digest). */
  readonly attempts?: number;
  /** The first retry's delay; each next one doubles it. */
  readonly backoffMs?: number;
  /** How often the outbox is read when nothing kicks. */
  readonly pollMs?: number;
}

export const DEFAULTS = { attempts: 8, backoffMs: 2_000, pollMs: 1_000 };
/** How long close() waits for deliveries under way when its caller does not say. */
export const DEFAULT_CLOSE_GRACE_MS = 5_000;
/** Outbox rows read at a time. */
export const BATCH = 100;

/**
 * A loop that runs `tick` every pollMs and at once when kicked, never two at a time. A tick that
 * returns true (it handled a full batch: there may be more) runs again at once, so a backlog
 * drains as fast as it can be delivered, not a batch a poll. A tick that throws is reported and
 * the loop goes on: the outbox still holds whatever it was doing.
 */
export function loop(pollMs: number, tick: () => Promise<boolean>, onError: (err: Error) => void) {
  let current: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const run = (): void => {
    if (stopped) return;
    if (current) {
      again = true;
      return;
    }
    current = (async () => {
      do {
        again = false;
        try {
          if (await tick()) again = true;
        } catch (err) {
          // After stop(), a tick left to finish on its own may find the database closed.
          if (!stopped) onError(err instanceof Error ? err : new Error(String(err)));
        }
      } while (again && !stopped);
    })().finally(() => {
      current = null;
    });
  };
  return {
    /** True once stop() was called: a tick checks it between rows. */
    get stopping(): boolean {
      return stopped;
    },
    start(): void {
      timer = setInterval(run, pollMs);
      timer.unref();
      run();
    },
    kick: run,
    /** Resolves true when the tick under way (if any) has finished, false if it still runs after graceMs. */
    async stop(graceMs: number): Promise<boolean> {
      stopped = true;
      if (timer) clearInterval(timer);
      return current ? settlesWithin(current, graceMs) : true;
    },
  };
}

/** Delivery in this process, straight from the outbox. */
export class InProcessQueue implements AlertQueue {
  readonly mode = 'in-process' as const;
  private readonly notBefore = new Map<number, number>();
  private readonly opts: Required<RetryOptions>;
  private readonly runner;

  constructor(private readonly deps: DeliveryDeps, private readonly log: Logger, opts: RetryOptions = {}) {
    this.opts = { ...DEFAULTS, ...opts };
    this.runner = loop(this.opts.pollMs, () => this.tick(), (err) => this.log.error({ err: err.message }, 'alerts: reading the outbox failed; trying again at the next poll'));
  }

  async start(): Promise<void> {
    this.runner.start();
  }

  kick(): void {
    this.runner.kick();
  }

  async close(graceMs = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    if (!await this.runner.stop(graceMs)) this.log.warn('alerts: a notification was still being sent at shutdown; it is sent again after the next start');
  }

  private async tick(): Promise<boolean> {
    const now = (this.deps.now ?? Date.now)();
    const rows = this.deps.store.pending(BATCH);
    let tried = 0;
    for (const row of rows) {
      if (this.runner.stopping) return false;
      if ((this.notBefore.get(row.id) ?? 0) > now) continue;
      tried++;
      try {
        await deliverOutbox(this.deps, row.id);
        this.notBefore.delete(row.id);
      } catch (err) {
        const attempt = row.attempts + 1;
        const final = attempt >= this.opts.attempts;
        this.deps.store.failedAttempt(row.id, (err as Error).message, Date.now(), final);
        this.notBefore.set(row.id, Date.now() + this.opts.backoffMs * 2 ** (attempt - 1));
        this.log[final ? 'error' : 'warn']({ outbox: row.id, attempt, err: (err as Error).message }, final ? 'alert notification failed for good: shown to the DSL and resent with the next digest' : 'alert notification failed; will retry');
      }
    }
    // Rows all waiting out their backoff are not a reason to read them again at once.
    return rows.length === BATCH && tried > 0;
  }
}

/** Resolves true if `p` settles within `ms`, false if not (it is left to settle on its own). */
export function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), Math.max(0, ms));
    const done = (): void => {
      clearTimeout(t);
      resolve(true);
    };
    p.then(done, done);
  });
}

/** `p`, or a rejection naming Redis if it has not answered within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer from Redis in ${ms} ms`)), ms);
    p.then((v) => {
      clearTimeout(t);
      resolve(v);
    }, (e: unknown) => {
      clearTimeout(t);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
  });
}
