// The sixth round's page rules (config/phrases/*/pages-round6.yaml) and page framing
// (page-context.yaml), read with the shipped lists: kinds of wording, each tried in a form the
// files do not spell out word for word, and its hard negative.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLexicon } from '../../src/classify/phrase-file.js';
import { buildPhraseMatcher } from '../../src/classify/phrases.js';

const ROOT = resolve(import.meta.dirname, '../..');
const m = buildPhraseMatcher({ ...loadLexicon(['en', 'pl', 'ur-latn'].map((l) => resolve(ROOT, 'config/phrases', l))), threshold: 10, thresholds: {}, danger: 20 });
const raised = (text: string): Record<string, string> => Object.fromEntries(m.matchPage(text).flagged.map((f) => [f.category, f.severity]));
const rule = (text: string, file: string): string[] => m.matchPage(text).hits.filter((h) => h.file.endsWith(file)).map((h) => `${h.category} ${h.phrase}`);

describe('what is said to a child in a chat', () => {
  it('a threat to share an image unless the child pays or sends more', () => {
    const chat = 'jay 21:40\nlisten. pay 50 in gift cards tonight or i post it to all your followers and your school\nme 21:41\nplease dont';
    expect(rule(chat, 'en/pages-round6.yaml')).toContain('grooming @pg6-refuse + @pg6-audience + @pg6-expose');
    expect(raised(chat).grooming).toBeDefined();
  });

  it('asking for a picture of the child in undress', () => {
    expect(rule('you looked nice today. send me one in your pyjamas later x', 'en/pages-round6.yaml')).toEqual(['grooming @pg6-image-ask + @pg6-undressed']);
  });

  it('not a shop telling a buyer their parents will not see the parcel', () => {
    const shop = 'if you dont want your parents seeing it we post it in plain packaging';
    expect(rule(shop, 'en/pages-round6.yaml')).toContain('grooming @pg6-discreet');
    expect(raised(shop).grooming).toBeUndefined();
  });
});

describe('an extremist recruiter, and a county-lines job, in the community languages', () => {
  it('Polish: enemies of a nation made to pay, streets to be cleansed', () => {
    expect(raised('Nadejdzie dzień, gdy oczyścimy miasto. Zdrajcy narodu i najeźdźcy zapłacą za wszystko.').extremism).toBe('danger');
  });

  it('Roman Urdu: parcels carried to another city, not to be opened', () => {
    expect(raised('weekend pe bas ek packet doosre shehar le jana hai, packet mat kholna aur sawal mat poochna. 200 cash.').grooming).toBe('danger');
  });
});

describe('a pupil\'s own stockpile of pills, in the community languages', () => {
  it('is an intent rule in Polish and Roman Urdu', () => {
    const intent = (text: string): boolean => m.matchPage(text).hits.some((h) => h.category === 'suicide' && h.intent && h.file.endsWith('pages-round6.yaml'));
    expect(intent('od miesiąca odkładam tabletki nasenne mamy')).toBe(true);
    expect(intent('maine abbu ki dawaiyan ikathi kar li hain')).toBe(true);
    // Not someone else's, and not pills bought for a headache.
    expect(intent('ammi ne dawaiyan almari mein rakhi hain')).toBe(false);
    expect(intent('kupiłam tabletki na ból głowy')).toBe(false);
  });
});

describe('page framing', () => {
  it('a Roman Urdu information page for parents lowers what it names', () => {
    const plan = 'main ne goliyan jama kar li hain aur aaj raat sab kha lunga';
    const info = `Bachon aur walidain ke liye maloomat. Khatre ki nishani: agar bacha kahe "${plan}" to foran madad ke liye rabta karein. Iska ilaaj mumkin hai.`;
    expect(m.matchPage(info).hits.some((h) => h.file.endsWith('ur-latn/page-context.yaml'))).toBe(true);
  });

  it('a sports report frames its fighting talk', () => {
    const report = 'Match report. They massacred us in the first half and battered our pack, a brutal afternoon. Full time: 40-3. Man of the match: Kai.';
    expect(m.matchPage(report).hits.filter((h) => h.phrase === '@page-sport').map((h) => h.category).sort()).toEqual(['bullying', 'violence']);
  });
});
