// Alerts from the learned search model, on real classifications: the shipped model and
// configuration, with the detection tests' own small phrase list
// (test/fixtures/phrases/detect.yaml) as "the lists", so tuning the shipped lists never changes
// what these tests see.
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, type AlertCandidate, type PhraseTrigger } from '../../src/alerts/detect.js';
import { ExclusionSet, type Exclusion } from '../../src/alerts/exclusions.js';
import { triggerText } from '../../src/alerts/render.js';
import type { Classifier } from '../../src/classify/classifier.js';
import { loadLexicon } from '../../src/classify/phrase-file.js';
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
  cfg = { ...shipped, phrases: { ...shipped.phrases, ...loadLexicon([resolve(import.meta.dirname, '../fixtures/phrases/detect.yaml')]) } };
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
    // The category's search setting allows danger; the model never gives more than caution.
    expect(cfg.safeguarding.categories.get('grooming-sexual-exploitation')!.severity.search).toBe('danger');
    expect(alert!.severity).toBe('caution');
    const t = alert!.triggers[0] as PhraseTrigger;
    expect(t).toMatchObject({ kind: 'phrase', source: 'search', category: 'grooming', learned: true, text: UNLISTED });
    expect(t.phrase).toMatch(/^learned model 0\.\d\d: '[a-z ]+'/);
    expect(t.phrase).toContain("'older'");
    expect(t.weight).toBeGreaterThanOrEqual(cfg.phrases.model!.threshold);
    expect(alert!.searchTerm?.raw).toBe(UNLISTED);
  });

  it('tells the DSL that the model, not a list, raised it', () => {
    const t = alertsFor(UNLISTED)[0]!.triggers[0]!;
    expect(triggerText(t)).toMatch(/^caution: learned model 0\.\d\d: 'older'.* \(grooming; not on any list\) in the search "older guy from fortnite asked for my snap"$/);
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
