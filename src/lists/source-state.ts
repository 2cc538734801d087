// state.json in a source's folder: the validators of the copy in use (sent on the next request),
// its entry count, and the last attempt. Written to a temporary file and renamed, so a reader
// never sees half of it; read leniently, since a missing or damaged file only costs a full download.
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileModes } from './generations.js';
import { sourceStore } from './sources.js';

export const STATE = 'state.json';

export interface SourceState {
  /** Validators of the copy in use, sent on the next request. */
  etag?: string;
  lastModified?: string;
  /** Entries that loaded from the copy in use when it was installed. */
  entries?: number;
  generation?: string;
  /** The generation kept for rollback. */
  previousGeneration?: string;
  /** When the copy in use was installed. */
  updatedAt?: string;
  lastAttemptAt?: string;
  /** Why the last attempt was refused; null when it succeeded. */
  lastError?: string | null;
}

/** What is recorded about a downloaded source; empty when never updated (or the file is unreadable). */
export async function readSourceState(dataDir: string, name: string): Promise<SourceState> {
  return readState(sourceStore(dataDir, name));
}

export async function readState(store: string): Promise<SourceState> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(store, STATE), 'utf8'));
  } catch {
    // Missing or damaged: the next download is then unconditional, which is safe.
    return {};
  }
  if (typeof raw !== 'object' || raw === null) return {};
  const r = raw as Record<string, unknown>;
  const state: SourceState = {};
  for (const key of ['etag', 'lastModified', 'generation', 'previousGeneration', 'updatedAt', 'lastAttemptAt'] as const) {
    const v = r[key];
    if (typeof v === 'string') state[key] = v;
  }
  if (typeof r.entries === 'number' && Number.isInteger(r.entries) && r.entries >= 0) state.entries = r.entries;
  if (typeof r.lastError === 'string' || r.lastError === null) state.lastError = r.lastError;
  return state;
}

export async function writeState(store: string, state: SourceState, modes: FileModes): Promise<void> {
  const tmp = join(store, `.state-${randomBytes(4).toString('hex')}`);
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: modes.file, flush: true });
  await rename(tmp, join(store, STATE));
}
