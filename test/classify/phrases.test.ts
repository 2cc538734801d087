import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { expectProblems, problemsOf as problemsFrom } from '../helpers/config-problems.js';
import { foldText } from '../../src/classify/normalise-text.js';
import {
  DEFAULT_PHRASE_THRESHOLD, loadPhraseFile, NO_NEGATIVE_WEIGHTS, NO_PHRASES, PHRASE_CATEGORIES, PhraseMatcher,
  type PhraseEntry,
} from '../../src/classify/phrases.js';

const configFile = (name: string): string => fileURLToPath(new URL(`../../config/phrases/${name}`, import.meta.url));
const SHIPPED = ['en.yaml', 'pl.yaml', 'ur-latn.yaml'] as const;
const shipped = Object.fromEntries(SHIPPED.map((f) => [f, loadPhraseFile(configFile(f))])) as Record<(typeof SHIPPED)[number], PhraseEntry[]>;
const allShipped = SHIPPED.flatMap((f) => shipped[f]);
const matcher = new PhraseMatcher(allShipped, { default: DEFAULT_PHRASE_THRESHOLD });

const flaggedIn = (text: string): string[] => matcher.match(foldText(text)).flagged.map((f) => f.category);

/** A matcher over a few phrases written in the test, all in one file. */
function build(phrases: readonly (readonly [category: string, phrase: string, weight: number])[], thresholds = { default: 10 } as ConstructorParameters<typeof PhraseMatcher>[1]): PhraseMatcher {
  const entries = phrases.map(([category, phrase, weight], i): PhraseEntry => ({ category, phrase, weight, language: 'en', file: 'test.yaml', line: i + 1 }));
  return new PhraseMatcher(entries, thresholds);
}

describe('shipped phrase lists', () => {
  it.each(SHIPPED)('%s loads without problems', (file) => {
    expect(shipped[file].length).toBeGreaterThan(50);
  });

  it.each([
    ['en.yaml', 'en'],
    ['pl.yaml', 'pl'],
    ['ur-latn.yaml', 'ur-latn'],
  ] as const)('%s declares language %s on every entry', (file, language) => {
    expect(new Set(shipped[file].map((e) => e.language))).toEqual(new Set([language]));
    expect(shipped[file].every((e) => e.file === configFile(file) && e.line > 0)).toBe(true);
  });

  it.each(PHRASE_CATEGORIES)('en.yaml has 20 to 40 positive phrases for %s', (category) => {
    const positive = shipped['en.yaml'].filter((e) => e.category === category && e.weight > 0);
    expect(positive.length).toBeGreaterThanOrEqual(20);
    expect(positive.length).toBeLessThanOrEqual(40);
  });

  it.each(PHRASE_CATEGORIES)('every shipped file covers %s', (category) => {
    for (const file of SHIPPED) expect(shipped[file].some((e) => e.category === category && e.weight > 0), file).toBe(true);
  });

  it.each(NO_NEGATIVE_WEIGHTS)('no shipped file has a negative weight in %s', (category) => {
    expect(allShipped.filter((e) => e.category === category && e.weight < 0)).toEqual([]);
  });

  it.each(['drugs', 'violence', 'extremism'])('en.yaml has schoolwork context negatives for %s', (category) => {
    const negatives = shipped['en.yaml'].filter((e) => e.category === category && e.weight < 0).map((e) => e.phrase);
    expect(negatives).toEqual(expect.arrayContaining(['essay', 'homework', 'history', 'documentary', 'definition']));
  });

  it('only uses the known category ids', () => {
    expect(new Set(allShipped.map((e) => e.category))).toEqual(new Set(PHRASE_CATEGORIES));
  });

  it('Polish phrases are written with their diacritics', () => {
    const phrases = shipped['pl.yaml'].map((e) => e.phrase);
    expect(phrases).toEqual(expect.arrayContaining(['jak się zabić', 'chcę umrzeć', 'samookalecz*', 'dopalacze']));
    expect(phrases.some((p) => /[ąćęłńóśźż]/.test(p))).toBe(true);
  });

  it('every shipped phrase matches its own text', () => {
    for (const e of allShipped) {
      const text = foldText(e.phrase.replace(/\*$/, 'x'));
      expect(matcher.match(text).hits.some((h) => h.phrase === e.phrase && h.category === e.category), `${e.file}:${e.line} ${e.phrase}`).toBe(true);
    }
  });
});

describe('shipped lists: what must be flagged', () => {
  const cases: [string, string][] = [
    // [text as typed, category]
    ['how to kill myself', 'suicide'],
    ['k1ll myself', 'suicide'],
    ['H0W T0 KILL MYSELF', 'suicide'],
    ['i want to die', 'suicide'],
    ["i don't want to live anymore", 'suicide'],
    ['i dont want to live anymore', 'suicide'],
    ['I don’t want to be alive', 'suicide'],
    ['how to commit suicide', 'suicide'],
    ['$u1c1dal thoughts at night', 'suicide'],
    ['feeling suicidal', 'suicide'],
    ['ways to end my life', 'suicide'],
    ['painless suicide methods', 'suicide'],
    ['how to unalive myself', 'suicide'],
    ['wish i was dead', 'suicide'],
    ['ways to self harm', 'self-harm'],
    ['self-harm', 'self-harm'],
    ['SELF HARMING', 'self-harm'],
    ['how to cut myself without anyone knowing', 'self-harm'],
    ['how to hide cuts from my parents', 'self-harm'],
    ['pro-ana tips', 'self-harm'],
    ['i want to hurt myself', 'self-harm'],
    ['how to join isis', 'extremism'],
    ['join the islamic state', 'extremism'],
    ['atomwaffen division', 'extremism'],
    ['heil hitler sieg heil', 'extremism'],
    ['rahowa', 'extremism'],
    ['go kill yourself', 'bullying'],
    ["I'm being bullied at school", 'bullying'],
    ['how to cyberbully someone', 'bullying'],
    ['everyone at school hates me', 'bullying'],
    ["don't tell your parents about us", 'grooming'],
    ['age is just a number send me nudes', 'grooming'],
    ['he is threatening to post my nudes', 'grooming'],
    ['how to meet older men', 'grooming'],
    ['free porn', 'adult'],
    ['pornhub', 'adult'],
    ['xnxx', 'adult'],
    ['naked girls', 'adult'],
    ['sex videos', 'adult'],
    ['buy cocaine', 'drugs'],
    ['where to buy weed in london', 'drugs'],
    ['how to get high at home', 'drugs'],
    ['drug dealer near me', 'drugs'],
    ['how to make lean', 'drugs'],
    ['how to make a pipe bomb', 'violence'],
    ['how to make a bomb', 'violence'],
    ['how to stab someone', 'violence'],
    ['im going to shoot up the school', 'violence'],
    ['buy a zombie knife', 'violence'],
    ['gore videos', 'violence'],
    // Polish, with and without diacritics
    ['jak się zabić', 'suicide'],
    ['jak sie zabic', 'suicide'],
    ['JAK SIĘ ZABIĆ', 'suicide'],
    ['chcę umrzeć', 'suicide'],
    ['chce umrzec', 'suicide'],
    ['nie chcę żyć', 'suicide'],
    ['myśli samobójcze', 'suicide'],
    ['mysli samobojcze', 'suicide'],
    ['popełnić samobójstwo', 'suicide'],
    ['samookaleczenie', 'self-harm'],
    ['samookaleczenia u nastolatków', 'self-harm'],
    ['jak się ciąć', 'self-harm'],
    ['jak sie ciac', 'self-harm'],
    ['kupię dopalacze', 'drugs'],
    ['kupie dopalacze', 'drugs'],
    ['gdzie kupić trawkę', 'drugs'],
    ['jak zrobić bombę', 'violence'],
    ['nie mów rodzicom', 'grooming'],
    ['jestem gnębiony', 'bullying'],
    ['darmowe porno', 'adult'],
    // Roman-script Urdu
    ['khudkushi kaise karen', 'suicide'],
    ['khud kushi kaise karen', 'suicide'],
    ['main marna chahta hoon', 'suicide'],
    ['marna chahti hun', 'suicide'],
    ['jeena nahi chahta', 'suicide'],
    ['nas kaatna', 'self-harm'],
    ['khud ko nuqsan pohanchana', 'self-harm'],
    ['bomb kaise banaye', 'violence'],
    ['charas kahan se milegi', 'drugs'],
    ['nangi tasveer bhejo', 'grooming'],
    ['isis mein shamil hona', 'extremism'],
  ];

  it.each(cases)('%j flags %s', (text, category) => {
    expect(flaggedIn(text)).toContain(category);
  });

  it('a cry for help is not cancelled by schoolwork words', () => {
    expect(flaggedIn('how to kill myself essay homework history documentary definition')).toContain('suicide');
    expect(flaggedIn('self harm gcse revision science news')).toContain('self-harm');
  });
});

describe('shipped lists: everyday text that must not be flagged', () => {
  const cases: string[] = [
    'killer whale',
    'drug trafficking essay',
    'Essex',
    'Scunthorpe',
    'Middlesex hospital',
    'university of sussex',
    'sex education',
    'relationships and sex education year 9',
    'history of the second world war bombing',
    'how to kill a process linux',
    'cut and paste',
    'dying of laughter',
    'killing time',
    'i could kill for a pizza',
    'kill bill',
    'suicide squad',
    'drug trafficking',
    'cocaine essay',
    'effects of cannabis on the brain gcse',
    'the history of heroin documentary',
    'anti-bullying week',
    'bullying policy',
    'how to hang a picture',
    'how to cut a mango',
    'cutting board',
    'shooting stars',
    'photo bomb',
    'weed killer for lawns',
    'world war 2 homework',
    'the bombing of dresden history essay',
    'jihad definition',
    'year 7 maths',
    '2024 results',
    'sexton',
    'hello kitty',
    'jak się uczyć',
    'zabić czas',
    'samochód',
    'historia narkotyków wypracowanie',
    'nashta kya hai',
    'sponsoring a charity run',
    '10 kms run',
  ];

  it.each(cases)('%j flags nothing', (text) => {
    expect(flaggedIn(text)).toEqual([]);
  });
});

describe('PhraseMatcher', () => {
  it('matches whole words only', () => {
    const m = build([['adult', 'sex', 10], ['bullying', 'cunt', 10]]);
    const rows: [string, boolean][] = [
      ['sex', true],
      ['safe sex', true],
      ['sex ed', true],
      ['essex', false],
      ['sussex', false],
      ['sexton', false],
      ['sexy', false],
      ['scunthorpe', false],
      ['cunt', true],
    ];
    for (const [text, hit] of rows) expect(m.match(text).hits.length > 0, text).toBe(hit);
  });

  it('treats a trailing * as a word prefix', () => {
    const m = build([['suicide', 'suicid*', 10], ['self-harm', 'self harm*', 10]]);
    const rows: [string, string[]][] = [
      ['suicide', ['suicid*']],
      ['suicidal thoughts', ['suicid*']],
      ['suicid', ['suicid*']],
      ['a suicidal', ['suicid*']],
      ['parasuicide', []],
      ['self harming', ['self harm*']],
      ['self harm', ['self harm*']],
      ['myself harm', []],
      ['self harmony', ['self harm*']],
    ];
    for (const [text, want] of rows) expect(m.match(text).hits.map((h) => h.phrase), text).toEqual(want);
  });

  it('matches multi-word phrases across the whole text, wherever they start', () => {
    const m = build([['suicide', 'kill myself', 10]]);
    const rows: [string, boolean][] = [
      ['kill myself', true],
      ['how to kill myself', true],
      ['kill myself now', true],
      ['i want to kill myself today', true],
      ['kill my self', false],
      ['skill myself', false],
      ['kill myselfie', false],
      ['kill  myself', false], // not folded: the caller must fold first
    ];
    for (const [text, hit] of rows) expect(m.match(text).hits.length > 0, text).toBe(hit);
  });

  it('folds phrases at build time', () => {
    const m = build([['suicide', 'Jak SIĘ zabić!', 10], ['suicide', 'K1LL myself', 10]]);
    expect(m.match('jak sie zabic').hits.map((h) => h.phrase)).toEqual(['Jak SIĘ zabić!']);
    expect(m.match('kill myself').hits.map((h) => h.phrase)).toEqual(['K1LL myself']);
  });

  it('sums weights per category and flags at the threshold', () => {
    const m = build([['drugs', 'cocaine', 5], ['drugs', 'buy', 5], ['drugs', 'essay', -6], ['violence', 'knife', 9]]);
    const rows: [string, { category: string; score: number }[]][] = [
      ['cocaine', []],
      ['buy cocaine', [{ category: 'drugs', score: 10 }]],
      ['buy cocaine essay', []],
      ['knife', []],
      ['buy cocaine knife', [{ category: 'drugs', score: 10 }]],
    ];
    for (const [text, flagged] of rows) expect(m.match(text).flagged, text).toEqual(flagged);
  });

  it('reports every hit, negative ones too, in text order', () => {
    const m = build([['drugs', 'essay', -6], ['drugs', 'drug trafficking', 6], ['violence', 'essay', -6], ['violence', 'knife', 3]]);
    expect(m.match('knife and drug trafficking essay').hits).toEqual([
      { category: 'violence', phrase: 'knife', weight: 3 },
      { category: 'drugs', phrase: 'drug trafficking', weight: 6 },
      { category: 'drugs', phrase: 'essay', weight: -6 },
      { category: 'violence', phrase: 'essay', weight: -6 },
    ]);
  });

  it('reports overlapping phrases that end together, longest first', () => {
    const m = build([['suicide', 'kill myself', 10], ['suicide', 'how to kill myself', 10], ['suicide', 'myself', 1]]);
    expect(m.match('how to kill myself').hits.map((h) => h.phrase)).toEqual(['how to kill myself', 'kill myself', 'myself']);
    expect(m.match('how to kill myself').flagged).toEqual([{ category: 'suicide', score: 21 }]);
  });

  it('counts each distinct phrase once per text', () => {
    const m = build([['drugs', 'weed', 4]]);
    const r = m.match('weed weed weed weed');
    expect(r.hits).toHaveLength(1);
    expect(r.flagged).toEqual([]);
  });

  it('counts a phrase in two categories once in each', () => {
    const m = build([['drugs', 'essay', -6], ['violence', 'essay', -4], ['violence', 'gun', 12]]);
    expect(m.size).toBe(3);
    const r = m.match('gun essay essay');
    expect(r.hits.map((h) => `${h.category}:${h.weight}`)).toEqual(['violence:12', 'drugs:-6', 'violence:-4']);
    expect(r.flagged).toEqual([]);
  });

  it('orders flagged categories by score, then by id', () => {
    const m = build([['drugs', 'a', 10], ['adult', 'b', 10], ['violence', 'c', 20]]);
    expect(m.match('a b c').flagged.map((f) => f.category)).toEqual(['violence', 'adult', 'drugs']);
  });

  it('uses per-category thresholds over the default', () => {
    const m = build([['suicide', 'alone', 4], ['drugs', 'cocaine', 8]], { default: 10, byCategory: { suicide: 4, drugs: 20 } });
    const rows: [string, string[]][] = [
      ['alone', ['suicide']],
      ['cocaine', []],
      ['alone cocaine', ['suicide']],
    ];
    for (const [text, want] of rows) expect(m.match(text).flagged.map((f) => f.category), text).toEqual(want);
    const d = build([['drugs', 'cocaine', 8]], { default: 8 });
    expect(d.match('cocaine').flagged).toEqual([{ category: 'drugs', score: 8 }]);
  });

  it('lets a later entry replace the weight of an earlier one', () => {
    const m = build([['drugs', 'weed', 2], ['drugs', 'WEED', 12]]);
    expect(m.size).toBe(1);
    expect(m.match('weed').hits).toEqual([{ category: 'drugs', phrase: 'WEED', weight: 12 }]);
  });

  it('keeps a prefix phrase and a whole-word phrase apart', () => {
    const m = build([['suicide', 'suicid*', 3], ['suicide', 'suicide', 7]]);
    expect(m.size).toBe(2);
    expect(m.match('suicide').flagged).toEqual([{ category: 'suicide', score: 10 }]);
    expect(m.match('suicidal').flagged).toEqual([]);
  });

  it('never matches across a character no phrase uses', () => {
    const m = build([['suicide', 'kill myself', 10]]);
    expect(m.match('kill\u0001myself').hits).toEqual([]);
    expect(m.match('kill \u0001 myself').hits).toEqual([]);
    expect(m.match('x \u0001 kill myself').hits).toHaveLength(1);
    expect(m.match('kill myself \u0001 x').hits).toHaveLength(1);
  });

  it('matches at the very start and end of the text', () => {
    const m = build([['drugs', 'lsd', 10]]);
    const rows: [string, number][] = [['lsd', 1], ['lsd x', 1], ['x lsd', 1], ['', 0], [' ', 0], ['ls', 0], ['lsdx', 0]];
    for (const [text, n] of rows) expect(m.match(text).hits, JSON.stringify(text)).toHaveLength(n);
  });

  it('matches non-ASCII phrases', () => {
    const m = build([['suicide', 'خودکشی', 10], ['suicide', 'самоубийство', 10]]);
    expect(m.match(foldText('خودکشی کیسے کریں')).flagged).toEqual([{ category: 'suicide', score: 10 }]);
    expect(m.match(foldText('Самоубийство')).flagged).toEqual([{ category: 'suicide', score: 10 }]);
  });

  it('returns the shared, frozen empty result when nothing matches', () => {
    const m = build([['drugs', 'cocaine', 10]]);
    const a = m.match('nothing to see here');
    const b = m.match('another harmless search');
    expect(a).toBe(NO_PHRASES);
    expect(b).toBe(NO_PHRASES);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.hits)).toBe(true);
    expect(Object.isFrozen(a.flagged)).toBe(true);
    expect(matcher.match(foldText('minecraft servers'))).toBe(NO_PHRASES);
  });

  it('works with no phrases at all', () => {
    const m = build([]);
    expect(m.size).toBe(0);
    expect(m.match('kill myself')).toBe(NO_PHRASES);
    expect(m.match('')).toBe(NO_PHRASES);
  });

  it('counts the distinct phrases it compiled', () => {
    expect(matcher.size).toBeGreaterThan(300);
    expect(matcher.size).toBeLessThanOrEqual(allShipped.length);
  });

  it.each([
    ['zero', 0],
    ['negative', -1],
    ['not a number', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
  ])('refuses a %s threshold', (_why, t) => {
    expect(() => build([['drugs', 'x', 1]], { default: t })).toThrow(RangeError);
    expect(() => build([['drugs', 'x', 1]], { default: 10, byCategory: { drugs: t } })).toThrow(/threshold for drugs/);
  });

  it.each([
    ['empty once folded', '!!!'],
    ['only a star', '*'],
    ['star inside', 'sui*cide'],
  ])('refuses a phrase that is %s', (_why, phrase) => {
    expect(() => build([['drugs', phrase, 1]])).toThrow(/test\.yaml:1/);
  });

  it('handles many phrases sharing prefixes and suffixes', () => {
    const words = ['he', 'she', 'his', 'hers', 'usher', 'sher'];
    const m = build(words.map((w) => ['bullying', w, 1] as const));
    // Whole words only: "ushers" is not "usher", and no word here is "he" or "sher".
    expect(m.match('ushers she his hers usher').hits.map((h) => h.phrase)).toEqual(['she', 'his', 'hers', 'usher']);
    expect(m.match('he sher').hits.map((h) => h.phrase)).toEqual(['he', 'sher']);
  });
});

describe('loadPhraseFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'schoolgate-phrases-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const write = (text: string): string => {
    const file = join(dir, `phrases-${++n}.yaml`);
    writeFileSync(file, text);
    return file;
  };
  const problemsOf = (file: string) => problemsFrom(() => loadPhraseFile(file));

  it('reads entries with their language, file and line', () => {
    const file = write('language: en\ncategories:\n  suicide:\n    "how to kill myself": 10\n    "suicid*": 4\n  drugs:\n    "essay": -6\n');
    expect(loadPhraseFile(file)).toEqual([
      { category: 'suicide', phrase: 'how to kill myself', weight: 10, language: 'en', file, line: 4 },
      { category: 'suicide', phrase: 'suicid*', weight: 4, language: 'en', file, line: 5 },
      { category: 'drugs', phrase: 'essay', weight: -6, language: 'en', file, line: 7 },
    ]);
  });

  it('accepts decimal weights and an empty category list', () => {
    expect(loadPhraseFile(write('language: pl\ncategories:\n  drugs:\n    "trawka": 2.5\n'))[0]?.weight).toBe(2.5);
    expect(loadPhraseFile(write('language: en\ncategories: {}\n'))).toEqual([]);
  });

  const cases: [string, string, { line: number; key: string; message: string | RegExp }[]][] = [
    ['an unknown category, listing the valid ids', 'language: en\ncategories:\n  drug:\n    "x": 5\n',
      [{ line: 3, key: 'categories.drug', message: 'unknown category "drug"' }]],
    ['an unknown category with no phrases', 'language: en\ncategories:\n  drug:\n  suicide:\n    "x": 5\n',
      [{ line: 3, key: 'categories.drug', message: 'unknown category "drug"' }]],
    ['a weight that is not a number', 'language: en\ncategories:\n  drugs:\n    "x": high\n',
      [{ line: 4, key: 'categories.drugs.x', message: 'must be a number, found text "high"' }]],
    ['a missing weight', 'language: en\ncategories:\n  drugs:\n    "x":\n',
      [{ line: 4, key: 'categories.drugs.x', message: 'must be a number, found nothing' }]],
    ['a zero weight', 'language: en\ncategories:\n  drugs:\n    "x": 0\n',
      [{ line: 4, key: 'categories.drugs.x', message: '"x": weight must not be 0' }]],
    ['a weight above 100', 'language: en\ncategories:\n  drugs:\n    "ok": 1\n    "x": 150\n',
      [{ line: 5, key: 'categories.drugs.x', message: 'must be at most 100, found 150' }]],
    ['a weight below -100', 'language: en\ncategories:\n  drugs:\n    "x": -101\n',
      [{ line: 4, key: 'categories.drugs.x', message: 'must be at least -100, found -101' }]],
    ['a negative weight in suicide', 'language: en\ncategories:\n  suicide:\n    "essay": -6\n',
      [{ line: 4, key: 'categories.suicide.essay', message: '"essay": negative weights are not allowed in suicide' }]],
    ['a negative weight in self-harm', 'language: en\ncategories:\n  self-harm:\n    "ok": 1\n    "film": -2\n',
      [{ line: 5, key: 'categories.self-harm.film', message: '"film": negative weights are not allowed in self-harm' }]],
    ['a phrase that folds to nothing', 'language: en\ncategories:\n  drugs:\n    "!!!": 5\n',
      [{ line: 4, key: 'categories.drugs.!!!', message: '"!!!" has no letters or digits to match' }]],
    ['a phrase that is only a star', 'language: en\ncategories:\n  drugs:\n    "*": 5\n',
      [{ line: 4, key: 'categories.drugs.*', message: '"*" has no letters or digits to match' }]],
    ['a star inside a phrase', 'language: en\ncategories:\n  drugs:\n    "co*caine": 5\n',
      [{ line: 4, key: 'categories.drugs.co*caine', message: `"co*caine": '*' is only allowed at the end of a phrase` }]],
    ['two spellings of one phrase', 'language: pl\ncategories:\n  suicide:\n    "jak się zabić": 10\n    "JAK SIE ZABIC": 8\n',
      [{ line: 5, key: 'categories.suicide.JAK SIE ZABIC', message: '"JAK SIE ZABIC" is the same phrase as "jak się zabić" on line 4 once folded' }]],
    ['a missing language', 'categories:\n  drugs:\n    "x": 5\n',
      [{ line: 1, key: 'language', message: 'must be a non-empty text value, found nothing' }]],
    ['a language that is not a tag', 'language: English\ncategories:\n  drugs:\n    "x": 5\n',
      [{ line: 1, key: 'language', message: '"English" is not valid' }]],
    ['an unknown top-level key', 'language: en\ncatgories:\n  drugs:\n    "x": 5\n',
      [{ line: 2, key: 'catgories', message: 'unknown key "catgories"' }, { line: 1, key: 'categories', message: 'must be a mapping (key: value lines), found nothing' }]],
    ['categories as a list', 'language: en\ncategories: [drugs, violence]\n',
      [{ line: 2, key: 'categories', message: 'must be a mapping (key: value lines), found a list' }]],
    ['a category that is not a mapping', 'language: en\ncategories:\n  suicide: 5\n',
      [{ line: 3, key: 'categories.suicide', message: 'must be a mapping (key: value lines), found number 5' }]],
    ['an empty file', '',
      [{ line: 0, key: '', message: 'must be a mapping (key: value lines), found nothing' }]],
    ['a file that is a list', '- a\n- b\n',
      [{ line: 1, key: '', message: 'must be a mapping (key: value lines), found a list' }]],
    ['a phrase listed twice', 'language: en\ncategories:\n  drugs:\n    "x": 5\n    "x": 6\n',
      [{ line: 5, key: '', message: /^YAML syntax: Map keys must be unique/ }]],
    ['a YAML syntax error', 'language: en\ncategories:\n  drugs:\n    "x: 5\n',
      [{ line: 5, key: '', message: /^YAML syntax: Missing closing "quote/ }]],
    ['every problem at once', 'language: en\ncategories:\n  drugs:\n    "a": 0\n    "b": 500\n  suicide:\n    "c": -1\n  weapons:\n    "d": 1\n',
      [
        { line: 4, key: 'categories.drugs.a', message: '"a": weight must not be 0' },
        { line: 5, key: 'categories.drugs.b', message: 'must be at most 100, found 500' },
        { line: 7, key: 'categories.suicide.c', message: '"c": negative weights are not allowed in suicide' },
        { line: 8, key: 'categories.weapons', message: 'unknown category "weapons"' },
      ]],
  ];

  it.each(cases)('reports %s with file and line', (_why, text, want) => {
    const file = write(text);
    expectProblems(problemsOf(file), file, want);
  });

  it('names the valid category ids in the fix and the error message', () => {
    const file = write('language: en\ncategories:\n  radicalisation:\n    "x": 5\n');
    try {
      loadPhraseFile(file);
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems[0]?.fix).toBe('use one of: suicide, self-harm, extremism, bullying, grooming, adult, drugs, violence');
      expect((err as Error).message).toBe(`${file}:3: categories.radicalisation: unknown category "radicalisation" (fix: use one of: suicide, self-harm, extremism, bullying, grooming, adult, drugs, violence)`);
    }
  });

  it('explains why suicide and self-harm take no negative weights', () => {
    const problems = problemsOf(write('language: en\ncategories:\n  suicide:\n    "essay": -6\n'));
    expect(problems[0]?.fix).toMatch(/cry for help/);
  });

  it('reports a missing file', () => {
    const file = join(dir, 'missing.yaml');
    expect(problemsOf(file)).toEqual([{ file, line: 0, key: '', message: 'file not found', fix: 'check the path' }]);
  });
});
