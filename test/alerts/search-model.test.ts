// Alerts from the learned search model, on real classifications: the shipped model and
// configuration, with the detection tests' own small phrase list
// (test/fixtures/phrases/detect.yaml) as "the lists", so tuning the shipped lists never changes
// what these tests see.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, type AlertCandidate, type AlertTrigger, type PhraseTrigger } from '../../src/alerts/detect.js';
import { ExclusionSet, type Exclusion } from '../../src/alerts/exclusions.js';
import { triggerText } from '../../src/alerts/render.js';
import type { Classifier } from '../../src/classify/classifier.js';
import { trainSearchModel } from '../../bench/search-model-trainer.js';
import { loadLexicon } from '../../src/classify/phrase-file.js';
import { loadSearchModel } from '../../src/classify/search-model.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { loadLists } from '../../src/lists/load.js';
import { tempDir } from '../helpers/lists.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const tmp = tempDir();
afterAll(tmp.cleanup);

// Grooming: the test list has no grooming rule, and the model, trained on the dev split,
// reads "older guy … asked for my snap" as grooming.
const UNLISTED = 'older guy from fortnite asked for my snap';

let cfg: SchoolgateConfig;
let withModel: Classifier;
let listsOnly: Classifier;
beforeAll(async () => {
  const shipped = loadConfig(join(CONFIG, 'default.yaml'));
  // The shipped model's settings without `alone`: the model's own danger is tested below, on a
  // small model, so these tests do not move with the shipped model's danger class.
  cfg = { ...shipped, phrases: { ...shipped.phrases, ...loadLexicon([resolve(import.meta.dirname, '../fixtures/phrases/detect.yaml')]), model: { ...shipped.phrases.model!, alone: null } } };
  withModel = (await loadLists(cfg, { dataDir: join(tmp.dir, 'data') })).classifier;
  listsOnly = (await loadLists({ ...cfg, phrases: { ...cfg.phrases, model: null } }, { dataDir: join(tmp.dir, 'data') })).classifier;
});

const search = (q: string): string => `https://www.google.com/search?q=${encodeURIComponent(q)}`;
function alertsFor(q: string, exclusions: readonly Exclusion[] = [], using = withModel, group = 'ks2'): readonly AlertCandidate[] {
  return detect(using.classify(search(q)), { action: 'allow' }, cfg.safeguarding, new ExclusionSet(exclusions), group);
}

describe('the learned search model in detection', () => {
  it('adds a concern no list raises, at caution, with its evidence labelled as the model', () => {
    expect(alertsFor(UNLISTED, [], listsOnly)).toEqual([]);
    const [alert, ...others] = alertsFor(UNLISTED);
    expect(others).toEqual([]);
    expect(alert!.category).toBe('grooming-sexual-exploitation');
    // The category's search setting allows danger; without `alone` the model gives no more than caution.
    expect(cfg.safeguarding.categories.get('grooming-sexual-exploitation')!.severity.search).toBe('danger');
    expect(alert!.severity).toBe('caution');
    const t = alert!.triggers[0] as PhraseTrigger;
    expect(t).toMatchObject({ kind: 'phrase', source: 'search', category: 'grooming', learned: true, text: UNLISTED });
    expect(t.phrase).toMatch(/^learned model (0\.\d\d|1\.00): '[a-z ]+'/);
    expect(t.phrase).toContain("'older'");
    expect(t.weight).toBeGreaterThanOrEqual(cfg.phrases.model!.threshold);
    expect(alert!.searchTerm?.raw).toBe(UNLISTED);
  });

  it('tells the DSL that the model, not a list, raised it', () => {
    const t = alertsFor(UNLISTED)[0]!.triggers[0]!;
    // The evidence words, strongest first (their order is the trained model's).
    expect(triggerText(t)).toMatch(/^caution: learned model (0\.\d\d|1\.00): '[a-z ]+'(, '[a-z ]+')* \(grooming; not on any list\) in the search "older guy from fortnite asked for my snap"$/);
    expect(triggerText(t)).toContain("'older'");
  });

  it('leaves a concern the lists raise to the lists', () => {
    const [alert] = alertsFor('how to join isis');
    expect(alert!.category).toBe('radicalisation-extremism');
    expect(alert!.severity).toBe('danger');
    expect(alert!.triggers.every((t) => t.kind === 'phrase' && t.learned === undefined)).toBe(true);
  });

  it.each([
    'how to kiss for the first time', 'how to get more followers on tiktok', 'how to delete instagram messages', 'how to calm down when angry',
    'paper cutting art for kids', 'relationships and sex education year 6', 'best kitchen knife for beginners', 'i burned my hand on the oven',
  ])('raises nothing for the everyday search "%s"', (q) => {
    expect(alertsFor(q)).toEqual([]);
  });

  it('is covered by the DSL\'s exclusions: a term among its evidence, or the site', () => {
    expect(alertsFor(UNLISTED, [{ kind: 'term', value: 'older', group: 'ks2' }])).toEqual([]);
    expect(alertsFor(UNLISTED, [{ kind: 'term', value: 'older', group: 'staff' }])).toHaveLength(1);
    expect(alertsFor(UNLISTED, [{ kind: 'term', value: 'minecraft' }])).toHaveLength(1);
    expect(alertsFor(UNLISTED, [{ kind: 'site', value: 'google.com' }])).toEqual([]);
  });
});

// Danger from the model's danger class, on a small model trained here with made-up words, so
// what these tests see does not move when the shipped model is trained again: "zorp" and "vex"
// read as danger-class suicide, "quux" as caution-class suicide, "blarg" as danger-class drugs
// (whose search severity safeguarding.yaml caps at caution). The lists are a file written here
// too: "quux" and "zorp" score 10 each for suicide (caution at 10, danger at 20), "blarg" 10 for
// drugs; "vex" is on no list.
describe('a concern raised to danger by the model\'s danger class', () => {
  let graded: Classifier;
  let dangerOff: Classifier;
  let aloneAt: (cut: number) => Promise<Classifier>;
  let small: SchoolgateConfig;
  beforeAll(async () => {
    const words = (w: string): string[] => [w, `${w} now`, `big ${w}`, `${w} it`, `the ${w}`, `${w} more`];
    const rows = [
      ...[...words('zorp'), ...words('vex'), 'quux vex', 'vex the quux', 'quux big vex'].map((text) => ({ text, label: 'suicide/danger' })),
      ...words('quux').map((text) => ({ text, label: 'suicide/caution' })),
      ...words('blarg').map((text) => ({ text, label: 'drugs/danger' })),
      ...words('plom').map((text) => ({ text, label: 'none' })),
    ];
    const file = join(tmp.dir, 'small-model.json');
    writeFileSync(file, JSON.stringify(trainSearchModel(rows, { maxIterations: 200, pruneFeature: 0, pruneWeight: 0 }).file));
    const lists = join(tmp.dir, 'small-lists.yaml');
    writeFileSync(lists, 'language: en\ncategories:\n  suicide:\n    quux: 10\n    zorp: 10\n  drugs:\n    blarg: 10\n');
    const shipped = loadConfig(join(CONFIG, 'default.yaml'));
    const model = { file, model: loadSearchModel(file), threshold: 0.9, danger: 0.5, alone: null };
    small = { ...shipped, phrases: { ...shipped.phrases, ...loadLexicon([lists]), model } };
    graded = (await loadLists(small, { dataDir: join(tmp.dir, 'data') })).classifier;
    dangerOff = (await loadLists({ ...small, phrases: { ...small.phrases, model: { ...model, danger: null } } }, { dataDir: join(tmp.dir, 'data') })).classifier;
    aloneAt = async (cut) => (await loadLists({ ...small, phrases: { ...small.phrases, model: { ...model, alone: cut } } }, { dataDir: join(tmp.dir, 'data') })).classifier;
  });
  const alerts = (q: string, exclusions: readonly Exclusion[] = [], using = graded): readonly AlertCandidate[] =>
    detect(using.classify(search(q)), { action: 'allow' }, small.safeguarding, new ExclusionSet(exclusions), 'ks2');
  const learnedOf = (a: AlertCandidate | undefined): PhraseTrigger[] => (a?.triggers ?? []).filter((t): t is PhraseTrigger => t.kind === 'phrase' && t.learned === true);
  const listed = (a: AlertCandidate | undefined): AlertTrigger[] => (a?.triggers ?? []).filter((t) => !(t.kind === 'phrase' && t.learned));

  it('takes a concern the lists raise at caution to danger, with the danger class\'s words as evidence', () => {
    const [alert, ...others] = alerts('zorp now');
    expect(others).toEqual([]);
    expect(alert).toMatchObject({ category: 'suicide', severity: 'danger' });
    // The lists' own trigger stays, at caution; the model's is added beside it.
    expect(listed(alert)).toMatchObject([{ kind: 'phrase', severity: 'caution', phrase: 'zorp', weight: 10 }]);
    const [t, ...more] = learnedOf(alert);
    expect(more).toEqual([]);
    expect(t).toMatchObject({ severity: 'danger', source: 'search', category: 'suicide', learned: true, text: 'zorp now' });
    expect(t!.phrase).toMatch(/^learned model, danger class 0\.\d\d: 'zorp'/);
    expect(t!.weight).toBeGreaterThanOrEqual(0.5);
    expect(t!.matched!.split(' … ')).toContain('zorp');
    expect(triggerText(t!)).toMatch(/^danger: learned model, danger class 0\.\d\d: 'zorp'.* \(suicide; not on any list\) in the search "zorp now"$/);
  });

  it('leaves a caution-class search at caution, and adds nothing to a concern the lists raise', () => {
    expect(graded.classify(search('quux now')).learned).toMatchObject([{ category: 'suicide', raises: true, urgent: false }]);
    const [alert] = alerts('quux now');
    expect(alert).toMatchObject({ category: 'suicide', severity: 'caution' });
    expect(learnedOf(alert)).toEqual([]);
  });

  it('never raises a category above its search severity (drugs: caution), so adds nothing there', () => {
    expect(graded.classify(search('blarg now')).learned).toMatchObject([{ category: 'drugs', urgent: true }]);
    const [alert] = alerts('blarg now');
    expect(alert).toMatchObject({ category: 'substance-misuse', severity: 'caution' });
    expect(learnedOf(alert)).toEqual([]);
  });

  it('never lowers what the lists raise: a search they score at danger keeps their triggers alone', () => {
    // quux 10 + zorp 10 = 20: danger by the lists.
    const [alert] = alerts('quux zorp');
    expect(alert).toMatchObject({ category: 'suicide', severity: 'danger' });
    expect(listed(alert)).toHaveLength(2);
    expect(learnedOf(alert)).toEqual([]);
  });

  it('raises no danger on its own: a concern only the model raises stays at caution', () => {
    expect(graded.classify(search('vex now')).learned).toMatchObject([{ category: 'suicide', raises: true, urgent: true }]);
    const [alert, ...others] = alerts('vex now');
    expect(others).toEqual([]);
    expect(alert).toMatchObject({ category: 'suicide', severity: 'caution' });
    expect(learnedOf(alert)).toMatchObject([{ severity: 'caution' }]);
    expect(learnedOf(alert)[0]!.phrase).toMatch(/^learned model 0\.\d\d: 'vex'/);
  });

  it('is dropped by an exclusion of one of its evidence words, as the model\'s own concern is', () => {
    // The lists raise "quux" at caution; the model's danger class is raised by "vex".
    const [alert] = alerts('quux vex');
    expect(alert).toMatchObject({ category: 'suicide', severity: 'danger' });
    expect(learnedOf(alert)[0]!.matched!.split(' … ')).toContain('vex');
    expect(alerts('quux vex', [{ kind: 'term', value: 'vex', group: 'ks2' }])).toMatchObject([{ category: 'suicide', severity: 'caution' }]);
    expect(learnedOf(alerts('quux vex', [{ kind: 'term', value: 'vex', group: 'ks2' }])[0])).toEqual([]);
    expect(alerts('quux vex', [{ kind: 'term', value: 'vex', group: 'staff' }])).toMatchObject([{ severity: 'danger' }]);
    // With the lists' concern excluded there is nothing to promote.
    expect(alerts('zorp now', [{ kind: 'term', value: 'zorp', group: 'ks2' }])).toEqual([]);
    expect(alerts('zorp now', [{ kind: 'site', value: 'google.com' }])).toEqual([]);
  });

  it('raises danger on its own with phrases.model.alone, only when the concern is raised and its danger class reaches the cut', async () => {
    const [learned] = graded.classify(search('vex now')).learned!;
    const alone = await aloneAt(0.5);
    expect(alone.classify(search('vex now')).learned).toMatchObject([{ category: 'suicide', raises: true, alone: true }]);
    const [alert, ...others] = alerts('vex now', [], alone);
    expect(others).toEqual([]);
    expect(alert).toMatchObject({ category: 'suicide', severity: 'danger' });
    const [t, ...more] = learnedOf(alert);
    expect(more).toEqual([]);
    expect(t).toMatchObject({ severity: 'danger', learned: true, weight: Math.round(learned!.danger * 100) / 100 });
    expect(t!.phrase).toMatch(/^learned model, danger class 0\.\d\d: 'vex'/);
    // A cut above its danger class: caution, as without the setting.
    const above = await aloneAt(Math.min(0.99, learned!.danger + 0.005));
    expect(above.classify(search('vex now')).learned).toMatchObject([{ raises: true, alone: false }]);
    expect(alerts('vex now', [], above)).toMatchObject([{ category: 'suicide', severity: 'caution' }]);
    // Its danger class is probable but the concern is not raised (threshold 0.99): nothing at all.
    const unraised = (await loadLists({ ...small, phrases: { ...small.phrases, model: { ...small.phrases.model!, threshold: 0.99, alone: 0.5 } } }, { dataDir: join(tmp.dir, 'data') })).classifier;
    expect(unraised.classify(search('vex now')).learned).toMatchObject([{ raises: false, alone: false }]);
    expect(alerts('vex now', [], unraised)).toEqual([]);
  });

  it('keeps the model\'s own danger within the category\'s search severity, and off caution-class searches', async () => {
    const alone = await aloneAt(0.5);
    // drugs (search severity caution): its danger class is probable, but the alert stays at caution.
    expect(alone.classify(search('blarg now')).learned).toMatchObject([{ category: 'drugs', alone: true }]);
    expect(alerts('blarg now', [], alone)).toMatchObject([{ category: 'substance-misuse', severity: 'caution' }]);
    expect(alone.classify(search('quux now')).learned).toMatchObject([{ category: 'suicide', alone: false }]);
    expect(alerts('quux now', [], alone)).toMatchObject([{ category: 'suicide', severity: 'caution' }]);
    // An exclusion of its evidence drops it as it drops the caution trigger.
    expect(alerts('vex now', [{ kind: 'term', value: 'vex', group: 'ks2' }], alone)).toEqual([]);
  });

  it('needs the danger threshold: without it the model raises no danger', () => {
    const [alert] = alerts('zorp now', [], dangerOff);
    expect(alert).toMatchObject({ category: 'suicide', severity: 'caution' });
    expect(learnedOf(alert)).toEqual([]);
  });
});
