// Replaces a downloaded source's copy only with one known to be good: a school's filter must
// never get worse because an update went wrong. A new copy is written into a folder of its own
// (a "generation"), checked (it unpacks safely, it loads, it has not shrunk suspiciously), and
// only then does `current` point at it, by renaming a new symlink over the old one: a reader
// sees the old copy or the new one, never half of each. The generation before stays for rollback.
//
// Layout under sourceStore(dataDir, name):
//   <generation>/…       one complete copy (the extracted archive, or the single file `list`)
//   current -> <generation>
//   state.json           validators of the copy in use, its entry count, the last attempt
//   .update.lock         present while an update of this source runs
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { chmod, mkdir, open, readFile, readdir, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import { buildMatcherData } from '../classify/build.js';
import { entriesOf, type ListSpec, type ListStats } from '../classify/lists.js';
import type { ListSourceConfig } from '../config/types.js';
import { displayUrl, download } from './download.js';
import { DOWNLOADED_FILE, isFolderFormat, sourceLists, sourceStore } from './sources.js';

export interface UpdateOutcome {
  source: string;
  status: 'updated' | 'not-modified' | 'refused' | 'skipped';
  /** Why it was refused or skipped, in words for the technician. */
  reason?: string;
  /** Entries that load from the copy now in use. */
  entries?: number;
  /** Entries of the copy that was in use before this update. */
  previousEntries?: number;
  /** The generation folder now in use (updated only). */
  generation?: string;
  /** Problems in an accepted copy that did not stop it loading (e.g. a new list with no category). */
  warnings?: string[];
}

export interface EntryCount {
  entries: number;
  errors: string[];
  /** Entries by list name within the source (e.g. "adult"), so one vanished category shows. */
  lists?: Record<string, number>;
}

/** Lists smaller than this may shrink or vanish freely: small UT1 lists change a lot. */
export const SHRINK_CHECK_MIN_ENTRIES = 100;

/**
 * Counts the entries that load from `location` (what sourceLocation would return once the copy
 * is in use). It may return a promise, so a caller can count in a worker thread.
 */
export type CountEntries = (location: string) => EntryCount | Promise<EntryCount>;

export interface UpdateLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface UpdateLimits {
  /** Whole download, redirects included. */
  timeoutMs?: number;
  maxDownloadBytes?: number;
  /** Total bytes of the files an archive unpacks to. */
  maxExtractBytes?: number;
  /** Files and folders an archive may hold. */
  maxFiles?: number;
}

export interface UpdateDeps {
  log: UpdateLog;
  countEntries: CountEntries;
  now: () => Date;
  /** Extra CA certificates (PEM) to trust, added to those in the source's own `ca` file. */
  ca?: Buffer;
  limits?: UpdateLimits;
  signal?: AbortSignal;
}

/** updateAll serves several sources, so it is given a counter per source (e.g. `(s) => countEntriesWith(s, categoryOf)`). */
export interface UpdateAllDeps extends Omit<UpdateDeps, 'countEntries'> {
  countEntries: (source: ListSourceConfig) => CountEntries;
}

export const DEFAULT_MAX_EXTRACT_BYTES = 2 * 1024 * 1024 * 1024;
export const DEFAULT_MAX_FILES = 20_000;

const CURRENT = 'current';
const STATE = 'state.json';
const LOCK = '.update.lock';
/** A lock older than this is left over from a crash; no update runs this long. */
const STALE_LOCK_MS = 2 * 60 * 60_000;
const GENERATION = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z-[0-9a-f]{8}$/;
/** Leftovers of an interrupted update (work folders, downloads, half-made links). */
const LEFTOVER = /^\.(tmp|download|current|state)-/;

/** Modes of the folders and files of a copy: owner-only for sensitive (IWF-style) sources. */
export interface FileModes {
  readonly dir: number;
  readonly file: number;
}
const PUBLIC_MODES: FileModes = { dir: 0o755, file: 0o644 };
const SENSITIVE_MODES: FileModes = { dir: 0o700, file: 0o600 };

function shrunkLists(before: Record<string, number> | undefined, after: Record<string, number> | undefined, ratio: number): string[] {
  if (!before || !after) return [];
  const out: string[] = [];
  for (const [list, was] of Object.entries(before)) {
    const now = after[list] ?? 0;
    if (was >= SHRINK_CHECK_MIN_ENTRIES && now < ratio * was) out.push(`${list} ${was} -> ${now}`);
  }
  return out;
}

/** The default CountEntries: load the lists exactly as the proxy would, and count what loads. */
export function countEntriesWith(
  source: ListSourceConfig, categoryOf: (listName: string) => string | undefined,
): (location: string) => EntryCount {
  return (location) => {
    const lists = sourceLists(source, location, categoryOf);
    return countOf(lists.specs, buildMatcherData(lists.specs).stats, lists.errors);
  };
}

/** An EntryCount from a build's per-list stats. */
export function countOf(specs: readonly ListSpec[], stats: readonly ListStats[], sourceErrors: readonly string[]): EntryCount {
  const errors = [...sourceErrors];
  const lists: Record<string, number> = {};
  let entries = 0;
  stats.forEach((s, i) => {
    const n = entriesOf(s);
    entries += n;
    lists[specs[i]!.listName] = (lists[specs[i]!.listName] ?? 0) + n;
    if (s.error !== undefined) errors.push(`${s.name}: ${s.error}`);
  });
  return { entries, errors, lists };
}

/** Updates the sources one after another; one source's failure never stops the others. */
export async function updateAll(sources: readonly ListSourceConfig[], dataDir: string, deps: UpdateAllDeps): Promise<UpdateOutcome[]> {
  const outcomes: UpdateOutcome[] = [];
  for (const source of sources) {
    try {
      outcomes.push(await updateSource(source, dataDir, { ...deps, countEntries: deps.countEntries(source) }));
    } catch (err) {
      const reason = `unexpected error: ${messageOf(err)}`;
      deps.log.warn({ source: source.name, reason }, `${source.name}: update failed; the list in use stays in use`);
      outcomes.push({ source: source.name, status: 'refused', reason });
    }
  }
  return outcomes;
}

export async function updateSource(source: ListSourceConfig, dataDir: string, deps: UpdateDeps): Promise<UpdateOutcome> {
  if (source.url === undefined) {
    return { source: source.name, status: 'skipped', reason: `local source (read from ${source.path ?? 'its path'}); nothing to download` };
  }
  const store = sourceStore(dataDir, source.name);
  const modes = source.sensitive ? SENSITIVE_MODES : PUBLIC_MODES;
  let unlock;
  try {
    await mkdir(store, { recursive: true, mode: modes.dir });
    // mkdir leaves an existing folder's mode alone; a source that became sensitive must be closed now.
    if (source.sensitive) await chmod(store, modes.dir);
    unlock = await lock(store, deps.now());
  } catch (err) {
    const reason = `cannot use the folder ${store}: ${messageOf(err)}`;
    deps.log.warn({ source: source.name, reason }, `${source.name}: update refused; the list in use stays in use`);
    return { source: source.name, status: 'refused', reason };
  }
  if (unlock === undefined) {
    return {
      source: source.name, status: 'skipped',
      reason: `another update of ${source.name} is running (${join(store, LOCK)}; delete it if no update is running)`,
    };
  }
  try {
    return await attempt({ source, url: source.url, store, modes, deps });
  } finally {
    await unlock();
  }
}

interface Attempt {
  readonly source: ListSourceConfig;
  readonly url: string;
  readonly store: string;
  readonly modes: FileModes;
  readonly deps: UpdateDeps;
}

async function attempt({ source, url, store, modes, deps }: Attempt): Promise<UpdateOutcome> {
  const { log, now } = deps;
  const shown = displayUrl(url);
  const state = await readState(store);
  const attemptAt = now();
  const currentLocation = locationIn(join(store, CURRENT), source);
  const inUse = await exists(currentLocation);
  const generation = generationName(attemptAt);
  const work = join(store, `.tmp-${generation}`);
  const archive = join(store, `.download-${generation}`);

  const refuse = async (reason: string, extra: Partial<UpdateOutcome> = {}): Promise<UpdateOutcome> => {
    const consequence = inUse ? 'the list in use stays in use' : 'no copy of this list has been installed yet, so it is not in use';
    log.warn({ source: source.name, url: shown, reason }, `${source.name}: update refused; ${consequence}`);
    await writeState(store, { ...state, lastAttemptAt: attemptAt.toISOString(), lastError: reason }, modes).catch((err: unknown) =>
      log.warn({ source: source.name, error: messageOf(err) }, `${source.name}: cannot record the failed update in ${STATE}`));
    return { source: source.name, status: 'refused', reason, ...(state.entries === undefined ? {} : { entries: state.entries }), ...extra };
  };

  try {
    await mkdir(work, { mode: modes.dir });
    const folder = isFolderFormat(source.format);
    const candidate = locationIn(work, source);
    const limits = deps.limits ?? {};
    let ca: Buffer | undefined;
    try {
      ca = await trustedCas(source, deps.ca);
    } catch (err) {
      return await refuse(`cannot read the CA file ${source.ca ?? ''} set for this source: ${messageOf(err)}`);
    }

    let fetched;
    try {
      fetched = await download(url, folder ? archive : candidate, {
        ...(ca === undefined ? {} : { ca }),
        ...(limits.timeoutMs === undefined ? {} : { timeoutMs: limits.timeoutMs }),
        ...(limits.maxDownloadBytes === undefined ? {} : { maxBytes: limits.maxDownloadBytes }),
        // Validators only mean something while the copy they describe is still there.
        ...(inUse && state.etag !== undefined ? { etag: state.etag } : {}),
        ...(inUse && state.lastModified !== undefined ? { lastModified: state.lastModified } : {}),
        ...(deps.signal === undefined ? {} : { signal: deps.signal }),
        mode: modes.file,
      });
    } catch (err) {
      return await refuse(messageOf(err));
    }

    if (fetched.status === 'not-modified') {
      await writeState(store, { ...state, lastAttemptAt: attemptAt.toISOString(), lastError: null }, modes);
      log.info({ source: source.name, url: shown }, `${source.name}: the server has no newer copy`);
      return { source: source.name, status: 'not-modified', ...(state.entries === undefined ? {} : { entries: state.entries }) };
    }

    if (folder) {
      try {
        await extractArchive(archive, work, {
          maxBytes: limits.maxExtractBytes ?? DEFAULT_MAX_EXTRACT_BYTES,
          maxFiles: limits.maxFiles ?? DEFAULT_MAX_FILES,
        }, modes);
      } catch (err) {
        return await refuse(`the archive from ${shown} is damaged or unsafe: ${messageOf(err)}`);
      } finally {
        await rm(archive, { force: true });
      }
    }

    const count = await deps.countEntries(candidate);
    if (count.entries === 0) {
      // The work folder is deleted on refusal; name it as what it was.
      const errors = count.errors.map((e) => e.split(work).join('the downloaded copy'));
      const why = errors.length > 0 ? `: ${summary(errors)}`
        : source.format === 'list' ? ' (no domains, urls or expressions file at the top of the archive)' : ' (no entries found)';
      return await refuse(`nothing in the new copy loads${why}`);
    }
    // The copy in use is counted again rather than trusting state.json: if the category map
    // changed since, both counts must be made the same way to be comparable.
    const inUseCount = inUse ? await deps.countEntries(currentLocation) : undefined;
    const previous = inUseCount?.entries;
    const percent = Math.round(source.minKeepRatio * 100);
    const advice = 'this usually means a broken or partial list (if it really shrank, lower minKeepRatio on the source)';
    if (previous !== undefined && previous > 0 && count.entries < source.minKeepRatio * previous) {
      return await refuse(
        `the new copy has ${count.entries} entries, fewer than ${percent}% of the ${previous} in the copy in use; ${advice}`,
        { previousEntries: previous },
      );
    }
    // Per list as well: UT1's adult list is most of its entries, so the total alone would let
    // every other category vanish unnoticed.
    const shrunk = shrunkLists(inUseCount?.lists, count.lists, source.minKeepRatio);
    if (shrunk.length > 0) {
      return await refuse(`lists would shrink below ${percent}% or vanish: ${shrunk.join(', ')}; ${advice}`, { previousEntries: previous! });
    }

    const before = await currentGeneration(store);
    await install(store, work, generation);
    const warnings = count.errors.map((e) => e.split(work).join(join(store, generation)));
    // From here the new copy is in use: a failure to record it is reported, not turned into a refusal.
    await writeState(store, {
      ...(fetched.etag === undefined ? {} : { etag: fetched.etag }),
      ...(fetched.lastModified === undefined ? {} : { lastModified: fetched.lastModified }),
      entries: count.entries, generation, ...(before === undefined ? {} : { previousGeneration: before }),
      updatedAt: attemptAt.toISOString(), lastAttemptAt: attemptAt.toISOString(), lastError: null,
    }, modes).catch((err: unknown) =>
      log.warn({ source: source.name, error: messageOf(err) }, `${source.name}: cannot record the new copy in ${STATE}; the next update downloads in full`));
    await prune(store, new Set([generation, ...(before === undefined ? [] : [before])])).catch((err: unknown) =>
      log.warn({ source: source.name, error: messageOf(err) }, `${source.name}: cannot delete old copies`));
    // Sensitive sources' errors name files and lists, never entries, so they can be logged.
    log.info({ source: source.name, url: shown, entries: count.entries, previousEntries: previous, generation, bytes: fetched.bytes },
      `${source.name}: new copy in use`);
    if (warnings.length > 0) log.warn({ source: source.name, problems: warnings.slice(0, 20) }, `${source.name}: parts of the new copy do not load`);
    return {
      source: source.name, status: 'updated', entries: count.entries, generation,
      ...(previous === undefined ? {} : { previousEntries: previous }),
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  } catch (err) {
    return await refuse(`unexpected error: ${messageOf(err)}`);
  } finally {
    await rm(work, { recursive: true, force: true });
    await rm(archive, { force: true });
  }
}

/** Where a copy's lists are read from inside a generation folder (mirrors sourceLocation). */
function locationIn(folder: string, source: ListSourceConfig): string {
  return isFolderFormat(source.format) ? folder : join(folder, DOWNLOADED_FILE);
}

async function trustedCas(source: ListSourceConfig, extra: Buffer | undefined): Promise<Buffer | undefined> {
  const own = source.ca === undefined ? undefined : await readFile(source.ca);
  if (own === undefined) return extra;
  return extra === undefined ? own : Buffer.concat([own, Buffer.from('\n'), extra]);
}

function generationName(at: Date): string {
  // Colons are not allowed in Windows file names, and a backup tool may copy data/ there.
  return `${at.toISOString().replace(/:/g, '-')}-${randomBytes(4).toString('hex')}`;
}

async function currentGeneration(store: string): Promise<string | undefined> {
  try {
    const target = await readlink(join(store, CURRENT));
    return GENERATION.test(target) ? target : undefined;
  } catch {
    return undefined;
  }
}

/** Moves the checked work folder into place and points `current` at it in one rename. */
async function install(store: string, work: string, generation: string): Promise<void> {
  await rename(work, join(store, generation));
  const link = join(store, `.current-${generation}`);
  // A relative target, so the data folder can be moved or restored from backup elsewhere.
  await symlink(generation, link, 'dir');
  await rename(link, join(store, CURRENT));
  await syncDir(store);
}

/** Deletes every generation but `keep`, and leftovers of interrupted updates (we hold the lock). */
async function prune(store: string, keep: ReadonlySet<string>): Promise<void> {
  for (const name of await readdir(store)) {
    if ((GENERATION.test(name) && !keep.has(name)) || LEFTOVER.test(name)) {
      await rm(join(store, name), { recursive: true, force: true });
    }
  }
}

/** Makes renames in `dir` survive a power cut; not possible on every platform, and then the rename is still atomic. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows cannot open a folder for fsync.
  } finally {
    await handle?.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

// ---- state.json ---------------------------------------------------------------------------

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

async function readState(store: string): Promise<SourceState> {
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

async function writeState(store: string, state: SourceState, modes: FileModes): Promise<void> {
  const tmp = join(store, `.state-${randomBytes(4).toString('hex')}`);
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: modes.file, flush: true });
  await rename(tmp, join(store, STATE));
}

// ---- lock ---------------------------------------------------------------------------------

/**
 * Takes the source's update lock (the scheduler in the proxy and a technician's
 * `lists update` may run at once); undefined when another live update holds it.
 */
async function lock(store: string, now: Date): Promise<(() => Promise<void>) | undefined> {
  const path = join(store, LOCK);
  for (let tries = 0; tries < 2; tries++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(JSON.stringify({ pid: process.pid, at: now.toISOString() }));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!(await lockIsStale(path, now))) return undefined;
      await rm(path, { force: true });
    }
  }
  return undefined;
}

async function lockIsStale(path: string, now: Date): Promise<boolean> {
  let holder: { pid?: unknown; at?: unknown };
  try {
    holder = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown; at?: unknown };
  } catch {
    return true;
  }
  const at = typeof holder.at === 'string' ? Date.parse(holder.at) : NaN;
  if (!Number.isFinite(at) || now.getTime() - at > STALE_LOCK_MS) return true;
  if (typeof holder.pid !== 'number') return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

// ---- safe archive extraction --------------------------------------------------------------

export interface ExtractLimits {
  readonly maxBytes: number;
  readonly maxFiles: number;
}

export class ArchiveError extends Error {
  override readonly name = 'ArchiveError';
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const MAX_DEPTH = 8;
const TYPE_WORDS: Partial<Record<string, string>> = {
  SymbolicLink: 'a symbolic link', Link: 'a hard link', CharacterDevice: 'a device', BlockDevice: 'a device',
  FIFO: 'a named pipe', GNUDumpDir: 'a GNU dump folder',
};

/**
 * Unpacks a .tar(.gz) into the empty folder `into`, refusing the whole archive at the first
 * entry that is not a plain file or folder inside `into`, or when it exceeds `limits`.
 *
 * Why tar's Parser and our own writing, not tar.x: the Parser does the parts that are easy to
 * get wrong (gzip detection, checksums, pax and GNU long names, a decompression-ratio guard),
 * while tar.x's unpacker follows the archive's wishes on links, modes and owners and has had
 * several path-escape bugs. Writing ourselves, the only file-system calls are mkdir and an
 * exclusive create of a checked path under `into`, with the modes we choose; we never create a
 * link, so nothing written can point outside.
 */
export async function extractArchive(archive: string, into: string, limits: ExtractLimits, modes: FileModes = PUBLIC_MODES): Promise<{ files: number; bytes: number }> {
  const parser = new Parser({ strict: true });
  const input = createReadStream(archive);
  const streams: WriteStream[] = [];
  const writes: Promise<void>[] = [];
  /** Resolve when each file is closed: a destroyed stream may still be opening its file. */
  const closes: Promise<void>[] = [];
  let entries = 0;
  let bytes = 0;
  let settled = false;

  return new Promise((resolve, reject) => {
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      input.unpipe();
      input.destroy();
      for (const s of streams) s.destroy();
      // Wait until every file is closed, so the caller can delete the folder cleanly.
      void Promise.allSettled([...writes, ...closes]).then(() => reject(err instanceof ArchiveError ? err : new ArchiveError(messageOf(err))));
    };

    parser.on('entry', (entry: ReadEntry) => {
      if (settled) {
        entry.resume();
        return;
      }
      const rel = checkEntry(entry);
      if (rel instanceof ArchiveError) {
        entry.resume();
        return fail(rel);
      }
      if (++entries > limits.maxFiles) {
        entry.resume();
        return fail(new ArchiveError(`more than ${limits.maxFiles} files and folders`));
      }
      if (entry.type === 'Directory') {
        entry.resume();
        if (rel !== '') writes.push(mkdir(join(into, rel), { recursive: true, mode: modes.dir }).then(() => undefined));
        return;
      }
      bytes += entry.size;
      if (bytes > limits.maxBytes) {
        entry.resume();
        return fail(new ArchiveError(`unpacks to more than ${Math.round(limits.maxBytes / (1024 * 1024))} MB`));
      }
      const target = join(into, rel);
      writes.push((async () => {
        await mkdir(dirname(target), { recursive: true, mode: modes.dir });
        if (settled) {
          entry.resume();
          return;
        }
        const file = createWriteStream(target, { flags: 'wx', mode: modes.file, flush: true });
        streams.push(file);
        closes.push(new Promise((resolve) => file.once('close', () => resolve())));
        entry.pipe(file);
        await finished(file);
      })().catch((err: unknown) => {
        const e = err as NodeJS.ErrnoException;
        fail(e.code === 'EEXIST' ? new ArchiveError(`"${rel}" appears twice`) : e.code === 'ENOTDIR' ? new ArchiveError(`"${rel}" is inside a file`) : err);
      }));
    });
    // Entries tar cannot classify (or oversized metadata) are skipped by the Parser; we refuse them.
    parser.on('ignoredEntry', (entry: ReadEntry) => fail(new ArchiveError(`"${entry.path}" is an entry of a kind not accepted (${String(entry.type)})`)));
    parser.on('error', (err: unknown) => fail(new ArchiveError(`${messageOf(err).replace(/^TAR_BAD_ARCHIVE: /, '')} (is it a complete .tar.gz archive?)`)));
    parser.on('end', () => {
      void Promise.all(writes).then(() => {
        if (settled) return;
        settled = true;
        resolve({ files: entries, bytes });
      }, fail);
    });
    input.on('error', fail);
    input.pipe(parser as unknown as NodeJS.WritableStream);
  });
}

/** The entry's path relative to the extraction folder ('' for the folder itself), or why it is refused. */
function checkEntry(entry: ReadEntry): string | ArchiveError {
  const path = entry.path;
  if (entry.type !== 'Directory' && !FILE_TYPES.has(entry.type)) {
    return new ArchiveError(`"${path}" is ${TYPE_WORDS[entry.type] ?? `an entry of type ${String(entry.type)}`}; only plain files and folders are accepted`);
  }
  if (path.includes('\0') || path.includes('\\')) return new ArchiveError(`"${path.replace(/\0/g, '\\0')}" has a character not allowed in a path`);
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) return new ArchiveError(`"${path}" is an absolute path`);
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return new ArchiveError(`"${path}" points outside the archive's folder`);
  if (parts.length > MAX_DEPTH) return new ArchiveError(`"${path}" is nested too deep`);
  if (parts.length === 0 && entry.type !== 'Directory') return new ArchiveError(`a file entry has no name`);
  return parts.join('/');
}

function summary(errors: readonly string[]): string {
  const shown = errors.slice(0, 3).join('; ');
  return errors.length > 3 ? `${shown} (and ${errors.length - 3} more)` : shown;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
