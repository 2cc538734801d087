// The alert writer thread. It owns the writing connection to data/alerts.db for raised alerts,
// so folding and storing them (a SQLite transaction, which may wait for another connection's
// lock) never runs on the proxy's event loop. It stores each journal entry the proxy sends, in
// order, marking it stored in the same transaction; at start, and when the proxy closes a
// segment, it replays that segment's file (storing what is not yet stored, by segment and place)
// and deletes it. The pattern is the traffic log's (traffic-worker.ts): a thread, retries on a
// locked database, a shared flag to stop waiting, files replayed idempotently.
import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { openAlertsDatabase } from './db.js';
import { otherLiveProcess, parseJournal, type JournalEntry } from './journal-file.js';
import { AlertStore, type JournalStored } from './store.js';

export interface AlertWriterData {
  readonly schoolgateAlerts: true;
  readonly dataDir: string;
  readonly journalDir: string;
  /** The segment the proxy writes to now: not replayed at start. */
  readonly current: string;
  /** Segments another live process is writing: not replayed. */
  readonly busy: readonly string[];
  /** Set to 1 by the main thread to make the writer stop waiting for a locked database. */
  readonly stop: SharedArrayBuffer;
}

export type ToAlertWriter =
  | { readonly type: 'raise'; readonly segment: string; readonly entry: JournalEntry }
  /** The proxy has closed this segment: replay it (normally all stored already) and delete it. */
  | { readonly type: 'seal'; readonly segment: string }
  | { readonly type: 'close' };

export type FromAlertWriter =
  | { readonly type: 'ready'; readonly replayed: number; readonly duplicates: number; readonly torn: number; readonly notify: boolean }
  | ({ readonly type: 'stored'; readonly segment: string; readonly seq: number; readonly at: number } & JournalStored)
  | { readonly type: 'problem'; readonly level: 'info' | 'warn' | 'error'; readonly message: string }
  | { readonly type: 'closed' };

/** Each attempt waits up to BUSY_MS for another writer, then RETRY_PAUSE_MS; until stopped. */
const BUSY_MS = 1_000;
const RETRY_PAUSE_MS = 200;

if (!isMainThread && parentPort && (workerData as Partial<AlertWriterData> | null)?.schoolgateAlerts) {
  runWriter(workerData as AlertWriterData, parentPort);
}

function runWriter(init: AlertWriterData, port: NonNullable<typeof parentPort>): void {
  const send = (m: FromAlertWriter): void => port.postMessage(m);
  const db = openAlertsDatabase(init.dataDir);
  // Short waits inside SQLite, so that the thread comes back to JavaScript (and sees a stop
  // request) at least once a second: a worker must never be terminated inside a SQLite call.
  db.pragma(`busy_timeout = ${BUSY_MS}`);
  const store = new AlertStore(db);
  const stop = new Int32Array(init.stop);
  const stopped = (): boolean => Atomics.load(stop, 0) === 1;
  let warned = false;

  /**
   * Stores one entry, retrying while another connection holds the lock: an alert is never given
   * up. null when stopped: the entry stays in its journal file for the next start.
   */
  const storeEntry = (segment: string, e: JournalEntry): JournalStored | null => {
    for (;;) {
      try {
        const r = store.raiseJournalled({ segment, seq: e.seq }, e.candidates, e.ctx, e.rules);
        if (warned) send({ type: 'problem', level: 'info', message: 'alerts: data/alerts.db takes writes again; alerts kept in the journal meanwhile are being stored' });
        warned = false;
        return r;
      } catch (err) {
        if (stopped()) return null;
        if (!warned) send({ type: 'problem', level: 'warn', message: `alerts: an alert could not be stored yet (${(err as Error).message}); it is safe in the journal and is stored when data/alerts.db takes writes` });
        warned = true;
        Atomics.wait(stop, 0, 0, RETRY_PAUSE_MS);
        if (stopped()) return null;
      }
    }
  };

  /** Stores what a segment file holds and is not yet stored, then deletes it; false if stopped half-way. */
  const replay = (segment: string, counts: { replayed: number; duplicates: number; torn: number; notify: boolean }): boolean => {
    const file = join(init.journalDir, segment);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      send({ type: 'problem', level: 'error', message: `alerts: journal file ${file} could not be read: ${(err as Error).message}` });
      return false;
    }
    const { entries, torn } = parseJournal(text);
    counts.torn += torn;
    for (const e of entries) {
      const r = storeEntry(segment, e);
      if (r === null) return false;
      if (r.duplicate) counts.duplicates++;
      else counts.replayed++;
      if (r.notify) counts.notify = true;
      send({ type: 'stored', segment, seq: e.seq, at: Date.now(), ...r });
    }
    // The file first, then its marks: a crash in between leaves marks of a file that is gone
    // (forgotten at the next start), never a file whose entries would be stored twice.
    try {
      unlinkSync(file);
      store.forgetSegment(segment);
    } catch (err) {
      // The database locked again, say: the marks are forgotten at the next start instead.
      send({ type: 'problem', level: 'warn', message: `alerts: journal file ${segment} stored; tidying it up failed (${(err as Error).message}), left for the next start` });
    }
    return true;
  };

  // Segments left by an earlier process (killed, or stopped while the database was locked).
  const counts = { replayed: 0, duplicates: 0, torn: 0, notify: false };
  let names: string[] = [];
  try {
    names = readdirSync(init.journalDir).filter((n) => n.endsWith('.jsonl') && n !== init.current && !init.busy.includes(n) && !otherLiveProcess(n)).sort();
  } catch {
    // No journal folder yet.
  }
  for (const name of names) replay(name, counts);
  const present = new Set(readdirSync(init.journalDir));
  try {
    for (const segment of store.markedSegments()) if (!present.has(segment)) store.forgetSegment(segment);
  } catch {
    // Locked: they are forgotten at a later start; they take a few bytes.
  }
  send({ type: 'ready', ...counts });

  port.on('message', (m: ToAlertWriter) => {
    if (m.type === 'raise') {
      // Stopped: the main thread has given up waiting, and the entry stays in the journal.
      if (stopped()) return;
      const r = storeEntry(m.segment, m.entry);
      if (r !== null) send({ type: 'stored', segment: m.segment, seq: m.entry.seq, at: Date.now(), ...r });
    } else if (m.type === 'seal') {
      if (!stopped()) replay(basename(m.segment), { replayed: 0, duplicates: 0, torn: 0, notify: false });
    } else {
      db.close();
      send({ type: 'closed' });
      port.close();
    }
  });
}
