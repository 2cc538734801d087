// Conversation pages (test/fixtures/safeguarding/pages/turns/, "turns:" rows of pages.tsv) read
// with the shipped configuration, lists and models, as `schoolgate classify --page` reads them:
// what each raises, and that the evidence the DSL sees is the pupil's words, never an
// assistant's or a moderator's safety text. The harmful pages the lists and models still miss
// (bench/RESULTS.md, "Conversation turns") are not in the table.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect } from '../../src/alerts/detect.js';
import { ExclusionSet } from '../../src/alerts/exclusions.js';
import type { Classifier } from '../../src/classify/classifier.js';
import { pageText } from '../../src/classify/page-text.js';
import { findTurns, turnAt } from '../../src/classify/turns.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { loadLists } from '../../src/lists/load.js';
import { tempDir } from '../helpers/lists.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PAGES = join(ROOT, 'test/fixtures/safeguarding/pages/turns');
const URL = 'https://chat.example.test/c/1';
const tmp = tempDir();
afterAll(tmp.cleanup);

let cfg: SchoolgateConfig;
let classifier: Classifier;
beforeAll(async () => {
  cfg = loadConfig(join(ROOT, 'config/default.yaml'));
  classifier = (await loadLists(cfg, { dataDir: join(tmp.dir, 'data') })).classifier;
});

const textOf = (file: string): string => {
  const t = pageText(readFileSync(join(PAGES, file)));
  return `${t.title} ${t.text}`;
};
const alertsOf = (file: string) => detect(classifier.classifyPage(URL, textOf(file)), { action: 'allow' }, cfg.safeguarding, new ExclusionSet([]), 'ks2');
const raised = (file: string): string[] => alertsOf(file).map((a) => `${a.category} ${a.severity}`).sort();

describe('conversation pages raise what the pupil says', () => {
  it.each([
    ['h-ai-roles-suicide-plan.html', 'suicide danger'],
    ['h-ai-class-selfharm-hide.html', 'self-harm danger'],
    ['h-ai-datarole-knife-school.html', 'violence-weapons danger'],
    ['h-ai-json-starving.txt', 'self-harm danger'],
    ['h-ai-labels-grooming-pics.html', 'grooming-sexual-exploitation danger'],
    ['h-ai-author-bullying.html', 'bullying caution'],
    ['h-forum-mod-relapse.html', 'self-harm danger'],
    ['h-groupchat-coach-pics.html', 'grooming-sexual-exploitation danger'],
    ['h-groupchat-pills-tonight.txt', 'suicide danger'],
  ])('%s: %s', (file, concern) => {
    expect(raised(file)).toContain(concern);
  });
});

describe('an assistant\'s or moderator\'s safety text raises nothing on a benign page', () => {
  it.each([
    'b-ai-roles-tired-checkin.html',
    'b-ai-class-caffeine-project.html',
    'b-ai-plain-story-refusal.txt',
    'b-ai-roles-essay-stats.html',
    'b-ai-class-poem-grief.html',
    'b-forum-mod-resources.html',
    'b-forum-mod-boss-fight.html',
    'b-ai-roles-password-gcse.html',
    'b-ai-labels-blitz-homework.html',
    'b-ai-datarole-knights.html',
    'b-ai-json-food-tech.txt',
    'b-groupchat-fortnite.txt',
    'b-groupchat-sleepover.html',
  ])('%s', (file) => {
    expect(raised(file)).toEqual([]);
  });
});

describe('the evidence names the pupil\'s words', () => {
  it('the assistant\'s "are you thinking about ending your life?" is not evidence of the pupil\'s plan', () => {
    const triggers = alertsOf('h-ai-roles-suicide-plan.html').flatMap((a) => a.triggers);
    expect(triggers.length).toBeGreaterThan(0);
    expect(triggers.map((t) => ('matched' in t ? t.matched : '')).join(' | ')).not.toMatch(/ending your life|call|samaritans/i);
    expect(triggers.map((t) => ('matched' in t ? t.matched : '')).join(' | ')).toMatch(/not going to be here/);
  });

  it('h-groupchat-pills-tonight.txt: what the lists found is in a person\'s turn', () => {
    // The lists read this one themselves (medicine kept back, all taken tonight), so no post is
    // left for the models; their evidence must be a person's words all the same.
    const text = textOf('h-groupchat-pills-tonight.txt');
    const people = findTurns(text).filter((t) => t.speaker === 'person').map((t) => text.slice(t.body, t.end).toLowerCase());
    const triggers = alertsOf('h-groupchat-pills-tonight.txt').flatMap((a) => a.triggers).filter((t) => 'matched' in t);
    expect(triggers.length).toBeGreaterThan(0);
    for (const t of triggers) {
      for (const piece of String((t as { matched: string }).matched).split(' … ')) expect(people.some((p) => p.includes(piece))).toBe(true);
    }
  });

  it.each(['h-ai-class-selfharm-hide.html'])('%s: the post the learned model read is a person\'s turn, without its label', (file) => {
    const text = textOf(file);
    const turns = findTurns(text);
    const posts = classifier.classifyPage(URL, text).posts ?? [];
    expect(posts.length).toBeGreaterThan(0);
    for (const p of posts) {
      expect(turns[turnAt(turns, p.at.start)]?.speaker).toBe('person');
      expect(p.post).not.toMatch(/^(?:User|\[\d)/);
    }
  });
});
