// The shared bench data beside the project (../shared/blocklists). CI has it; a missing copy
// fails the suites that need it with a message, rather than skipping them silently.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/blocklists');

export function shared(path: string): string {
  const full = join(SHARED, path);
  if (!existsSync(full)) throw new Error(`shared test data missing: ${full} (the tests expect ../shared/blocklists beside the project)`);
  return full;
}

export interface LabelledUrl {
  readonly url: string;
  readonly origin: string;
  readonly expected: string[];
}

/** Every `step`-th line of traffic.labels.tsv (the URL, its origin, and the expected list names). */
export function labelledTraffic(step: number): LabelledUrl[] {
  const rows = readFileSync(shared('traffic.labels.tsv'), 'utf8').split('\n').slice(1).filter(Boolean);
  const out: LabelledUrl[] = [];
  for (let i = 0; i < rows.length; i += step) {
    const [url, origin, d, u] = rows[i]!.split('\t');
    out.push({ url: url!, origin: origin!, expected: [...new Set([...(d ?? '').split('|'), ...(u ?? '').split('|')].filter(Boolean))].sort() });
  }
  return out;
}
