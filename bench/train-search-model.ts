// Trains the learned search model (src/classify/search-model.ts) from labelled searches and
// writes config/search-model.json; with cross-validation first, to choose the threshold.
//
//   npm run train:search-model                      dev split and training rows, 5-fold CV on dev, writes config/search-model.json
//   npm run train:search-model -- --folds 0         no cross-validation (just the model)
//   npm run train:search-model -- --posts test/fixtures/safeguarding/posts.train.tsv --out config/post-model.json
//                                                   the post model (README.md, "The post model"): trained on labelled
//                                                   posts of pages (and on --searches too, if given, as training-only
//                                                   rows); its cross-validation is the page curve (pageCurve), not the searches'
//   options: --searches FILE,… (test/fixtures/safeguarding/searches.dev.tsv), --train-only FILE,…
//            (test/fixtures/safeguarding/searches.train.tsv; "" for none: rows in every fit, never scored), --posts FILE,…, --out FILE,
//            --C N (10), --min-df N (2), --config FILE (config/default.yaml: the concern -> phrase category map, and the lists
//            the CV curve is measured in union with), --data DIR, --folds N (5), --max-fa PCT (2), --max-promoted PCT (5)
//            --max-alone-caution PCT (2), --max-alone-benign PCT (0.5), --augment N (augmented copies a row),
//            --seed N (1), --parallel N (1: fits run one after another; N: up to N fits at once in worker threads)
//
// The held-out split is never read: a file named *heldout* is refused, and so is any file in a
// folder named sealed. The configuration is
// loaded as the proxy loads it, so the model file it names must exist (git checkout
// config/search-model.json, or give --config a file with "model: off").
//
// Cross-validation: each fold's model is trained on the other folds and the training-only rows
// (with the same pruning as the shipped one) and scores its own rows; the lists' alerts for the same rows come from the
// shipped configuration with the model off. The curve is, per threshold, the harmful rows whose
// right concern is raised by the lists or the model, and the benign rows that raise anything.
// The threshold to ship is the lowest whose benign false alerts, in union, stay at or below
// --max-fa.
//
// Each class is a concern and the severity its rows are labelled with ("suicide/danger"); a
// concern's probability is its classes' summed. A second curve, at the chosen threshold, sets
// the danger threshold: per threshold on the danger class's probability, the danger-labelled
// rows whose right concern ends at danger, the caution-labelled rows the model promotes to
// danger, and the benign rows raised at danger and at all, as detect() does it: a concern raised
// by the lists (or, in the second set of columns, by the model alone too) goes to danger when its
// danger class reaches the threshold, capped by the category's search severity. The danger
// threshold to ship is the lowest that promotes at most --max-promoted % of caution rows.
// A third curve, at both, sets phrases.model.alone: the model's own concern at danger when its
// danger class reaches the cut (aloneCurve). Every fit, the folds' and the final one, is on the
// rows it trains on with their augmented copies (bench/search-model-augment.ts), so a fold's
// copies never score in it.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { detect } from '../src/alerts/detect.js';
import { ExclusionSet } from '../src/alerts/exclusions.js';
import { foldText } from '../src/classify/normalise-text.js';
import { higherSeverity, lowerSeverity, type SafeguardingCategory, type Severity } from '../src/alerts/taxonomy.js';
import { className, NO_CONCERN, SearchModel } from '../src/classify/search-model.js';
import { loadConfig } from '../src/config/load.js';
import { loadLists } from '../src/lists/load.js';
import { pool, trainInWorker } from './search-model-parallel.js';
import { augmentRows, DEFAULT_AUGMENT, type AugmentOptions } from './search-model-augment.js';
import { readLabelledSearches, trainSearchModel, type LabelledSearch, type TrainOptions } from './search-model-trainer.js';

const ROOT = resolve(import.meta.dirname, '..');
const { values: opts } = parseArgs({
  options: {
    searches: { type: 'string' },
    'train-only': { type: 'string' },
    posts: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'config/search-model.json') },
    config: { type: 'string', default: join(ROOT, 'config/default.yaml') },
    data: { type: 'string', default: join(ROOT, 'data') },
    folds: { type: 'string', default: '5' },
    'max-fa': { type: 'string', default: '2' },
    'max-promoted': { type: 'string', default: '5' },
    'max-alone-caution': { type: 'string', default: '2' },
    'max-alone-benign': { type: 'string', default: '0.5' },
    augment: { type: 'string', default: String(DEFAULT_AUGMENT.copies) },
    seed: { type: 'string', default: String(DEFAULT_AUGMENT.seed) },
    parallel: { type: 'string', default: '1' },
    C: { type: 'string' },
    'min-df': { type: 'string' },
  },
});
const list = (v: string | undefined): string[] => (v === undefined || v === '' ? [] : v.split(',').map((f) => resolve(f)));
// Scored rows are parted into the cross-validation's folds; training-only rows are in every
// fit and scored in none. The search model scores the searches and trains also on the training
// rows (test/fixtures/safeguarding/README.md, "Training rows"); the post model scores the posts
// and trains also on any searches named.
const postFiles = list(opts.posts);
const scoredFiles = postFiles.length > 0 ? postFiles : opts.searches === undefined ? [join(ROOT, 'test/fixtures/safeguarding/searches.dev.tsv')] : list(opts.searches);
const trainOnlyFiles = postFiles.length > 0
  ? [...list(opts.searches), ...list(opts['train-only'])]
  : opts['train-only'] === undefined ? [join(ROOT, 'test/fixtures/safeguarding/searches.train.tsv')] : list(opts['train-only']);
const files = [...scoredFiles, ...trainOnlyFiles];
if (scoredFiles.length === 0) fail('no rows: give --searches or --posts');
for (const f of files) if (/heldout/i.test(basename(f))) fail(`${f}: the held-out split is never trained on`);
// Sealed sets measure how detection generalises; one trained on measures nothing (test/fixtures/safeguarding/README.md, "Sealed sets").
for (const f of files) if (f.split(/[\\/]/).includes('sealed')) fail(`${f}: a sealed set is never trained on`);
const folds = Number(opts.folds);
if (!Number.isInteger(folds) || folds === 1 || folds < 0) fail('--folds must be 0 (none) or 2 or more');
const maxFa = Number(opts['max-fa']);
const maxPromoted = Number(opts['max-promoted']);
const maxAloneCaution = Number(opts['max-alone-caution']);
const maxAloneBenign = Number(opts['max-alone-benign']);
const parallel = Number(opts.parallel);
if (!Number.isInteger(parallel) || parallel < 1) fail('--parallel must be 1 or more');
const augmentation: AugmentOptions = { copies: Number(opts.augment), seed: Number(opts.seed) };
if (!Number.isInteger(augmentation.copies) || augmentation.copies < 0 || !Number.isInteger(augmentation.seed)) fail('--augment and --seed must be whole numbers, --augment 0 or more');
const training: Partial<TrainOptions> = {
  ...(opts.C === undefined ? {} : { C: Number(opts.C) }),
  ...(opts['min-df'] === undefined ? {} : { minDf: Number(opts['min-df']) }),
};

const config = loadConfig(resolve(opts.config));
const read = (f: string): LabelledSearch[] => readLabelledSearches(readFileSync(f, 'utf8'), f);
// Rows [0, scored) are the scored ones; the training-only rows come after them, so the
// cross-validation measures the same rows, in the same folds, with or without them.
const rows: LabelledSearch[] = scoredFiles.flatMap(read);
const scored = rows.length;
rows.push(...trainOnlyFiles.flatMap(read));
/** Rows of --posts files (the scored ones when given): read as a page's posts are, and what pageCurve counts. */
const postRows = postFiles.length > 0 ? scored : 0;
const isPost = (i: number): boolean => i < postRows;
// A concern is learned as the phrase category that raises it, so the model's classes map to
// concerns through the same table as the lists' categories.
const categoryOf = new Map([...config.safeguarding.categories.values()].filter((c) => c.phraseCategories.length > 0).map((c) => [c.id as string, c.phraseCategories[0]!]));
const label = (r: LabelledSearch): string => {
  if (r.concern === NO_CONCERN) return NO_CONCERN;
  const cat = categoryOf.get(r.concern);
  if (cat === undefined) fail(`concern "${r.concern}" has no phrase category in ${config.safeguarding.file}: it cannot be learned`);
  return className(cat, r.severity as 'danger' | 'caution');
};
const train = rows.map((r) => ({ text: foldText(r.text), label: label(r) }));
console.log(`${rows.length} rows (${postRows} posts, ${rows.length - scored} training-only) from ${files.map((f) => relative(ROOT, f)).join(', ')}; ${augmentation.copies} augmented copies a row (seed ${augmentation.seed})`);
/** The rows at `at` (indexes into rows) with their augmented copies: copies of a row go where the row goes. */
const augmented = (at: readonly number[]): { text: string; label: string }[] => augmentRows(at.map((i) => ({ raw: rows[i]!.text, row: train[i]! })), augmentation);

const t0 = performance.now();
const all = augmented(rows.map((_, i) => i));
// With --parallel the final fit runs beside the folds': it does not depend on them.
const final = parallel > 1 ? trainInWorker(all, training) : null;
const chosen = folds > 0 ? await crossValidate() : null;
const fitted = final ? await final : trainSearchModel(all, training);
const { stats } = fitted;
const file = { ...fitted.file, trained: {
  ...fitted.file.trained, from: files.map((f) => relative(ROOT, f)), trainOnly: trainOnlyFiles.map((f) => relative(ROOT, f)), folds, augment: augmentation, trainingRows: all.length, maxBenignFalseAlerts: maxFa, maxPromoted,
  ...(postRows > 0 ? { posts: postRows } : { maxAloneCaution, maxAloneBenign }), ...(chosen ? { crossValidated: chosen } : {}),
} };
const text = JSON.stringify(file);
// One feature a line: readable diffs when it is trained again.
writeFileSync(resolve(opts.out), text.replace(/\],\[/g, '],\n[') + '\n');
console.log(`model: ${stats.vocabulary} n-grams, ${stats.kept} kept, ${stats.weights} weights, ${stats.iterations} iterations (loss ${stats.loss.toFixed(1)}), ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(`wrote ${relative(process.cwd(), resolve(opts.out))} (${(text.length / 1024).toFixed(0)} KiB)`);

/**
 * The thresholds the cross-validation picks: for phrases.model's threshold, danger and alone
 * (null: none qualifies); for the post model, phrases.model.posts.page.
 */
type Chosen = { readonly threshold: number | null; readonly danger: number | null; readonly alone: number | null } | { readonly page: number | null };

/** Whether row i is scored in fold f (training-only rows never are). */
function inFold(i: number, f: number): boolean {
  return i < scored && i % folds === f;
}

async function crossValidate(): Promise<Chosen> {
  // The lists' alerts for each row, as the proxy raises them (eval-safeguarding's way), with the model off.
  const lists = { ...config, phrases: { ...config.phrases, model: null } };
  const { classifier } = await loadLists(lists, { dataDir: resolve(opts.data) });
  const exclusions = new ExclusionSet(config.safeguarding.exclusions);
  const byLists = rows.map((r, i) => {
    if (postRows > 0 && !isPost(i)) return new Map<string, Severity>();
    // A post is read by the lists as a page of its own, as eval-safeguarding reads a page.
    const c = isPost(i) ? classifier.classifyPage('https://www.example.com/page', r.text) : classifier.classify(`https://www.google.com/search?q=${new URLSearchParams({ q: r.text }).toString().slice(2)}`);
    return new Map<string, Severity>(detect(c, { action: 'allow' }, config.safeguarding, exclusions, 'ks2').map((a) => [a.category, a.severity]));
  });
  // Each row's probability per concern (its classes' summed) and its danger class's, from the model of the folds it is not in.
  const byModel: Map<string, number>[] = rows.map(() => new Map());
  const dangerByModel: Map<string, number>[] = rows.map(() => new Map());
  const t0 = performance.now();
  const foldRows = (f: number): { text: string; label: string }[] => augmented(rows.flatMap((_, i) => (!inFold(i, f) ? [i] : [])));
  const fits = parallel > 1
    ? await pool(Array.from({ length: folds }, (_, f) => () => trainInWorker(foldRows(f), training)), parallel)
    : null;
  for (let f = 0; f < folds; f++) {
    const { file } = fits ? fits[f]! : trainSearchModel(foldRows(f), training);
    const model = new SearchModel(file);
    train.forEach((r, i) => {
      if (!inFold(i, f)) return;
      const { probability, danger } = model.categoryProbabilities(r.text);
      model.categories.forEach((cls, c) => {
        const concern = config.safeguarding.byPhraseCategory.get(cls);
        if (!concern) return;
        byModel[i]!.set(concern.id, probability[c]!);
        dangerByModel[i]!.set(concern.id, danger[c]!);
      });
    });
    console.log(`fold ${f + 1}/${folds}: trained in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const pct = (n: number, of: number): string => `${((100 * n) / of).toFixed(1)}%`.padStart(6);
  if (postRows > 0) return { page: pageCurve() };
  const harmful = rows.flatMap((r, i) => (i >= scored || r.concern === NO_CONCERN ? [] : [i]));
  const benign = rows.flatMap((r, i) => (i < scored && r.concern === NO_CONCERN ? [i] : []));
  const raised = (i: number, t: number): Set<string> => {
    const s = new Set(byLists[i]!.keys());
    for (const [c, p] of byModel[i]!) if (p >= t) s.add(c);
    return s;
  };
  const listsRecall = harmful.filter((i) => byLists[i]!.has(rows[i]!.concern)).length;
  const listsFa = benign.filter((i) => byLists[i]!.size > 0).length;
  console.log(`\n${folds}-fold cross-validation on ${scored} rows (${harmful.length} harmful, ${benign.length} benign)`);
  console.log(`lists alone: harmful right concern ${pct(listsRecall, harmful.length)}, benign false alerts ${pct(listsFa, benign.length)}`);
  console.log('threshold  union: harmful right  benign false  wrong concern | model alone: harmful right  benign false');
  let chosen: number | null = null;
  for (let t = 0.5; t < 0.999; t += 0.05) {
    const th = Math.round(t * 100) / 100;
    const right = harmful.filter((i) => raised(i, th).has(rows[i]!.concern)).length;
    const fa = benign.filter((i) => raised(i, th).size > 0).length;
    const wrong = harmful.filter((i) => [...raised(i, th)].some((c) => c !== rows[i]!.concern && !rows[i]!.also.includes(c) && !byLists[i]!.has(c))).length;
    const alone = harmful.filter((i) => (byModel[i]!.get(rows[i]!.concern) ?? 0) >= th).length;
    const aloneFa = benign.filter((i) => [...byModel[i]!.values()].some((p) => p >= th)).length;
    const ok = (100 * fa) / benign.length <= maxFa;
    if (ok && chosen === null) chosen = th;
    console.log(`  ${th.toFixed(2)}     ${pct(right, harmful.length)}          ${pct(fa, benign.length)}        ${pct(wrong, harmful.length)}     |            ${pct(alone, harmful.length)}        ${pct(aloneFa, benign.length)}${ok && chosen === th ? '   <- lowest with benign false alerts <= ' + maxFa + '%' : ''}`);
  }
  if (chosen === null) {
    console.log(`no threshold keeps benign false alerts at or below ${maxFa}%: set phrases.model to off`);
    return { threshold: null, danger: null, alone: null };
  }
  const ct = chosen;
  const caught = harmful.filter((i) => !byLists[i]!.has(rows[i]!.concern) && (byModel[i]!.get(rows[i]!.concern) ?? 0) >= ct);
  console.log(`\nat ${ct}: ${caught.length} harmful rows the lists miss and the model (trained without them) catches, e.g.:`);
  for (const i of caught.slice(0, 25)) console.log(`  ${rows[i]!.text}\t${rows[i]!.concern}\t${byModel[i]!.get(rows[i]!.concern)!.toFixed(2)}`);
  const falseAlerts = benign.filter((i) => byLists[i]!.size === 0 && [...byModel[i]!.values()].some((p) => p >= ct));
  console.log(`benign rows only the model raises at ${ct}: ${falseAlerts.length}, e.g.:`);
  for (const i of falseAlerts.slice(0, 15)) console.log(`  ${rows[i]!.text}\t${[...byModel[i]!].filter(([, p]) => p >= ct).map(([c, p]) => `${c} ${p.toFixed(2)}`).join(', ')}`);
  console.log('');
  const dt = dangerCurve(ct);
  return { threshold: ct, danger: dt, alone: aloneCurve(ct, dt) };

  /**
   * Each row's concerns and severities as detect() raises them with the model at (ct, dt):
   * the lists', the model's own at caution, then a raised concern whose danger class reaches
   * dt at danger (only a list-raised one unless `alone`), capped by its search severity.
   * `promoted` says whether the model took some concern to danger.
   */
  function severities(i: number, dt: number, alone: boolean, aloneCut: number | null = null): { got: Map<string, Severity>; promoted: boolean } {
    const got = new Map(byLists[i]!);
    for (const [c, p] of byModel[i]!) {
      if (p < ct || got.has(c)) continue;
      const own = aloneCut !== null && (dangerByModel[i]!.get(c) ?? 0) >= aloneCut ? 'danger' : 'caution';
      got.set(c, lowerSeverity(own, capOf(c)));
    }
    let promoted = false;
    for (const [c, s] of got) {
      if (s === 'danger' || (dangerByModel[i]!.get(c) ?? 0) < dt || (!alone && !byLists[i]!.has(c))) continue;
      const to = higherSeverity(s, lowerSeverity('danger', capOf(c)));
      if (to !== s) {
        got.set(c, to);
        promoted = true;
      }
    }
    return { got, promoted };
  }

  /**
   * The post model's curve, over the posts rows only: per threshold, as readPosts reads one post,
   * the harmful posts whose right concern the model raises (and, for danger-labelled ones, whose
   * danger class reaches it too, so the post is urgent), the benign posts it raises anything on,
   * alone and in union with the lists reading the post as a page. The page threshold to ship is
   * the lowest whose benign posts raised by the model alone stay at or below --max-fa: a page
   * has several posts to be wrong about, so the model alone is what is bounded.
   */
  function pageCurve(): number | null {
    const posts = rows.map((_, i) => i).filter(isPost);
    const harmful = posts.filter((i) => rows[i]!.concern !== NO_CONCERN);
    const benign = posts.filter((i) => rows[i]!.concern === NO_CONCERN);
    const danger = harmful.filter((i) => rows[i]!.severity === 'danger');
    const listsRight = harmful.filter((i) => byLists[i]!.has(rows[i]!.concern)).length;
    const listsFa = benign.filter((i) => byLists[i]!.size > 0).length;
    console.log(`\n${folds}-fold cross-validation on ${rows.length} rows; the page curve on its ${posts.length} posts (${harmful.length} harmful, ${danger.length} of them danger; ${benign.length} benign)`);
    console.log(`lists alone (a post read as a page): harmful right concern ${pct(listsRight, harmful.length)}, benign false alerts ${pct(listsFa, benign.length)}`);
    console.log('page   model alone: harmful right  danger urgent  benign raised  wrong concern | with the lists: harmful right  benign false');
    let chosen: number | null = null;
    for (const t of [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99]) {
      const mine = (i: number): string[] => [...byModel[i]!].filter(([, p]) => p >= t).map(([c]) => c);
      const right = harmful.filter((i) => mine(i).includes(rows[i]!.concern)).length;
      const urgent = danger.filter((i) => (dangerByModel[i]!.get(rows[i]!.concern) ?? 0) >= t).length;
      const fa = benign.filter((i) => mine(i).length > 0).length;
      const wrong = harmful.filter((i) => mine(i).some((c) => c !== rows[i]!.concern && !rows[i]!.also.includes(c))).length;
      const union = harmful.filter((i) => byLists[i]!.has(rows[i]!.concern) || mine(i).includes(rows[i]!.concern)).length;
      const unionFa = benign.filter((i) => byLists[i]!.size > 0 || mine(i).length > 0).length;
      const ok = (100 * fa) / benign.length <= maxFa;
      if (ok && chosen === null) chosen = t;
      console.log(`  ${t.toFixed(2)}               ${pct(right, harmful.length)}        ${pct(urgent, danger.length)}         ${pct(fa, benign.length)}         ${pct(wrong, harmful.length)} |                 ${pct(union, harmful.length)}        ${pct(unionFa, benign.length)}${chosen === t ? '   <- lowest with benign raised <= ' + maxFa + '%' : ''}`);
    }
    if (chosen !== null) {
      const t = chosen;
      const missed = harmful.filter((i) => (byModel[i]!.get(rows[i]!.concern) ?? 0) < t);
      console.log(`\nat ${t}: harmful posts the model (trained without them) misses: ${missed.length}, e.g.:`);
      for (const i of missed.slice(0, 15)) console.log(`  ${rows[i]!.text.slice(0, 140)}\t${rows[i]!.concern}\t${(byModel[i]!.get(rows[i]!.concern) ?? 0).toFixed(2)}`);
      const raisedBenign = benign.filter((i) => [...byModel[i]!.values()].some((p) => p >= t));
      console.log(`benign posts it raises: ${raisedBenign.length}, e.g.:`);
      for (const i of raisedBenign.slice(0, 15)) console.log(`  ${rows[i]!.text.slice(0, 140)}\t${[...byModel[i]!].filter(([, p]) => p >= t).map(([c, p]) => `${c} ${p.toFixed(2)}`).join(', ')}`);
    }
    return chosen;
  }

  /** Prints the danger curve at concern threshold ct and returns the danger threshold picked. */
  function dangerCurve(ct: number): number | null {
    const dangerRows = harmful.filter((i) => rows[i]!.severity === 'danger');
    const cautionRows = harmful.filter((i) => rows[i]!.severity === 'caution');
    const atDanger = (got: Map<string, Severity>, c: string): boolean => got.get(c) === 'danger';
    const listsDanger = dangerRows.filter((i) => atDanger(byLists[i]!, rows[i]!.concern)).length;
    const listsCautionAtDanger = cautionRows.filter((i) => [...byLists[i]!.values()].includes('danger')).length;
    const listsBenignDanger = benign.filter((i) => [...byLists[i]!.values()].includes('danger')).length;
    const unionBenign = benign.filter((i) => raised(i, ct).size > 0).length;
    const anySeverity = dangerRows.filter((i) => raised(i, ct).has(rows[i]!.concern)).length;
    console.log(`danger threshold, at concern threshold ${ct}: ${dangerRows.length} danger-labelled rows, ${cautionRows.length} caution-labelled, ${benign.length} benign`);
    console.log(`lists alone: danger rows at danger ${pct(listsDanger, dangerRows.length)}, caution rows at danger ${pct(listsCautionAtDanger, cautionRows.length)}, benign at danger ${pct(listsBenignDanger, benign.length)}`);
    console.log(`lists and model at ${ct}, before promotion: danger rows, right concern at any severity ${pct(anySeverity, dangerRows.length)}; benign raised ${pct(unionBenign, benign.length)} (promotion changes no alert's concern, only its severity)`);
    console.log('           promoting list-raised concerns                              | promoting the model\'s own concerns too');
    console.log('danger   danger rows at danger  caution rows promoted  benign at danger | danger rows at danger  caution rows promoted  benign at danger');
    const picked: [number | null, number | null] = [null, null];
    for (let t = 0.1; t < 0.999; t += 0.05) {
      const dt = Math.round(t * 100) / 100;
      const cells: string[] = [];
      ([false, true] as const).forEach((alone, k) => {
        const m = k as 0 | 1;
        const right = dangerRows.filter((i) => atDanger(severities(i, dt, alone).got, rows[i]!.concern)).length;
        const promoted = cautionRows.filter((i) => severities(i, dt, alone).promoted).length;
        const benignDanger = benign.filter((i) => [...severities(i, dt, alone).got.values()].includes('danger')).length;
        const ok = (100 * promoted) / cautionRows.length <= maxPromoted;
        if (ok && picked[m] === null) picked[m] = dt;
        cells.push(`         ${pct(right, dangerRows.length)}                ${pct(promoted, cautionRows.length)}            ${pct(benignDanger, benign.length)}${picked[m] === dt ? ' <-' : '   '}`);
      });
      console.log(`  ${dt.toFixed(2)}${cells.join(' |')}`);
    }
    console.log(`<-: the lowest danger threshold promoting at most ${maxPromoted}% of caution-labelled rows: ${picked[0] ?? 'none'} (list-raised), ${picked[1] ?? 'none'} (the model's own too)`);
    const dt = picked[0];
    if (dt !== null) {
      const shown = (i: number): string => `  ${rows[i]!.text}\t${rows[i]!.concern}/${rows[i]!.severity}\tP ${(byModel[i]!.get(rows[i]!.concern) ?? 0).toFixed(2)}, danger ${(dangerByModel[i]!.get(rows[i]!.concern) ?? 0).toFixed(2)}`;
      const gained = dangerRows.filter((i) => !atDanger(byLists[i]!, rows[i]!.concern) && atDanger(severities(i, dt, false).got, rows[i]!.concern));
      console.log(`\nat ${dt}: ${gained.length} danger rows the lists raise below danger and the model (trained without them) promotes, e.g.:`);
      for (const i of gained.slice(0, 15)) console.log(shown(i));
      const over = cautionRows.filter((i) => severities(i, dt, false).promoted);
      console.log(`caution rows it promotes: ${over.length}, e.g.:`);
      for (const i of over.slice(0, 15)) console.log(shown(i));
    }
    console.log('');
    return dt;
  }

  /**
   * The cut for the model raising danger on its own (phrases.model.alone): a concern nobody
   * else raised, whose probability reaches ct, goes to danger (if its search severity allows)
   * when its danger class reaches the cut. Picked as the lowest cut whose extra danger alerts,
   * over the lists with promotion at dt, stay within --max-alone-caution % of caution rows and
   * --max-alone-benign % of benign rows, and only if it gains a danger row.
   */
  function aloneCurve(ct: number, dt: number | null): number | null {
    const d = dt ?? 2;
    const dangerRows = harmful.filter((i) => rows[i]!.severity === 'danger');
    const cautionRows = harmful.filter((i) => rows[i]!.severity === 'caution');
    const anyDanger = (got: Map<string, Severity>): boolean => [...got.values()].includes('danger');
    const base = rows.map((_, i) => severities(i, d, false).got);
    const baseRight = dangerRows.filter((i) => base[i]!.get(rows[i]!.concern) === 'danger').length;
    console.log(`the model raising danger on its own, at concern threshold ${ct} and danger ${dt ?? 'none'}: danger rows at danger without it ${pct(baseRight, dangerRows.length)}`);
    console.log('alone   danger rows at danger  caution rows newly at danger  benign newly at danger');
    let picked: number | null = null;
    for (let t = 0.2; t < 0.999; t += 0.05) {
      const at = Math.round(t * 100) / 100;
      const got = rows.map((_, i) => severities(i, d, false, at).got);
      const right = dangerRows.filter((i) => got[i]!.get(rows[i]!.concern) === 'danger').length;
      const caution = cautionRows.filter((i) => anyDanger(got[i]!) && !anyDanger(base[i]!)).length;
      const benignDanger = benign.filter((i) => anyDanger(got[i]!) && !anyDanger(base[i]!)).length;
      const ok = (100 * caution) / cautionRows.length <= maxAloneCaution && (100 * benignDanger) / benign.length <= maxAloneBenign && right > baseRight;
      if (ok && picked === null) picked = at;
      console.log(`  ${at.toFixed(2)}        ${pct(right, dangerRows.length)}                 ${pct(caution, cautionRows.length)}                  ${pct(benignDanger, benign.length)}${picked === at ? '   <-' : ''}`);
    }
    console.log(`<-: the lowest cut with at most ${maxAloneCaution}% of caution rows and ${maxAloneBenign}% of benign rows newly at danger, gaining a danger row: ${picked ?? 'none'}`);
    if (picked !== null) {
      const p = picked;
      const got = rows.map((_, i) => severities(i, d, false, p).got);
      const right = dangerRows.filter((i) => got[i]!.get(rows[i]!.concern) === 'danger').length;
      const recall = harmful.filter((i) => got[i]!.has(rows[i]!.concern)).length;
      const fa = benign.filter((i) => got[i]!.size > 0).length;
      console.log(`CV summary at threshold ${ct}, danger ${dt ?? 'none'}, alone ${p}: danger rows at danger ${pct(right, dangerRows.length)}, harmful right concern ${pct(recall, harmful.length)}, benign false alerts ${pct(fa, benign.length)}`);
    }
    const recall = harmful.filter((i) => base[i]!.has(rows[i]!.concern)).length;
    const fa = benign.filter((i) => base[i]!.size > 0).length;
    console.log(`CV summary at threshold ${ct}, danger ${dt ?? 'none'}, no alone: danger rows at danger ${pct(baseRight, dangerRows.length)}, harmful right concern ${pct(recall, harmful.length)}, benign false alerts ${pct(fa, benign.length)}\n`);
    return picked;
  }
}

function capOf(concern: string): Severity {
  return (config.safeguarding.categories.get(concern as SafeguardingCategory['id'])?.severity.search) ?? 'caution';
}

function fail(message: string): never {
  console.error(`train-search-model: ${message}`);
  process.exit(2);
}
