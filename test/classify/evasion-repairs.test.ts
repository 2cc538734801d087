// The evasion repairs the robustness evaluation (bench/eval-evasions.ts) asked for: words run
// together, repeated letters in several places, look-alike letters of more scripts, typos of
// words the lists also hold misspellings of, spaced letters that spell an English word, the
// invisible U+FEFF in a search term, and the learned model reading the search as the lists
// read it. Then a property: a listed phrase hidden by any of these families is still found.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { englishWordEnds } from '../../src/classify/english.js';
import { emojiMap, NearIndex, readCharacters, segmented } from '../../src/classify/evasions.js';
import { normaliseUrl } from '../../src/classify/normalise-url.js';
import { loadLexicon } from '../../src/classify/phrase-file.js';
import { buildPhraseMatcher, type PhraseResult } from '../../src/classify/phrases.js';
import { SearchTermExtractor } from '../../src/classify/search-terms.js';
import { WordTable } from '../../src/classify/word-table.js';
import { tempDir } from '../helpers/lists.js';

const tmp = tempDir('schoolgate-evasion-repairs-');
afterAll(tmp.cleanup);
const LEXICON = join(tmp.dir, 'repairs.yaml');
writeFileSync(LEXICON, `language: en
words:
  self: [myself, "my self", mysef, yourself]
categories:
  suicide:
    "kill @self": 20
    "suicid*": 10
    "overdose": 10
    "noose": 10
    "meaning": -30
  self-harm:
    "cutting @self": 20
  violence:
    "make + bomb": { weight: 20, within: 3 }
    "stab + someone": { weight: 20, within: 3 }
    "acid attack": 20
  extremism:
    "join + isis": { weight: 20, within: 3 }
`);
const m = buildPhraseMatcher({ ...loadLexicon([LEXICON]), threshold: 10, thresholds: {}, danger: 20 });
const NO_EMOJI = emojiMap([]);
const categories = (r: PhraseResult): string[] => [...new Set(r.hits.filter((h) => h.weight > 0).map((h) => h.category))].sort();

describe('words run together', () => {
  it.each([
    ['howtokillmyself', ['suicide']],
    ['how to killmyself', ['suicide']],
    ['iwanttokillmyself', ['suicide']],
    ['joinisisuk', ['extremism']],
    ['howtomakeabomb', ['violence']],
    ['howtostabsomeoneintheheart', ['violence']],
  ])('%j is read as its words', (text, want) => {
    expect(categories(m.matchSearch(text))).toEqual(want);
  });

  it('reports the split', () => {
    expect(m.matchSearch('killmyself').repairs).toEqual([{ from: 'killmyself', to: 'kill myself', kind: 'words run together' }]);
  });

  it('splits into the fewest words, a word with an ending put on it costing more than one as written', () => {
    expect(segmented('suicidesquadgamereview', m.vocabulary)).toEqual(['suicide', 'squad', 'game', 'review']);
    expect(segmented('amanonlineaskedmeforpictures', m.vocabulary)).toBeNull(); // nothing of the lists in it
    expect(segmented('iamgoingtokillmyself', m.vocabulary)).toEqual(['i', 'am', 'going', 'to', 'kill', 'myself']);
  });

  it('leaves an English word, a word of another language and a name alone', () => {
    for (const t of ['therapist', 'mowilam', 'zrobilam', 'killerqueenx']) expect(m.matchSearch(t).repairs, t).toEqual([]);
  });

  it('is for searches: an address is read as written', () => {
    expect(categories(m.matchWords('/howtokillmyself'))).toEqual([]);
  });
});

describe('repeated letters', () => {
  it('reads each run as one or two of its letter, an English reading of the listed ones first', () => {
    expect(m.matchSearch('cccuttinggggg myself').read).toBe('cutting myself');
    expect(m.matchSearch('acid attackkkk').read).toBe('acid attack');
  });

  it('reads a run of three or more into an English word the lists do not hold, so context still counts', () => {
    const r = m.matchSearch('suicide meaniiiing');
    expect(r.read).toBe('suicide meaning');
    expect(r.flagged).toEqual([]);
  });

  it('leaves a word whose doubled letters are its spelling', () => {
    expect(m.matchSearch('committee bookkeeper').repairs).toEqual([]);
  });
});

describe('look-alike letters', () => {
  it.each([
    ['kіll mуself', 'kill myself'], // Cyrillic
    ['кill мyself', 'kill myself'], // Cyrillic, more of them
    ['ᴋɪʟʟ myself', 'kill myself'], // Latin small capitals
    ['kiʟʟ mʏself', 'kill myself'],
    ['nօօse', 'noose'], // Armenian o
    ['ΚΙLL myself', 'kill myself'], // Greek capitals
    ['sυιϲιԁe', 'suicide'], // all look-alikes
  ])('%j', (text, want) => {
    expect(m.matchSearch(text).read).toBe(want);
  });

  it('leaves words written wholly in another script alone', () => {
    for (const word of ['убить', 'самоубийство', 'θάνατος', 'զինք']) expect(readCharacters(word, NO_EMOJI), word).toBe(word);
  });
});

describe('typos', () => {
  it('of several listed forms one edit away, reads the one English (or common) word', () => {
    const near = new NearIndex();
    for (const w of ['myself', 'mysef', 'mself']) near.add(w);
    expect(near.nearest('ymself')).toBe('myself');
    expect(categories(m.matchSearch('kill ymself'))).toEqual(['suicide']);
  });

  it('still answers nothing when two English words are as near', () => {
    const near = new NearIndex();
    for (const w of ['stable', 'staple']) near.add(w);
    expect(near.nearest('stasle')).toBeNull();
  });
});

describe('spaced letters', () => {
  it('joins a run that spells an English word the lists do not hold, so the context it gives counts', () => {
    const r = m.matchSearch('suicide m e a n i n g');
    expect(r.read).toBe('suicide meaning');
    expect(r.flagged).toEqual([]);
  });
});

describe('what the learned model is given', () => {
  it('a search read otherwise than folded says how it was read, though nothing matched', () => {
    expect(m.matchSearch('plain words here', 'plain words here').read).toBe('');
    expect(m.matchSearch('ki\u200bttens and pu\u200dppies', 'ki ttens and pu ppies').read).toBe('kittens and puppies');
  });

  it('a search term keeps U+FEFF inside a word (it is whitespace to \\s), for the repairs to drop', () => {
    const x = new SearchTermExtractor([{ name: 'g', hosts: ['www.example.com'], rules: [{ path: '/search', param: 'q', partial: false }] }]);
    const term = x.extract(normaliseUrl('https://www.example.com/search?q=kill+my%EF%BB%BFself'));
    expect(term?.raw).toBe('kill my\ufeffself');
    expect(categories(m.matchSearch(term!.raw, term!.text))).toEqual(['suicide']);
  });
});

describe('the look-ups the split is made of', () => {
  it('englishWordEnds: where WordNet words starting at a place end, and stems before -ing, -ed, -ies', () => {
    expect(englishWordEnds('killmyself', 0, 10).ends).toContain(4);
    expect(englishWordEnds('makingabomb', 0, 11).eEnds).toContain(3); // mak|ing
    expect(englishWordEnds('studies', 0, 7).eEnds).toContain(4); // stud|ies
    expect(englishWordEnds('zzzzkill', 0, 8)).toEqual({ ends: [], eEnds: [] });
  });

  it('WordTable.listedPieces: the forms and prefixes a word starts with, by length', () => {
    const t = new WordTable([' kill ', ' killer ', ' suicid'], [[0], [1], [2]]);
    expect(t.listedPieces('killerqueen', 3)).toEqual({ forms: [4, 6], prefixes: [] });
    expect(t.listedPieces('suicidesquad', 3)).toEqual({ forms: [], prefixes: [6] });
    expect(t.listedPieces('kill', 5)).toEqual({ forms: [], prefixes: [] });
  });
});

// ---------------------------------------------------------------------------------------
// Property: a listed phrase hidden by one or two evasion families is still found.

const PHRASES: readonly [string, string][] = [
  ['kill myself', 'suicide'],
  ['suicide', 'suicide'],
  ['overdose', 'suicide'],
  ['cutting myself', 'self-harm'],
  ['how to make a bomb', 'violence'],
  ['join isis', 'extremism'],
];
const LEET: Readonly<Record<string, string>> = { a: '4', e: '3', i: '1', o: '0', s: '5', t: '7' };
const LOOK_ALIKE: Readonly<Record<string, string>> = { a: 'а', c: 'с', e: 'е', i: 'і', k: 'κ', o: 'о', p: 'р', s: 'ѕ', y: 'у' };
const INVISIBLE = ['\u200b', '\u200c', '\u200d', '\u2060', '\u00ad'];

type Family = (words: string[], at: number, pick: number) => string[];
const onWord = (f: (w: string, pick: number) => string): Family => (words, at, pick) => words.map((w, i) => (i === at ? f(w, pick) : w));
const FAMILIES: Readonly<Record<string, Family>> = {
  leet: onWord((w) => [...w].map((c) => LEET[c] ?? c).join('')),
  spaced: onWord((w) => [...w].join(' ')),
  dotted: onWord((w) => [...w].join('.')),
  repeated: onWord((w, pick) => w.slice(0, (pick % w.length) + 1) + w[pick % w.length]!.repeat(3) + w.slice((pick % w.length) + 1)),
  'look-alike': onWord((w) => [...w].map((c) => LOOK_ALIKE[c] ?? c).join('')),
  invisible: onWord((w, pick) => w.slice(0, 1 + (pick % (w.length - 1))) + INVISIBLE[pick % INVISIBLE.length] + w.slice(1 + (pick % (w.length - 1)))),
  caps: (words) => words.map((w) => w.toUpperCase()),
  'run together': (words) => [words.join('')],
};

describe('property: a listed phrase hidden by evasions is still found', () => {
  const phrase = fc.constantFrom(...PHRASES);
  const family = fc.constantFrom(...Object.keys(FAMILIES));
  it('one family, on any word of the phrase', () => {
    fc.assert(
      fc.property(phrase, family, fc.nat(), fc.nat(), ([text, category], name, at, pick) => {
        const words = text.split(' ');
        const hidden = FAMILIES[name]!(words, at % words.length, pick).join(' ');
        expect(categories(m.matchSearch(hidden)), `${name}: ${hidden}`).toContain(category);
      }),
      { numRuns: 400, seed: 14 },
    );
  });

  it('two families, the second over the first', () => {
    // Families that still leave words to work on, then any.
    const first = fc.constantFrom('leet', 'repeated', 'look-alike', 'invisible', 'caps');
    fc.assert(
      fc.property(phrase, first, family, fc.nat(), fc.nat(), ([text, category], a, b, at, pick) => {
        const words = text.split(' ');
        const once = FAMILIES[a]!(words, at % words.length, pick);
        const hidden = FAMILIES[b]!(once, at % once.length, pick >> 3).join(' ');
        expect(categories(m.matchSearch(hidden)), `${a} + ${b}: ${JSON.stringify(hidden)}`).toContain(category);
      }),
      { numRuns: 400, seed: 41 },
    );
  });
});
