// Alerts off the event loop, with nothing lost to a crash. append() writes the request's alert
// candidates to the journal file with one write() (synchronous: in the operating system's page
// cache when it returns, so a `kill -9` of this process right after the response loses none; a
// power cut can lose what the disk had not been given yet) and hands them to the writer thread
// (journal-worker.ts), which folds and stores them in data/alerts.db within milliseconds. The
// request never waits on SQLite, even when another connection holds alerts.db's write lock.
// Segments are replayed at start (a killed process's) and deleted once stored.
import { closeSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { closeWriter, startWorker } from '../worker.js';
import type { AlertCandidate } from './detect.js';
import { JOURNAL_DIR, journalLine, otherLiveProcess, segmentName, type JournalEntry } from './journal-file.js';
import type { AlertWriterData, FromAlertWriter, ToAlertWriter } from './journal-worker.js';
import type { FoldRule, RaiseContext } from './store.js';

export interface AlertJournalOptions {
  readonly dataDir: string;
  readonly log: Logger;
  /** Something was written to the outbox (a notification to send at once). */
  readonly onNotify: () => void;
  /** Each entry stored: milliseconds from append() until this thread heard it was committed (the benchmark reads it). */
  readonly onStored?: (ms: number) => void;
  /** Entries a segment takes before the next one starts (default 1000). */
  readonly segmentEntries?: number;
}

const SEGMENT_ENTRIES = 1_000;
/**
 * Segments open for appending in this process, by path: another journal on the same folder in
 * this process (tests run several) must not replay them. Process-wide because the files are.
 */
const OPEN_HERE = new Set<string>();
const CLOSE_WAIT_MS = 5_000;
const RESTART_MS = 1_000;

interface Waiting {
  readonly resolve: (alertId: number | null) => void;
  readonly since: number;
}

export class AlertJournal {
  private readonly dir: string;
  private worker: Worker;
  private fd = -1;
  private segment = '';
  private seq = 0;
  private readonly waiting = new Map<string, Waiting>();
  private settleWaiters: (() => void)[] = [];
  private closing = false;
  private writeFailed = false;
  /** Shared with the writer: 1 asks it to stop waiting on a locked database. */
  private readonly stop = new SharedArrayBuffer(4);
  /** Resolves once the writer has replayed what an earlier process left. */
  ready: Promise<void>;

  constructor(private readonly opts: AlertJournalOptions) {
    this.dir = join(opts.dataDir, JOURNAL_DIR);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.openSegment();
    [this.worker, this.ready] = this.startWorker();
    // Logged by the worker's 'error' handler; start() awaits it, a service built without start() need not.
    this.ready.catch(() => undefined);
  }

  /**
   * Journals one request's alert candidates and hands them to the writer. Returns at once; the
   * promise resolves with the first alert's id (a fold gives the open alert's) once it is in
   * data/alerts.db, or with null if this journal closes first (the entry waits in the file).
   */
  append(ctx: RaiseContext, candidates: readonly AlertCandidate[], rules: readonly FoldRule[]): Promise<number | null> {
    if (this.closing) throw new Error('the alert journal is closed');
    const entry: JournalEntry = { seq: this.seq++, ctx, candidates, rules };
    const segment = this.segment;
    try {
      writeSync(this.fd, journalLine(entry));
      this.writeFailed = false;
    } catch (err) {
      // Still stored by the writer in a moment, but not safe from a crash until then: said once.
      if (!this.writeFailed) this.opts.log.error({ err: (err as Error).message, dir: this.dir }, 'alerts: the journal cannot be written; alerts are stored, but one raised just before a crash could be lost');
      this.writeFailed = true;
    }
    const stored = new Promise<number | null>((resolve) => this.waiting.set(`${segment}\n${entry.seq}`, { resolve, since: performance.now() }));
    this.post({ type: 'raise', segment, entry });
    if (this.seq >= (this.opts.segmentEntries ?? SEGMENT_ENTRIES)) {
      this.endSegment();
      this.openSegment();
    }
    return stored;
  }

  /** Entries appended and not yet stored. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Resolves true once every entry appended so far is stored; false after `timeoutMs`. */
  settle(timeoutMs = CLOSE_WAIT_MS): Promise<boolean> {
    if (this.waiting.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.settleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /**
   * Waits a few seconds for the writer to store what was appended, then stops it. The segment
   * is deleted when all of it is stored; otherwise it stays, and the next start stores the rest.
   */
  async close(timeoutMs = CLOSE_WAIT_MS): Promise<void> {
    if (this.closing) return;
    const settled = await this.settle(timeoutMs);
    this.closing = true;
    if (settled) this.endSegment();
    else {
      this.closeSegment();
      this.opts.log.warn({ alerts: this.waiting.size, dir: this.dir }, 'alerts: data/alerts.db did not take the last alerts in time; they stay in the journal and are stored at the next start');
      // The writer stops waiting on the lock; what it has not stored stays in the file.
      const stop = new Int32Array(this.stop);
      Atomics.store(stop, 0, 1);
      Atomics.notify(stop, 0);
    }
    await closeWriter(this.worker, CLOSE_WAIT_MS * 2);
    for (const w of this.waiting.values()) w.resolve(null);
    this.waiting.clear();
  }

  private post(m: ToAlertWriter): void {
    this.worker.postMessage(m);
  }

  private openSegment(): void {
    this.segment = segmentName();
    this.seq = 0;
    this.fd = openSync(join(this.dir, this.segment), 'a', 0o600);
    OPEN_HERE.add(join(this.dir, this.segment));
  }

  private closeSegment(): void {
    closeSync(this.fd);
    OPEN_HERE.delete(join(this.dir, this.segment));
  }

  /** Closes the segment being written; the writer deletes it once every entry in it is stored. */
  private endSegment(): void {
    this.closeSegment();
    this.post({ type: 'seal', segment: this.segment });
  }

  private startWorker(): [Worker, Promise<void>] {
    const data: AlertWriterData = { schoolgateAlerts: true, dataDir: this.opts.dataDir, journalDir: this.dir, current: this.segment, busy: busySegments(this.dir), stop: this.stop };
    // journal-worker.ts from a checkout, journal-worker.js when built.
    const worker = startWorker(new URL(`./journal-worker${extname(new URL(import.meta.url).pathname)}`, import.meta.url).href, { ...data });
    const ready = new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on('message', (m: FromAlertWriter) => {
        if (m.type === 'ready') {
          started = true;
          if (m.replayed + m.duplicates + m.torn > 0) this.opts.log.info({ stored: m.replayed, already: m.duplicates, torn: m.torn }, 'alerts: journal replayed');
          if (m.notify) this.opts.onNotify();
          resolve();
        } else this.onMessage(m);
      });
      worker.on('error', (err) => {
        this.opts.log.error({ err: err.message }, 'alerts: the alert writer failed');
        if (!started) reject(err);
      });
      worker.on('exit', (code) => {
        if (!started) return reject(new Error(`the alert writer stopped (code ${code}) before it was ready`));
        if (this.worker === worker && !this.closing) this.onWriterLost(code);
      });
    });
    return [worker, ready];
  }

  /**
   * The writer died: what it had not stored is in the journal. A new segment starts and a new
   * writer replays the old ones (skipping what is stored) before it takes new entries.
   */
  private onWriterLost(code: number): void {
    this.opts.log.error({ code, waiting: this.waiting.size }, 'alerts: the alert writer stopped; a new one replays the journal');
    setTimeout(() => {
      if (this.closing) return;
      // Entries appended meanwhile are in the segment that ends here: the new writer replays it.
      this.closeSegment();
      this.openSegment();
      const [worker, ready] = this.startWorker();
      this.worker = worker;
      ready.catch((err: Error) => this.opts.log.error({ err: err.message }, 'alerts: the alert writer could not be restarted'));
    }, RESTART_MS).unref();
  }

  private onMessage(m: FromAlertWriter): void {
    if (m.type === 'stored') {
      const key = `${m.segment}\n${m.seq}`;
      const w = this.waiting.get(key);
      if (w) {
        this.waiting.delete(key);
        this.opts.onStored?.(performance.now() - w.since);
        w.resolve(m.alertId);
      }
      if (m.notify) this.opts.onNotify();
      if (this.waiting.size === 0) for (const s of this.settleWaiters.splice(0)) s();
    } else if (m.type === 'problem') this.opts.log[m.level](m.message);
  }
}

/** Segments open in this process, or another live process's (not replayed). */
function busySegments(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => OPEN_HERE.has(join(dir, n)) || otherLiveProcess(n));
}
