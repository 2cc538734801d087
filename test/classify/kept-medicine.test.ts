// Someone else's medicine kept back by the pupil, and all of it taken at once with a time: the
// shape of a plan that names no method word ("saving my mums tablets … taking them all on
// friday"). Read with the shipped lists; the ordinary readings stay below danger or silent.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLexicon } from '../../src/classify/phrase-file.js';
import { buildPhraseMatcher } from '../../src/classify/phrases.js';

const ROOT = resolve(import.meta.dirname, '../..');
const m = buildPhraseMatcher({ ...loadLexicon(['en', 'pl', 'ur-latn'].map((l) => resolve(ROOT, 'config/phrases', l))), threshold: 10, thresholds: {}, danger: 20 });
const suicide = (text: string): string | undefined => m.matchSearch(text).flagged.find((f) => f.category === 'suicide')?.severity;

describe('medicine kept back and taken all at once', () => {
  it.each([
    'been saving my dads painkillers for weeks, taking them all tonight',
    'kept my grandmas sleeping pills and im swallowing them all on saturday',
    'i have enough paracetamol now and im taking them all tomorrow',
  ])('danger: %s', (text) => {
    expect(suicide(text)).toBe('danger');
  });

  it('kept back alone is a concern, not yet a plan', () => {
    expect(suicide('nicked my mums tablets from the cupboard')).toBe('caution');
  });

  it.each([
    'saving up for a new tablet for my birthday',
    'taking them all to the cinema on friday',
    'my mum keeps her tablets on the top shelf',
  ])('nothing: %s', (text) => {
    expect(suicide(text)).toBeUndefined();
  });
});
