// The configuration as a command loads it. Parsing the shipped phrase files' YAML took most of
// every such command's 2 s; a running Schoolgate keeps each file as parsed in its state folder
// (classify/phrase-cache.ts), keyed by the file's text and the code, so a command reads those
// back and gets exactly what parsing would give, problems included (only a file without problems
// is kept).
import { statSync } from 'node:fs';
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
 * Whether `dir` exists and belongs to the user running this command. A command may run as
 * another user than the service (root, a technician): it writes only into a cache folder of its
 * own, never creating one, so it leaves the service nothing it cannot replace.
 */
function ownsFolder(dir: string): boolean {
  const uid = process.getuid?.();
  const stat = statSync(dir, { throwIfNoEntry: false });
  return uid !== undefined && stat?.isDirectory() === true && stat.uid === uid;
}
