// A downloaded source's copies on disk: each complete copy in a folder of its own (a
// "generation"), and `current`, a symlink renamed over the old one, saying which is in use. A
// reader sees the old copy or the new one, never half of each; the generation before stays for
// rollback.
import { randomBytes } from 'node:crypto';
import { open, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The link to the copy in use, inside a source's folder. */
export const CURRENT = 'current';
const GENERATION = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z-[0-9a-f]{8}$/;
/** Leftovers of an interrupted update (work folders, downloads, half-made links). */
const LEFTOVER = /^\.(tmp|download|current|state)-/;

/** Modes of the folders and files of a copy: owner-only for sensitive (IWF-style) sources. */
export interface FileModes {
  readonly dir: number;
  readonly file: number;
}
export const PUBLIC_MODES: FileModes = { dir: 0o755, file: 0o644 };
export const SENSITIVE_MODES: FileModes = { dir: 0o700, file: 0o600 };

export function generationName(at: Date): string {
  // Colons are not allowed in Windows file names, and a backup tool may copy data/ there.
  return `${at.toISOString().replace(/:/g, '-')}-${randomBytes(4).toString('hex')}`;
}

export async function currentGeneration(store: string): Promise<string | undefined> {
  try {
    const target = await readlink(join(store, CURRENT));
    return GENERATION.test(target) ? target : undefined;
  } catch {
    return undefined;
  }
}

/** Moves the checked work folder into place and points `current` at it in one rename. */
export async function install(store: string, work: string, generation: string): Promise<void> {
  await rename(work, join(store, generation));
  const link = join(store, `.current-${generation}`);
  // A relative target, so the data folder can be moved or restored from backup elsewhere.
  await symlink(generation, link, 'dir');
  await rename(link, join(store, CURRENT));
  await syncDir(store);
}

/** Deletes every generation but `keep`, and leftovers of interrupted updates (we hold the lock). */
export async function prune(store: string, keep: ReadonlySet<string>): Promise<void> {
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
