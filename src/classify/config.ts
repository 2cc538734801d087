// The `phrases:` section: the phrase files (their entries, word classes and emoji), the scores
// that raise a concern and make it danger, and the learned search model. Paths are resolved
// against the configuration's folder; problems in the files are returned with their own lines.
import { resolve } from 'node:path';
import type { Checker } from '../config/check.js';
import { ConfigError, type ConfigProblem } from '../config/errors.js';
import type { CategoryRegistry } from './categories.js';
import { keepCheck, keptCheck, lexiconProblems, loadPhraseFile, phraseFilesAt, readAs, type EmojiEntry, type PhraseEntry, type WordClassEntry } from './phrase-file.js';
import { DEFAULT_DANGER_THRESHOLD } from './phrases.js';
import { keptFolder } from '../config/kept.js';
import { readFrom, readParsed, seeFile, textHash, writeParsed } from './phrase-cache.js';
import { parseSearchModel, readSearchModelFile, SearchModel, type SearchModelParts } from './search-model.js';

export interface PhrasesConfig {
  readonly entries: readonly PhraseEntry[];
  /** Word classes (@self) and emoji stand-ins, from every phrase file. */
  readonly classes: readonly WordClassEntry[];
  readonly emoji: readonly EmojiEntry[];
  /** Score that raises a category (caution), per category where set. */
  readonly threshold: number;
  readonly thresholds: Readonly<Record<string, number>>;
  /** Score that makes it danger. */
  readonly danger: number;
  /** The learned search model (README.md, "The learned search model"), or null when `model: off`. */
  readonly model: SearchModelSettings | null;
}

export interface SearchModelSettings {
  readonly file: string;
  readonly model: SearchModel;
  /** The probability at which it raises a concern (at caution) that the lists did not. */
  readonly threshold: number;
  /**
   * The probability of a concern's danger class at which a concern the lists raised goes to
   * danger (capped by the category's search severity); null when absent: the model never raises danger.
   */
  readonly danger: number | null;
  /**
   * The probability of a concern's danger class at which a concern the model raises (at
   * `threshold`) and no list did is danger on its own (capped by the category's search
   * severity); null when absent: the model alone raises caution at most.
   */
  readonly alone: number | null;
  /**
   * The probability one first-person post of a page must reach for the model to raise there a
   * concern the lists did not (page-posts.ts); null when absent: the model does not read pages.
   */
  readonly page?: number | null;
  /**
   * The post model, which reads a page's posts beside the search model when set (README.md,
   * "The post model"); null or absent: only the search model reads them, at `page`.
   */
  readonly posts?: PostModelSettings | null;
}

/** `phrases.model.posts`: a model trained on labelled posts of pages, and its page threshold. */
export interface PostModelSettings {
  readonly file: string;
  readonly model: SearchModel;
  /** The probability one post must reach to raise on a page a concern the lists did not (page-posts.ts). */
  readonly page: number;
  /**
   * Reading a page's other first-person posts too, not only those near the lists' hits: at
   * most `posts` of them, each raising a concern at `page` or above; null when absent.
   */
  readonly sweep: PostSweep | null;
}

/** `phrases.model.posts.sweep` (page-posts.ts, PostModel.sweep). */
export interface PostSweep {
  readonly posts: number;
  readonly page: number;
}

/** `classifier:`: how many classified URLs are remembered. */
export function parseClassifierConfig(check: Checker, v: unknown): { readonly cacheSize: number } {
  const cls = v === undefined ? {} : check.object(['classifier'], v, ['cacheSize']) ?? {};
  const cacheSize = cls.cacheSize === undefined ? 20_000 : check.number(['classifier', 'cacheSize'], cls.cacheSize, { min: 0, max: 10_000_000, integer: true }) ?? 20_000;
  return { cacheSize };
}

/** `phrases:`, and the problems found in the files it names (in the order the files are read). */
export function parsePhrasesConfig(check: Checker, v: unknown, dir: string, categories: CategoryRegistry): { config: PhrasesConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const phraseEntries: PhraseEntry[] = [];
  const phraseClasses: WordClassEntry[] = [];
  const phraseEmoji: EmojiEntry[] = [];
  const phrases = v === undefined ? {} : check.object(['phrases'], v, ['threshold', 'thresholds', 'danger', 'files', 'model']) ?? {};
  const threshold = phrases.threshold === undefined ? 10 : check.number(['phrases', 'threshold'], phrases.threshold, { min: 1, max: 1000 }) ?? 10;
  const danger = phrases.danger === undefined ? Math.max(DEFAULT_DANGER_THRESHOLD, 2 * threshold) : check.number(['phrases', 'danger'], phrases.danger, { min: threshold, max: 1000 }) ?? 2 * threshold;
  const thresholds: Record<string, number> = {};
  if (phrases.thresholds !== undefined) {
    const t = check.object(['phrases', 'thresholds'], phrases.thresholds) ?? {};
    for (const [cat, v] of Object.entries(t)) {
      if (!categories.has(cat)) check.fail(['phrases', 'thresholds', cat], `unknown category "${cat}"`, 'use a category id from the category map');
      const n = check.number(['phrases', 'thresholds', cat], v, { min: 1, max: 1000 });
      if (n !== undefined) thresholds[cat] = n;
    }
  }
  const read: string[] = [];
  if (phrases.files !== undefined) {
    const files = check.array(['phrases', 'files'], phrases.files) ?? [];
    files.forEach((f, i) => {
      const name = check.string(['phrases', 'files', i], f);
      if (name === undefined) return;
      for (const file of phraseFilesAt(resolve(dir, name))) {
        read.push(file);
        try {
          const one = loadPhraseFile(file);
          phraseEntries.push(...one.entries);
          phraseClasses.push(...one.classes);
          phraseEmoji.push(...one.emoji);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          problems.push(...err.problems);
        }
      }
    });
  }
  const model = phrases.model === undefined ? null : searchModelSettings(check, phrases.model, dir);
  problems.push(...lexiconProblems(read, phraseEntries, phraseClasses));
  for (const e of phraseEntries) {
    if (!categories.has(e.category)) problems.push({ file: e.file, line: e.line, key: e.category, message: `unknown category "${e.category}"`, fix: 'use a category id from the category map' });
  }
  const config = { entries: phraseEntries, classes: phraseClasses, emoji: phraseEmoji, threshold, thresholds, danger, model };
  const files = readAs(read);
  if (files !== null && problems.length === 0) readFrom(config, [JSON.stringify([threshold, thresholds, danger]), ...files]);
  return { config, problems };
}

/** `phrases.model`: off, or the model file, the probability it raises a concern at, and the danger-class probability that takes a concern the lists raised to danger. */
function searchModelSettings(check: Checker, v: unknown, dir: string): SearchModelSettings | null {
  const at = ['phrases', 'model'];
  if (v === 'off' || v === false) return null;
  const fix = 'write model: { file: search-model.json, threshold: 0.95, danger: 0.2, alone: 0.2, page: 0.97 }, or model: off';
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return check.fail(at, `must be "off" or a mapping with file and threshold, found ${JSON.stringify(v)}`, fix) ?? null;
  const m = check.object(at, v, ['file', 'threshold', 'danger', 'alone', 'page', 'posts']) ?? {};
  if (m.file === undefined) check.fail(at, 'has no file', fix);
  if (m.threshold === undefined) check.fail(at, 'has no threshold', fix);
  const name = m.file === undefined ? undefined : check.string([...at, 'file'], m.file);
  // Below one half, two concerns could both be raised by one search; at 1 never any.
  const threshold = m.threshold === undefined ? undefined : check.number([...at, 'threshold'], m.threshold, { min: 0.5, max: 0.99 });
  // A danger class's probability is part of its concern's, so it is set lower; below 0.1 nearly
  // every raised concern of a danger category would be danger.
  const danger = m.danger === undefined ? null : check.number([...at, 'danger'], m.danger, { min: 0.1, max: 0.99 });
  // Danger without any list is a bigger step than promoting a list's concern: it needs the
  // danger class at least as probable as promotion does.
  const alone = m.alone === undefined ? null : check.number([...at, 'alone'], m.alone, { min: 0.1, max: 0.99 });
  if (alone !== null && alone !== undefined && danger !== null && danger !== undefined && alone < danger) {
    check.fail([...at, 'alone'], `(${alone}) must not be below danger (${danger}): the model alone must be surer than when it promotes a list's concern`, 'raise alone, or remove it');
    return null;
  }
  // A post has more words than a search to be wrong about, so a page's threshold is at least a search's.
  const page = m.page === undefined ? null : check.number([...at, 'page'], m.page, { min: 0.5, max: 0.999 });
  if (typeof page === 'number' && typeof threshold === 'number' && page < threshold) {
    check.fail([...at, 'page'], `is ${page}, below threshold (${threshold}): one post of a page must be at least as probable as a search to raise a concern`, fix);
    return null;
  }
  if (name === undefined || threshold === undefined || danger === undefined || alone === undefined || page === undefined) return null;
  const file = resolve(dir, name);
  const model = lazyModel(check, [...at, 'file'], file, 'search model', 'train it with npm run train:search-model, or set model: off');
  if (model === null) return null;
  const posts = m.posts === undefined ? null : postModelSettings(check, m.posts, dir);
  if (posts === undefined) return null;
  if (danger !== null && !model.graded) {
    return check.fail([...at, 'danger'], `the search model ${file} has no danger classes (its classes are concerns without severities), so it cannot raise danger`, 'train it again with npm run train:search-model, or remove danger') ?? null;
  }
  if (alone !== null && !model.graded) {
    return check.fail([...at, 'alone'], `the search model ${file} has no danger classes (its classes are concerns without severities), so it cannot raise danger`, 'train it again with npm run train:search-model, or remove alone') ?? null;
  }
  return {
    file, threshold, danger, alone, page, posts,
    get model(): SearchModel {
      return model.model;
    },
  };
}

/**
 * `phrases.model.posts`: off, or the post model's file (README.md, "The post model") and the probability one
 * post must reach to raise a concern on a page; undefined when it was refused.
 */
function postModelSettings(check: Checker, v: unknown, dir: string): PostModelSettings | null | undefined {
  const at = ['phrases', 'model', 'posts'];
  if (v === 'off' || v === false) return null;
  const fix = 'write posts: { file: post-model.json, page: 0.7, sweep: { posts: 40, page: 0.75 } }, or posts: off';
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    check.fail(at, `must be "off" or a mapping with file and page, found ${JSON.stringify(v)}`, fix);
    return undefined;
  }
  const m = check.object(at, v, ['file', 'page', 'sweep']) ?? {};
  if (m.file === undefined) check.fail(at, 'has no file', fix);
  if (m.page === undefined) check.fail(at, 'has no page threshold', fix);
  const name = m.file === undefined ? undefined : check.string([...at, 'file'], m.file);
  // Below one half two concerns could both be raised by one post.
  const page = m.page === undefined ? undefined : check.number([...at, 'page'], m.page, { min: 0.5, max: 0.999 });
  const sweep = m.sweep === undefined ? null : postSweep(check, [...at, 'sweep'], m.sweep, page);
  if (name === undefined || page === undefined || sweep === undefined) return undefined;
  const file = resolve(dir, name);
  const model = lazyModel(check, [...at, 'file'], file, 'post model', 'train it as README.md, "The post model", says, or set posts: off');
  if (model === null) return undefined;
  if (!model.graded) {
    check.fail([...at, 'file'], `the post model ${file} has no danger classes (its classes are concerns without severities): a post could never be urgent`, 'train it again as README.md, "The post model", says');
    return undefined;
  }
  return { file, page, sweep, get model(): SearchModel { return model.model; } };
}

/** `phrases.model.posts.sweep`: off, or how many posts and at what probability; undefined when refused. */
function postSweep(check: Checker, at: readonly string[], v: unknown, page: number | undefined): PostSweep | null | undefined {
  if (v === 'off' || v === false) return null;
  const fix = 'write sweep: { posts: 40, page: 0.75 }, or sweep: off';
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    check.fail(at, `must be "off" or a mapping with posts and page, found ${JSON.stringify(v)}`, fix);
    return undefined;
  }
  const m = check.object(at, v, ['posts', 'page']) ?? {};
  if (m.posts === undefined || m.page === undefined) {
    check.fail(at, 'needs both posts and page', fix);
    return undefined;
  }
  const posts = check.number([...at, 'posts'], m.posts, { min: 1, max: 1000, integer: true });
  const sweepPage = check.number([...at, 'page'], m.page, { min: 0.5, max: 0.999 });
  if (posts === undefined || sweepPage === undefined) return undefined;
  // A post the lists found nothing in is read on the model's word alone: never on less than a
  // candidate post needs.
  if (page !== undefined && sweepPage < page) {
    check.fail([...at, 'page'], `is ${sweepPage}, below the posts' own page threshold ${page}`, fix);
    return undefined;
  }
  return { posts, page: sweepPage };
}

/**
 * A model file, checked now and built when first used. Building the search model (a 4 MB file)
 * took a fifth of every command's time, and most commands never use it. A model file whose text
 * was checked before is built when first used, from what an earlier run kept of the text it has
 * now (found by the file's identity, without reading it, on a restart); any other is built and
 * checked here. Null (and the problem reported) when it cannot be loaded.
 */
function lazyModel(check: Checker, at: readonly (string | number)[], file: string, what: string, fix: string): { readonly graded: boolean; readonly model: SearchModel } | null {
  let state: { readonly graded: boolean; built: SearchModel | null; hash: string; text: string | null };
  try {
    // Known by the file's identity on a restart: the 4 MB text is read only if it must be built.
    const seen = seeFile(keptFolder(), file, readSearchModelFile);
    const graded = keptCheck<boolean>('search-model', [file, seen.hash]);
    const built = graded === null ? builtModel(file, seen.hash, seen.text) : null;
    state = { graded: built?.graded ?? graded!, built, hash: seen.hash, text: built === null ? seen.text : null };
    if (built !== null) keepCheck('search-model', [file, seen.hash], built.graded);
  } catch (err) {
    return check.fail([...at], `cannot load the ${what} ${file}: ${(err as Error).message}`, fix) ?? null;
  }
  return {
    graded: state.graded,
    get model(): SearchModel {
      if (state.built === null) {
        state.built = builtModel(file, state.hash, state.text);
        state.text = null;
      }
      return state.built;
    },
  };
}

/**
 * The model of this file's text (of this hash; text null when not read): read back as built by an earlier run from the same text and
 * code (its typed arrays, in a tenth of the time JSON takes: every start's processes and every
 * search a command classifies build it), or parsed, checked and then kept where this process may.
 * Only a model that built is kept, so one read back needs no checking.
 */
function builtModel(file: string, hash: string, text: string | null): SearchModel {
  const kept = keptFolder();
  const parts = kept === null ? null : readParsed<SearchModelParts>(kept.dir, file, hash, 'model');
  if (parts !== null) return new SearchModel(parts);
  // Text null: the file was known by its identity (seeFile) but its model is no longer kept.
  const read = text ?? readSearchModelFile(file);
  const model = parseSearchModel(read);
  if (kept?.write) writeParsed(kept.dir, file, text === null ? textHash(read) : hash, model.parts, 'model');
  return model;
}
