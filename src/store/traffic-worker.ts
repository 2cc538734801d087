// The traffic log's writer thread. It owns the writing connection to the database, so SQLite's
// work (interning, inserting, rollups, retention) never runs on the proxy's event loop. It
// stores batches sent by TrafficLog, replays spill files (left when the writer fell behind, or
// by a process that stopped), and purges what retention says is old, a few thousand rows at a
// time so that batches keep going in between.
import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { RetentionConfig } from './config.js';
import { openDatabase, type Database } from './db.js';
import { parseJsonLines } from './json-lines.js';
import { purgeStep } from './retention.js';
import { writeSpillFile } from './spill.js';
import { isTuple, type TrafficTuple } from './traffic-entry.js';
import { TrafficWriter } from './traffic-writer.js';

export interface TrafficWorkerData {
  readonly schoolgateTraffic: true;
  readonly dataDir: string;
  readonly spillDir: string;
  readonly timeZone: string;
  readonly retention: RetentionConfig;
  readonly purgeEveryMs: number;
  /** Set to 1 by the main thread to make the writer stop waiting for a locked database. */
  readonly stop: SharedArrayBuffer;
}

export type ToWriter =
  | { readonly type: 'rows'; readonly seq: number; readonly rows: TrafficTuple[] }
  /** Replay every spill file except the one being written. */
  | { readonly type: 'replay'; readonly except: string | null }
  | { readonly type: 'purge' }
  | { readonly type: 'close' };

export type FromWriter =
  | { readonly type: 'ready'; readonly lastId: number }
  | { readonly type: 'written'; readonly seq: number; readonly written: number; readonly duplicates: number }
  | { readonly type: 'replayed'; readonly file: string; readonly written: number; readonly duplicates: number; readonly torn: number }
  | { readonly type: 'purged'; readonly deleted: Readonly<Record<string, number>> }
  | { readonly type: 'problem'; readonly message: string }
  | { readonly type: 'closed' };

const REPLAY_CHUNK = 5_000;
/** Each attempt waits up to BUSY_MS for another writer, then RETRY_PAUSE_MS: about a minute in all. */
const RETRIES = 40;
const BUSY_MS = 1_000;
const RETRY_PAUSE_MS = 500;

if (!isMainThread && parentPort && (workerData as Partial<TrafficWorkerData> | null)?.schoolgateTraffic) {
  runWriter(workerData as TrafficWorkerData, parentPort);
}

function runWriter(init: TrafficWorkerData, port: NonNullable<typeof parentPort>): void {
  const send = (m: FromWriter): void => port.postMessage(m);
  const db: Database = openDatabase(init.dataDir);
  // Short waits inside SQLite, so that the thread comes back to JavaScript (and sees a stop
  // request) at least once a second: a worker must never be terminated inside a SQLite call.
  db.pragma(`busy_timeout = ${BUSY_MS}`);
  const writer = new TrafficWriter(db, init.timeZone);
  const stop = new Int32Array(init.stop);
  const stopped = (): boolean => Atomics.load(stop, 0) === 1;
  let closing = false;

  /**
   * Writes with retries (another process may hold the write lock). Rows that still fail go to a
   * spill file, never nowhere. null when stopped: the main thread has kept those rows itself.
   */
  const store = (rows: readonly TrafficTuple[]): { written: number; duplicates: number } | null => {
    for (let attempt = 0; ; attempt++) {
      try {
        return writer.write(rows);
      } catch (err) {
        if (stopped()) return null;
        if (attempt + 1 >= RETRIES) {
          const file = writeSpillFile(init.spillDir, 'failed', rows);
          send({ type: 'problem', message: `traffic rows could not be stored (${(err as Error).message}); ${rows.length} kept in ${file} for replay` });
          return { written: 0, duplicates: 0 };
        }
        // Woken at once by a stop request.
        Atomics.wait(stop, 0, 0, RETRY_PAUSE_MS);
        if (stopped()) return null;
      }
    }
  };

  const replayFile = async (file: string): Promise<void> => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return send({ type: 'problem', message: `spill file ${file} could not be read: ${(err as Error).message}` });
    }
    const { values: rows, torn } = parseJsonLines(text, isTuple);
    let written = 0;
    let duplicates = 0;
    for (let i = 0; i < rows.length; i += REPLAY_CHUNK) {
      const r = store(rows.slice(i, i + REPLAY_CHUNK));
      // Stopped half-way: the file stays, and is replayed (skipping what is stored) next time.
      if (r === null) return;
      written += r.written;
      duplicates += r.duplicates;
      // Let batches from the proxy in between.
      await new Promise((res) => setImmediate(res));
    }
    unlinkSync(file);
    send({ type: 'replayed', file, written, duplicates, torn });
  };

  let replaying: Promise<void> = Promise.resolve();
  const replayAll = (except: string | null): Promise<void> => {
    replaying = replaying.then(async () => {
      let names: string[];
      try {
        names = readdirSync(init.spillDir).filter((n) => n.endsWith('.jsonl')).sort();
      } catch {
        return;
      }
      for (const name of names) {
        const file = join(init.spillDir, name);
        if (file !== except) await replayFile(file);
      }
    });
    return replaying;
  };

  // A purge asked for while one runs is answered when that one ends: it deletes the same rows.
  let purging: Promise<void> | null = null;
  const purge = (): Promise<void> => {
    if (closing) return Promise.resolve();
    purging ??= purgeNow().finally(() => {
      purging = null;
    });
    return purging;
  };
  const purgeNow = async (): Promise<void> => {
    const deleted: Record<string, number> = {};
    try {
      for (;;) {
        const step = purgeStep(db, init.retention, Date.now());
        if (step === null) break;
        deleted[step.what] = (deleted[step.what] ?? 0) + step.deleted;
        if (step.dictionary) writer.forgetCachedIds();
        await new Promise((res) => setImmediate(res));
        if (closing || stopped()) break;
      }
      send({ type: 'purged', deleted });
    } catch (err) {
      send({ type: 'problem', message: `retention purge failed: ${(err as Error).message}` });
      send({ type: 'purged', deleted });
    }
  };
  const timer = setInterval(() => void purge(), init.purgeEveryMs);

  port.on('message', (m: ToWriter) => {
    if (m.type === 'rows') {
      const r = store(m.rows);
      if (r !== null) send({ type: 'written', seq: m.seq, ...r });
    } else if (m.type === 'replay') void replayAll(m.except);
    else if (m.type === 'purge') void purge();
    else if (m.type === 'close') {
      closing = true;
      clearInterval(timer);
      void replaying.then(() => {
        db.close();
        send({ type: 'closed' });
        port.close();
      });
    }
  });

  // Files left by an earlier process first: then the proxy's own rows.
  void replayAll(null).then(() => {
    const lastId = writer.lastId();
    send({ type: 'ready', lastId });
  });
}
