// The lists' tables kept in the state folder's cache between runs, as the compiled phrase rules
// are (phrase-cache.ts), so that a start whose list files have not changed builds nothing: every
// process of it (the primary and each proxy worker) reads the one file, rather than each fork a
// list-build process (a whole Node start, and with the 1.7 M-entry bench set seconds of CPU).
//
// A file is named by a hash of the lists as the configuration names them (ListSpec: the files and
// their categories), of each file's size, modification and change times (nanoseconds) and inode,
// and of the code that builds the tables (codeVersion: this folder, Node's version), so an edited
// or downloaded list, an upgrade or another Node misses and builds. Only a start reads it: a reload
// (SIGHUP, an update) builds again, as before, and keeps its build here for the next start. A
// build is kept only when every list file had settled before it was read and is the same after
// (keepableAs, as for kept phrase texts): a file rewritten within one tick of its times could
// otherwise keep its identity with other contents.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { MatcherData } from './build.js';
import type { ListSpec } from './lists.js';
import { codeVersion, fileIdentity, keepableAs, removeOlder, type FileIdentity } from './phrase-cache.js';
import { readTableFile } from './table-file.js';

const PREFIX = 'tables-';
const SUFFIX = '.table';
/** Files kept: the newest two, as for the phrase rules (a rolled-back change costs no build). */
const KEEP = 2;

/** These lists' files as seen before a build: the name their tables are kept under, and each file's identity then. */
export interface TablesSeen {
  readonly file: string;
  readonly specs: readonly ListSpec[];
  readonly identities: readonly (FileIdentity | null)[];
  /** When they were seen. */
  readonly at: number;
}

/** The lists' files as they are now (`at`: when; a test may say later, as if they had settled). */
export function seeTables(dir: string, specs: readonly ListSpec[], at = Date.now()): TablesSeen {
  const h = createHash('sha256').update(`${codeVersion()}\0${JSON.stringify(specs)}\0`);
  const identities: (FileIdentity | null)[] = [];
  for (const spec of specs) {
    for (const file of spec.files) {
      const id = fileIdentity(file.path);
      identities.push(id);
      h.update(`${id?.key ?? `${file.path}\0-`}\0`);
    }
  }
  return { file: join(dir, `${PREFIX}${h.digest('hex').slice(0, 32)}${SUFFIX}`), specs, identities, at };
}

/** The file that holds, or would hold, the tables of these lists as their files are now. */
export function keptTablesFile(dir: string, specs: readonly ListSpec[]): string {
  return seeTables(dir, specs).file;
}

/** Whether tables of these lists, as their files are now, are kept (without reading them). */
export function tablesKept(dir: string, specs: readonly ListSpec[]): boolean {
  return existsSync(keptTablesFile(dir, specs));
}

/** The kept tables of these lists, or null (none kept, unreadable, or of other lists). */
export function readKeptTables(dir: string, specs: readonly ListSpec[]): MatcherData | null {
  try {
    const data = readTableFile(keptTablesFile(dir, specs));
    return JSON.stringify(data.lists) === JSON.stringify(specs) ? data : null;
  } catch {
    return null;
  }
}

/**
 * Keeps `built` (a table file just built from the lists as `seen` before the build) under its
 * kept name: linked, not copied (the same folder tree), so the caller may still remove or hand
 * out `built`. Removes all but the newest older ones. Keeps nothing, and says so (false), when a
 * list file had not settled when seen or has changed since (the next start builds). Throws if
 * the folder cannot be written (the caller logs it and goes on).
 */
export function keepTables(dir: string, seen: TablesSeen, built: string): boolean {
  const paths = seen.specs.flatMap((spec) => spec.files.map((f) => f.path));
  const settled = seen.identities.every((id, i) => id === null ? fileIdentity(paths[i]!) === null : keepableAs(id, seen.at, () => fileIdentity(paths[i]!)?.key ?? null));
  if (!settled) return false;
  mkdirSync(dir, { recursive: true });
  const file = seen.file;
  const temporary = `${file}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  try {
    linkSync(built, temporary);
  } catch {
    copyFileSync(built, temporary); // another file system, or one without links
  }
  renameSync(temporary, file);
  removeOlder(dir, PREFIX, SUFFIX, file, KEEP);
  return true;
}
