// The compiled phrase rules kept on disk, so that a restart with the same phrase files and the
// same code does not compile them again. Compiling the shipped rules costs seconds of CPU
// (generating word forms, the evasion tables, the automaton); reading them back costs the
// structured clone of the matcher, as its arrival from a worker thread does (bench/RESULTS.md,
// "Phrase rules kept on disk").
//
// A file is named by a hash of the rules' fingerprint (fingerprintOf: every setting the matcher
// is compiled from) and of the code that compiles them (this folder's modules, the packages they
// draw words from, and Node's version, whose serialisation format the file is in), so a changed
// rule, an upgrade or a different Node never reads a stale matcher: it misses, compiles, and
// writes its own file. Only the newest file is kept. The file is written by the running service
// into its own state folder; it holds data only (typed arrays and plain objects, given their
// classes back from a fixed list by index), never code.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { unpack, type Packed, type Sendable } from '../worker-transfer.js';
import { keptFolder } from '../config/kept.js';
import type { PhraseMatcher, PhraseSettings } from './phrases.js';

/** The rules compiled, with entryKey() of each of the settings' entries (null: it does not parse). */
export interface Compiled {
  readonly matcher: PhraseMatcher;
  readonly ruleKeys: readonly (string | null)[];
}

const FORMAT = 1;
const PREFIX = 'phrases-';
const SUFFIX = '.v8';
/**
 * Files kept: the newest two, so that going back one version (a rolled-back upgrade, a phrase file
 * restored) costs no compile, and the compiled program and a checkout's sources, which hash
 * differently, do not push each other out of a shared state folder.
 */
const KEEP = 2;
/**
 * Packages whose data becomes part of what is kept: the compiled rules (word forms, WordNet's
 * words, the regex engine) and the files as parsed (the YAML parser).
 */
const DATA_PACKAGES = ['wink-porter2-stemmer', 'wink-lexicon', 're2js', 'yaml'];

let code: string | null = null;

/**
 * A hash of what reads and compiles the rules: this folder's and ../config's modules as they run
 * (.ts or .js), those packages' versions, Node's. Run compiled (dist/), the build's stamp stands
 * for the modules: a hash of every source they were compiled from (bin/build.js), which a
 * command reads rather than read and hash some hundred modules (tens of milliseconds of each).
 */
export function codeVersion(): string {
  if (code !== null) return code;
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  const h = createHash('sha256').update(`${FORMAT}\0${process.version}\0`);
  const stamp = ext === '.js' ? buildStamp(join(dirname(here), '..', '.source-hash')) : null;
  if (stamp !== null) h.update(`built from ${stamp}\0`);
  // This folder compiles the rules; ../config reads the files they come from (YAML, checks).
  else {
    for (const folder of [dirname(here), join(dirname(here), '..', 'config')]) {
      for (const name of readdirSync(folder).filter((f) => f.endsWith(ext)).sort()) h.update(`${name}\0`).update(readFileSync(join(folder, name))).update('\0');
    }
  }
  for (const name of DATA_PACKAGES) h.update(`${name}@${packageVersion(name)}\0`);
  return (code = h.digest('hex'));
}

/** The build's stamp (bin/build.js: the sources' hash and the compiler's version), or null when there is none (an image built otherwise). */
function buildStamp(file: string): string | null {
  try {
    const stamp = readFileSync(file, 'utf8').trim();
    return /^[0-9a-f]{64} /.test(stamp) ? stamp : null;
  } catch {
    return null;
  }
}

/** An installed package's version, from the package.json above its entry point (not every package exports that file). */
function packageVersion(name: string): string {
  let dir = dirname(createRequire(import.meta.url).resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version ?? '';
    } catch {
      // no package.json at this level
    }
    const up = dirname(dir);
    if (up === dir) return '';
    dir = up;
  }
}

/** The folder of the state folder where a running Schoolgate keeps its compiled phrase rules and parsed phrase files. */
export function phraseCacheDir(dataDir: string): string {
  return join(dataDir, 'cache');
}

/** The file that holds, or would hold, the rules of this fingerprint compiled by this code. */
export function cacheFile(dir: string, fingerprint: string): string {
  return join(dir, `${PREFIX}${createHash('sha256').update(`${fingerprint}\0${codeVersion()}`).digest('hex').slice(0, 32)}${SUFFIX}`);
}

/**
 * The bytes kept for this fingerprint, or null when there are none or they cannot be read (a
 * cache that cannot be read is a miss; writing the compiled rules then says what is wrong).
 */
export function readCached(dir: string, fingerprint: string): Uint8Array | null {
  try {
    return readFileSync(cacheFile(dir, fingerprint));
  } catch {
    return null;
  }
}

interface Stored {
  readonly format: number;
  readonly matcher: object;
  readonly instances: readonly (readonly [object, number])[];
  readonly ruleKeys: readonly (string | null)[];
}

/**
 * Writes the compiled rules for this fingerprint (before their buffers are sent away) and removes
 * all but the newest older one. `packed` is what pack() found in the matcher. Written under a temporary name and
 * renamed, so a crash mid-write leaves no half file under the real name.
 */
export function writeCached(dir: string, fingerprint: string, compiled: Compiled, packed: Packed): void {
  mkdirSync(dir, { recursive: true });
  const file = cacheFile(dir, fingerprint);
  const stored: Stored = { format: FORMAT, matcher: compiled.matcher, instances: packed.instances, ruleKeys: compiled.ruleKeys };
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, v8.serialize(stored));
  renameSync(temporary, file);
  removeOlder(dir, PREFIX, SUFFIX, file, KEEP);
}

/** Removes the files named `prefix…suffix` in `dir` but `file` (just written) and the newest `keep - 1` others. */
export function removeOlder(dir: string, prefix: string, suffix: string, file: string, keep: number): void {
  const older = readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && name.endsWith(suffix) && join(dir, name) !== file)
    .map((name) => ({ path: join(dir, name), at: statSync(join(dir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.at - a.at);
  for (const { path } of older.slice(keep - 1)) rmSync(path, { force: true });
}

/** The rules back from their bytes; throws, saying what is wrong, on a file that is not one of ours. */
export function decodeCached(bytes: Uint8Array, classes: readonly Sendable[]): Compiled {
  const stored = v8.deserialize(bytes) as Partial<Stored> | null;
  if (stored === null || typeof stored !== 'object' || stored.format !== FORMAT) throw new Error('the phrase cache file is not in this version\'s format');
  const { matcher, instances, ruleKeys } = stored;
  if (typeof matcher !== 'object' || matcher === null || !Array.isArray(instances) || !Array.isArray(ruleKeys)) throw new Error('the phrase cache file is incomplete');
  for (const entry of instances) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'object' || !Number.isInteger(entry[1]) || entry[1] < 0 || entry[1] >= classes.length) throw new Error('the phrase cache file names a class it may not');
  }
  return { matcher: unpack<PhraseMatcher>(matcher, { instances }, classes), ruleKeys };
}

// ---------------------------------------------------------------- parsed phrase files

/**
 * What is kept of a file as parsed: `lexicon`, a phrase file as read (phrase-file.ts); `yaml`,
 * a YAML file's value and key lines (config/yaml.ts); `model`, the search model built from its
 * JSON (config.ts); `identity`, the hash of a file's text by its identity (seeFile). Each has its own file per path.
 */
export type ParsedKind = 'lexicon' | 'yaml' | 'model' | 'identity';

/**
 * One file as parsed, kept beside the compiled rules: reading 800 KB of YAML with the
 * positions each rule's evidence names takes about half a second, most of a restart's own work
 * once the rules are compiled; the configuration's few YAML files cost a command more than
 * anything else it does (the parser's code loaded and run cold). A file per source file and kind,
 * named by its path; it holds the hash of the text and code it was parsed from, and is used only
 * when both are the same.
 */
export function parsedFile(dir: string, path: string, kind: ParsedKind = 'lexicon'): string {
  return join(dir, `${kind}-${createHash('sha256').update(path).digest('hex').slice(0, 24)}${SUFFIX}`);
}

function parsedKey(path: string, textHash: string, kind: ParsedKind): string {
  return createHash('sha256').update(`${codeVersion()}\0${kind}\0${path}\0${textHash}`).digest('hex');
}

/** What `path` parsed to when its text's hash (textHash) was `hash`, or null (none kept, another text or code, unreadable). */
export function readParsed<T>(dir: string, path: string, hash: string, kind: ParsedKind = 'lexicon'): T | null {
  try {
    const stored = v8.deserialize(readFileSync(parsedFile(dir, path, kind))) as { key?: unknown; value?: T } | null;
    return stored !== null && typeof stored === 'object' && stored.key === parsedKey(path, hash, kind) && stored.value !== undefined ? stored.value : null;
  } catch {
    return null;
  }
}

/** Keeps what `path` parsed to from a text of this hash; a failure to write is not an error of the file (it is parsed again next time). */
export function writeParsed(dir: string, path: string, hash: string, value: unknown, kind: ParsedKind = 'lexicon'): void {
  try {
    mkdirSync(dir, { recursive: true });
    const file = parsedFile(dir, path, kind);
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, v8.serialize({ key: parsedKey(path, hash, kind), value }));
    renameSync(temporary, file);
  } catch {
    // the next start parses the file again
  }
}

// ---------------------------------------------------------------- texts known by their file's identity

/** The hash by which what is kept of a text is found (parsed, checked). */
export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A source file as seen now: its text's hash, and its text when it was read to find that (null: known by the file's identity). */
export interface SeenFile {
  readonly hash: string;
  readonly text: string | null;
}

export interface FileIdentity {
  readonly key: string;
  readonly changedMs: number;
}

/**
 * A file's identity: its path, size, modification and change times (nanoseconds) and inode; null
 * when it cannot be stat'ed. `changedMs`: the later of its times. The kept list tables are named
 * by the same (kept-tables.ts).
 */
export function fileIdentity(path: string): FileIdentity | null {
  const s = statSync(path, { bigint: true, throwIfNoEntry: false });
  if (s === undefined) return null;
  const changed = s.mtimeNs > s.ctimeNs ? s.mtimeNs : s.ctimeNs;
  return { key: `${path}\0${s.size}\0${s.mtimeNs}\0${s.ctimeNs}\0${s.ino}`, changedMs: Number(changed / 1_000_000n) };
}

/**
 * How long ago a file must have changed for its identity to be kept: file times tick coarsely
 * (a few milliseconds), so a file rewritten at the same size within one tick of being read would
 * keep its identity; one that changed this long before it was read cannot (as git's "racily
 * clean" entries). A fresher file is read again next time.
 */
const SETTLED_MS = 1000;

/**
 * Whether what was read from a file whose identity was `before` (taken before reading it) may be
 * kept under that identity: the file had settled by `now` (when it was read) and is the same now.
 * Kept phrase and model texts (seeFile) and kept list tables (kept-tables.ts) are both kept only so.
 */
export function keepableAs(before: FileIdentity | null, now: number, after: () => string | null): before is FileIdentity {
  return before !== null && before.changedMs < now - SETTLED_MS && after() === before.key;
}

/** A file's identity with the code's: a kept hash is good for this code only. */
function identityOf(path: string): FileIdentity | null {
  const id = fileIdentity(path);
  return id === null ? null : { key: `${codeVersion()}\0${id.key}`, changedMs: id.changedMs };
}

/**
 * The hash of `path`'s text, found by the file's identity when it was read before in this state
 * folder (as kept-tables.ts finds list files), so that a restart reads no phrase or model file
 * (4 MB each for the models) only to look up what it parsed them to; else `read` (which throws as
 * a failed read should) and hashed, and its identity kept where this process may write. One
 * file per path, named by its path, replaced when the file changes. `now`: when it is read (a test
 * may say later, as if the file had settled).
 */
export function seeFile(kept: { readonly dir: string; readonly write: boolean } | null, path: string, read: (path: string) => string, now = Date.now()): SeenFile {
  const before = kept === null ? null : identityOf(path);
  const file = kept === null ? '' : parsedFile(kept.dir, path, 'identity');
  if (before !== null) {
    try {
      const stored = v8.deserialize(readFileSync(file)) as { identity?: unknown; hash?: unknown } | null;
      if (stored !== null && typeof stored === 'object' && stored.identity === before.key && typeof stored.hash === 'string') return { hash: stored.hash, text: null };
    } catch {
      // not seen before: read below
    }
  }
  const text = read(path);
  const hash = textHash(text);
  // Kept only when the file did not change while it was read (its identity the same after).
  if (kept?.write && keepableAs(before, now, () => identityOf(path)?.key ?? null)) {
    try {
      mkdirSync(kept.dir, { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      writeFileSync(temporary, v8.serialize({ identity: before.key, hash }));
      renameSync(temporary, file);
    } catch {
      // read again next time
    }
  }
  return { hash, text };
}

// ---------------------------------------------------------------- checks passed

const CHECKED_PREFIX = 'checked-';
/**
 * Checks remembered: a few per kind (the cross-file checks, the search and post models, the rules'
 * keys `phrases list` shows), so going back one version costs nothing.
 */
const CHECKED_KEEP = 12;

function checkedKey(what: string, inputs: readonly string[]): string {
  const h = createHash('sha256').update(`${codeVersion()}\0${what}\0`);
  for (const input of inputs) h.update(`${input.length}\0`).update(input);
  return h.digest('hex');
}

/**
 * What a check over exactly these inputs (a phrase file's text, a model file's) found when it
 * passed in an earlier run, or null (never passed, other inputs or code, unreadable). A check
 * that reports problems is never kept, so a kept one means there are none.
 */
export function readChecked<T>(dir: string, what: string, inputs: readonly string[]): T | null {
  const key = checkedKey(what, inputs);
  try {
    const stored = v8.deserialize(readFileSync(join(dir, `${CHECKED_PREFIX}${key.slice(0, 32)}${SUFFIX}`))) as { key?: unknown; value?: T } | null;
    return stored !== null && typeof stored === 'object' && stored.key === key && stored.value !== undefined ? stored.value : null;
  } catch {
    return null;
  }
}

/** Keeps what a check that passed found (not undefined); a failure to write only means checking again next time. */
export function writeChecked(dir: string, what: string, inputs: readonly string[], value: unknown): void {
  const key = checkedKey(what, inputs);
  try {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${CHECKED_PREFIX}${key.slice(0, 32)}${SUFFIX}`);
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, v8.serialize({ key, value }));
    renameSync(temporary, file);
    removeOlder(dir, CHECKED_PREFIX, SUFFIX, file, CHECKED_KEEP);
  } catch {
    // checked again next time
  }
}

// ---------------------------------------------------------------- the rules' fingerprint

/** What settings were read from (readFrom), and their fingerprints once known. */
const sourcesOf = new WeakMap<PhraseSettings, readonly string[]>();
const fingerprints = new WeakMap<PhraseSettings, string>();

/**
 * Says what `s` was read from: its scores, its phrase files' paths and their texts' hashes (which,
 * with the code, decide every rule). fingerprintOf then finds the fingerprint an earlier run
 * worked out from the same sources in the kept folder, rather than hash the thousands of rules
 * again (0.04–0.16 s in each process of a start). `s` is never changed once read.
 */
export function readFrom(s: PhraseSettings, sources: readonly string[]): void {
  sourcesOf.set(s, sources);
}

/** A hash of everything of the settings a matcher depends on (some tens of milliseconds for the shipped lists). */
export function fingerprintOf(s: PhraseSettings): string {
  const known = fingerprints.get(s);
  if (known !== undefined) return known;
  const sources = sourcesOf.get(s);
  const kept = sources === undefined ? null : keptFolder();
  const back = kept === null ? null : readChecked<string>(kept.dir, 'fingerprint', sources!);
  const fingerprint = back ?? createHash('sha256').update(JSON.stringify([s.threshold, s.thresholds, s.danger, s.entries, s.classes, s.emoji])).digest('hex');
  if (back === null && kept?.write) writeChecked(kept.dir, 'fingerprint', sources!, fingerprint);
  if (sources !== undefined) fingerprints.set(s, fingerprint);
  return fingerprint;
}
