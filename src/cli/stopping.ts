// How `schoolgate start` stops, on SIGTERM or after a start that failed half way: every part it
// opened is closed, last opened first, within the time a supervisor allows before it kills
// (Docker's default is 10 s). Each part first refuses new work, all at once (listeners stop
// accepting, timers stop); then each finishes in turn, what is under way running on until the
// cut. What is left of the time after the cut is for writing out what was recorded.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Logger } from '../log.js';

/** From the signal to the process's exit, at most. */
export const STOP_MS = 10_000;
/** From the signal, requests, tunnels, alert deliveries and list downloads still under way are cut after this. */
export const CUT_MS = 8_000;

export interface Part {
  readonly name: string;
  /** Stops taking new work; must not wait. */
  begin?(): void;
  /** Ends the part; what is under way may run until `cutAt` (ms since 1970), then is cut. */
  finish?(cutAt: number): Promise<unknown> | void;
}

export class Stopping {
  private readonly parts: Part[] = [];
  private startedAt: number | null = null;

  constructor(private readonly log: Logger) {}

  /** A part that is open now, to close when stopping. */
  add(part: Part): void {
    this.parts.push(part);
  }

  /** Closes every part added; `since` is when the signal came (the cut is counted from it). */
  async stop(since = Date.now()): Promise<void> {
    this.startedAt = since;
    const cutAt = since + CUT_MS;
    const parts = this.parts.splice(0).reverse();
    for (const p of parts) this.attempt(p.name, () => p.begin?.());
    for (const p of parts) {
      try {
        await p.finish?.(cutAt);
      } catch (err) {
        this.log.error({ part: p.name, err: (err as Error).message }, 'stopping: a part did not close cleanly');
      }
    }
  }

  /**
   * Everything is closed and written: should something still keep the process alive (a delivery
   * or download cut short, still waiting on the network), it exits anyway when the time is up,
   * saying what was left, rather than wait for the supervisor's SIGKILL.
   */
  exitWhenTimeIsUp(): void {
    const since = this.startedAt ?? Date.now();
    setTimeout(() => {
      this.log.warn({ open: process.getActiveResourcesInfo() }, 'stopped, but something was still open; exiting anyway');
      process.exit();
    }, Math.max(1_000, since + STOP_MS - Date.now())).unref();
  }

  private attempt(name: string, f: () => void): void {
    try {
      f();
    } catch (err) {
      this.log.error({ part: name, err: (err as Error).message }, 'stopping: a part did not close cleanly');
    }
  }
}

/** Resolves true if `p` settles before `at` (ms since 1970), false if not (it is left to settle on its own). */
export function settlesBy(p: Promise<unknown>, at: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), Math.max(0, at - Date.now()));
    const done = (): void => {
      clearTimeout(t);
      resolve(true);
    };
    p.then(done, done);
  });
}

/**
 * Writes this process's pid. remove() deletes the file only if it still holds that pid: another
 * Schoolgate started on the same data folder meanwhile has written its own, which stays.
 */
export function pidFile(file: string): { remove(): void } {
  writeFileSync(file, `${process.pid}\n`);
  return {
    remove(): void {
      let holder: string;
      try {
        holder = readFileSync(file, 'utf8').trim();
      } catch {
        return;
      }
      if (holder === String(process.pid)) rmSync(file, { force: true });
    },
  };
}
