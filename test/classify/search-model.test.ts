// The learned search model: featurisation, the trainer, the shipped model file and its
// configuration (phrases.model).
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLabelledSearches, trainSearchModel } from '../../bench/search-model-trainer.js';
import { foldText } from '../../src/classify/normalise-text.js';
import { PHRASE_CATEGORIES } from '../../src/classify/phrase-file.js';
import { loadSearchModel, searchFeatures, SearchModel } from '../../src/classify/search-model.js';
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
});

describe('the shipped model', () => {
  const cfg = loadConfig(join(CONFIG, 'default.yaml'));
  const settings = cfg.phrases.model!;

  it('is configured, loads, and knows every phrase category', () => {
    expect(settings.file).toBe(join(CONFIG, 'search-model.json'));
    expect(settings.threshold).toBeGreaterThanOrEqual(0.5);
    expect([...settings.model.classes].sort()).toEqual(['none', ...PHRASE_CATEGORIES].sort());
  });

  it('scores a search, with the words that raised it as evidence', () => {
    const model = loadSearchModel(settings.file);
    const p = model.probabilities(foldText('how do i cut myself deeper'));
    expect(model.classes[p.indexOf(Math.max(...p))]).toBe('self-harm');
    const [raised] = model.concerns(foldText('how do i cut myself deeper'), 0.5);
    expect(raised!.category).toBe('self-harm');
    expect(raised!.evidence.length).toBeGreaterThanOrEqual(1);
    expect(raised!.evidence.length).toBeLessThanOrEqual(5);
    for (const e of raised!.evidence) expect('how do i cut myself deeper'.split(' ').slice(e.start, e.end).join(' ')).toBe(e.text);
    expect(model.concerns(foldText('weather in leeds tomorrow'), 0.5)).toEqual([]);
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
  ])('refuses %s', (_, model, message) => {
    expect(problemsOf(model)).toMatch(message);
  });
});
