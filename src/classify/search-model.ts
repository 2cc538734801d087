// The learned search model: a second, explainable evidence source for search terms beside the
// phrase lists. A multinomial logistic regression over TF-IDF features of the folded search
// (character 2–5-grams inside word boundaries, and word 1–2-grams), trained offline from the
// labelled searches by bench/train-search-model.ts and shipped as config/search-model.json.
//
// The phrase lists miss phrasings nobody wrote down; a linear model over character n-grams
// generalises to near paraphrases ("cutting deeper on my arm") while every score is still a sum
// of named features, so each concern it raises comes with the words that raised it.
//
// Its classes are a concern and the severity it was labelled with ("suicide/danger",
// "suicide/caution", …) and "none". A concern's probability is the sum of its classes', so the
// threshold that raises a concern keeps one meaning whatever the severities; the danger class's
// own probability says whether the search reads as urgent (src/alerts/detect.ts). A model whose
// classes are bare phrase categories (trained before severities) has no danger probability.
//
// Featurisation must match the trainer's exactly, so both call searchFeatures() here: the text
// is the search as foldText reads it (case, accents, leetspeak, punctuation), words are its
// space-separated tokens; a word's character n-grams are taken from " word " (char_wb), word
// n-grams from the token sequence. Each block is weighted (1 + ln tf) · idf and l2-normalised
// on its own, over the model's vocabulary only (as a TF-IDF vectoriser does at transform time).
import { readFileSync } from 'node:fs';

export const SEARCH_MODEL_FORMAT = 'schoolgate-search-model/1';
/** The class for "no concern": never reported. */
export const NO_CONCERN = 'none';
/** The severities a class may name after its category ("suicide/danger"). */
export const CLASS_SEVERITIES = ['danger', 'caution'] as const;
/** Evidence shown is at least this share of the strongest reason's weight. */
const EVIDENCE_FLOOR = 0.25;

export interface FeatureOptions {
  /** Character n-gram lengths, inclusive. */
  readonly charMin: number;
  readonly charMax: number;
  /** Word n-gram lengths, inclusive. */
  readonly wordMin: number;
  readonly wordMax: number;
}

export const DEFAULT_FEATURES: FeatureOptions = { charMin: 2, charMax: 5, wordMin: 1, wordMax: 2 };

/**
 * Calls `char` for each character n-gram of each word (with the word's index) and `word` for
 * each word n-gram (with its first and end word index), in a fixed order. `words` are the
 * folded search's tokens.
 */
export function forEachFeature(
  words: readonly string[], o: FeatureOptions,
  char: (gram: string, word: number) => void, word: (gram: string, start: number, end: number) => void,
): void {
  for (let i = 0; i < words.length; i++) {
    const w = ` ${words[i]!} `;
    for (let n = o.charMin; n <= o.charMax; n++) {
      // A word shorter than n gives one n-gram, itself: as sklearn's char_wb does.
      if (w.length <= n) {
        char(w, i);
        break;
      }
      for (let at = 0; at + n <= w.length; at++) char(w.slice(at, at + n), i);
    }
  }
  for (let n = o.wordMin; n <= o.wordMax; n++) {
    for (let i = 0; i + n <= words.length; i++) word(n === 1 ? words[i]! : words.slice(i, i + n).join(' '), i, i + n);
  }
}

/** The features of a folded search with their counts: what the trainer builds its vocabulary and rows from. */
export function searchFeatures(folded: string, o: FeatureOptions = DEFAULT_FEATURES): { chars: Map<string, number>; words: Map<string, number> } {
  const chars = new Map<string, number>();
  const words = new Map<string, number>();
  forEachFeature(tokens(folded), o, (g) => chars.set(g, (chars.get(g) ?? 0) + 1), (g) => words.set(g, (words.get(g) ?? 0) + 1));
  return { chars, words };
}

export function tokens(folded: string): string[] {
  return folded === '' ? [] : folded.split(' ');
}

/** What the model file holds (config/search-model.json). */
export interface SearchModelFile {
  readonly format: typeof SEARCH_MODEL_FORMAT;
  /** How it was trained, for people: files, rows, options, cross-validation. */
  readonly trained: Record<string, unknown>;
  readonly features: FeatureOptions;
  /** "category/severity" for a phrase category (config/phrases) and a severity of CLASS_SEVERITIES, or a bare category; and "none". */
  readonly classes: readonly string[];
  readonly intercepts: readonly number[];
  /** [n-gram, idf, class, weight, class, weight, …]; classes without a weight have 0. */
  readonly chars: readonly (readonly (string | number)[])[];
  readonly words: readonly (readonly (string | number)[])[];
}

/** One reason the model gives for a concern: a word or two words of the search, and how much they added. */
export interface ModelEvidence {
  /** The words, as read (folded). */
  readonly text: string;
  /** What they added to the concern's score over "none" (log-odds). */
  readonly weight: number;
  /** Word positions in the folded search (end exclusive). */
  readonly start: number;
  readonly end: number;
}

/** What the model reads in a search for one concern (a phrase category). */
export interface LearnedScore {
  /** The phrase category (config/phrases): it maps to a concern as the lists' categories do. */
  readonly category: string;
  /** The concern's probability: its classes' probabilities summed, every severity. */
  readonly probability: number;
  /** The probability of its danger class alone; 0 when the model has none for it. */
  readonly danger: number;
  /** `probability` reached the threshold: the model raises the concern. */
  readonly raises: boolean;
  /** `danger` reached the danger threshold: a raised concern is urgent. */
  readonly urgent: boolean;
  /**
   * `raises`, and `danger` reached the cut at which the model raises danger on its own
   * (phrases.model.alone): the concern is danger even when no list raised it.
   */
  readonly alone: boolean;
  /** The words that raised the concern most (its most probable class over "none"), strongest first. Worked out when first read. */
  readonly evidence: readonly ModelEvidence[];
  /** The words that raised its danger class most, strongest first. Worked out when first read. */
  readonly dangerEvidence: readonly ModelEvidence[];
}

/** The class name for a category at a severity: "suicide/danger". */
export function className(category: string, severity: (typeof CLASS_SEVERITIES)[number]): string {
  return `${category}/${severity}`;
}

/** A class's category and severity: "suicide/danger" is suicide at danger, "suicide" suicide at no severity in particular. */
export function parseClass(name: string): { category: string; severity: (typeof CLASS_SEVERITIES)[number] | null } {
  const at = name.lastIndexOf('/');
  if (at < 0) return { category: name, severity: null };
  return { category: name.slice(0, at), severity: name.slice(at + 1) as (typeof CLASS_SEVERITIES)[number] };
}

interface Block {
  readonly index: ReadonlyMap<string, number>;
  readonly names: readonly string[];
  readonly idf: Float64Array;
  /** Weights of feature f: cls/w[start[f] .. start[f + 1]). */
  readonly start: Int32Array;
  readonly cls: Uint8Array;
  readonly w: Float32Array;
}

/** A block as kept between runs: its index is rebuilt from the names. */
type BlockParts = Omit<Block, 'index'>;

/**
 * What a built model is made of, as the state folder keeps it (classify/config.ts): typed arrays
 * and names, which read back in a tenth of the time that parsing and checking the JSON takes.
 */
export interface SearchModelParts {
  readonly classes: readonly string[];
  readonly features: FeatureOptions;
  readonly trained: Readonly<Record<string, unknown>>;
  readonly intercepts: Float64Array;
  readonly chars: BlockParts;
  readonly words: BlockParts;
}

export class SearchModel {
  readonly classes: readonly string[];
  readonly features: FeatureOptions;
  readonly trained: Readonly<Record<string, unknown>>;
  /** The phrase categories its classes name, each once, in class order. */
  readonly categories: readonly string[];
  /** Whether any class names a severity: without one there is no danger probability. */
  readonly graded: boolean;
  private readonly none: number;
  /** Per class, the index of its category in `categories` (-1 for "none"). */
  private readonly categoryOf: Int32Array;
  /** Per category, its danger class (-1 for none). */
  private readonly dangerOf: Int32Array;
  private readonly intercepts: Float64Array;
  private readonly chars: Block;
  private readonly words: Block;
  // Scratch kept from call to call: the features of one search, by block.
  private readonly charSeen: Seen;
  private readonly wordSeen: Seen;

  /** From a checked model file, or from the parts of a model built before (`parts`). */
  constructor(source: SearchModelFile | SearchModelParts) {
    const file = 'format' in source ? partsOf(source) : source;
    this.classes = file.classes;
    this.features = file.features;
    this.trained = file.trained;
    this.none = file.classes.indexOf(NO_CONCERN);
    const parsed = file.classes.map(parseClass);
    this.categories = [...new Set(parsed.filter((c, k) => k !== this.none).map((c) => c.category))];
    this.graded = parsed.some((c) => c.severity !== null);
    this.categoryOf = Int32Array.from(parsed, (c, k) => (k === this.none ? -1 : this.categories.indexOf(c.category)));
    this.dangerOf = Int32Array.from(this.categories, (cat) => parsed.findIndex((c) => c.category === cat && c.severity === 'danger'));
    this.intercepts = file.intercepts;
    this.chars = indexed(file.chars);
    this.words = indexed(file.words);
    this.charSeen = new Seen(this.chars.names.length);
    this.wordSeen = new Seen(this.words.names.length);
  }

  /** What it is made of, to keep and build again with `new SearchModel(parts)`. */
  get parts(): SearchModelParts {
    const bare = ({ names, idf, start, cls, w }: Block): BlockParts => ({ names, idf, start, cls, w });
    return { classes: this.classes, features: this.features, trained: this.trained, intercepts: this.intercepts, chars: bare(this.chars), words: bare(this.words) };
  }

  /** Features with a weight, in both blocks. */
  get size(): number {
    return this.chars.names.length + this.words.names.length;
  }

  /** Bytes of the typed arrays (the n-gram strings and their index come on top: see bench/search-model.ts). */
  get arrayBytes(): number {
    let n = this.intercepts.byteLength;
    for (const b of [this.chars, this.words]) n += b.idf.byteLength + b.start.byteLength + b.cls.byteLength + b.w.byteLength;
    return n;
  }

  /** The probability of each class (in `classes` order) for a folded search. */
  probabilities(folded: string): Float64Array {
    const words = tokens(folded);
    const { chars, charSeen, words: wordBlock, wordSeen } = this;
    forEachFeature(words, this.features, (g) => charSeen.add(chars.index.get(g)), (g) => wordSeen.add(wordBlock.index.get(g)));
    const z = Float64Array.from(this.intercepts);
    addBlock(z, chars, charSeen);
    addBlock(z, wordBlock, wordSeen);
    return softmax(z);
  }

  /**
   * Each category's probability (its classes' summed), its danger class's, and its most
   * probable class, in `categories` order: what thresholds are set on. No evidence is worked out.
   */
  categoryProbabilities(folded: string): { probability: Float64Array; danger: Float64Array; top: Int32Array } {
    const p = this.probabilities(folded);
    const n = this.categories.length;
    const probability = new Float64Array(n);
    const danger = new Float64Array(n);
    const top = new Int32Array(n).fill(-1);
    for (let k = 0; k < p.length; k++) {
      const c = this.categoryOf[k]!;
      if (c < 0) continue;
      probability[c] = probability[c]! + p[k]!;
      if (top[c]! < 0 || p[k]! > p[top[c]!]!) top[c] = k;
    }
    for (let c = 0; c < n; c++) if (this.dangerOf[c]! >= 0) danger[c] = p[this.dangerOf[c]!]!;
    return { probability, danger, top };
  }

  /**
   * The concerns (phrase categories) whose probability reaches `threshold` or whose danger
   * class's reaches `dangerThreshold` (null: never), most probable first, each with up to
   * `evidence` reasons; `alone` when it is raised and its danger class reaches
   * `aloneThreshold` (null: never). Nearly every search has none. Evidence is worked out only
   * when it is read: detection reads it for the concerns it raises.
   */
  concerns(folded: string, threshold: number, dangerThreshold: number | null = null, aloneThreshold: number | null = null, evidence = 5): LearnedScore[] {
    const { probability, danger, top } = this.categoryProbabilities(folded);
    const out: LearnedScore[] = [];
    for (let c = 0; c < probability.length; c++) {
      const raises = probability[c]! >= threshold;
      const urgent = dangerThreshold !== null && danger[c]! >= dangerThreshold;
      if (!raises && !urgent) continue;
      const explain = (k: number) => (): ModelEvidence[] => (k < 0 ? [] : this.explain(folded, k, evidence));
      const alone = raises && aloneThreshold !== null && this.dangerOf[c]! >= 0 && danger[c]! >= aloneThreshold;
      out.push(new Learned(this.categories[c]!, probability[c]!, danger[c]!, raises, urgent, alone, explain(top[c]!), explain(this.dangerOf[c]!)));
    }
    return out.sort((a, b) => b.probability - a.probability);
  }

  /**
   * What raised class k: each feature's share of k's score over "none", summed per word for
   * the character n-grams and that word, and per pair for a two-word feature; the `limit`
   * largest positive ones.
   */
  explain(folded: string, k: number, limit = 5): ModelEvidence[] {
    const words = tokens(folded);
    const items = new Map<string, { text: string; weight: number; start: number; end: number }>();
    const add = (start: number, end: number, weight: number): void => {
      const key = `${start}:${end}`;
      const item = items.get(key);
      if (item) item.weight += weight;
      else items.set(key, { text: words.slice(start, end).join(' '), weight, start, end });
    };
    for (const [b, isChar] of [[this.chars, true], [this.words, false]] as const) {
      // Occurrences of each feature, to share its contribution between the words it came from.
      const at = new Map<number, [number, number][]>();
      const seen = (id: number | undefined, start: number, end: number): void => {
        if (id === undefined) return;
        const list = at.get(id);
        if (list) list.push([start, end]);
        else at.set(id, [[start, end]]);
      };
      forEachFeature(words, this.features,
        isChar ? (g, i) => seen(b.index.get(g), i, i + 1) : () => {},
        isChar ? () => {} : (g, s, e) => seen(b.index.get(g), s, e));
      let norm = 0;
      for (const [id, places] of at) norm += (tfidf(places.length, b.idf[id]!)) ** 2;
      if (norm === 0) continue;
      norm = Math.sqrt(norm);
      for (const [id, places] of at) {
        const x = tfidf(places.length, b.idf[id]!) / norm;
        const share = (x * (weightOf(b, id, k) - (this.none < 0 ? 0 : weightOf(b, id, this.none)))) / places.length;
        for (const [s, e] of places) add(s, e, share);
      }
    }
    // A word said twice is one reason, at its first place.
    const byText = new Map<string, { text: string; weight: number; start: number; end: number }>();
    for (const i of [...items.values()].sort((a, b) => a.start - b.start || a.end - b.end)) {
      const same = byText.get(i.text);
      if (same) same.weight += i.weight;
      else byText.set(i.text, i);
    }
    const ranked = [...byText.values()].filter((i) => i.weight > 0).sort((a, b) => b.weight - a.weight || a.start - b.start);
    // Words that added little beside the strongest are noise to a reader ("to", "a").
    const floor = EVIDENCE_FLOOR * (ranked[0]?.weight ?? 0);
    return ranked.filter((i, n) => n === 0 || i.weight >= floor).slice(0, limit);
  }
}

/** One concern's score; its evidence is worked out when first read, then kept. */
class Learned implements LearnedScore {
  private evidenceOf: readonly ModelEvidence[] | undefined;
  private dangerEvidenceOf: readonly ModelEvidence[] | undefined;

  constructor(
    readonly category: string, readonly probability: number, readonly danger: number, readonly raises: boolean, readonly urgent: boolean, readonly alone: boolean,
    private readonly explainTop: () => readonly ModelEvidence[], private readonly explainDanger: () => readonly ModelEvidence[],
  ) {}

  get evidence(): readonly ModelEvidence[] {
    return (this.evidenceOf ??= this.explainTop());
  }

  get dangerEvidence(): readonly ModelEvidence[] {
    return (this.dangerEvidenceOf ??= this.explainDanger());
  }

  /** As data, evidence included (JSON.stringify reads no getters). */
  toJSON(): Record<string, unknown> {
    return { category: this.category, probability: this.probability, danger: this.danger, raises: this.raises, urgent: this.urgent, alone: this.alone, evidence: this.evidence, dangerEvidence: this.dangerEvidence };
  }
}

/** Reads and checks a model file; throws Error saying what is wrong. */
export function loadSearchModel(file: string): SearchModel {
  return parseSearchModel(readSearchModelFile(file));
}

/** A model file's text; throws Error saying what is wrong. */
export function readSearchModelFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
}

/** Checks a model file's text and builds the model; throws Error saying what is wrong. */
export function parseSearchModel(text: string): SearchModel {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message})`);
  }
  return new SearchModel(checkModelFile(json));
}

export function checkModelFile(v: unknown): SearchModelFile {
  const o = v as Partial<SearchModelFile> | null;
  if (o === null || typeof o !== 'object' || o.format !== SEARCH_MODEL_FORMAT) throw new Error(`not a search model (format must be "${SEARCH_MODEL_FORMAT}")`);
  const f = o.features;
  if (!f || ![f.charMin, f.charMax, f.wordMin, f.wordMax].every((n) => Number.isInteger(n) && n >= 1 && n <= 10)) throw new Error('"features" must give charMin, charMax, wordMin, wordMax');
  if (!Array.isArray(o.classes) || o.classes.length < 2 || o.classes.length > 255 || !o.classes.every((c) => typeof c === 'string')) throw new Error('"classes" must list 2 to 255 class names');
  if (new Set(o.classes).size !== o.classes.length) throw new Error('"classes" must name each class once');
  for (const c of o.classes) {
    const { category, severity } = parseClass(c);
    if (category === '' || (c.includes('/') && !(CLASS_SEVERITIES as readonly string[]).includes(severity!))) {
      throw new Error(`class "${c}" must be a category, or a category and ${CLASS_SEVERITIES.join(' or ')} ("suicide/danger")`);
    }
  }
  if (!Array.isArray(o.intercepts) || o.intercepts.length !== o.classes.length || !o.intercepts.every(Number.isFinite)) throw new Error('"intercepts" must hold one number per class');
  if (!Array.isArray(o.chars) || !Array.isArray(o.words)) throw new Error('"chars" and "words" must be lists of features');
  return { format: o.format, trained: o.trained ?? {}, features: f, classes: o.classes, intercepts: o.intercepts, chars: o.chars, words: o.words };
}

/** A checked file's blocks built: each row checked as it is laid into the typed arrays. */
function partsOf(file: SearchModelFile): SearchModelParts {
  const classes = file.classes.length;
  return {
    classes: file.classes, features: file.features, trained: file.trained, intercepts: Float64Array.from(file.intercepts),
    chars: block(file.chars, classes, 'chars'), words: block(file.words, classes, 'words'),
  };
}

/** A block with its index, rebuilt from the names when it comes from kept parts. */
function indexed(b: Block | BlockParts): Block {
  if ('index' in b) return b;
  const index = new Map<string, number>();
  b.names.forEach((name, f) => index.set(name, f));
  return { ...b, index };
}

function block(rows: readonly (readonly (string | number)[])[], classes: number, name: string): Block {
  const index = new Map<string, number>();
  const names: string[] = [];
  const idf = new Float64Array(rows.length);
  const start = new Int32Array(rows.length + 1);
  let total = 0;
  for (const r of rows) total += (r.length - 2) >> 1;
  const cls = new Uint8Array(total);
  const w = new Float32Array(total);
  let n = 0;
  rows.forEach((r, f) => {
    const [gram, df] = r;
    if (typeof gram !== 'string' || typeof df !== 'number' || !(df > 0) || r.length % 2 !== 0 || index.has(gram)) {
      throw new Error(`${name}[${f}] must be [n-gram, idf, class, weight, …] with a positive idf, once per n-gram`);
    }
    index.set(gram, f);
    names.push(gram);
    idf[f] = df;
    start[f] = n;
    for (let i = 2; i < r.length; i += 2) {
      const c = r[i];
      const x = r[i + 1];
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= classes || typeof x !== 'number' || !Number.isFinite(x)) {
        throw new Error(`${name}[${f}] ("${gram}"): class ${String(c)} and weight ${String(x)} are not a class index and a number`);
      }
      cls[n] = c;
      w[n++] = x;
    }
  });
  start[rows.length] = n;
  return { index, names, idf, start, cls, w };
}

/** The features one search holds, with their counts: typed arrays, reset as they are read. */
class Seen {
  readonly tf: Uint16Array;
  ids = new Int32Array(64);
  n = 0;
  constructor(features: number) {
    this.tf = new Uint16Array(features);
  }

  add(id: number | undefined): void {
    if (id === undefined) return;
    if (this.tf[id] === 0) {
      if (this.n === this.ids.length) {
        const more = new Int32Array(2 * this.n);
        more.set(this.ids);
        this.ids = more;
      }
      this.ids[this.n++] = id;
    }
    if (this.tf[id]! < 0xffff) this.tf[id] = this.tf[id]! + 1;
  }
}

export function tfidf(tf: number, idf: number): number {
  return (1 + Math.log(tf)) * idf;
}

/** Adds one block's l2-normalised tf-idf times its weights to the class scores, and empties `seen`. */
function addBlock(z: Float64Array, b: Block, seen: Seen): void {
  const { ids, tf, n } = seen;
  let norm = 0;
  for (let i = 0; i < n; i++) norm += tfidf(tf[ids[i]!]!, b.idf[ids[i]!]!) ** 2;
  norm = Math.sqrt(norm);
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    const x = tfidf(tf[id]!, b.idf[id]!) / norm;
    tf[id] = 0;
    for (let e = b.start[id]!, end = b.start[id + 1]!; e < end; e++) z[b.cls[e]!] = z[b.cls[e]!]! + x * b.w[e]!;
  }
  seen.n = 0;
}

function weightOf(b: Block, id: number, k: number): number {
  for (let e = b.start[id]!, end = b.start[id + 1]!; e < end; e++) if (b.cls[e] === k) return b.w[e]!;
  return 0;
}

export function softmax(z: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of z) if (v > max) max = v;
  let sum = 0;
  for (let k = 0; k < z.length; k++) sum += z[k] = Math.exp(z[k]! - max);
  for (let k = 0; k < z.length; k++) z[k] = z[k]! / sum;
  return z;
}
