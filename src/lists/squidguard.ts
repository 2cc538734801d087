// Enumerates the lists of a squidGuard-layout folder: DIR/<list>/{domains,urls,expressions}.
// UT1's tarball wraps its lists in one more folder (blacklists/); that wrapper is looked through.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ListFile, ListRole, ListSpec } from '../classify/lists.js';

const LIST_FILES = ['domains', 'urls', 'expressions'] as const;

export interface SquidGuardOptions {
  readonly source: string;
  readonly role: ListRole;
  readonly sensitive: boolean;
  /** The category of a list by its folder name; undefined when the list has none. */
  categoryOf(listName: string): string | undefined;
}

export interface SquidGuardScan {
  readonly specs: ListSpec[];
  /** Folders that hold list files but map to no category: reported, not loaded. */
  readonly unmapped: string[];
}

function isListDir(dir: string): boolean {
  return LIST_FILES.some((f) => existsSync(join(dir, f)));
}

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() || (d.isSymbolicLink() && isDirectory(join(dir, d.name))))
    .map((d) => d.name)
    .sort();
}

/** Follows a link; a dangling one is simply not a list folder. */
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The folder that directly holds the list folders (descending through single wrapper folders). */
export function squidGuardRoot(dir: string): string {
  let root = dir;
  for (let depth = 0; depth < 3; depth++) {
    const subs = subdirs(root);
    if (subs.some((s) => isListDir(join(root, s)))) return root;
    if (subs.length !== 1) return root;
    root = join(root, subs[0]!);
  }
  return root;
}

export function scanSquidGuard(dir: string, opts: SquidGuardOptions): SquidGuardScan {
  const root = squidGuardRoot(dir);
  const specs: ListSpec[] = [];
  const unmapped: string[] = [];
  for (const name of subdirs(root)) {
    const listDir = join(root, name);
    if (!isListDir(listDir)) continue;
    const category = opts.categoryOf(name);
    if (category === undefined) {
      unmapped.push(name);
      continue;
    }
    const files: ListFile[] = LIST_FILES.map((kind) => ({ kind, path: join(listDir, kind), optional: true }));
    specs.push({
      name: `${opts.source}/${name}`, source: opts.source, listName: name, category,
      role: opts.role, sensitive: opts.sensitive, files,
    });
  }
  return { specs, unmapped };
}
