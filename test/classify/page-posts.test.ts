import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { firstPerson, offsetOfHit, postAt, splitPosts, trimPost, POST_EVIDENCE_CHARS } from '../../src/classify/page-posts.js';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { tempDir } from '../helpers/lists.js';

const CONFIG = resolve(import.meta.dirname, '../../config');
const tmp = tempDir();
afterAll(tmp.cleanup);

/** n words "w1 w2 …", each named by its place, from `from`. */
const words = (n: number, from = 1, name = 'w'): string => Array.from({ length: n }, (_, i) => `${name}${from + i}`).join(' ');
const postsOf = (text: string): string[] => splitPosts(text).map((p) => text.slice(p.start, p.end));

describe('splitPosts', () => {
  it.each([
    ['an empty text', '', []],
    ['one short block', 'hello there', ['hello there']],
    ['two posts of 8 words', `${words(8)}\n${words(8, 9)}`, [words(8), words(8, 9)]],
    // A user name and a date are joined to the post under them.
    ['short blocks join the next', `alice\n2 days ago\n${words(8)}\nbob\n${words(9, 20)}`, [`alice\n2 days ago\n${words(8)}`, `bob\n${words(9, 20)}`]],
    // "Reply" after the last post belongs to it.
    ['a short tail joins the post before', `${words(8)}\nReply Share`, [`${words(8)}\nReply Share`]],
    ['empty lines and spaces around blocks are not words', `\n\n ${words(8)} \n \n`, [words(8)]],
    ['a post of exactly 60 words is one post', words(60), [words(60)]],
    // Windows of 60 words, 30 apart: what one cuts, the next holds whole.
    ['a post of 61 words is two windows', words(61), [words(60), words(31, 31)]],
    ['a post of 100 words is three windows', words(100), [words(60), words(60, 31), words(40, 61)]],
    ['a long post is windowed across its joined blocks', `${words(3)}\n${words(70, 4)}`, [`${words(3)}\n${words(57, 4)}`, words(43, 31)]],
  ])('%s', (_, text, expected) => {
    expect(postsOf(text)).toEqual(expected);
  });

  it('a short tail after a long post is a post of its own window', () => {
    expect(postsOf(`${words(70)}\nok then`)).toEqual([words(60), `${words(40, 31)}\nok then`]);
  });
});

describe('postAt', () => {
  const text = `${words(8)}\n${words(100, 100)}`;
  const posts = splitPosts(text);

  it('finds the post holding an offset', () => {
    expect(postAt(posts, 0)).toBe(0);
    expect(postAt(posts, text.indexOf('w5 '))).toBe(0);
  });

  it('of the windows holding it, takes the one it is nearest the middle of', () => {
    // w100 … w159 is the first window, w130 … w189 the second, w160 … w199 the third.
    expect(text.slice(posts[1]!.start, posts[1]!.start + 5)).toBe('w100 ');
    expect(postAt(posts, text.indexOf('w101 '))).toBe(1);
    expect(postAt(posts, text.indexOf('w155 '))).toBe(2);
    expect(postAt(posts, text.indexOf('w195'))).toBe(3);
  });

  it('is -1 for no posts', () => {
    expect(postAt([], 3)).toBe(-1);
  });
});

describe('offsetOfHit', () => {
  it('takes the occurrence of the hit\'s longest word nearest its share of the text', () => {
    const text = 'I cut the cake\nfiller words here and more filler\nthen i Cut myself again';
    // "cut myself" is words 12-13 of 15 as read: the second "cut", not the first, capitalised or not.
    expect(offsetOfHit({ matched: 'cut myself', spans: [{ start: 12, end: 14 }] }, 15, text)).toBe(text.indexOf('Cut myself'));
    expect(offsetOfHit({ matched: 'cut … cake', spans: [{ start: 1, end: 2 }, { start: 3, end: 4 }] }, 15, text)).toBe(text.indexOf('cake'));
    // A word written otherwise is left at the guess.
    expect(offsetOfHit({ matched: 'zzz', spans: [{ start: 5, end: 6 }] }, 10, text)).toBe(Math.round(text.length / 2));
  });
});

describe('firstPerson', () => {
  it.each([
    ['i want to stop', true],
    ['im done', true],
    ['he took my phone', true],
    ['everyone hates me', true],
    ['you are not alone', false],
    ['they said it to him', false],
    ['mine', true],
    ['imagine this', false],
    // Polish and Urdu in Latin script, as foldText reads them.
    ['nikt mnie nie lubi', true],
    ['moj brat mnie bije', true],
    ['jestem sama w domu', true],
    ['ty jestes glupi', false],
    ['on nie przyszedl', false],
    ['main ne goliyan jama kar li hain', true],
    ['mujhe koi nahi samajhta', true],
    ['the main gate opens at eight', false],
    ['main road closed', false],
  ])('"%s": %s', (folded, expected) => {
    expect(firstPerson(folded)).toBe(expected);
  });
});

describe('trimPost', () => {
  it('keeps a short post whole, on one line', () => {
    expect(trimPost('alice\nwhat a day')).toBe('alice what a day');
  });

  it('cuts a long post at a word', () => {
    const t = trimPost(words(200));
    expect(t.length).toBeLessThanOrEqual(POST_EVIDENCE_CHARS + 2);
    expect(t.endsWith(' …')).toBe(true);
    expect(words(200).startsWith(t.slice(0, -2))).toBe(true);
  });
});

describe('phrases.model.page in the configuration', () => {
  let n = 0;
  const configWith = (model: string): string => {
    const file = join(tmp.dir, `c${n++}.yaml`);
    writeFileSync(file, `categories: ${CONFIG}/categories.yaml\nphrases:\n  model: ${model}\n`);
    return file;
  };
  const problemsOf = (model: string): string => {
    try {
      loadConfig(configWith(model));
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    throw new Error('expected a ConfigError');
  };

  it('takes a page threshold, and none means the model does not read pages', () => {
    expect(loadConfig(configWith(`{ file: ${CONFIG}/search-model.json, threshold: 0.9, page: 0.97 }`)).phrases.model).toMatchObject({ threshold: 0.9, page: 0.97 });
    expect(loadConfig(configWith(`{ file: ${CONFIG}/search-model.json, threshold: 0.9 }`)).phrases.model).toMatchObject({ threshold: 0.9, page: null });
  });

  it('the shipped configuration reads pages at a threshold above searches\'', () => {
    const m = loadConfig(join(CONFIG, 'default.yaml')).phrases.model!;
    expect(m.page).toBeGreaterThan(m.threshold);
  });

  it.each([
    ['a page threshold above 0.999', '1', /phrases\.model\.page: must be at most 0\.999, found 1/],
    ['a page threshold that is not a number', 'high', /phrases\.model\.page: must be a number/],
    ['a page threshold below the search threshold', '0.8', /phrases\.model\.page: is 0\.8, below threshold \(0\.9\): one post of a page must be at least as probable as a search to raise a concern/],
  ])('refuses %s', (_, page, message) => {
    expect(problemsOf(`{ file: ${CONFIG}/search-model.json, threshold: 0.9, page: ${page} }`)).toMatch(message);
  });
});
