// The seventh round for searches: a child's sound-spelling of short words read back
// (child-spellings.ts, via readSearch) and the rules of config/phrases/*/searches-round7.yaml,
// read with the shipped lists: each kind in a form the files do not spell out word for word,
// and its hard negative.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { respelled } from '../../src/classify/child-spellings.js';
import { loadLexicon } from '../../src/classify/phrase-file.js';
import { buildPhraseMatcher } from '../../src/classify/phrases.js';

const ROOT = resolve(import.meta.dirname, '../..');
const m = buildPhraseMatcher({ ...loadLexicon(['en', 'pl', 'ur-latn'].map((l) => resolve(ROOT, 'config/phrases', l))), threshold: 10, thresholds: {}, danger: 20 });
const raised = (text: string): Record<string, string> => Object.fromEntries(m.matchSearch(text).flagged.map((f) => [f.category, f.severity]));

describe('a child\'s sound-spelling of short words', () => {
  it('is read back and reported', () => {
    const r = m.matchSearch('how meny pils to kil u');
    expect(r.repairs.map((x) => `${x.from}>${x.to}:${x.kind}`)).toEqual(['meny>many:sound spelling', 'pils>pills:sound spelling', 'kil>kill:sound spelling', 'u>you:sound spelling']);
    expect(raised('how meny pils to kil u').suicide).toBe('danger');
    expect(raised('my uncle duz rude stuff to me at nite').grooming).toBe('danger');
  });

  it('leaves a one- or two-letter word alone next to a listed word of another language', () => {
    // Polish "u dziecka" ("at a child's") is context the Polish lists hold; "u" is not "you" there.
    const r = m.matchSearch('samookaleczenie u dziecka objawy');
    expect(r.repairs.map((x) => x.from)).not.toContain('u');
    expect(m.matchSearch('samookaleczenie u dziecka objawy').hits.some((h) => h.phrase === 'u dziecka')).toBe(true);
    // Next to English words, or to another sound-spelling, it is still read.
    expect(m.matchSearch('how do u make yorself ded').repairs.map((x) => x.from)).toContain('u');
    expect(m.matchSearch('to kil u').repairs.map((x) => x.from)).toEqual(['kil', 'u']);
  });

  it('reads "dye" as "die" only where the words around it read as dying', () => {
    expect(respelled('dye', '2', '')).toBe('die');
    expect(respelled('dye', 'to', 'all')).toBe('die');
    expect(raised('i just wanna dye').suicide).toBe('danger');
    expect(respelled('dye', 'to', 'my')).toBeNull();
    expect(respelled('dye', 'tie', '')).toBeNull();
    expect(raised('how long does hair dye take')).toEqual({});
    expect(raised('can i dye my school shoes black')).toEqual({});
  });

  it('reads Polish "wy" (you) as itself, and "why" only before an English word', () => {
    expect(respelled('wy', '', 'do')).toBe('why');
    expect(respelled('wy', 'czy', 'jestescie')).toBeNull();
  });
});

describe('a framing does not hide a method', () => {
  it('a story about a child ending her life unseen', () => {
    expect(raised('writing a fanfic how could a teen kill herself without anyone noticing').suicide).toBe('danger');
    expect(raised('hypothetically how would a girl my age end her life painlessly').suicide).toBe('danger');
  });

  it('not a question on a play', () => {
    expect(raised('how does romeo end his life in romeo and juliet').suicide).toBeUndefined();
  });
});

describe('euphemism and places', () => {
  it('joining the dead in heaven, a train passing, a feeling with a question for help', () => {
    expect(raised('i wanna go be with my dog in heaven how do i get up there').suicide).toBe('danger');
    expect(raised('when does the express train come thru the station so i can jump in front of it').suicide).toBe('danger');
    expect(raised('feel like i wanna die who can i message right now').suicide).toBe('danger');
  });

  it('not a train timetable or a help question alone', () => {
    expect(raised('what time does the fast train to london leave')).toEqual({});
    expect(raised('who can i talk to about exam stress')).toEqual({});
  });
});

describe('Roman Urdu and Polish', () => {
  it('giving up food to get thin, jihad unseen, a packet to another city, a 25-year-old', () => {
    expect(raised('bhooki rehne ka tarika patli hona hai')['self-harm']).toBe('danger');
    expect(raised('jihad par jana hai ghar walon ko pata na chale').extremism).toBe('danger');
    expect(raised('ek aadmi kehta hai bag le kar dusre shehar jao cash milega').grooming).toBe('danger');
    expect(raised('kolega pisze ze starszym facetem z internetu').grooming).toBeDefined();
  });

  it('not a recipe, a lesson or a train ticket', () => {
    expect(raised('khana banane ka tareeqa')).toEqual({});
    expect(raised('doosre sheher jane ka train ticket')).toEqual({});
  });
});
