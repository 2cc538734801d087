// Spill files: traffic rows that could not go to the database yet, one JSON array a line, in
// data/traffic-spill/. The writer replays them (skipping rows already stored, by id) and deletes
// them; names sort by time, so older files replay first.
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { TrafficTuple } from './traffic-entry.js';

let counter = 0;

export function spillFileName(dir: string, kind: string): string {
  return join(dir, `${String(Date.now()).padStart(14, '0')}-${process.pid}-${kind}-${counter++}.jsonl`);
}

function lines(rows: readonly TrafficTuple[]): string {
  let text = '';
  for (const r of rows) text += `${JSON.stringify(r)}\n`;
  return text;
}

/** Writes rows to a new spill file at once (shutdown, or rows the writer could not store). */
export function writeSpillFile(dir: string, kind: string, rows: readonly TrafficTuple[]): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = spillFileName(dir, kind);
  writeFileSync(file, lines(rows), { mode: 0o600 });
  return file;
}

/** A spill file being appended to while the writer catches up. */
export class SpillSegment {
  readonly file: string;
  private readonly stream: WriteStream;
  rows = 0;

  constructor(dir: string, onError: (err: Error) => void) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = spillFileName(dir, 'spill');
    this.stream = createWriteStream(this.file, { flags: 'a', mode: 0o600 });
    this.stream.on('error', onError);
  }

  append(rows: readonly TrafficTuple[]): void {
    this.rows += rows.length;
    this.stream.write(lines(rows));
  }

  /** Resolves once every row is handed to the operating system. */
  end(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}
