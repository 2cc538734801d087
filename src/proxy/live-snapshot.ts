// The running proxy's one snapshot (gate.ts GateSnapshot): the configuration with the unblocks in
// force laid over its policy, the classifier, HTTPS inspection, the safeguarding exclusions (the
// file's and the DSL's) and the way upstream (upstream.ts), frozen together. A request or tunnel
// takes it once at its start and passes it down; a change builds a new one and swaps it in with
// one assignment. Requests never read SQLite: the unblocks and exclusions are read here, when
// told something changed (refresh(): a reload, the staff app in this process, or a CommitWatch
// notice that another process or thread committed), and at the next unblock's end (a timer on
// the clock). The lists and configuration themselves are built off the event loop by
// ListService; laying the unblocks over them here takes well under a millisecond.
import { EventEmitter } from 'node:events';
import type { Classifier } from '../classify/classifier.js';
import type { SchoolgateConfig } from '../config/load.js';
import { compileExclusions, type Exclusion, type ExclusionSet } from '../alerts/exclusions.js';
import { messageOf, type Logger } from '../log.js';
import { applyUnblocks } from '../policy/compile.js';
import type { Unblock } from '../policy/types.js';
import type { GateSnapshot, Interception } from './gate.js';
import { Upstream } from './upstream.js';

/** The configuration and lists in force (ListService, or a fixed pair in tests). */
export interface SnapshotBase {
  readonly config: SchoolgateConfig;
  readonly classifier: Classifier;
}

/** Where the code takes the time, and waits for one: tests move it by hand. */
export interface Clock {
  now(): number;
  /** Calls `fn` once this clock reaches `time` (ms since the epoch); the result cancels it. */
  at(time: number, fn: () => void): () => void;
}

/** setTimeout's longest wait; a later end is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  at(time, fn) {
    const timer = setTimeout(fn, Math.min(MAX_TIMER_MS, Math.max(0, time - Date.now())));
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export interface LiveSnapshotOptions {
  /** The approved unblocks not yet over (UnblockStore over schoolgate.db). */
  readonly unblocks?: { inForce(now: Date): readonly Unblock[] };
  /** The DSL's exclusions (readStoredExclusions over alerts.db); the file's come with the configuration. */
  readonly exclusions?: { inForce(): readonly Exclusion[] };
  /** HTTPS inspection now (the school's CA can appear or rotate while running). */
  readonly tls?: () => Interception | null;
  readonly clock?: Clock;
  readonly log?: Logger;
}

/** A snapshot from fixed parts (the gate's tests, the CLI's dry runs); its upstream is opened only if used. */
export function takeSnapshot(base: SnapshotBase, tls: Interception | null, parts: { exclusions?: ExclusionSet; upstream?: Upstream; version?: number } = {}): GateSnapshot {
  const config = base.config;
  return Object.freeze({
    version: parts.version ?? 0, config, classifier: base.classifier, tls,
    exclusions: parts.exclusions ?? compileExclusions(config.safeguarding.exclusions, []),
    upstream: parts.upstream ?? new Upstream(config.proxy, config.tls),
  });
}

export class LiveSnapshot extends EventEmitter<{ snapshot: [GateSnapshot] }> {
  #current: GateSnapshot;
  /** The base parts #current was built from (its config has the unblocks laid over). */
  #from: { config: SchoolgateConfig; classifier: Classifier };
  #unblocks: readonly Unblock[] = [];
  #unblocksKey = '';
  #stored: readonly Exclusion[] = [];
  #storedKey = '';
  /** What the snapshot's exclusions were compiled from: the file's list and the stored rows' key. */
  #compiledFor: { file: readonly Exclusion[]; key: string } | null = null;
  #cancelExpiry: (() => void) | null = null;
  #closed = false;
  readonly #clock: Clock;

  constructor(private readonly base: SnapshotBase, private readonly opts: LiveSnapshotOptions = {}) {
    super();
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    this.#read();
    this.#from = { config: base.config, classifier: base.classifier };
    this.#current = this.#build(null);
    this.#armExpiry();
  }

  /**
   * The snapshot in force. A base swapped without a notice (a test's source, a phrase swap) is
   * seen here by comparing three references, and built with the unblocks and exclusions last
   * read: SQLite is never read from here.
   */
  get current(): GateSnapshot {
    if (!this.#closed && this.#baseMoved()) this.#swap('the configuration or lists changed');
    return this.#current;
  }

  /** The configuration in force, with the unblocks (what the staff app shows). */
  get config(): SchoolgateConfig {
    return this.current.config;
  }

  get classifier(): Classifier {
    return this.current.classifier;
  }

  /**
   * The snapshot for one request, whose upstream pool stays open until release(): take it at the
   * request's start and release it once the request has been handed upstream (or answered).
   */
  hold(): GateSnapshot {
    const s = this.current;
    s.upstream.hold();
    return s;
  }

  release(s: GateSnapshot): void {
    s.upstream.release();
  }

  /**
   * Reads the unblocks and exclusions again and swaps in a new snapshot if they, or the base,
   * changed. Told by a reload, by the staff app after it approved, declined or revoked, and by a
   * CommitWatch. True when a new snapshot was swapped in. Never throws: when the store cannot be
   * read (busy) the rows last read stay in force. `only` reads one of the two (the file that
   * changed holds only those).
   */
  refresh(reason = 'told of a change', only?: 'unblocks' | 'exclusions'): boolean {
    if (this.#closed) return false;
    const read = this.#read(only);
    const based = this.#baseMoved();
    if (read || based) this.#swap(reason);
    else this.#armExpiry();
    return read || based;
  }

  /** Stops the expiry timer and closes the upstream pool once nothing holds it. */
  close(): void {
    this.#closed = true;
    this.#cancelExpiry?.();
    this.#cancelExpiry = null;
    this.#current.upstream.retire();
  }

  /** The configuration, lists or inspection swapped since #current was built. */
  #baseMoved(): boolean {
    return this.base.config !== this.#from.config || this.base.classifier !== this.#from.classifier || this.#tlsNow() !== this.#current.tls;
  }

  #tlsNow(): Interception | null {
    return this.opts.tls?.() ?? null;
  }

  /** Reads the rows; true when they differ from those last read. */
  #read(only?: 'unblocks' | 'exclusions'): boolean {
    let changed = false;
    const log = this.opts.log;
    if (this.opts.unblocks && only !== 'exclusions') {
      try {
        const rows = this.opts.unblocks.inForce(new Date(this.#clock.now()));
        const key = JSON.stringify(rows, setsAsLists);
        if (key !== this.#unblocksKey) [this.#unblocks, this.#unblocksKey, changed] = [rows, key, true];
      } catch (err) {
        log?.error({ err: messageOf(err) }, 'unblocks could not be read; the previous ones stay in force');
      }
    }
    if (this.opts.exclusions && only !== 'unblocks') {
      try {
        const rows = this.opts.exclusions.inForce();
        const key = JSON.stringify(rows, setsAsLists);
        if (key !== this.#storedKey) [this.#stored, this.#storedKey, changed] = [rows, key, true];
      } catch (err) {
        log?.error({ err: messageOf(err) }, 'exclusions could not be read; the previous ones stay in force');
      }
    }
    return changed;
  }

  #swap(reason: string): void {
    const old = this.#current;
    this.#from = { config: this.base.config, classifier: this.base.classifier };
    let next: GateSnapshot;
    try {
      next = this.#build(old);
    } catch (err) {
      // Not expected (each unblock and exclusion is checked on its own): requests keep the snapshot they have.
      this.opts.log?.error({ err: messageOf(err), reason }, 'a new snapshot could not be built; the one in force stays');
      return;
    }
    this.#current = next;
    if (next.upstream !== old.upstream) old.upstream.retire();
    this.opts.log?.info({ version: next.version, reason, unblocks: this.#unblocks.length, exclusions: next.exclusions.size }, 'snapshot swapped in');
    this.#armExpiry();
    this.emit('snapshot', next);
  }

  #build(old: GateSnapshot | null): GateSnapshot {
    const { config: base, classifier } = this.#from;
    const log = this.opts.log;
    const config = this.#unblocks.length === 0 ? base : {
      ...base,
      policy: applyUnblocks(base.policy, this.#unblocks, (u, err) => log?.error({ unblock: u.id, err: messageOf(err) }, 'an unblock could not be applied and is left out')),
    };
    const upstream = old?.upstream.serves(base.proxy, base.tls) ? old.upstream : new Upstream(base.proxy, base.tls);
    const fromFile = base.safeguarding.exclusions;
    const exclusions = old && this.#compiledFor?.file === fromFile && this.#compiledFor.key === this.#storedKey
      ? old.exclusions
      : compileExclusions(fromFile, this.#stored, (e, problem) => log?.error({ exclusion: e, err: problem.message }, 'an exclusion could not be used and is left out'));
    this.#compiledFor = { file: fromFile, key: this.#storedKey };
    return Object.freeze({ version: old === null ? 0 : old.version + 1, config, classifier, tls: this.#tlsNow(), exclusions, upstream });
  }

  /** A new snapshot when the next unblock ends, so it drops out of the policy without a request asking. */
  #armExpiry(): void {
    this.#cancelExpiry?.();
    this.#cancelExpiry = null;
    if (this.#closed) return;
    const now = this.#clock.now();
    let next = Infinity;
    for (const u of this.#unblocks) {
      const end = u.until.getTime();
      if (end > now && end < next) next = end;
    }
    if (next === Infinity) return;
    this.#cancelExpiry = this.#clock.at(next, () => {
      this.#cancelExpiry = null;
      this.refresh('an unblock ended');
    });
  }
}

/** For comparing rows read: a set of users is compared by its members. */
function setsAsLists(_key: string, value: unknown): unknown {
  return value instanceof Set ? [...value as Set<unknown>] : value;
}
