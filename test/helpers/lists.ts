// Builds small real list folders in a temp directory, so tests go through the same files,
// parser and builder as production.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMatcherData } from '../../src/classify/build.js';
import type { ListFileKind, ListRole, ListSpec } from '../../src/classify/lists.js';
import { Matcher } from '../../src/classify/matcher.js';
import { normaliseUrl } from '../../src/classify/normalise-url.js';

export function tempDir(prefix = 'schoolgate-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestList {
  readonly name: string;
  readonly category?: string;
  readonly role?: ListRole;
  readonly sensitive?: boolean;
  /** File kind -> contents (string or raw bytes). */
  readonly files: Partial<Record<ListFileKind, string | Uint8Array>>;
}

/** Writes each list to dir/<name>/<kind> and returns specs pointing at them. */
export function writeLists(dir: string, lists: readonly TestList[]): ListSpec[] {
  return lists.map((l) => {
    const listDir = join(dir, l.name);
    mkdirSync(listDir, { recursive: true });
    const files = Object.entries(l.files).map(([kind, content]) => {
      const path = join(listDir, kind);
      writeFileSync(path, content);
      return { kind: kind as ListFileKind, path };
    });
    return {
      name: l.name, source: 'test', listName: l.name, category: l.category ?? l.name,
      role: l.role ?? 'category', sensitive: l.sensitive ?? false, files,
    };
  });
}

export function buildFrom(dir: string, lists: readonly TestList[]) {
  const data = buildMatcherData(writeLists(dir, lists));
  const matcher = new Matcher(data);
  return {
    data,
    matcher,
    match: (url: string) => matcher.match(normaliseUrl(url)),
    categories: (url: string) => [...new Set(matcher.match(normaliseUrl(url)).map((m) => m.category))].sort(),
  };
}
