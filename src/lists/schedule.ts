// When each downloaded source is refreshed. nextRun() decides (pure: the time is an argument);
// Scheduler only turns its answers into timers and calls back.
import type { Refresh } from '../config/types.js';

/** A source never fetched, or overdue, is fetched this long after start: the proxy comes up on the lists it has first. */
export const FIRST_RUN_DELAY_MS = 60_000;
/** After a failed run, the next try comes after this long, or a quarter of the period if shorter. */
export const RETRY_MS = 60 * 60_000;
/** The most a regular refresh is pushed back, so schools sharing a list server do not all ask at the same moment. */
export const MAX_JITTER_MS = 15 * 60_000;
/** setTimeout cannot wait longer (about 24.8 days); a longer wait is made of several. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * When `name` (the source's name) should next be refreshed, given when it last ran.
 * Never run or overdue: soon after `now`, between FIRST_RUN_DELAY_MS and twice that.
 * Otherwise: one period after the last run, plus jitter below min(period / 10, MAX_JITTER_MS).
 * The jitter comes from the name, so one source keeps its slot from run to run and restart to restart.
 */
export function nextRun(refresh: Refresh, lastRunAt: Date | null, now: Date, name: string): Date {
  const t = now.getTime();
  const soon = t + FIRST_RUN_DELAY_MS + Math.floor(spreadOf(name) * FIRST_RUN_DELAY_MS);
  if (lastRunAt === null) return new Date(soon);
  const jitter = jitterMs(name, refresh.everyMs);
  const due = lastRunAt.getTime() + refresh.everyMs + jitter;
  if (due <= t) return new Date(soon);
  // A last run "in the future" (the clock was set back) must not postpone the refresh beyond one period.
  return new Date(Math.min(due, t + refresh.everyMs + jitter));
}

/**
 * When to try again after a failed run: a refused IWF download must not leave the list twelve
 * hours older, so a failure is retried within the hour (sooner for short periods).
 */
export function retryAt(refresh: Refresh, failedAt: Date, name: string): Date {
  const wait = Math.min(RETRY_MS, refresh.everyMs / 4);
  return new Date(failedAt.getTime() + wait + Math.floor(spreadOf(name) * wait * 0.1));
}

/** The regular-refresh jitter of a source: stable for a name, below min(everyMs / 10, MAX_JITTER_MS). */
export function jitterMs(name: string, everyMs: number): number {
  return Math.floor(spreadOf(name) * Math.min(everyMs / 10, MAX_JITTER_MS));
}

/** A number in [0, 1) derived from the name (FNV-1a): the same on every server and every start. */
function spreadOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 2 ** 32;
}

export interface ScheduledSource {
  readonly name: string;
  readonly refresh: Refresh;
  /** When it last ran (state.json's lastAttemptAt), or null. */
  readonly lastRunAt: Date | null;
}

export interface SchedulerDeps {
  now: () => Date;
  /** Told when a run throws; the schedule carries on regardless. */
  onError?: (name: string, err: unknown) => void;
}

/**
 * Calls `run(name)` for each source on its schedule; a run that throws or returns false is
 * retried sooner (retryAt). Runs never overlap: two list downloads
 * and rebuilds at once would double the memory peak, so a source that falls due while another
 * runs waits its turn. Timers are unref'd and never keep the process alive.
 */
export class Scheduler {
  readonly #sources: readonly ScheduledSource[];
  readonly #run: (name: string) => unknown;  // resolves false when the run failed
  readonly #deps: SchedulerDeps;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #next = new Map<string, Date>();
  #queue: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(sources: readonly ScheduledSource[], run: (name: string) => unknown, deps: SchedulerDeps) {
    this.#sources = sources;
    this.#run = run;
    this.#deps = deps;
  }

  start(): void {
    for (const source of this.#sources) this.#plan(source, source.lastRunAt);
  }

  /** When `name` runs next; undefined while it runs, after stop(), or for an unknown name. */
  nextRunOf(name: string): Date | undefined {
    return this.#next.get(name);
  }

  /** Cancels every timer; resolves once a run in progress (if any) has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#next.clear();
    await this.#queue;
  }

  #plan(source: ScheduledSource, lastRunAt: Date | null, failed = false): void {
    if (this.#stopped) return;
    const now = this.#deps.now();
    const at = failed ? retryAt(source.refresh, now, source.name) : nextRun(source.refresh, lastRunAt, now, source.name);
    this.#next.set(source.name, at);
    this.#arm(source, at);
  }

  #arm(source: ScheduledSource, at: Date): void {
    const wait = Math.max(0, at.getTime() - this.#deps.now().getTime());
    const timer = setTimeout(() => {
      this.#timers.delete(source.name);
      // The injected clock decides, not the timer: a long wait is split, and an early wake waits on.
      if (at.getTime() > this.#deps.now().getTime()) this.#arm(source, at);
      else this.#fire(source);
    }, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
    this.#timers.set(source.name, timer);
  }

  #fire(source: ScheduledSource): void {
    this.#next.delete(source.name);
    this.#queue = this.#queue.then(async () => {
      if (this.#stopped) return;
      let failed = false;
      try {
        failed = (await this.#run(source.name)) === false;
      } catch (err) {
        failed = true;
        this.#deps.onError?.(source.name, err);
      }
      this.#plan(source, this.#deps.now(), failed);
    });
  }
}
