// The classifier the benchmarks use: the shipped configuration's search engines and phrases over
// the shared bench-set lists, and optionally the synthetic IWF list (plain or hashed).
import { join } from 'node:path';
import { buildMatcherData } from '../src/classify/build.js';
import { Classifier } from '../src/classify/classifier.js';
import type { ListSpec } from '../src/classify/lists.js';
import { Matcher } from '../src/classify/matcher.js';
import { buildPhraseMatcher } from '../src/classify/phrases.js';
import { SearchTermExtractor } from '../src/classify/search-terms.js';
import type { SchoolgateConfig } from '../src/config/load.js';
import { scanSquidGuard } from '../src/lists/squidguard.js';
import { SHARED } from './lib.js';

export const BENCH_SET = join(SHARED, 'bench-set');

/** The bench-set's lists, each under the Schoolgate category the configuration maps it to. */
export function benchSetLists(config: SchoolgateConfig): ListSpec[] {
  return scanSquidGuard(BENCH_SET, { source: 'bench', role: 'category', sensitive: false, categoryOf: (n) => config.categories.categoryOf(n) ?? n }).specs;
}

/** The synthetic IWF list: names and URLs as written, or their SHA-256 hashes. */
export function iwfList(kind: 'iwf' | 'sha256', file: string): ListSpec {
  return {
    name: `iwf-${kind}`, source: 'iwf', listName: 'iwf', category: 'iwf', role: 'category', sensitive: true,
    files: [{ kind, path: join(SHARED, 'iwf-synthetic', file) }],
  };
}

export function makeClassifier(config: SchoolgateConfig, lists: readonly ListSpec[], cacheSize = 0): Classifier {
  const search = new SearchTermExtractor(config.searchEngines);
  const phrases = buildPhraseMatcher(config.phrases);
  return new Classifier({ matcher: new Matcher(buildMatcherData([...lists])), search, phrases, cacheSize });
}
