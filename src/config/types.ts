// The validated, resolved configuration: paths absolute, defaults filled in. Produced by
// load.ts; everything downstream takes these types, never raw YAML.
import type { ListRole } from '../classify/lists.js';

/** List source formats: a squidGuard folder of lists, one list folder, or a single file. */
export const SOURCE_FORMATS = ['squidguard', 'list', 'domains', 'urls', 'hosts', 'iwf', 'sha256-urls'] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

export interface Refresh {
  /** Milliseconds between refreshes. */
  readonly everyMs: number;
  /** The words the technician wrote ("nightly", "twice-daily", "6h"), for messages. */
  readonly label: string;
}

export interface ListSourceConfig {
  /** Unique, [a-z0-9-]: names the source in logs, in `lists`, and its folder under data/lists/. */
  readonly name: string;
  readonly format: SourceFormat;
  /** Absolute path of a local source (folder or file, by format). */
  readonly path?: string;
  /** https:// address of a downloaded source (a .tar.gz of the squidGuard layout, or a plain file). */
  readonly url?: string;
  /** The category of every entry; required for single-list formats, optional override for squidguard. */
  readonly category?: string;
  readonly role: ListRole;
  /** Entries are never shown (IWF-style lists); the stored file is owner-only. */
  readonly sensitive: boolean;
  /** How often a downloaded source is refreshed; null for local sources. */
  readonly refresh: Refresh | null;
  /** Absolute path of extra CA certificates (PEM) to trust for this source's https:// server. */
  readonly ca?: string;
  /** A download with fewer than this fraction of the entries in use is refused (default 0.5). */
  readonly minKeepRatio: number;
}
