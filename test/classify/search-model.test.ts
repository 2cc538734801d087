// The learned search model: featurisation, the trainer, the shipped model file and its
// configuration (phrases.model).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyEdit, augmentRows } from '../../bench/search-model-augment.js';
import { seededRandom } from '../../bench/lib.js';
import { readLabelledSearches, trainSearchModel } from '../../bench/search-model-trainer.js';
import { foldText } from '../../src/classify/normalise-text.js';
import { PHRASE_CATEGORIES } from '../../src/classify/phrase-file.js';
import { checkModelFile, loadSearchModel, searchFeatures, SearchModel, type SearchModelFile } from '../../src/classify/search-model.js';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { tempDir } from '../helpers/lists.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const tmp = tempDir();
afterAll(tmp.cleanup);

describe('featurisation', () => {
  it('takes character 2-5-grams inside " word " and word 1-2-grams of the folded search', () => {
    const f = searchFeatures(foldText('Cut MY'));
    expect([...f.chars.keys()].filter((g) => g.includes('m'))).toEqual([' m', 'my', ' my', 'my ', ' my ']);
    expect(f.chars.get(' cut ')).toBe(1);
    expect([...f.words]).toEqual([['cut', 1], ['my', 1], ['cut my', 1]]);
  });

  it('counts repeats, and reads the search as the phrase lists do (case, leetspeak, punctuation)', () => {
    expect(searchFeatures(foldText('K1LL... kill')).words.get('kill')).toBe(2);
    expect(searchFeatures('').chars.size).toBe(0);
  });

  it('gives the same features, in the same order, every time', () => {
    const a = searchFeatures('how to cut myself deeper');
    const b = searchFeatures('how to cut myself deeper');
    expect([...a.chars]).toEqual([...b.chars]);
    expect([...a.words]).toEqual([...b.words]);
  });
});

describe('the trainer', () => {
  // Two made-up classes that share no words: any working fit separates them.
  const tsv = ['text\tconcern\tseverity\tlang\talso\tnote',
    ...['zorp quux', 'quux zorp now', 'big zorp', 'zorp it', 'quux more', 'the zorp'].map((t) => `${t}\tsuicide\tcaution\ten\t\t`),
    ...['blick plom', 'plom blick now', 'big blick', 'blick it', 'plom more', 'the blick'].map((t) => `${t}\tnone\tnone\ten\t\t`)].join('\n');
  const file = join(tmp.dir, 'tiny.tsv');
  writeFileSync(file, tsv);
  const rows = readLabelledSearches(tsv, file).map((r) => ({ text: foldText(r.text), label: r.concern }));
  const options = { maxIterations: 100, pruneFeature: 0, pruneWeight: 0 };

  it('learns separable classes', () => {
    const model = new SearchModel(trainSearchModel(rows, options).file);
    expect(model.classes).toEqual(['none', 'suicide']);
    expect(model.probabilities('zorp')[1]).toBeGreaterThan(0.8);
    expect(model.probabilities('blick')[0]).toBeGreaterThan(0.8);
    const [raised] = model.concerns('quux zorp', 0.5);
    expect(raised!.category).toBe('suicide');
    expect(raised!.evidence.map((e) => e.text)).toEqual(expect.arrayContaining(['zorp', 'quux']));
    expect(model.concerns('plom blick', 0.5)).toEqual([]);
  });

  it('writes the same model on every run', () => {
    expect(JSON.stringify(trainSearchModel(rows, options).file)).toBe(JSON.stringify(trainSearchModel(rows, options).file));
  });

  it.each([
    ['a held-out file', 'searches.heldout.tsv', 'the held-out split is never trained on'],
    ['a file in a sealed folder', 'sealed/s99.tsv', 'a sealed set is never trained on'],
  ])('refuses to train on %s, scored or training-only', (_, name, message) => {
    const refused = join(tmp.dir, name);
    mkdirSync(join(refused, '..'), { recursive: true });
    writeFileSync(refused, tsv);
    for (const args of [['--searches', refused], ['--searches', file, '--train-only', refused]]) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/train-search-model.ts', ...args, '--folds', '0', '--out', join(tmp.dir, 'never.json')], { cwd: resolve(import.meta.dirname, '../..'), encoding: 'utf8' });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain(`${refused}: ${message}`);
    }
  });
});

describe('severities: classes per concern and severity', () => {
  // Made-up words again: "zorp" is danger-class suicide, "quux" caution-class suicide, "blarg"
  // drugs; every class is learned with its severity, as the trainer labels dev's rows.
  const rows = [
    ...['zorp', 'zorp now', 'big zorp', 'zorp it', 'the zorp', 'zorp more'].map((t) => ({ text: t, label: 'suicide/danger' })),
    ...['quux', 'quux now', 'big quux', 'quux it', 'the quux', 'quux more'].map((t) => ({ text: t, label: 'suicide/caution' })),
    ...['blarg', 'blarg now', 'big blarg', 'blarg it', 'the blarg', 'blarg more'].map((t) => ({ text: t, label: 'drugs/caution' })),
    ...['plom', 'plom now', 'big plom', 'plom it', 'the plom', 'plom more'].map((t) => ({ text: t, label: 'none' })),
  ];
  const model = new SearchModel(trainSearchModel(rows, { maxIterations: 200, pruneFeature: 0, pruneWeight: 0 }).file);
  const at = (name: string): number => model.classes.indexOf(name);

  it('keeps a class per concern and severity, and names the concerns once', () => {
    expect(model.classes).toEqual(['none', 'drugs/caution', 'suicide/caution', 'suicide/danger']);
    expect(model.categories).toEqual(['drugs', 'suicide']);
    expect(model.graded).toBe(true);
  });

  it('gives a concern the sum of its classes, and its danger class apart', () => {
    for (const q of ['zorp', 'quux', 'zorp quux', 'blarg', 'plom']) {
      const p = model.probabilities(q);
      const { probability, danger } = model.categoryProbabilities(q);
      expect(probability[1]).toBeCloseTo(p[at('suicide/caution')]! + p[at('suicide/danger')]!, 12);
      expect(probability[0]).toBeCloseTo(p[at('drugs/caution')]!, 12);
      expect(danger[1]).toBeCloseTo(p[at('suicide/danger')]!, 12);
      // drugs has no danger class: never danger.
      expect(danger[0]).toBe(0);
    }
    expect(model.categoryProbabilities('zorp').danger[1]).toBeGreaterThan(0.5);
    expect(model.categoryProbabilities('quux').danger[1]).toBeLessThan(0.2);
  });

  it('raises a concern on the summed probability, and says when its danger class reaches the danger threshold', () => {
    // "zorp quux": suicide split between its severities, each below 0.7, together above it.
    const p = model.probabilities('zorp quux');
    expect(p[at('suicide/danger')]).toBeLessThan(0.7);
    expect(p[at('suicide/caution')]).toBeLessThan(0.7);
    const [both] = model.concerns('zorp quux', 0.7, 0.99);
    expect(both).toMatchObject({ category: 'suicide', raises: true, urgent: false });
    expect(both!.probability).toBeGreaterThan(0.7);

    const [danger] = model.concerns('zorp', 0.7, 0.5);
    expect(danger).toMatchObject({ category: 'suicide', raises: true, urgent: true });
    expect(danger!.dangerEvidence.map((e) => e.text)).toEqual(['zorp']);
    expect(model.concerns('quux', 0.7, 0.5)).toMatchObject([{ category: 'suicide', raises: true, urgent: false }]);
    // No danger threshold: never urgent.
    expect(model.concerns('zorp', 0.7)[0]!.urgent).toBe(false);
  });

  it('lists a concern that is urgent but not raised, for the lists\' concerns to be promoted', () => {
    const [l] = model.concerns('zorp', 0.999, 0.5);
    expect(l).toMatchObject({ category: 'suicide', raises: false, urgent: true });
    expect(model.concerns('plom', 0.5, 0.5)).toEqual([]);
  });

  it('explains a concern by its most probable class, and its danger by the danger class', () => {
    const [l] = model.concerns('quux zorp', 0.5, 0.1);
    const top = model.probabilities('quux zorp');
    const k = top[at('suicide/danger')]! > top[at('suicide/caution')]! ? at('suicide/danger') : at('suicide/caution');
    expect(l!.evidence).toEqual(model.explain('quux zorp', k));
    expect(l!.dangerEvidence).toEqual(model.explain('quux zorp', at('suicide/danger')));
    // As data (the classify command's JSON), evidence included.
    expect(JSON.parse(JSON.stringify(l))).toMatchObject({ category: 'suicide', evidence: [{ text: expect.any(String) }], dangerEvidence: [{ text: 'zorp' }] });
  });

  it('reads a model of bare concerns (trained before severities) as one with no danger', () => {
    const bare = new SearchModel(trainSearchModel(rows.map((r) => ({ text: r.text, label: r.label.split('/')[0]! })), { maxIterations: 100, pruneFeature: 0, pruneWeight: 0 }).file);
    expect(bare.graded).toBe(false);
    expect(bare.categories).toEqual(['drugs', 'suicide']);
    expect(bare.categoryProbabilities('zorp').danger[1]).toBe(0);
    expect(bare.concerns('zorp', 0.6, 0.1)).toMatchObject([{ category: 'suicide', raises: true, urgent: false }]);
  });

  it('refuses a class with a severity it does not know, or a class named twice', () => {
    const file = JSON.parse(JSON.stringify(trainSearchModel(rows, { maxIterations: 5 }).file)) as SearchModelFile;
    expect(() => checkModelFile({ ...file, classes: ['none', 'drugs/caution', 'suicide/caution', 'suicide/urgent'] })).toThrow(/class "suicide\/urgent" must be a category, or a category and danger or caution/);
    expect(() => checkModelFile({ ...file, classes: ['none', 'drugs/caution', 'suicide/caution', 'suicide/caution'] })).toThrow(/each class once/);
  });
});

describe('the shipped model', () => {
  const cfg = loadConfig(join(CONFIG, 'default.yaml'));
  const settings = cfg.phrases.model!;

  it('is configured, loads, and knows every phrase category with its severities', () => {
    expect(settings.file).toBe(join(CONFIG, 'search-model.json'));
    expect(settings.threshold).toBeGreaterThanOrEqual(0.5);
    expect(settings.danger).toBeGreaterThanOrEqual(0.1);
    expect(settings.alone).toBeGreaterThanOrEqual(settings.danger!);
    expect([...settings.model.categories].sort()).toEqual([...PHRASE_CATEGORIES].sort());
    expect(settings.model.classes).toContain('suicide/danger');
    expect(settings.model.classes).toContain('suicide/caution');
    expect(settings.model.classes).toContain('none');
  });

  it('scores a search, with the words that raised it as evidence', () => {
    const model = loadSearchModel(settings.file);
    const { probability } = model.categoryProbabilities(foldText('how do i cut myself deeper'));
    expect(model.categories[probability.indexOf(Math.max(...probability))]).toBe('self-harm');
    const [raised] = model.concerns(foldText('how do i cut myself deeper'), 0.5);
    expect(raised!.category).toBe('self-harm');
    expect(raised!.evidence.length).toBeGreaterThanOrEqual(1);
    expect(raised!.evidence.length).toBeLessThanOrEqual(5);
    for (const e of raised!.evidence) expect('how do i cut myself deeper'.split(' ').slice(e.start, e.end).join(' ')).toBe(e.text);
    expect(model.concerns(foldText('weather in leeds tomorrow'), 0.5)).toEqual([]);
  });
});

describe('training-data augmentation', () => {
  const rows = [
    { raw: "i don't want to be alive anymore", row: { text: foldText("i don't want to be alive anymore"), label: 'suicide/danger' } },
    { raw: 'best pizza near me please', row: { text: foldText('best pizza near me please'), label: 'none' } },
  ];

  it('gives a row the same copies every time, whatever rows surround it, and another seed other copies', () => {
    const once = augmentRows(rows, { copies: 3, seed: 1 });
    expect(augmentRows(rows, { copies: 3, seed: 1 })).toEqual(once);
    const alone = augmentRows([rows[1]!], { copies: 3, seed: 1 });
    expect(once.slice(once.length - alone.length)).toEqual(alone);
    expect(augmentRows(rows, { copies: 3, seed: 2 })).not.toEqual(once);
  });

  it('puts each row first, then its copies, folded, with its label, none equal to the row', () => {
    const out = augmentRows(rows, { copies: 4, seed: 7 });
    expect(out[0]).toBe(rows[0]!.row);
    const copies = out.filter((r) => r.label === 'suicide/danger').slice(1);
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      expect(c.text).toBe(foldText(c.text));
      expect(c.text).not.toBe(rows[0]!.row.text);
    }
    expect(new Set(copies.map((c) => c.text)).size).toBe(copies.length);
    expect(augmentRows(rows, { copies: 0, seed: 7 })).toEqual(rows.map((r) => r.row));
  });

  it.each([
    ['typo', 'kill myself tonight', (t: string) => t !== 'kill myself tonight' && t.split(' ').length === 3 && t.startsWith('kill ')],
    ['join', "i can't cope", (t: string) => t === 'i cant cope'],
    ['leet', 'suicide', (t: string) => /[0-9]/.test(t) && foldText(t) === 'suicide'],
    ['stretch', 'die', (t: string) => /^di*e+$/.test(t) && t.length >= 5],
    ['textSpeak', 'are you there please', (t: string) => t !== 'are you there please' && /\b(r|u|pls)\b/.test(t)],
    ['swap', 'hang myself', (t: string) => t === 'myself hang'],
  ] as const)('makes a %s edit', (edit, text, ok) => {
    const rand = seededRandom(3);
    expect(ok(applyEdit(text, edit, rand))).toBe(true);
  });

  it('leaves short words alone when it makes a typo, and a text without the edit\'s material as it is', () => {
    expect(applyEdit('cut me', 'typo', seededRandom(1))).toBe('cut me');
    expect(applyEdit('hello', 'swap', seededRandom(1))).toBe('hello');
    expect(applyEdit('zzz', 'textSpeak', seededRandom(1))).toBe('zzz');
  });
});

describe('phrases.model in the configuration', () => {
  let n = 0;
  const problemsOf = (model: string): string => {
    const file = join(tmp.dir, `c${n++}.yaml`);
    writeFileSync(file, `categories: ${CONFIG}/categories.yaml\nphrases:\n  model: ${model}\n`);
    try {
      loadConfig(file);
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    throw new Error('expected a ConfigError');
  };

  it('is off when it says so, or when it is not there', () => {
    const off = join(tmp.dir, 'off.yaml');
    writeFileSync(off, `categories: ${CONFIG}/categories.yaml\nphrases:\n  model: off\n`);
    expect(loadConfig(off).phrases.model).toBeNull();
    const none = join(tmp.dir, 'none.yaml');
    writeFileSync(none, `categories: ${CONFIG}/categories.yaml\n`);
    expect(loadConfig(none).phrases.model).toBeNull();
  });

  it.each([
    ['a missing file', `{ file: nope.json, threshold: 0.8 }`, /phrases\.model\.file: cannot load the search model .*nope\.json: no such file \(fix: train it with npm run train:search-model, or set model: off\)/],
    ['a file that is not a model', `{ file: ${CONFIG}/default.yaml, threshold: 0.8 }`, /phrases\.model\.file: cannot load the search model .*: not JSON/],
    ['a threshold above 0.99', `{ file: ${CONFIG}/search-model.json, threshold: 1.5 }`, /phrases\.model\.threshold: must be at most 0\.99, found 1\.5/],
    ['a threshold that is not a number', `{ file: ${CONFIG}/search-model.json, threshold: high }`, /phrases\.model\.threshold: must be a number/],
    ['no threshold', `{ file: ${CONFIG}/search-model.json }`, /phrases\.model: has no threshold/],
    ['an unknown key', `{ file: ${CONFIG}/search-model.json, threshold: 0.8, trust: 1 }`, /phrases\.model\.trust: unknown key "trust"/],
    ['neither off nor a mapping', 'maybe', /phrases\.model: must be "off" or a mapping with file and threshold, found "maybe"/],
    ['a danger threshold below 0.1', `{ file: ${CONFIG}/search-model.json, threshold: 0.9, danger: 0.05 }`, /phrases\.model\.danger: must be at least 0\.1, found 0\.05/],
    ['a danger threshold that is not a number', `{ file: ${CONFIG}/search-model.json, threshold: 0.9, danger: yes }`, /phrases\.model\.danger: must be a number/],
    ['an alone cut above 0.99', `{ file: ${CONFIG}/search-model.json, threshold: 0.9, danger: 0.2, alone: 1 }`, /phrases\.model\.alone: must be at most 0\.99, found 1/],
    ['an alone cut that is not a number', `{ file: ${CONFIG}/search-model.json, threshold: 0.9, alone: always }`, /phrases\.model\.alone: must be a number/],
    ['an alone cut below the danger threshold', `{ file: ${CONFIG}/search-model.json, threshold: 0.9, danger: 0.6, alone: 0.4 }`,
      /phrases\.model\.alone: \(0\.4\) must not be below danger \(0\.6\): the model alone must be surer than when it promotes a list's concern \(fix: raise alone, or remove it\)/],
  ])('refuses %s', (_, model, message) => {
    expect(problemsOf(model)).toMatch(message);
  });

  it('refuses a danger threshold for a model without danger classes, and takes one for a model with them', () => {
    const rows = ['zorp', 'zorp now', 'plom', 'plom now'].map((text, i) => ({ text, label: i < 2 ? 'suicide' : 'none' }));
    const bare = join(tmp.dir, 'bare.json');
    writeFileSync(bare, JSON.stringify(trainSearchModel(rows, { maxIterations: 20, minDf: 1, pruneFeature: 0, pruneWeight: 0 }).file));
    expect(problemsOf(`{ file: ${bare}, threshold: 0.9, danger: 0.5 }`)).toMatch(
      /phrases\.model\.danger: the search model .*bare\.json has no danger classes \(its classes are concerns without severities\), so it cannot raise danger \(fix: train it again with npm run train:search-model, or remove danger\)/);
    const ok = join(tmp.dir, 'graded.yaml');
    writeFileSync(ok, `categories: ${CONFIG}/categories.yaml\nphrases:\n  model: { file: ${CONFIG}/search-model.json, threshold: 0.9, danger: 0.6 }\n`);
    expect(loadConfig(ok).phrases.model).toMatchObject({ threshold: 0.9, danger: 0.6 });
    // Without the key the model raises no danger, whatever its classes.
    writeFileSync(ok, `categories: ${CONFIG}/categories.yaml\nphrases:\n  model: { file: ${bare}, threshold: 0.9 }\n`);
    expect(loadConfig(ok).phrases.model).toMatchObject({ threshold: 0.9, danger: null, alone: null });
  });

  it('refuses an alone cut for a model without danger classes, and takes one for a model with them', () => {
    const rows = ['zorp', 'zorp now', 'plom', 'plom now'].map((text, i) => ({ text, label: i < 2 ? 'suicide' : 'none' }));
    const bare = join(tmp.dir, 'bare-alone.json');
    writeFileSync(bare, JSON.stringify(trainSearchModel(rows, { maxIterations: 20, minDf: 1, pruneFeature: 0, pruneWeight: 0 }).file));
    expect(problemsOf(`{ file: ${bare}, threshold: 0.9, alone: 0.8 }`)).toMatch(
      /phrases\.model\.alone: the search model .*bare-alone\.json has no danger classes .* \(fix: train it again with npm run train:search-model, or remove alone\)/);
    const ok = join(tmp.dir, 'alone.yaml');
    writeFileSync(ok, `categories: ${CONFIG}/categories.yaml\nphrases:\n  model: { file: ${CONFIG}/search-model.json, threshold: 0.9, danger: 0.2, alone: 0.8 }\n`);
    expect(loadConfig(ok).phrases.model).toMatchObject({ threshold: 0.9, danger: 0.2, alone: 0.8 });
  });
});
