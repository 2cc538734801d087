// What a loaded list is, independent of where it came from: the loader (src/lists/) turns
// config sources into ListSpecs, the builder turns ListSpecs into a matcher.
import type { SkipReason } from './parse-list.js';

/**
 * How the school means a list: `category` lists say what a site is; `allow` and `block`
 * are the school's own entries, which win over a category list of equal or lesser specificity.
 */
export type ListRole = 'category' | 'allow' | 'block';

/** File formats: squidGuard `domains`/`urls`/`expressions`, a hosts file, an IWF-style URL list, SHA-256 hashes of URL entries. */
export type ListFileKind = 'domains' | 'urls' | 'expressions' | 'hosts' | 'iwf' | 'sha256';

export interface ListFile {
  readonly kind: ListFileKind;
  readonly path: string;
  /** squidGuard lists need not have every file; a missing optional file is not an error. */
  readonly optional?: boolean;
}

export interface ListSpec {
  /** Unique display name, e.g. "ut1/adult" or "school-allow". */
  readonly name: string;
  readonly source: string;
  /** The list's name inside its source (a squidGuard folder name, or the source name). */
  readonly listName: string;
  readonly category: string;
  readonly role: ListRole;
  /** Entries of a sensitive list (IWF-style) are never shown: not in skip reports, not in explanations. */
  readonly sensitive: boolean;
  readonly files: readonly ListFile[];
}

export interface SkippedLine {
  readonly file: string;
  readonly line: number;
  readonly reason: SkipReason;
  /** The offending text (cut to 120 characters); absent for sensitive lists. */
  readonly text?: string;
}

export interface ListStats {
  readonly name: string;
  readonly category: string;
  readonly role: ListRole;
  domains: number;
  urls: number;
  hashes: number;
  expressions: number;
  skipped: number;
  reasons: Partial<Record<SkipReason, number>>;
  /** The first few skipped lines, for the technician to look at. */
  examples: SkippedLine[];
  loadMs: number;
  /** Bytes read from disk. */
  bytes: number;
  /** Set when the list could not be loaded at all; the other lists still load. */
  error?: string;
}

export const MAX_EXAMPLES = 8;

export function emptyStats(spec: ListSpec): ListStats {
  return {
    name: spec.name, category: spec.category, role: spec.role,
    domains: 0, urls: 0, hashes: 0, expressions: 0, skipped: 0, reasons: {}, examples: [], loadMs: 0, bytes: 0,
  };
}

export function entriesOf(s: ListStats): number {
  return s.domains + s.urls + s.hashes + s.expressions;
}
