// The built lists as one file: what a list-build process (build-child.ts) hands the proxy, and
// what the primary process hands its proxy workers, so that the 1.7 M-entry build, with its
// hundreds of MiB of transient memory, runs once and outside the processes that serve.
//
// Layout (little-endian, this machine's own: the file never leaves it):
//   0   "SGTABLE1"
//   8   u32 records bytes, u32 slots length, u32 filter length, u32 names, u32 JSON bytes, u32 0
//   32  records, padded to 4 bytes; slots; filter; then the rest of MatcherData as JSON.
// The three tables are read into one ArrayBuffer and used where they lie (views, no copy); the
// JSON is read into a buffer of its own, parsed and dropped, so it does not stay in memory beside
// the tables.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import type { MatcherData } from './build.js';

const MAGIC = 'SGTABLE1';
const HEADER = 32;

type Rest = Omit<MatcherData, 'domains'>;

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Writes `data` to `file` (created or replaced, owner-only: a sensitive list's names are in it). */
export function writeTableFile(file: string, data: MatcherData): void {
  const { records, slots, filter, names } = data.domains;
  const { domains: _, ...rest } = data;
  const json = Buffer.from(JSON.stringify(rest satisfies Rest));
  const header = Buffer.alloc(HEADER);
  header.write(MAGIC, 0, 'latin1');
  [records.byteLength, slots.length, filter.length, names, json.byteLength, 0].forEach((v, i) => header.writeUInt32LE(v, 8 + 4 * i));
  const fd = openSync(file, 'w', 0o600);
  try {
    writeAll(fd, header);
    writeAll(fd, records);
    writeAll(fd, new Uint8Array(align4(records.byteLength) - records.byteLength));
    writeAll(fd, new Uint8Array(slots.buffer, slots.byteOffset, slots.byteLength));
    writeAll(fd, new Uint8Array(filter.buffer, filter.byteOffset, filter.byteLength));
    writeAll(fd, json);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.byteLength;) at += writeSync(fd, bytes, at, bytes.byteLength - at);
}

/** Reads a file writeTableFile wrote. Throws on a file that is not one, or is cut short. */
export function readTableFile(file: string): MatcherData {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const header = Buffer.alloc(HEADER);
    if (readAll(fd, header, 0) < HEADER || header.toString('latin1', 0, 8) !== MAGIC) throw new Error(`${file} is not a list table file`);
    const [recordBytes, slotCount, filterCount, names, jsonBytes] = [0, 1, 2, 3, 4].map((i) => header.readUInt32LE(8 + 4 * i)) as [number, number, number, number, number];
    const tablesBytes = align4(recordBytes) + 4 * (slotCount + filterCount);
    if (size !== HEADER + tablesBytes + jsonBytes) throw new Error(`${file} is ${size} bytes, not the ${HEADER + tablesBytes + jsonBytes} its header says (cut short?)`);
    const tables = new ArrayBuffer(tablesBytes);
    readAll(fd, new Uint8Array(tables), HEADER);
    const json = Buffer.allocUnsafe(jsonBytes);
    readAll(fd, json, HEADER + tablesBytes);
    const rest = JSON.parse(json.toString('utf8')) as Rest;
    const slotsAt = align4(recordBytes);
    return {
      ...rest,
      domains: {
        records: new Uint8Array(tables, 0, recordBytes),
        slots: new Uint32Array(tables, slotsAt, slotCount),
        filter: new Uint32Array(tables, slotsAt + 4 * slotCount, filterCount),
        names,
      },
    };
  } finally {
    closeSync(fd);
  }
}

function readAll(fd: number, into: Uint8Array, position: number): number {
  let at = 0;
  while (at < into.byteLength) {
    const n = readSync(fd, into, at, into.byteLength - at, position + at);
    if (n === 0) break;
    at += n;
  }
  return at;
}
