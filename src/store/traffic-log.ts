// The traffic log as the proxy sees it: record() appends to an in-memory batch and returns at
// once. Batches go to the writer thread (traffic-worker.ts) every flushMs or batchRows rows.
// When the writer falls behind (more than maxPendingRows sent and not yet stored), batches go
// to a spill file instead, replayed when it catches up; a request never waits for the disk
// and no row is dropped. Batches sent but not yet acknowledged are kept, so that on shutdown,
// or if the writer dies, they are written to a spill file (replaying skips rows already stored).
import { extname, join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { closeWriter, startWorker } from '../worker.js';
import type { LogConfig, RetentionConfig } from './config.js';
import { SpillSegment, writeSpillFile } from './spill.js';
import { toTuple, TrafficIds, type TrafficEntry, type TrafficTuple } from './traffic-entry.js';
import type { FromWriter, ToWriter, TrafficWorkerData } from './traffic-worker.js';

export interface TrafficLogOptions {
  readonly dataDir: string;
  readonly timeZone: string;
  readonly config: LogConfig;
  readonly retention: RetentionConfig;
  readonly log: Logger;
  readonly now?: () => number;
  /** How often retention runs (an hour unless a test says otherwise). */
  readonly purgeEveryMs?: number;
}

export interface TrafficLogStats {
  /** Rows recorded since start. */
  readonly recorded: number;
  /** Rows the writer has stored (replays included). */
  readonly stored: number;
  /** Rows sent to the writer and not yet acknowledged. */
  readonly pending: number;
  /** Rows written to spill files since start. */
  readonly spilled: number;
  /** Rows in the batch not yet sent. */
  readonly batched: number;
}

/** Rows a spill file takes before the next one starts (so replay works in bounded pieces). */
const SEGMENT_ROWS = 50_000;
const CLOSE_WAIT_MS = 5_000;
const RESTART_MS = 1_000;

export type NewTrafficEntry = Omit<TrafficEntry, 'id'>;

export class TrafficLog {
  private worker: Worker | null = null;
  private ids = new TrafficIds(0);
  private batch: TrafficTuple[] = [];
  private readonly unacked = new Map<number, TrafficTuple[]>();
  private seq = 0;
  private pending = 0;
  private segment: SpillSegment | null = null;
  private readonly spillDir: string;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private counts = { recorded: 0, stored: 0, spilled: 0 };
  private waiters: (() => void)[] = [];
  /** Callers of purge() waiting for the writer's next report of a finished purge. */
  private purgeWaiters: ((deleted: Readonly<Record<string, number>>) => void)[] = [];
  /** Shared with the writer: 1 asks it to stop waiting on a locked database. */
  private readonly stop = new SharedArrayBuffer(4);

  private constructor(private readonly opts: TrafficLogOptions) {
    this.spillDir = join(opts.dataDir, 'traffic-spill');
    this.now = opts.now ?? Date.now;
  }

  /** Starts the writer, which first replays spill files left by an earlier process. */
  static async open(opts: TrafficLogOptions): Promise<TrafficLog> {
    const log = new TrafficLog(opts);
    await log.startWorker();
    return log;
  }

  /** Appends a row; returns its id (which names the request, e.g. in an alert). */
  record(entry: NewTrafficEntry, reserved?: number): number {
    const id = reserved ?? this.ids.next(this.now());
    this.batch.push(toTuple(entry, id));
    this.counts.recorded++;
    this.batched();
    return id;
  }

  /**
   * Rows recorded by proxy workers (with their own ids, cluster/worker-traffic.ts), added to the
   * batch as this process's own.
   */
  recordRows(rows: readonly TrafficTuple[]): void {
    let newest = this.ids.last;
    for (const row of rows) {
      this.batch.push(row);
      if (row[0] > newest) newest = row[0];
    }
    if (newest > this.ids.last) this.ids = new TrafficIds(newest);
    this.counts.recorded += rows.length;
    this.batched();
  }

  /** Rows were added to the batch: it goes when full, or after flushMs. */
  private batched(): void {
    if (this.batch.length >= this.opts.config.batchRows) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.opts.config.flushMs);
      this.timer.unref();
    }
  }

  /** The newest id made or seen here: a new worker's ids start after it. */
  get lastId(): number {
    return this.ids.last;
  }

  /** An id for a row to be recorded later: made now, so it carries the request's start time. */
  reserve(): number {
    return this.ids.next(this.now());
  }

  stats(): TrafficLogStats {
    return { ...this.counts, pending: this.pending, batched: this.batch.length };
  }

  /** Sends the batch now: to the writer, or to the spill file while the writer is behind. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // While a writer starts it replays the spill folder, so rows wait in memory rather than in a
    // file it might read half-written.
    if (this.batch.length === 0 || this.worker === null) return;
    const rows = this.batch;
    this.batch = [];
    if (this.segment !== null || this.pending + rows.length > this.opts.config.maxPendingRows) return this.spill(rows);
    const seq = this.seq++;
    this.unacked.set(seq, rows);
    this.pending += rows.length;
    this.post({ type: 'rows', seq, rows });
  }

  /** Waits until every row recorded so far is stored or spilled (tests, shutdown). */
  async settle(timeoutMs = CLOSE_WAIT_MS): Promise<boolean> {
    this.flush();
    if (this.pending === 0) return true;
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /**
   * Flushes everything and stops the writer. Rows the writer has not acknowledged within a few
   * seconds are written to a spill file, replayed at the next start: nothing recorded is lost.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.settle();
    const left = [...[...this.unacked.values()].flat(), ...this.batch];
    this.unacked.clear();
    this.batch = [];
    if (left.length > 0) {
      const file = writeSpillFile(this.spillDir, 'shutdown', left);
      this.counts.spilled += left.length;
      this.opts.log.warn({ rows: left.length, file }, 'traffic log: the writer was still busy at shutdown; rows kept for replay at the next start');
    }
    if (this.segment) await this.segment.end();
    const worker = this.worker;
    this.worker = null;
    if (worker) {
      // Every row is stored or on disk now: the writer may stop waiting on a locked database.
      const stop = new Int32Array(this.stop);
      Atomics.store(stop, 0, 1);
      Atomics.notify(stop, 0);
      await closeWriter(worker, CLOSE_WAIT_MS * 2);
      for (const w of this.purgeWaiters.splice(0)) w({});
    }
  }

  /**
   * Runs retention now (it also runs every hour on its own) and resolves with what was deleted
   * once the writer reports the purge finished, or with nothing when the log closes first.
   */
  purge(): Promise<Readonly<Record<string, number>>> {
    if (this.worker === null) return Promise.resolve({});
    return new Promise((resolve) => {
      this.purgeWaiters.push(resolve);
      this.post({ type: 'purge' });
    });
  }

  private post(m: ToWriter): void {
    this.worker?.postMessage(m);
  }

  private spill(rows: TrafficTuple[]): void {
    if (this.segment === null) {
      this.segment = new SpillSegment(this.spillDir, (err) => this.opts.log.error({ err: err.message }, 'traffic log: the spill file cannot be written'));
      this.opts.log.warn({ pending: this.pending, file: this.segment.file }, 'traffic log: the database writer is behind; spilling rows to a file');
      // The rows the writer holds and has not stored go to the file as well: if the process is
      // killed while the writer waits, they survive (replay skips those it did store).
      for (const held of this.unacked.values()) this.segment.append(held);
    }
    this.segment.append(rows);
    this.counts.spilled += rows.length;
    if (this.segment.rows >= SEGMENT_ROWS) this.endSegment();
  }

  /** Closes the spill file and, once the writer has caught up, asks for it to be replayed. */
  private endSegment(): void {
    const segment = this.segment;
    if (segment === null) return;
    this.segment = null;
    void segment.end().then(() => {
      this.post({ type: 'replay', except: this.segment?.file ?? null });
    });
  }

  private startWorker(): Promise<number> {
    const data: TrafficWorkerData = {
      schoolgateTraffic: true, dataDir: this.opts.dataDir, spillDir: this.spillDir, timeZone: this.opts.timeZone,
      retention: this.opts.retention, purgeEveryMs: this.opts.purgeEveryMs ?? 3_600_000, stop: this.stop,
    };
    // traffic-worker.ts from a checkout, traffic-worker.js when built.
    const worker = startWorker(new URL(`./traffic-worker${extname(new URL(import.meta.url).pathname)}`, import.meta.url).href, { ...data });
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromWriter) => {
        if (m.type === 'ready') {
          ready = true;
          this.worker = worker;
          // Ids continue after the newest stored row, even if the clock went back.
          this.ids = new TrafficIds(Math.max(m.lastId, this.ids.last));
          resolve(m.lastId);
          this.flush();
        } else this.onMessage(m);
      });
      worker.on('error', (err) => {
        this.opts.log.error({ err: err.message }, 'traffic log: the writer failed');
        if (!ready) reject(err);
      });
      worker.on('exit', (code) => {
        if (!ready) return reject(new Error(`the traffic log writer stopped (code ${code}) before it was ready`));
        if (this.worker === worker) this.onWriterLost(code);
      });
    });
  }

  /** The writer died: keep its unacknowledged rows on disk and start another, which replays them. */
  private onWriterLost(code: number): void {
    this.worker = null;
    const left = [...this.unacked.values()].flat();
    this.unacked.clear();
    this.pending = 0;
    const file = left.length > 0 ? writeSpillFile(this.spillDir, 'lost', left) : null;
    if (file !== null) this.counts.spilled += left.length;
    const segment = this.segment;
    this.segment = null;
    this.opts.log.error({ code, rows: left.length, file }, 'traffic log: the writer stopped; its rows are kept in a spill file and a new writer is starting');
    if (this.closing) return;
    // The new writer replays the spill folder when it starts, this file included.
    void (segment?.end() ?? Promise.resolve()).then(() => setTimeout(() => {
      this.startWorker().catch((err: Error) => this.opts.log.error({ err: err.message }, 'traffic log: the writer could not be restarted'));
    }, RESTART_MS).unref());
  }

  private onMessage(m: FromWriter): void {
    switch (m.type) {
      case 'written': {
        const rows = this.unacked.get(m.seq);
        this.unacked.delete(m.seq);
        this.pending -= rows?.length ?? 0;
        this.counts.stored += m.written;
        // Caught up: replay what was spilled meanwhile.
        if (this.pending === 0 && this.segment !== null) this.endSegment();
        if (this.pending === 0) for (const w of this.waiters.splice(0)) w();
        break;
      }
      case 'replayed':
        this.counts.stored += m.written;
        this.opts.log.info({ file: m.file, rows: m.written, duplicates: m.duplicates, torn: m.torn }, 'traffic log: spill file replayed');
        break;
      case 'purged':
        if (Object.keys(m.deleted).length > 0) this.opts.log.info({ deleted: m.deleted }, 'retention: old records deleted');
        for (const w of this.purgeWaiters.splice(0)) w(m.deleted);
        break;
      case 'problem':
        this.opts.log.error(m.message);
        break;
      default:
        break;
    }
  }
}
