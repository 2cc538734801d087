// The seventh round's page rules (config/phrases/*/pages-round7.yaml) and page framing
// (page-context.yaml: a script read aloud and a character's story), read with the shipped lists:
// each kind tried in a form the files do not spell out word for word, and its hard negative.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLexicon } from '../../src/classify/phrase-file.js';
import { buildPhraseMatcher } from '../../src/classify/phrases.js';

const ROOT = resolve(import.meta.dirname, '../..');
const m = buildPhraseMatcher({ ...loadLexicon(['en', 'pl', 'ur-latn'].map((l) => resolve(ROOT, 'config/phrases', l))), threshold: 10, thresholds: {}, danger: 20 });
const raised = (text: string): Record<string, string> => Object.fromEntries(m.matchPage(text).flagged.map((f) => [f.category, f.severity]));
const rules = (text: string): string[] => m.matchPage(text).hits.filter((h) => h.file.includes('pages-round7.yaml')).map((h) => `${h.category} ${h.phrase}`);

describe('children recruited to carry for a gang', () => {
  it('English: parcels to another town, kept from the parents', () => {
    expect(rules('easy work this summer, you take parcels out of town on the train, just dont tell your mum where you go')).toContain('grooming @pg7-carry + @pg7-parent-secret');
  });

  it('Polish and Roman Urdu', () => {
    expect(rules('Szukamy chętnych do rozwożenia paczek, płacimy od razu. Nikt się nie dowie, rodzicom mówisz że jesteś u kolegi.')).toContain('grooming @plpg7-carry + @plpg7-parent-secret');
    expect(rules('bas saman doosre shehar le jana hai, ammi abbu ko mat batana')).toContain('grooming @urpg7-carry + @urpg7-secret');
  });

  it('not a paper round for 13 year olds with a parent\'s consent', () => {
    const job = 'Paper round, age 13 to 15, Sunday mornings, £20 a week. A parent must sign the permit form and meet us first.';
    expect(raised(job).grooming).toBeUndefined();
  });
});

describe('an adult after children\'s pictures, kept secret', () => {
  it('pictures asked for and a secret kept', () => {
    expect(rules('send me a few pics of you in ur room, keep it between us ok')).toContain('grooming @pg7-keep-secret + @pg7-ask-child');
  });

  it('not a shop\'s gift card or a friend\'s "between us"', () => {
    expect(raised('gift cards make a great present, available in store').grooming).toBeUndefined();
    expect(raised('between us, the maths homework was way too hard this week').grooming).toBeUndefined();
  });
});

describe('a recruiter of young people into a group against a people', () => {
  it('a people replaced, and a welcome for the young', () => {
    expect(rules('they are replacing us in our own towns and nobody cares. lads from 14 can join us, ask for the invite')).toContain('extremism @pg7-replaced + @pg7-recruit');
  });
});

describe('weapons sold without asking who buys, and a knife taken to school', () => {
  it('a banned blade with no age check', () => {
    expect(raised('machete for sale, 20 inch, collection or post, no age check, cash').violence).toBeDefined();
  });

  it('not a kitchen knife set sold with an ID check', () => {
    expect(raised('kitchen knife set for sale, over 18s only, photo id on collection').violence).toBeUndefined();
  });

  it('Roman Urdu: a knife brought to school to hurt someone', () => {
    expect(raised('kal chaku jeb mein chupa ke school laaunga, usko ghonp dunga').violence).toBe('danger');
  });
});

describe('drugs at a party for the young, and lean', () => {
  it('pills sold at a party', () => {
    expect(raised('house party saturday, parents away. pills a fiver each from my guy, bring cash').drugs).toBeDefined();
  });

  it('cough syrup in a sweet drink', () => {
    expect(rules('pour the codeine syrup into the sprite and drop in some jolly ranchers')).toContain('drugs @pg7-syrup + @pg7-mix');
  });

  it('not cough syrup taken for a cold', () => {
    expect(raised('for a cough take 5ml of the syrup twice a day with water').drugs).toBeUndefined();
  });
});

describe('self-harm hidden in comments, and friends worried about a friend', () => {
  it('a blade kept where nobody finds it', () => {
    expect(rules('i keep my blade hidden in my pencil case')).toContain('self-harm @pg7-sh-tool + @pg7-sh-hide');
  });

  it('marks friends saw on a friend\'s arm', () => {
    expect(rules('did u see her arms in pe, she pulled her sleeve down but there were marks everywhere')).toContain('self-harm @pg7-sh-sleeve + @pg7-sh-seen');
  });
});

describe('a classmate told to die and her picture shared', () => {
  it('told to die, her picture posted', () => {
    expect(rules('she should just go die lol. ive got a photo of her from the trip, post it in the group')).toContain('bullying @pg7-die-at + @pg7-post-pic');
  });
});

describe('a script read aloud: a character\'s story framed where it is told', () => {
  it('frames the story', () => {
    const script = 'Form time. Sam is a fictional pupil. "I started hurting myself in Year 8 and told nobody." Ask the class who Sam could talk to.';
    expect(m.matchPage(script).hits.some((h) => h.phrase === '@page-story' && h.category === 'self-harm')).toBe(true);
    expect(raised(script)['self-harm']).toBeUndefined();
  });
});
