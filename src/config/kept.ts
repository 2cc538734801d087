// Where this process keeps, between runs, what it parsed and checked: a running Schoolgate's
// state folder's cache (classify/phrase-cache.ts writes the files). A command run by another
// user than the folder's owner only reads from it; tests and benches keep nothing.
export interface KeptFolder {
  readonly dir: string;
  /** Whether this process may write there (it owns the folder). */
  readonly write: boolean;
}

let kept: KeptFolder | null = null;

/**
 * Keeps parsed files (YAML, phrase files) and the checks they passed in `dir`, or only reads
 * them from there (`write` false: a command run by another user than the one who owns the
 * folder, which must not leave files there); null stops both.
 */
export function keepParsedFiles(dir: string | null, write = true): void {
  kept = dir === null ? null : { dir, write };
}

/** The folder set by keepParsedFiles, or null. */
export function keptFolder(): KeptFolder | null {
  return kept;
}
