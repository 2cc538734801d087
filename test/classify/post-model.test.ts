// The post model (config/post-model.json, README.md "The post model"): its setting
// phrases.model.posts, and that page reading uses it. The table is of posts written for this
// test (not in its training rows, test/fixtures/safeguarding/posts.train.tsv), each with the
// verdict the shipped model gives at its page threshold: a retrained model that reads one of them
// otherwise fails it.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect } from '../../src/alerts/detect.js';
import { ExclusionSet } from '../../src/alerts/exclusions.js';
import type { Classifier } from '../../src/classify/classifier.js';
import { foldText } from '../../src/classify/normalise-text.js';
import { postReader } from '../../src/classify/page-posts.js';
import { pageText } from '../../src/classify/page-text.js';
import { formatProblem } from '../../src/config/errors.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { loadLists } from '../../src/lists/load.js';
import { problemsOf } from '../helpers/config-problems.js';
import { tempDir } from '../helpers/lists.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const tmp = tempDir();
afterAll(tmp.cleanup);

describe('phrases.model.posts in the configuration', () => {
  let n = 0;
  const configWith = (posts: string): string => {
    const file = join(tmp.dir, `c${n++}.yaml`);
    writeFileSync(file, `categories: ${CONFIG}/categories.yaml\nphrases:\n  model: { file: ${CONFIG}/search-model.json, threshold: 0.9, page: 0.97, posts: ${posts} }\n`);
    return file;
  };
  const refused = (posts: string): string => problemsOf(() => loadConfig(configWith(posts))).map(formatProblem).join('\n');

  it('takes a post model file and its page threshold; off, or none, leaves the search model reading pages', () => {
    const m = loadConfig(configWith(`{ file: ${CONFIG}/post-model.json, page: 0.9 }`)).phrases.model!;
    expect(m.posts).toMatchObject({ file: join(CONFIG, 'post-model.json'), page: 0.9 });
    expect(m.posts!.model.graded).toBe(true);
    // Both read a page's posts, each at its own threshold.
    expect(postReader(m)).toEqual([{ model: m.model, threshold: 0.97 }, { model: m.posts!.model, threshold: 0.9, sweep: null }]);
    const off = loadConfig(configWith('off')).phrases.model!;
    expect(off.posts).toBeNull();
    expect(postReader(off)).toEqual([{ model: off.model, threshold: 0.97 }]);
  });

  it('takes a sweep: how many of a page\'s other first-person posts are read, and at what probability', () => {
    const m = loadConfig(configWith(`{ file: ${CONFIG}/post-model.json, page: 0.8, sweep: { posts: 25, page: 0.85 } }`)).phrases.model!;
    expect(m.posts!.sweep).toEqual({ posts: 25, page: 0.85 });
    expect(postReader(m)[1]).toEqual({ model: m.posts!.model, threshold: 0.8, sweep: { posts: 25, page: 0.85 } });
    expect(loadConfig(configWith(`{ file: ${CONFIG}/post-model.json, page: 0.8, sweep: off }`)).phrases.model!.posts!.sweep).toBeNull();
  });

  it.each([
    ['a sweep below the posts\' page threshold', `{ file: ${CONFIG}/post-model.json, page: 0.8, sweep: { posts: 25, page: 0.7 } }`, /phrases\.model\.posts\.sweep\.page: is 0\.7, below the posts' own page threshold 0\.8/],
    ['a sweep without a post count', `{ file: ${CONFIG}/post-model.json, page: 0.8, sweep: { page: 0.9 } }`, /phrases\.model\.posts\.sweep: needs both posts and page/],
    ['a sweep of no posts', `{ file: ${CONFIG}/post-model.json, page: 0.8, sweep: { posts: 0, page: 0.9 } }`, /phrases\.model\.posts\.sweep\.posts: must be at least 1/],
    ['a sweep that is a number', `{ file: ${CONFIG}/post-model.json, page: 0.8, sweep: 40 }`, /phrases\.model\.posts\.sweep: must be "off" or a mapping with posts and page, found 40/],
    ['a page threshold above 0.999', `{ file: ${CONFIG}/post-model.json, page: 1.5 }`, /phrases\.model\.posts\.page: must be at most 0\.999, found 1\.5/],
    ['a page threshold that is not a number', `{ file: ${CONFIG}/post-model.json, page: high }`, /phrases\.model\.posts\.page: must be a number/],
    ['no page threshold', `{ file: ${CONFIG}/post-model.json }`, /phrases\.model\.posts: has no page threshold/],
    ['no file', '{ page: 0.9 }', /phrases\.model\.posts: has no file/],
    ['a file that is not there', `{ file: ${CONFIG}/no-such-model.json, page: 0.9 }`, /phrases\.model\.posts\.file: cannot load the post model .*no-such-model\.json/],
    ['an unknown key', `{ file: ${CONFIG}/post-model.json, page: 0.9, danger: 0.5 }`, /phrases\.model\.posts\.danger: unknown key "danger"/],
    ['a value that is not a mapping', '0.9', /phrases\.model\.posts: must be "off" or a mapping with file and page, found 0\.9/],
  ])('refuses %s', (_, posts, message) => {
    expect(refused(posts)).toMatch(message);
  });
});

describe('the shipped post model', () => {
  const shipped = loadConfig(join(CONFIG, 'default.yaml'));
  const posts = shipped.phrases.model!.posts!;

  it('is configured, and reads pages beside the search model', () => {
    expect(posts.page).toBeGreaterThanOrEqual(0.5);
    expect(postReader(shipped.phrases.model!).map((r) => r.model)).toEqual([shipped.phrases.model!.model, posts.model]);
    expect(posts.model).not.toBe(shipped.phrases.model!.model);
  });

  // Harmful and benign posts, and the concern the model raises at the shipped page threshold
  // (none: nothing).
  it.each([
    ['he is 26 and says our chats are our secret, he keeps asking me for pics and says he will come get me from school', 'grooming'],
    ['the teachers here deserve what is coming, im bringing my brothers blade in on monday and someone is getting hurt', 'violence'],
    ['i want to buy some weed for the weekend, does anyone know who sells it near the station, i have got forty quid', 'drugs'],
    ['i am so tired of everything, i just want to sleep and never wake up, nobody at home would even notice', 'suicide'],
    ['if you are having thoughts of ending your life, you are not alone: talk to someone you trust or call a helpline today', 'none'],
    ['in todays lesson we look at why people self-harm, how to spot the signs in a friend and who in school you can tell', 'none'],
    ['i absolutely died laughing at the assembly today, my mate nearly killed me when i spilled my drink on his blazer', 'none'],
  ])('%s: %s', (post, concern) => {
    const raised = posts.model.concerns(foldText(post), posts.page).map((c) => c.category);
    expect(raised).toEqual(concern === 'none' ? [] : [concern]);
  });
});

describe('page reading with the post model', () => {
  const PAGE = 'https://forum.example.test/thread/1';
  const thread = (...posts: string[]): string => {
    const t = pageText(Buffer.from(`<html><head><title>Weekend thread</title></head><body>${posts.map((p, i) => `<article><div>user${i}</div><p>${p}</p></article>`).join('')}</body></html>`));
    return `${t.title} ${t.text}`;
  };
  const CHATTER = [
    'anyone going to the match on saturday afternoon with the lads from school',
    'cannot wait for the holidays to start, the weather has been terrible all week long',
  ];
  let cfg: SchoolgateConfig;
  let withPosts: Classifier;
  let without: Classifier;
  beforeAll(async () => {
    cfg = loadConfig(join(CONFIG, 'default.yaml'));
    withPosts = (await loadLists(cfg, { dataDir: join(tmp.dir, 'data') })).classifier;
    without = (await loadLists({ ...cfg, phrases: { ...cfg.phrases, model: { ...cfg.phrases.model!, posts: null } } }, { dataDir: join(tmp.dir, 'data') })).classifier;
  });
  const concerns = (c: Classifier, text: string): string[] =>
    [...new Set(detect(c.classifyPage(PAGE, text), { action: 'allow' }, cfg.safeguarding, new ExclusionSet([]), 'ks2').map((a) => `${a.category} ${a.severity}`))].sort();
  const postsOf = (c: Classifier, text: string): string[] => (c.classifyPage(PAGE, text).posts ?? []).map((p) => p.category);

  it('a post the search model reads below its page threshold is raised by the post model', () => {
    // The search model reads this post as drugs at 0.36, the post model at 0.82.
    const page = thread(CHATTER[0]!, 'i want to buy some weed for the weekend, does anyone know who sells it near the station, i have got forty quid', CHATTER[1]!);
    expect(postsOf(without, page)).toEqual([]);
    expect(postsOf(withPosts, page)).toEqual(['drugs']);
    expect(concerns(withPosts, page)).toContain('substance-misuse caution');
  });

  it('with a sweep, a first-person post no listed word is near is read too', async () => {
    // No list finds a word in this post; the post model reads it as grooming at 0.67.
    const page = thread(CHATTER[0]!, 'my older friend from the game wants me to get the train to meet him on saturday and not tell my mum', CHATTER[1]!);
    const posts = { ...cfg.phrases.model!.posts!, page: 0.6 };
    const reading = async (sweep: { posts: number; page: number } | null) =>
      (await loadLists({ ...cfg, phrases: { ...cfg.phrases, model: { ...cfg.phrases.model!, posts: { ...posts, sweep } } } }, { dataDir: join(tmp.dir, 'data') })).classifier;
    const candidatesOnly = await reading(null);
    expect(candidatesOnly.classifyPage(PAGE, page).phrases.filter((h) => h.weight > 0)).toEqual([]);
    expect(postsOf(candidatesOnly, page)).toEqual([]);
    const swept = await reading({ posts: 40, page: 0.6 });
    expect(postsOf(swept, page)).toEqual(['grooming']);
    expect(concerns(swept, page)).toEqual(['grooming-sexual-exploitation caution']);
    // Above the post's probability, the sweep reads it and raises nothing.
    expect(postsOf(await reading({ posts: 40, page: 0.7 }), page)).toEqual([]);
  });

  it('a help page that quotes harm raises nothing', () => {
    const page = thread('If a friend tells you they want to kill themselves, take it seriously. Stay with them, listen, and tell a trusted adult or call 999 if they are in danger now.', CHATTER[1]!);
    expect(postsOf(withPosts, page)).toEqual([]);
    expect(concerns(withPosts, page)).toEqual([]);
  });
});
