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
// (generations.ts keeps the copies and the link, source-state.ts the state file, update-lock.ts
// the lock, extract-archive.ts unpacks; this file decides whether a new copy is good enough.)
import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildMatcherData } from '../classify/build.js';
import { entriesOf, type ListSpec, type ListStats } from '../classify/lists.js';
import type { ListSourceConfig } from '../config/types.js';
import { messageOf } from '../log.js';
import { displayUrl, download } from './download.js';
import { extractArchive } from './extract-archive.js';
import { CURRENT, currentGeneration, generationName, install, prune, PUBLIC_MODES, SENSITIVE_MODES, type FileModes } from './generations.js';
import { readState, STATE, writeState } from './source-state.js';
import { LOCK, lock } from './update-lock.js';
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

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function summary(errors: readonly string[]): string {
  const shown = errors.slice(0, 3).join('; ');
  return errors.length > 3 ? `${shown} (and ${errors.length - 3} more)` : shown;
}
