// The learned search model's cost: heap held by the loaded model, and time per search beside
// the phrase engine's matchSearch on the same searches (the dev split's texts), in one run.
//
//   npm run bench:search-model                 (node --import tsx --expose-gc bench/search-model.ts)
//   options: --model FILE (config/search-model.json), --rounds N (7): medians of N rounds
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { foldText } from '../src/classify/normalise-text.js';
import { buildPhraseMatcher } from '../src/classify/phrases.js';
import { loadSearchModel, type SearchModel } from '../src/classify/search-model.js';
import { loadConfig } from '../src/config/load.js';
import { readLabelledSearches } from './search-model-trainer.js';

const ROOT = resolve(import.meta.dirname, '..');
const { values: opts } = parseArgs({
  options: { model: { type: 'string', default: join(ROOT, 'config/search-model.json') }, rounds: { type: 'string', default: '7' } },
});
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc (npm run bench:search-model)');

const heap = (): number => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const before = heap();
const kept: SearchModel[] = [loadSearchModel(resolve(opts.model))];
const modelBytes = heap() - before;
const model = kept[0]!;

const config = loadConfig(join(ROOT, 'config/default.yaml'));
const phrases = buildPhraseMatcher(config.phrases);
const file = join(ROOT, 'test/fixtures/safeguarding/searches.dev.tsv');
const searches = readLabelledSearches(readFileSync(file, 'utf8'), file).map((r) => ({ raw: r.text, folded: foldText(r.text) }));
const threshold = config.phrases.model?.threshold ?? 0.9;
const danger = config.phrases.model?.danger ?? null;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const time = (fn: () => void): number => {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1000 / searches.length;
};
let sink = 0;
const lists = (): void => {
  for (const s of searches) sink += phrases.matchSearch(s.raw, s.folded).hits.length;
};
const scored = (): void => {
  for (const s of searches) sink += model.probabilities(s.folded)[0]!;
};
const learned = (): void => {
  for (const s of searches) sink += model.concerns(s.folded, threshold, danger).length;
};
// The classifier's call, then every evidence read: what a search the model raises costs at most.
const explained = (): void => {
  for (const s of searches) for (const l of model.concerns(s.folded, threshold, danger)) sink += l.evidence.length + (l.urgent ? l.dangerEvidence.length : 0);
};
// Warm them up before measuring.
lists();
scored();
learned();
explained();
const rounds = Number(opts.rounds);
const a: number[] = [];
const b: number[] = [];
const c: number[] = [];
const d: number[] = [];
for (let r = 0; r < rounds; r++) {
  a.push(time(lists));
  b.push(time(scored));
  c.push(time(learned));
  d.push(time(explained));
}
const raised = searches.filter((s) => model.concerns(s.folded, threshold, danger).length > 0).length;
console.log(`model ${opts.model.replace(ROOT + '/', '')}: ${(statSync(opts.model).size / 1024).toFixed(0)} KiB on disk, ${model.size} n-grams, ${(modelBytes / 1024 / 1024).toFixed(2)} MB of heap once loaded (typed arrays ${(model.arrayBytes / 1024).toFixed(0)} KiB)`);
console.log(`${searches.length} dev searches (${raised} reach the threshold ${threshold} or the danger threshold ${danger ?? 'off'}: far more than real traffic), median of ${rounds} rounds`);
console.log(`  phrase lists, matchSearch:            ${median(a).toFixed(2)} µs per search`);
console.log(`  learned model, probabilities():       ${median(b).toFixed(2)} µs per search   (${(median(b) / median(a)).toFixed(2)}× the lists): a search that raises nothing`);
console.log(`  learned model, concerns():            ${median(c).toFixed(2)} µs per search   (${(median(c) / median(a)).toFixed(2)}× the lists): what the classifier calls (evidence not yet worked out)`);
console.log(`  learned model, concerns() + evidence: ${median(d).toFixed(2)} µs per search   (${(median(d) / median(a)).toFixed(2)}× the lists): every evidence read, as for a concern raised`);
if (sink < 0) console.log(sink);
