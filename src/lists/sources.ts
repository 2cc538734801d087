// From configured sources to the ListSpecs the matcher is built from. A local source is read
// where it is; a downloaded one from its current copy under data/lists/<name>/, which only a
// validated update ever replaces.
import { existsSync, lstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ILLEGAL_CATEGORIES } from '../classify/categories.js';
import type { ListFileKind, ListSpec } from '../classify/lists.js';
import type { ListSourceConfig, SourceFormat } from '../config/types.js';
import { scanSquidGuard } from './squidguard.js';

const FILE_KIND: Readonly<Record<Exclude<SourceFormat, 'squidguard' | 'list'>, ListFileKind>> = {
  domains: 'domains', urls: 'urls', hosts: 'hosts', iwf: 'iwf', 'sha256-urls': 'sha256',
};

/** The file name a downloaded single-file source is stored under. */
export const DOWNLOADED_FILE = 'list';

export function isFolderFormat(format: SourceFormat): boolean {
  return format === 'squidguard' || format === 'list';
}

/** Where a downloaded source's copies live. */
export function sourceStore(dataDir: string, name: string): string {
  return join(dataDir, 'lists', name);
}

/** The folder or file a source is read from now; for a downloaded source, its current copy. */
export function sourceLocation(source: ListSourceConfig, dataDir: string): string {
  if (source.path !== undefined) return source.path;
  const current = join(sourceStore(dataDir, source.name), 'current');
  return isFolderFormat(source.format) ? current : join(current, DOWNLOADED_FILE);
}

export interface SourceLists {
  readonly specs: ListSpec[];
  /** Problems that stop part or all of this source loading; the other sources still load. */
  readonly errors: string[];
  /**
   * A downloaded source that has never been downloaded (a fresh install): its one error says so,
   * and it is not a failure, since nothing went wrong yet.
   */
  readonly notDownloaded?: boolean;
}

/**
 * The lists of one source found at `location`. `categoryOf` maps a list's name to a category
 * id (the category map in config); a source-level `category` overrides it.
 */
export function sourceLists(source: ListSourceConfig, location: string, categoryOf: (listName: string) => string | undefined): SourceLists {
  let found: SourceLists;
  try {
    found = findLists(source, location, categoryOf);
  } catch (err) {
    // An unreadable folder (permissions, a dangling link) costs this source, never the others.
    return { specs: [], errors: [`${source.name}: cannot read ${location}: ${(err as Error).message}`] };
  }
  const checked = illegalIsNotASetting(source, found);
  return found.notDownloaded ? { ...checked, notDownloaded: true } : checked;
}

/**
 * Lists whose category is illegal (IWF, terrorism) are always category lists and always
 * sensitive, whatever the source says: a squidGuard folder of the school's allow entries
 * that happens to hold an iwf/ list must not turn it into an allow list or show its entries.
 */
function illegalIsNotASetting(source: ListSourceConfig, found: SourceLists): SourceLists {
  const errors = [...found.errors];
  const specs = found.specs.map((spec) => {
    if (!ILLEGAL_CATEGORIES.has(spec.category)) return spec;
    if (spec.role === 'allow') errors.push(`${spec.name}: illegal is not a setting: a ${spec.category} list cannot be an allow list; it is loaded as a category list`);
    return { ...spec, role: spec.role === 'allow' ? 'category' : spec.role, sensitive: true } satisfies ListSpec;
  });
  return { specs, errors };
}

function findLists(source: ListSourceConfig, location: string, categoryOf: (listName: string) => string | undefined): SourceLists {
  if (!existsSync(location)) {
    if (source.url === undefined) return { specs: [], errors: [`${source.name}: ${location} does not exist`] };
    // No `current` link at all: never downloaded. A link to a copy that has gone is a real fault.
    const current = isFolderFormat(source.format) ? location : dirname(location);
    if (!entryExists(current)) return { specs: [], errors: [`${source.name}: not downloaded yet (run "schoolgate lists update --source ${source.name}")`], notDownloaded: true };
    return { specs: [], errors: [`${source.name}: its downloaded copy ${location} is missing (run "schoolgate lists update --source ${source.name}" to fetch it again)`] };
  }
  const base = { source: source.name, role: source.role, sensitive: source.sensitive };
  if (source.format === 'squidguard') {
    const scan = scanSquidGuard(location, { ...base, categoryOf: (n) => source.category ?? categoryOf(n) });
    const errors = scan.unmapped.map((n) => `${source.name}/${n}: no category for list "${n}" (add "${n}: <category>" under lists: in the category map)`);
    if (scan.specs.length === 0 && scan.unmapped.length === 0) errors.push(`${source.name}: no squidGuard lists (folders with domains or urls files) in ${location}`);
    return { specs: scan.specs, errors };
  }
  const category = source.category ?? categoryOf(source.name);
  if (category === undefined) return { specs: [], errors: [`${source.name}: no category (set "category:" on the source)`] };
  const files = source.format === 'list'
    ? (['domains', 'urls', 'expressions'] as const).map((kind) => ({ kind, path: join(location, kind), optional: true }))
    : [{ kind: FILE_KIND[source.format], path: location }];
  return { specs: [{ name: source.name, listName: source.name, category, ...base, files }], errors: [] };
}

function entryExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
