// The learned model reading the posts of a page, through classifyPage and detect, on a small
// model trained here with made-up words so that what these tests see does not move when the
// shipped model is trained again: "vex" reads as suicide at danger, "zorp" as suicide at
// caution, "plom" and "quux" as nothing. The lists are a file written here too: "quux", "vex"
// and "zorp" score 5 each for suicide, below its
// threshold of 10, so the lists alone raise nothing on these pages.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainSearchModel } from '../../bench/search-model-trainer.js';
import { detect, type AlertCandidate, type PhraseTrigger } from '../../src/alerts/detect.js';
import { ExclusionSet, type Exclusion } from '../../src/alerts/exclusions.js';
import type { Classifier } from '../../src/classify/classifier.js';
import { pageText } from '../../src/classify/page-text.js';
import { loadLexicon } from '../../src/classify/phrase-file.js';
import { loadSearchModel } from '../../src/classify/search-model.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { loadLists } from '../../src/lists/load.js';
import { tempDir } from '../helpers/lists.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const tmp = tempDir();
afterAll(tmp.cleanup);

const PAGE = 'https://forum.example.test/thread/1';
/** A thread: a title, then posts, each a user name, a date and the post's words. */
const thread = (...posts: string[]): Uint8Array => Buffer.from(
  `<html><head><title>Weekend plans thread</title></head><body><h1>Weekend plans</h1>${posts.map((p, i) => `<article><div class="user">user${i}</div><div class="date">${i} days ago</div><p>${p}</p></article>`).join('')}<footer>Forum rules and privacy</footer></body></html>`,
);
const CHATTER = [
  'anyone going to the match on saturday afternoon with the lads from school',
  'cannot wait for the holidays to start, the weather has been terrible all week long',
  'the new update for the game dropped last night and the servers were down for hours',
];
const HARM = 'honestly i feel so vex vex vex and i dont know who to tell';

let cfg: SchoolgateConfig;
let reading: Classifier;
let notReading: Classifier;
beforeAll(async () => {
  const words = (w: string): string[] => [w, `${w} now`, `big ${w}`, `${w} it`, `the ${w}`, `${w} more`, `i ${w}`, `my ${w}`];
  const rows = [
    ...words('vex').map((text) => ({ text, label: 'suicide/danger' })),
    ...words('zorp').map((text) => ({ text, label: 'suicide/caution' })),
    ...[...words('plom'), ...words('quux')].map((text) => ({ text, label: 'none' })),
  ];
  const file = join(tmp.dir, 'small-model.json');
  writeFileSync(file, JSON.stringify(trainSearchModel(rows, { maxIterations: 200, pruneFeature: 0, pruneWeight: 0 }).file));
  const lists = join(tmp.dir, 'small-lists.yaml');
  writeFileSync(lists, 'language: en\ncategories:\n  suicide:\n    quux: 5\n    vex: 5\n    zorp: 5\n');
  const shipped = loadConfig(join(CONFIG, 'default.yaml'));
  const model = { file, model: loadSearchModel(file), threshold: 0.9, danger: null, alone: null, page: 0.9 };
  cfg = { ...shipped, phrases: { ...shipped.phrases, ...loadLexicon([lists]), model } };
  reading = (await loadLists(cfg, { dataDir: join(tmp.dir, 'data') })).classifier;
  notReading = (await loadLists({ ...cfg, phrases: { ...cfg.phrases, model: { ...model, page: null } } }, { dataDir: join(tmp.dir, 'data') })).classifier;
});

function alertsFor(page: Uint8Array, using = reading, exclusions: readonly Exclusion[] = []): readonly AlertCandidate[] {
  const t = pageText(page);
  return detect(using.classifyPage(PAGE, `${t.title} ${t.text}`), { action: 'allow' }, cfg.safeguarding, new ExclusionSet(exclusions), 'ks2');
}

describe('posts of a page read by the learned model', () => {
  it('raises a concern said in one post among chatter, with the post as evidence: at danger when its danger class reaches the page threshold', () => {
    const page = thread(CHATTER[0]!, HARM, CHATTER[1]!, CHATTER[2]!);
    // The lists alone score the page below the threshold.
    expect(alertsFor(page, notReading)).toEqual([]);
    const [alert, ...others] = alertsFor(page);
    expect(others).toEqual([]);
    expect(alert).toMatchObject({ category: 'suicide', severity: 'danger', url: PAGE });
    const [t, ...more] = alert!.triggers as PhraseTrigger[];
    expect(more).toEqual([]);
    expect(t).toMatchObject({ kind: 'phrase', source: 'page', category: 'suicide', learned: true, text: PAGE });
    // The post, with the user name and date joined to it; not the chatter around it.
    expect(t!.matched).toBe(`user1 1 days ago ${HARM}`);
    expect(t!.phrase).toMatch(/^learned model 0\.\d\d on one post: '[a-z ]+'/);
    expect(t!.phrase).toContain("'vex'");
    expect(t!.weight).toBeGreaterThanOrEqual(0.9);
  });

  it('does not raise a benign page with a stray listed word in a first-person post', () => {
    const page = thread(CHATTER[0]!, 'my quux arrived this morning and i am going to set it up tonight with my brother', CHATTER[1]!);
    const t = pageText(page);
    const c = reading.classifyPage(PAGE, `${t.title} ${t.text}`);
    // The word is matched (so the post is read) but the model reads nothing there.
    expect(c.phrases.some((h) => h.source === 'page' && h.phrase === 'quux')).toBe(true);
    expect(c.posts).toBeUndefined();
    expect(alertsFor(page)).toEqual([]);
  });

  it('does not read a post that is not in the first person: a page explaining a concern quotes it', () => {
    const page = thread(CHATTER[0]!, 'when someone says they feel vex vex tonight, listen to them and tell a trusted adult', CHATTER[1]!);
    expect(alertsFor(page)).toEqual([]);
  });

  it('at caution when only the concern, not its danger class, reaches the page threshold', () => {
    const [alert, ...others] = alertsFor(thread(CHATTER[0]!, 'honestly i feel so zorp zorp zorp and i dont know who to tell', CHATTER[1]!));
    expect(others).toEqual([]);
    expect(alert).toMatchObject({ category: 'suicide', severity: 'caution' });
    expect((alert!.triggers as PhraseTrigger[]).map((t) => t.learned)).toEqual([true]);
  });

  it('takes a concern the lists raised at caution to danger when the post\'s danger class reaches the page threshold, and adds nothing else', () => {
    // quux + vex: the lists raise caution; the post's danger class adds a trigger at danger.
    const [alert, ...others] = alertsFor(thread(`${HARM} quux`, CHATTER[0]!));
    expect(others).toEqual([]);
    expect(alert).toMatchObject({ category: 'suicide', severity: 'danger' });
    const triggers = alert!.triggers as PhraseTrigger[];
    expect(triggers.filter((t) => t.learned === true).map((t) => t.severity)).toEqual(['danger']);
    expect(triggers.filter((t) => t.learned !== true).map((t) => t.severity)).toEqual(triggers.filter((t) => t.learned !== true).map(() => 'caution'));
    expect(triggers.some((t) => t.learned !== true)).toBe(true);
    // quux + zorp: caution from the lists, and the post's danger class is not probable: nothing added.
    const [caution, ...rest] = alertsFor(thread('honestly i feel so zorp zorp zorp and i dont know who to tell quux', CHATTER[0]!));
    expect(rest).toEqual([]);
    expect(caution).toMatchObject({ category: 'suicide', severity: 'caution' });
    expect((caution!.triggers as PhraseTrigger[]).every((t) => t.learned !== true)).toBe(true);
  });

  it('is dropped by a term exclusion covering its evidence, and by a site exclusion', () => {
    const page = thread(CHATTER[0]!, HARM, CHATTER[1]!);
    expect(alertsFor(page, reading, [{ kind: 'term', value: 'vex' }])).toEqual([]);
    expect(alertsFor(page, reading, [{ kind: 'site', value: 'forum.example.test' }])).toEqual([]);
  });
});
