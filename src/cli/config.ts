// The configuration as a command loads it. Parsing the shipped phrase files' YAML took most of
// every such command's 2 s; a running Schoolgate keeps each file as parsed in its state folder
// (classify/phrase-cache.ts), keyed by the file's text and the code, so a command reads those
// back and gets exactly what parsing would give, problems included (only a file without problems
// is kept). A command keeps what it parses and compiles there too when the folder is its own,
// making the default state folder (./data) if it is not there yet (a checkout before its first start).
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { phraseCacheDir } from '../classify/phrase-cache.js';
import { keepParsedFiles } from '../config/kept.js';
import { loadConfig, type SchoolgateConfig } from '../config/load.js';

/** loadConfig(file), reading back (and, in a cache folder of this user's, keeping) the phrase files as parsed in `data`. */
export function loadCommandConfig(file: string, data: string): SchoolgateConfig {
  const dir = phraseCacheDir(data);
  keepParsedFiles(dir, ownsFolder(dir));
  return loadConfig(file);
}

/**
 * Whether `dir` belongs to the user running this command, made first (as `schoolgate start` makes
 * it) when it is not there yet and the folder it would be made in is this user's: a command may
 * run as another user than the service (root, a technician), so it writes only into a cache
 * folder of its own, never into or under one of another user's, and leaves the service nothing
 * it cannot replace.
 */
function ownsFolder(dir: string): boolean {
  const uid = process.getuid?.();
  if (uid === undefined) return false;
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (stat !== undefined) return stat.isDirectory() && stat.uid === uid;
  // The state folder (dir's parent), or where it would be made. Only the default one (./data, as
  // `schoolgate start` makes it) is made: a mistyped --data must not leave a folder behind.
  const data = dirname(dir);
  const made = statSync(data, { throwIfNoEntry: false });
  if (made === undefined && data !== resolve('data')) return false;
  const where = made ?? statSync(dirname(data), { throwIfNoEntry: false });
  if (where === undefined || !where.isDirectory() || where.uid !== uid) return false;
  try {
    mkdirSync(data, { recursive: true, mode: 0o700 });
    mkdirSync(dir, { recursive: true });
    return true;
  } catch {
    return false; // a folder this user cannot write in: nothing is kept
  }
}
