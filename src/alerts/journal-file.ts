// The alert journal on disk: data/alerts-journal/, one file (segment) at a time being appended
// to, one JSON entry a line, each the candidates of one request with what folding them needs.
// Names sort by time, so older segments replay first.
import type { AlertCandidate } from './detect.js';
import { parseJsonLines } from '../store/json-lines.js';
import type { FoldRule, RaiseContext } from './store.js';

export const JOURNAL_DIR = 'alerts-journal';

/** One request's alerts as raised: stored by the writer thread, replayed after a crash. */
export interface JournalEntry {
  /** Its place in the segment (from 0): with the segment's name, what makes storing it idempotent. */
  readonly seq: number;
  readonly ctx: RaiseContext;
  readonly candidates: readonly AlertCandidate[];
  /** Each candidate's fold rule under the configuration of the moment it was raised. */
  readonly rules: readonly FoldRule[];
}

let counter = 0;

export function segmentName(): string {
  return `${String(Date.now()).padStart(14, '0')}-${process.pid}-${counter++}.jsonl`;
}

/**
 * True when the segment is another live process's (its pid in the name): it must not be replayed,
 * or its entries would be stored and its file deleted under it. A segment of this pid is an
 * earlier run's. Asked again by the writer thread when it lists the folder: another process
 * (a proxy worker starting beside this one) may have begun a segment since this one started.
 */
export function otherLiveProcess(name: string): boolean {
  const pid = Number(/^\d+-(\d+)-/.exec(name)?.[1]);
  if (!Number.isInteger(pid) || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function journalLine(e: JournalEntry): string {
  return `${JSON.stringify(e)}\n`;
}

function isEntry(v: unknown): v is JournalEntry {
  const e = v as Partial<JournalEntry> | null;
  return typeof e === 'object' && e !== null && typeof e.seq === 'number' && typeof e.ctx === 'object' && e.ctx !== null
    && Array.isArray(e.candidates) && Array.isArray(e.rules) && e.rules.length === e.candidates.length;
}

/** The entries of a segment; a process killed mid-write leaves at most a torn last line, counted. */
export function parseJournal(text: string): { entries: JournalEntry[]; torn: number } {
  const { values, torn } = parseJsonLines(text, isEntry);
  return { entries: values, torn };
}
