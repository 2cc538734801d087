// English word forms: a list says "hang" once and matches "hanging" and "hung", but never a
// different word that happens to share its letters ("hanger", "killer").
import { describe, expect, it } from 'vitest';
import { PhraseMatcher } from '../../src/classify/phrases.js';
import { englishForms } from '../../src/classify/word-forms.js';

describe('englishForms', () => {
  const has: [string, string[]][] = [
    ['hang', ['hangs', 'hanging', 'hanged', 'hung', 'hangin']],
    ['overdose', ['overdoses', 'overdosing', 'overdosed']],
    ['die', ['dies', 'died', 'dying']],
    ['stab', ['stabs', 'stabbed', 'stabbing']],
    ['cut', ['cuts', 'cutting']],
    ['cry', ['cries', 'cried', 'crying']],
    ['bully', ['bullies', 'bullied', 'bullying']],
    ['starve', ['starves', 'starved', 'starving']],
    ['groom', ['grooms', 'groomed', 'grooming']],
    ['tie', ['ties', 'tied', 'tying']],
    // Irregular forms, from WordNet's exception lists.
    ['knife', ['knives']],
    ['fight', ['fought']],
    ['sell', ['sold']],
    ['buy', ['bought']],
    ['hide', ['hid', 'hidden', 'hiding']],
    ['shoot', ['shot']],
    ['child', ['children']],
    ['man', ['men']],
  ];
  it.each(has)('%s has its forms', (word, forms) => {
    expect(englishForms(word)).toEqual(expect.arrayContaining([word, ...forms]));
  });

  it('lists the word itself first', () => {
    for (const [word] of has) expect(englishForms(word)[0]).toBe(word);
  });

  const hasNot: [string, string[]][] = [
    ['kill', ['killer', 'killers', 'skill']],
    ['hang', ['hanger', 'change']],
    ['die', ['dyes', 'dyeing', 'diet']],
    ['dye', ['die', 'dying', 'died']],
    ['sex', ['sexy', 'essex']],
    ['cut', ['cute', 'cutter']],
  ];
  it.each(hasNot)('%s does not take in other words', (word, others) => {
    const forms = englishForms(word);
    for (const o of others) expect(forms, o).not.toContain(o);
  });

  it('gives words of fewer than 3 letters, and anything but plain letters, no other forms', () => {
    for (const w of ['od', 'x', 'k9', 'e-safety', 'zabić', '420']) expect(englishForms(w), w).toEqual([w]);
  });

  it('gives the same answer every time', () => {
    expect(englishForms('hang')).toEqual(englishForms('hang'));
  });
});

describe('word forms in matching', () => {
  const m = new PhraseMatcher(
    [
      { category: 'suicide', phrase: 'hang myself', weight: 20, language: 'en', file: 'test.yaml', line: 1 },
      { category: 'violence', phrase: 'knife', weight: 10, language: 'en', file: 'test.yaml', line: 2 },
      { category: 'drugs', phrase: 'overdose', weight: 10, language: 'en', file: 'test.yaml', line: 3 },
    ],
    { default: 10 },
  );

  it.each(['hang myself', 'hangs myself', 'hanging myself', 'hanged myself', 'hung myself', 'hangin myself'])('%j matches "hang myself"', (text) => {
    expect(m.match(text).hits.map((h) => h.phrase)).toEqual(['hang myself']);
  });

  it.each(['knives', 'overdosing', 'overdosed'])('%j matches', (text) => {
    expect(m.match(text).hits).toHaveLength(1);
  });

  it.each(['hanger myself', 'killer whale', 'knifepoint', 'overdo'])('%j matches nothing', (text) => {
    expect(m.match(text).hits).toEqual([]);
  });

  it('counts how many forms it knows', () => {
    expect(m.forms).toBeGreaterThanOrEqual(englishForms('hang').length + englishForms('knife').length + englishForms('overdose').length);
  });
});
