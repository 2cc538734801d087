// A way of dying done to a thing is not a person's death ("drown a phone in rice", "hang
// wallpaper"), while the same verb said of oneself is intent that context cannot erase
// ("hang myself with my phone charger"). Read with the shipped lists.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLexicon } from '../../src/classify/phrase-file.js';
import { buildPhraseMatcher } from '../../src/classify/phrases.js';

const ROOT = resolve(import.meta.dirname, '../..');
const m = buildPhraseMatcher({ ...loadLexicon(['en', 'pl', 'ur-latn'].map((l) => resolve(ROOT, 'config/phrases', l))), threshold: 10, thresholds: {}, danger: 20 });
const suicide = (text: string): string | undefined => m.matchSearch(text).flagged.find((f) => f.category === 'suicide')?.severity;

describe('a way of dying done to a thing', () => {
  it.each([
    'how long does it take to drown my tablet in a bowl of rice',
    'how long does it take for slugs to drown in a beer trap',
    'how long to hang the washing so it dries',
    'how long should you bleed a radiator for',
    'does it take long for weeds to suffocate under cardboard',
    'what headphones drown out noise best',
  ])('raises nothing: %s', (text) => {
    expect(suicide(text)).toBeUndefined();
  });

  it.each([
    'how long does it take to drown',
    'how long does it take to drown in a river',
    'how long does it take to bleed out',
    'how long does it take to suffocate in a bag',
    'how long does it take to hang from a beam',
  ])('still danger: %s', (text) => {
    expect(suicide(text)).toBe('danger');
  });
});

describe('a way with no everyday sense, said of oneself', () => {
  it('context lowers but never erases it', () => {
    expect(suicide('gonna hang myself with the cable of my phone')).toBe('danger');
    expect(suicide('how to strangle myself with my school tie')).toBe('danger');
  });

  it('ways with an everyday sense stay open to context', () => {
    expect(suicide('killing myself laughing at this video')).toBeUndefined();
    expect(suicide('drowning myself in revision for my mocks')).toBeUndefined();
  });
});
