// Training the learned search model (src/classify/search-model.ts): a multinomial logistic
// regression with an L2 penalty, as scikit-learn's LogisticRegression(C, class_weight=
// "balanced") fits it, over the model's TF-IDF features.
//
// The optimiser is written here, small, because the JavaScript libraries found (npm:
// ml-logistic-regression, @kobra-dev/js-regression) take dense matrices and one-vs-rest
// binary fits: tens of thousands of sparse n-gram features by ten classes would not fit in
// a dense matrix, and one-vs-rest does not give the softmax probabilities the threshold is
// set on. Full-batch L-BFGS with a backtracking line search has no randomness, so the same
// rows give the same model file on every run.
import {
  DEFAULT_FEATURES, NO_CONCERN, SEARCH_MODEL_FORMAT, searchFeatures, tfidf, type FeatureOptions, type SearchModelFile,
} from '../src/classify/search-model.js';

export interface TrainRow {
  /** The search, folded (foldText). */
  readonly text: string;
  /** A class: a phrase category and its severity ("suicide/danger"), or "none". */
  readonly label: string;
}

export interface TrainOptions {
  /** Inverse regularisation strength (scikit-learn's C). */
  readonly C: number;
  /** Keep an n-gram only when this many rows hold it. */
  readonly minDf: number;
  readonly features: FeatureOptions;
  readonly maxIterations: number;
  /**
   * After a first fit, n-grams whose largest weight is below this are dropped and the model
   * is fitted again without them (so the l2 norms it scores with are the ones it was fitted
   * with); then single weights below `pruneWeight` are dropped.
   */
  readonly pruneFeature: number;
  readonly pruneWeight: number;
}

export const DEFAULT_TRAINING: TrainOptions = { C: 10, minDf: 2, features: DEFAULT_FEATURES, maxIterations: 400, pruneFeature: 0.15, pruneWeight: 0.02 };

export interface Trained {
  readonly file: SearchModelFile;
  /** Features before and after pruning, and the optimiser's last loss and iterations. */
  readonly stats: { readonly vocabulary: number; readonly kept: number; readonly weights: number; readonly iterations: number; readonly loss: number };
}

export function trainSearchModel(rows: readonly TrainRow[], options: Partial<TrainOptions> = {}, trained: Record<string, unknown> = {}): Trained {
  const o = { ...DEFAULT_TRAINING, ...options };
  const labels = [...new Set(rows.map((r) => r.label))].filter((l) => l !== NO_CONCERN).sort();
  const classes = [NO_CONCERN, ...labels];
  const y = Int32Array.from(rows, (r) => classes.indexOf(r.label));
  const n = rows.length;
  const feats = rows.map((r) => searchFeatures(r.text, o.features));

  const vocab = (pick: (f: (typeof feats)[number]) => Map<string, number>): Map<string, number> => {
    const df = new Map<string, number>();
    for (const f of feats) for (const g of pick(f).keys()) df.set(g, (df.get(g) ?? 0) + 1);
    return new Map([...df].filter(([, n]) => n >= o.minDf).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  };
  let chars = vocab((f) => f.chars);
  let words = vocab((f) => f.words);
  const vocabulary = chars.size + words.size;

  let fit = fitOn(chars, words);
  // Second fit without the n-grams that carry nothing.
  const keep = (names: Map<string, number>, offset: number): Map<string, number> =>
    new Map([...names.keys()].map((g, j) => [g, j] as const).filter(([, j]) => maxAbs(fit.W, offset + j, classes.length) >= o.pruneFeature)
      .map(([g]) => [g, names.get(g)!] as const));
  const keptChars = keep(chars, 0);
  const keptWords = keep(words, chars.size);
  chars = keptChars;
  words = keptWords;
  fit = fitOn(chars, words);

  let weights = 0;
  const out = (names: Map<string, number>, offset: number): (string | number)[][] => [...names].map(([g, df], j) => {
    const row: (string | number)[] = [g, round(Math.log((1 + n) / (1 + df)) + 1, 6)];
    for (let k = 0; k < classes.length; k++) {
      const w = fit.W[(offset + j) * classes.length + k]!;
      if (Math.abs(w) >= o.pruneWeight) {
        row.push(k, round(w, 4));
        weights++;
      }
    }
    return row;
  });
  const D = chars.size + words.size;
  const file: SearchModelFile = {
    format: SEARCH_MODEL_FORMAT,
    trained: { rows: n, C: o.C, minDf: o.minDf, pruneFeature: o.pruneFeature, pruneWeight: o.pruneWeight, ...trained },
    features: o.features,
    classes,
    intercepts: Array.from(fit.W.subarray(D * classes.length), (v) => round(v, 4)),
    chars: out(chars, 0),
    words: out(words, chars.size),
  };
  return { file, stats: { vocabulary, kept: D, weights, iterations: fit.iterations, loss: fit.loss } };

  function fitOn(c: Map<string, number>, w: Map<string, number>): { W: Float64Array; iterations: number; loss: number } {
    const X = matrix(feats, c, w, n);
    return fitSoftmax(X, y, classes.length, o.C, o.maxIterations);
  }
}

/** Rows as compressed sparse rows: each block l2-normalised on its own, char block first. */
interface Csr {
  readonly rows: number;
  readonly cols: number;
  readonly start: Int32Array;
  readonly col: Int32Array;
  readonly val: Float64Array;
}

function matrix(feats: readonly { chars: Map<string, number>; words: Map<string, number> }[], chars: Map<string, number>, words: Map<string, number>, n: number): Csr {
  const idOf = (names: Map<string, number>, offset: number): Map<string, [number, number]> =>
    new Map([...names].map(([g, df], j) => [g, [offset + j, Math.log((1 + n) / (1 + df)) + 1]]));
  const blocks = [[idOf(chars, 0), (f: (typeof feats)[number]) => f.chars], [idOf(words, chars.size), (f: (typeof feats)[number]) => f.words]] as const;
  const start = new Int32Array(feats.length + 1);
  const col: number[] = [];
  const val: number[] = [];
  feats.forEach((f, i) => {
    for (const [ids, pick] of blocks) {
      const part: [number, number][] = [];
      for (const [g, tf] of pick(f)) {
        const id = ids.get(g);
        if (id) part.push([id[0], tfidf(tf, id[1])]);
      }
      const norm = Math.sqrt(part.reduce((s, [, v]) => s + v * v, 0));
      for (const [j, v] of part.sort((a, b) => a[0] - b[0])) {
        col.push(j);
        val.push(v / norm);
      }
    }
    start[i + 1] = col.length;
  });
  return { rows: feats.length, cols: chars.size + words.size, start, col: Int32Array.from(col), val: Float64Array.from(val) };
}

/**
 * Minimises C · Σ sᵢ · cross-entropyᵢ + ½‖W‖² (intercepts not penalised), sᵢ = n / (K · n_class):
 * scikit-learn's objective. W is feature-major (W[j·K + k]), intercepts after it.
 */
function fitSoftmax(X: Csr, y: Int32Array, K: number, C: number, maxIterations: number): { W: Float64Array; iterations: number; loss: number } {
  const perClass = new Float64Array(K);
  for (const c of y) perClass[c]!++;
  const s = Float64Array.from(y, (c) => X.rows / (K * perClass[c]!));
  const D = X.cols;
  const z = new Float64Array(K);
  const lossGrad = (W: Float64Array, g: Float64Array): number => {
    g.fill(0);
    let loss = 0;
    for (let j = 0; j < D * K; j++) {
      loss += 0.5 * W[j]! * W[j]!;
      g[j] = W[j]!;
    }
    const b = D * K;
    for (let i = 0; i < X.rows; i++) {
      for (let k = 0; k < K; k++) z[k] = W[b + k]!;
      for (let e = X.start[i]!; e < X.start[i + 1]!; e++) {
        const base = X.col[e]! * K;
        const x = X.val[e]!;
        for (let k = 0; k < K; k++) z[k] = z[k]! + x * W[base + k]!;
      }
      let max = -Infinity;
      for (let k = 0; k < K; k++) if (z[k]! > max) max = z[k]!;
      let sum = 0;
      for (let k = 0; k < K; k++) sum += z[k] = Math.exp(z[k]! - max);
      const weight = C * s[i]!;
      loss += weight * (Math.log(sum) - Math.log(z[y[i]!]!));
      for (let k = 0; k < K; k++) z[k] = weight * (z[k]! / sum - (k === y[i] ? 1 : 0));
      for (let k = 0; k < K; k++) g[b + k] = g[b + k]! + z[k]!;
      for (let e = X.start[i]!; e < X.start[i + 1]!; e++) {
        const base = X.col[e]! * K;
        const x = X.val[e]!;
        for (let k = 0; k < K; k++) g[base + k] = g[base + k]! + x * z[k]!;
      }
    }
    return loss;
  };
  return lbfgs(lossGrad, new Float64Array(D * K + K), maxIterations);
}

/** Limited-memory BFGS (ten pairs) with a backtracking Armijo line search. */
function lbfgs(f: (x: Float64Array, g: Float64Array) => number, x: Float64Array, maxIterations: number): { W: Float64Array; iterations: number; loss: number } {
  const M = 10;
  const n = x.length;
  const g = new Float64Array(n);
  const gNew = new Float64Array(n);
  const xNew = new Float64Array(n);
  const d = new Float64Array(n);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(M);
  let fx = f(x, g);
  let it = 0;
  for (; it < maxIterations; it++) {
    if (maxNorm(g) < 1e-4) break;
    // Two-loop recursion: d = -H·g.
    d.set(g);
    for (let i = S.length - 1; i >= 0; i--) {
      alpha[i] = rho[i]! * dot(S[i]!, d);
      axpy(-alpha[i]!, Y[i]!, d);
    }
    if (S.length > 0) {
      const last = S.length - 1;
      scale(d, dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!));
    } else scale(d, 1 / Math.max(1, Math.sqrt(dot(g, g))));
    for (let i = 0; i < S.length; i++) {
      const beta = rho[i]! * dot(Y[i]!, d);
      axpy(alpha[i]! - beta, S[i]!, d);
    }
    scale(d, -1);
    let slope = dot(g, d);
    if (slope >= 0) {
      // Not a descent direction (curvature lost): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      d.set(g);
      scale(d, -1 / Math.max(1, Math.sqrt(dot(g, g))));
      slope = dot(g, d);
    }
    let step = 1;
    let fNew = 0;
    for (let tries = 0; ; tries++) {
      for (let j = 0; j < n; j++) xNew[j] = x[j]! + step * d[j]!;
      fNew = f(xNew, gNew);
      if (fNew <= fx + 1e-4 * step * slope || tries >= 30) break;
      step *= 0.5;
    }
    const s = new Float64Array(n);
    const yv = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      s[j] = xNew[j]! - x[j]!;
      yv[j] = gNew[j]! - g[j]!;
    }
    const sy = dot(s, yv);
    if (sy > 1e-10) {
      if (S.length === M) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
    const done = Math.abs(fx - fNew) <= 1e-10 * Math.max(1, Math.abs(fx));
    x.set(xNew);
    g.set(gNew);
    fx = fNew;
    if (done) break;
  }
  return { W: x, iterations: it, loss: fx };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] = y[i]! + a * x[i]!;
}

function scale(x: Float64Array, a: number): void {
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * a;
}

function maxNorm(x: Float64Array): number {
  let m = 0;
  for (const v of x) if (Math.abs(v) > m) m = Math.abs(v);
  return m;
}

function maxAbs(W: Float64Array, j: number, K: number): number {
  let m = 0;
  for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(W[j * K + k]!));
  return m;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** A labelled search (test/fixtures/safeguarding/README.md: text concern severity lang also note). */
export interface LabelledSearch {
  readonly text: string;
  readonly concern: string;
  /** danger or caution; none for concern none. */
  readonly severity: 'danger' | 'caution' | 'none';
  readonly also: readonly string[];
}

export function readLabelledSearches(tsv: string, file: string): LabelledSearch[] {
  const lines = tsv.split('\n');
  const header = lines[0]!.split('\t');
  if (header[0] !== 'text' || header[1] !== 'concern' || header[2] !== 'severity') throw new Error(`${file}: the header must start text, concern, severity (tab-separated)`);
  const alsoAt = header.indexOf('also');
  const out: LabelledSearch[] = [];
  lines.slice(1).forEach((l, i) => {
    if (l.trim() === '' || l.startsWith('#')) return;
    const cells = l.split('\t');
    if (cells.length < 2 || cells[0] === '') throw new Error(`${file}:${i + 2}: no text and concern`);
    const also = alsoAt < 0 ? [] : (cells[alsoAt] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const severity = cells[2];
    if (cells[1] === 'none' ? severity !== 'none' : severity !== 'danger' && severity !== 'caution') {
      throw new Error(`${file}:${i + 2}: severity "${severity ?? ''}" must be danger or caution, and none only for concern none`);
    }
    out.push({ text: cells[0]!, concern: cells[1]!, severity: severity as LabelledSearch['severity'], also });
  });
  return out;
}
