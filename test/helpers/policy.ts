// A policy and a classifier built from real config and list files in a temp folder, so policy
// tests go through the same loader, compiler and matcher as production.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildMatcherData } from '../../src/classify/build.js';
import { Classifier } from '../../src/classify/classifier.js';
import { Matcher } from '../../src/classify/matcher.js';
import { PhraseMatcher } from '../../src/classify/phrases.js';
import { SearchTermExtractor } from '../../src/classify/search-terms.js';
import { loadConfig } from '../../src/config/load.js';
import { decide } from '../../src/policy/decide.js';
import type { Decision, PolicyRequest, PolicySnapshot } from '../../src/policy/types.js';
import { writeLists, type TestList } from './lists.js';

export const CONFIG_DIR = resolve(import.meta.dirname, '../../config');

/** Test sites, one or more categories each (reserved names only). */
export const TEST_LISTS: TestList[] = [
  { name: 'adult', files: { domains: 'adult.example.test\n' } },
  { name: 'gambling', files: { domains: 'bet.example.test\n' } },
  { name: 'games', files: { domains: 'game.example.test\n' } },
  { name: 'shopping', files: { domains: 'shop.example.test\n' } },
  { name: 'social-networking', files: { domains: 'social.example.test\n' } },
  { name: 'chat', files: { domains: 'chat.example.test\n' } },
  { name: 'video-streaming', files: { domains: 'video.example.test\nedu-video.example.test\n' } },
  { name: 'education', files: { domains: 'learn.example.test\nedu-video.example.test\n' } },
  { name: 'drugs', files: { domains: 'drugs.example.test\n' } },
  { name: 'iwf', sensitive: true, files: { iwf: 'abuse.example.test/page\nwhole-abuse.example.test\n' } },
  { name: 'terrorism', sensitive: true, files: { domains: 'terror.example.test\n' } },
  { name: 'malware', files: { domains: 'example.com\n' } },
  { name: 'school-allow', category: 'education', role: 'allow', files: { urls: 'video.example.test/lessons\n', domains: 'example.com\n' } },
  { name: 'school-block', category: 'school-blocked', role: 'block', files: { domains: 'blocked.example.test\n' } },
];

export function classifierFor(dir: string, lists: readonly TestList[] = TEST_LISTS): Classifier {
  return new Classifier({
    matcher: new Matcher(buildMatcherData(writeLists(dir, lists))),
    search: new SearchTermExtractor([]),
    phrases: new PhraseMatcher([], { default: 10 }),
    cacheSize: 0,
  });
}

/** Writes a config whose policy section is `policy` (YAML text, indented under "policy:"). */
export function policyFrom(dir: string, policy: string, name = `policy-${Math.random().toString(36).slice(2)}.yaml`): PolicySnapshot {
  const file = join(dir, name);
  writeFileSync(file, `categories: ${CONFIG_DIR}/categories.yaml\npolicy:\n${policy}`);
  return loadConfig(file).policy;
}

export function decider(classifier: Classifier, policy: PolicySnapshot) {
  return (url: string, req: PolicyRequest, at: string | Date): Decision => decide(req, classifier.classify(url), policy, typeof at === 'string' ? new Date(at) : at);
}
