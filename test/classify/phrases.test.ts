// The detection engine over small lexicons written in the tests (entries, or YAML files in a temp
// directory), so these tests say what the engine does whatever the shipped lists hold; only the
// first test touches config/, and only to see that the shipped configuration builds.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { foldText } from '../../src/classify/normalise-text.js';
import { loadLexicon, type Lexicon } from '../../src/classify/phrase-file.js';
import {
  buildPhraseMatcher, DEFAULT_DANGER_THRESHOLD, NO_PHRASES, PAGE_CONTEXT_REACH, PAGE_FAR_CONTEXT_LONE_SHARE, PAGE_INTENT_FRAME_REACH, PAGE_MANY_CONCERNS, PAGE_MANY_CONCERNS_SHARE, PAGE_INTENT_MAX_PLACES, PAGE_LONE_WEAK_SHARE, PAGE_OVERLAP_SHARE, PAGE_PLACE_GAP, pageSeverity, pageShare, PhraseMatcher, scoreHits, scorePage, severityOf,
  type PhraseEntry, type PhraseResult, type PhraseSettings, type PhraseThresholds,
} from '../../src/classify/phrases.js';
import { loadConfig } from '../../src/config/load.js';
import { tempDir } from '../helpers/lists.js';

type Row = readonly [category: string, phrase: string, weight: number, options?: Partial<PhraseEntry>];

function entries(rows: readonly Row[], language = 'en'): PhraseEntry[] {
  return rows.map(([category, phrase, weight, options], i) => ({ category, phrase, weight, language, file: 'test.yaml', line: i + 1, ...options }));
}

const CLASSES = [
  { name: 'self', members: ['myself', 'my self', 'me', 'meself'], language: 'en', file: 'test.yaml', line: 100 },
  { name: 'method', members: ['hang', 'noose', 'jump off'], language: 'en', file: 'test.yaml', line: 101 },
  { name: 'suicide-word', members: ['suicid*', 'unalive'], language: 'en', file: 'test.yaml', line: 102 },
];

/** A matcher over rows written in the test, with the word classes above. */
function build(rows: readonly Row[], thresholds: PhraseThresholds = { default: 10 }, language = 'en'): PhraseMatcher {
  return new PhraseMatcher(entries(rows, language), thresholds, { classes: CLASSES, emoji: [] });
}

const phrasesHit = (m: PhraseMatcher, text: string): string[] => m.match(text).hits.map((h) => h.phrase);

const tmp = tempDir('schoolgate-phrases-');
afterAll(tmp.cleanup);
let files = 0;
/** Phrase files written to the temp directory, loaded as the configuration loads them. */
function lexicon(...texts: string[]): { lexicon: Lexicon; files: string[] } {
  const paths = texts.map((t) => {
    const file = join(tmp.dir, `lexicon-${++files}.yaml`);
    writeFileSync(file, t);
    return file;
  });
  return { lexicon: loadLexicon(paths), files: paths };
}
function settings(lex: Lexicon, over: Partial<PhraseSettings> = {}): PhraseSettings {
  return { ...lex, threshold: 10, thresholds: {}, danger: 20, ...over };
}

describe('the shipped configuration', () => {
  it('loads, and its phrase lists build into a matcher with rules', () => {
    const config = loadConfig(resolve(import.meta.dirname, '../../config/default.yaml'));
    const m = buildPhraseMatcher(config.phrases);
    expect(m.size).toBeGreaterThan(0);
    expect(m.forms).toBeGreaterThan(0);
  });
});

describe('words', () => {
  it('matches whole words only: "essex" never hits "sex"', () => {
    const m = build([['adult', 'sex', 10], ['bullying', 'cunt', 10]]);
    const rows: [string, boolean][] = [
      ['sex', true], ['safe sex', true], ['sex ed', true], ['sexes', true],
      ['essex', false], ['sussex', false], ['middlesex', false], ['sexton', false], ['sexy', false], ['unisex', false],
      ['scunthorpe', false], ['cunt', true],
    ];
    for (const [text, hit] of rows) expect(m.match(text).hits.length > 0, text).toBe(hit);
  });

  it('treats a trailing * as a word prefix, without word forms', () => {
    const m = build([['suicide', 'suicid*', 10], ['self-harm', 'self harm*', 10]]);
    const rows: [string, string[]][] = [
      ['suicide', ['suicid*']],
      ['suicidal thoughts', ['suicid*']],
      ['suicid', ['suicid*']],
      ['a suicidal', ['suicid*']],
      ['parasuicide', []],
      ['suic', []],
      ['self harming', ['self harm*']],
      ['self harm', ['self harm*']],
      ['myself harm', []],
      ['self harmony', ['self harm*']],
      ['harm self', []],
    ];
    for (const [text, want] of rows) expect(phrasesHit(m, text), text).toEqual(want);
  });

  it('matches a phrase as words in order, in any of their forms, wherever it starts', () => {
    const m = build([['suicide', 'hang myself', 20]]);
    const rows: [string, boolean][] = [
      ['hang myself', true],
      ['hangs myself', true],
      ['hanging myself', true],
      ['hanged myself', true],
      ['hung myself', true],
      ['i want to hang myself today', true],
      ['myself hang', false],
      ['hang my self', false],
      ['hang over myself', false],
      ['hanger myself', false],
      ['changing myself', false],
      ['hang myselfie', false],
      ['hang  myself', false], // not folded: the caller folds first
    ];
    for (const [text, hit] of rows) expect(m.match(text).hits.length > 0, text).toBe(hit);
  });

  it('gives word forms to English words only: other languages list their variants', () => {
    const en = build([['violence', 'stab', 10]]);
    const pl = build([['violence', 'stab', 10]], { default: 10 }, 'pl');
    expect(en.match('stabbing').hits).toHaveLength(1);
    expect(en.match('stabbed').hits).toHaveLength(1);
    expect(pl.match('stab').hits).toHaveLength(1);
    expect(pl.match('stabbing').hits).toEqual([]);
  });

  it('folds phrases when it builds', () => {
    const m = build([['suicide', 'Jak SIĘ zabić!', 10], ['suicide', 'K1LL myself', 10]], { default: 10 }, 'pl');
    expect(phrasesHit(m, 'jak sie zabic')).toEqual(['Jak SIĘ zabić!']);
    expect(phrasesHit(m, 'kill myself')).toEqual(['K1LL myself']);
  });

  it('matches non-Latin phrases', () => {
    const m = build([['suicide', 'خودکشی', 10], ['suicide', 'самоубийство', 10]], { default: 10 }, 'ru');
    expect(m.match(foldText('خودکشی کیسے کریں')).flagged).toEqual([{ category: 'suicide', score: 10, severity: 'caution' }]);
    expect(m.match(foldText('Самоубийство')).flagged).toEqual([{ category: 'suicide', score: 10, severity: 'caution' }]);
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

  it('keeps words that share beginnings and endings apart', () => {
    // Polish, so no word forms: "ushers" is then not "usher".
    const words = ['he', 'she', 'his', 'hers', 'usher', 'sher'];
    const m = build(words.map((w) => ['bullying', w, 1] as const), { default: 10 }, 'pl');
    expect(phrasesHit(m, 'ushers she his hers usher')).toEqual(['she', 'his', 'hers', 'usher']);
    expect(phrasesHit(m, 'he sher')).toEqual(['he', 'sher']);
  });
});

describe('word classes', () => {
  it('a class stands for any of its members inside a phrase, members in their forms', () => {
    const m = build([['suicide', 'how to @method', 20]]);
    const rows: [string, string | null][] = [
      ['how to hang', 'how to hang'],
      ['how to hanging', 'how to hanging'],
      ['how to noose', 'how to noose'],
      ['how to jump off', 'how to jump off'],
      ['how to jumping off', 'how to jumping off'],
      ['how to jump', null],
      ['how to swim', null],
      ['hang how to', null],
    ];
    for (const [text, matched] of rows) expect(m.match(text).hits[0]?.matched ?? null, text).toBe(matched);
  });

  it('a member of several words is matched as a phrase', () => {
    const m = build([['suicide', 'kill @self', 20]]);
    expect(m.match('kill my self').hits.map((h) => h.matched)).toEqual(['kill my self']);
    expect(m.match('kill meself').hits).toHaveLength(1);
    expect(m.match('kill my own self').hits).toEqual([]);
  });

  it('a prefix member matches as a prefix', () => {
    const m = build([['suicide', 'feeling @suicide-word', 10]]);
    expect(m.match('feeling suicidal').hits).toHaveLength(1);
    expect(m.match('feeling unalive').hits).toHaveLength(1);
    expect(m.match('feeling sad').hits).toEqual([]);
  });

  it('classes of the same name in two files are merged, so a school file can extend one', () => {
    const { lexicon: lex } = lexicon(
      'language: en\nwords:\n  self: [myself]\ncategories:\n  suicide:\n    "end @self": 20\n',
      'language: en\nwords:\n  self: [meself, "me own self"]\n',
    );
    const m = buildPhraseMatcher(settings(lex));
    for (const text of ['end myself', 'end meself', 'end me own self']) expect(m.match(text).flagged.map((f) => f.category), text).toEqual(['suicide']);
    expect(m.match('end yourself').hits).toEqual([]);
  });

  it('a rule fires through a member made of common words alone, as the same rule written out does', () => {
    // "not be here" is all common words; the rule's uncommon words ("die", "dead") are in the
    // members the text does not use.
    const classes = [{ name: 'die', members: ['die', 'be dead', 'not be here'], language: 'en', file: 'test.yaml', line: 1 }];
    const viaClass = new PhraseMatcher(entries([['suicide', 'i want to @die', 20]]), { default: 10 }, { classes, emoji: [] });
    const writtenOut = new PhraseMatcher(entries([['suicide', 'i want to not be here', 20]]), { default: 10 }, { classes, emoji: [] });
    expect(writtenOut.matchSearch('i want to not be here').flagged.map((f) => f.category)).toEqual(['suicide']);
    expect(viaClass.matchSearch('i want to die').flagged.map((f) => f.category)).toEqual(['suicide']);
    expect(viaClass.matchSearch('i want to not be here').flagged.map((f) => f.category)).toEqual(['suicide']);
    expect(viaClass.matchPage('i want to not be here').flagged.map((f) => f.category)).toEqual(['suicide']);
  });

  it('refuses a rule that names a class nobody defined, naming the file and line', () => {
    expect(() => build([['suicide', 'ok', 5], ['suicide', 'how to @nowhere', 20]])).toThrow(/^test\.yaml:2: .*@nowhere/);
  });
});

describe('combinations', () => {
  const m = build([
    ['suicide', 'alpha + bravo', 20],
    ['suicide', 'charlie + delta', 20, { within: 3 }],
    ['suicide', '@method + @self', 20, { within: 4 }],
  ]);

  it('match their parts in any order within `within` words (5 by default)', () => {
    const rows: [string, string[]][] = [
      ['alpha bravo', ['alpha + bravo']],
      ['bravo alpha', ['alpha + bravo']],
      ['alpha x1 x2 x3 bravo', ['alpha + bravo']],
      ['bravo x1 x2 x3 alpha', ['alpha + bravo']],
      ['charlie x1 delta', ['charlie + delta']],
      ['delta x1 charlie', ['charlie + delta']],
      ['myself going to hang', ['@method + @self']],
      ['hanging myself', ['@method + @self']],
    ];
    for (const [text, want] of rows) expect(phrasesHit(m, text), text).toEqual(want);
  });

  it('do not match when the parts are spread further apart', () => {
    const rows: string[] = [
      'alpha x1 x2 x3 x4 bravo',
      'bravo x1 x2 x3 x4 alpha',
      'charlie x1 x2 delta',
      'hang x1 x2 x3 myself',
      'alpha',
      'bravo',
    ];
    for (const text of rows) expect(phrasesHit(m, text), text).toEqual([]);
  });

  it('find the parts close together when they also occur far apart', () => {
    expect(phrasesHit(m, 'alpha x1 x2 x3 x4 x5 x6 bravo x7 alpha')).toEqual(['alpha + bravo']);
  });

  it('report the words each part matched, in text order', () => {
    expect(m.match('myself x1 jump off').hits.map((h) => h.matched)).toEqual(['myself … jump off']);
    expect(m.match('bravo x1 alpha').hits.map((h) => h.matched)).toEqual(['bravo … alpha']);
  });

  it('never let one word satisfy two parts', () => {
    const overlap = build([['suicide', 'hang + @method', 20], ['suicide', '@method + jump', 20], ['suicide', '@self + meself', 20]]);
    const rows: [string, string[]][] = [
      ['hang', []],
      ['hang noose', ['hang + @method']],
      ['hang hanging', ['hang + @method']],
      ['jump off', []],
      ['jump off x1 jump', ['@method + jump']],
      ['noose jump', ['@method + jump']],
      ['meself', []],
      ['meself me', ['@self + meself']],
    ];
    for (const [text, want] of rows) expect(phrasesHit(overlap, text), text).toEqual(want);
  });

  it('find an assignment of words to parts in whatever order the words come', () => {
    // @method can be "hang" or "noose"; "noose" is wanted by the last part, so @method must
    // take "hang". The text's order must not matter: the parts match in any order.
    const three = build([['suicide', 'kill + @method + noose', 20]]);
    expect(phrasesHit(three, 'kill hang noose')).toEqual(['kill + @method + noose']);
    expect(phrasesHit(three, 'kill noose hang')).toEqual(['kill + @method + noose']);
    expect(phrasesHit(three, 'noose kill hang')).toEqual(['kill + @method + noose']);
  });
});

describe('scoring', () => {
  it('counts each rule once per text, however often it matches', () => {
    const m = build([['drugs', 'weed', 4]]);
    const r = m.match('weed weed weed weed');
    expect(r.hits).toHaveLength(1);
    expect(r.flagged).toEqual([]);
  });

  it('sums a category\'s weights and flags at its threshold', () => {
    const m = build([['drugs', 'cocaine', 5], ['drugs', 'purchase', 5], ['drugs', 'essay', -6], ['violence', 'knife', 9]]);
    const rows: [string, { category: string; score: number; severity: string }[]][] = [
      ['cocaine', []],
      ['purchase cocaine', [{ category: 'drugs', score: 10, severity: 'caution' }]],
      ['purchase cocaine essay', []],
      ['knife', []],
      ['purchase cocaine knife', [{ category: 'drugs', score: 10, severity: 'caution' }]],
    ];
    for (const [text, flagged] of rows) expect(m.match(text).flagged, text).toEqual(flagged);
  });

  it('negative context lowers a topic rule, but never below a matched intent rule', () => {
    const m = build([
      ['suicide', 'suicid*', 10],
      ['suicide', 'noose', 10],
      ['suicide', '@method + @self', 20, { within: 4, intent: true }],
      ['suicide', 'essay', -30],
      ['suicide', 'novel', -5],
    ]);
    const rows: [string, { score: number; severity: string } | null][] = [
      ['suicidal', { score: 10, severity: 'caution' }],
      ['suicidal essay', null],
      ['noose essay', null],
      ['hang myself', { score: 20, severity: 'danger' }],
      ['hang myself essay', { score: 20, severity: 'danger' }],
      ['hang myself essay novel', { score: 20, severity: 'danger' }],
      // Context takes off what the topic rules added, down to the intent rule's weight.
      ['noose round myself', { score: 30, severity: 'danger' }],
      ['noose round myself novel', { score: 25, severity: 'danger' }],
      ['noose round myself essay', { score: 20, severity: 'danger' }],
      ['suicidal noose round myself novel', { score: 35, severity: 'danger' }],
    ];
    for (const [text, want] of rows) {
      const f = m.match(text).flagged.find((x) => x.category === 'suicide');
      expect(f === undefined ? null : { score: f.score, severity: f.severity }, text).toEqual(want);
    }
  });

  it('scoreHits: the sum, floored at the highest intent weight', () => {
    const h = (weight: number, intent = false, language = 'en') => ({ weight, intent, language });
    const rows: [ReturnType<typeof h>[], number][] = [
      [[], 0],
      [[h(10)], 10],
      [[h(10), h(-30)], -20],
      [[h(20, true), h(-30)], 20],
      [[h(20, true), h(10), h(-5)], 25],
      [[h(12, true), h(20, true), h(-100)], 20],
    ];
    for (const [hits, want] of rows) expect(scoreHits(hits), JSON.stringify(hits)).toBe(want);
  });

  it('scoreHits: context counts only in a language of the rules it lowers', () => {
    const h = (weight: number, language: string) => ({ weight, intent: false, language });
    expect(scoreHits([h(20, 'ur-latn'), h(-20, 'en')])).toBe(20);
    expect(scoreHits([h(20, 'ur-latn'), h(-20, 'ur-latn')])).toBe(0);
    // A search mixing languages is lowered by the context of each of them.
    expect(scoreHits([h(10, 'ur-latn'), h(10, 'en'), h(-15, 'en'), h(-5, 'pl')])).toBe(5);
  });

  it('scoreHits: on a page, intent with context next to it is no floor: a page is not the pupil\'s own words', () => {
    const hits = [
      { weight: 20, intent: true, language: 'en', spans: [{ start: 0, end: 2 }] },
      { weight: -40, intent: false, language: 'en', spans: [{ start: 2, end: 3 }] },
    ];
    expect(scoreHits(hits)).toBe(20);
    // The context next to it takes the piece to nothing (not below: see the next tests).
    expect(scoreHits(hits, true)).toBe(0);
    expect(scorePage(hits)).toBe(0);
  });

  // A page hit: one word at `start` unless told, in English.
  const at = (weight: number, start: number, o: { end?: number; language?: string; pagesOnly?: true } = {}) => ({
    weight, intent: false, language: o.language ?? 'en', spans: [{ start, end: o.end ?? start + 1 }], ...(o.pagesOnly ? { pagesOnly: o.pagesOnly } : {}),
  });

  it('scorePage: context lowers in full only the phrases within PAGE_CONTEXT_REACH words of it', () => {
    expect(PAGE_CONTEXT_REACH).toBe(5);
    const phrase = at(20, 100, { end: 103 });
    // Next to it, and five words after or before: as in a search.
    expect(scorePage([phrase, at(-20, 103)])).toBe(0);
    expect(scorePage([phrase, at(-20, 108)])).toBe(0);
    expect(scorePage([phrase, at(-20, 94)])).toBe(0);
    // Six words away it is the page's other text: of the page's one piece without intent it
    // takes at most PAGE_FAR_CONTEXT_LONE_SHARE (12 of 20), of more pieces at most half.
    expect(PAGE_FAR_CONTEXT_LONE_SHARE).toBe(0.6);
    expect(scorePage([phrase, at(-20, 109)])).toBe(8);
    expect(scorePage([phrase, at(-20, 93)])).toBe(8);
    expect(scorePage([phrase, at(20, 200), at(-20, 109), at(-20, 300), at(-20, 400)])).toBe(20);
    // Of a piece of intent, half: the floor is not all that protects it.
    expect(scorePage([{ ...phrase, intent: true }, at(-20, 109), at(-20, 300)])).toBe(10);
    // A combination's place runs from its first part to its last.
    const combination = { weight: 20, intent: false, language: 'en', spans: [{ start: 100, end: 101 }, { start: 104, end: 105 }] };
    expect(scorePage([combination, at(-20, 110)])).toBe(0);
    // The same hits in a search: one context, summed.
    expect(scoreHits([phrase, at(-20, 109)])).toBe(0);
  });

  it('scorePage: a forum post of intent is not cancelled by context words scattered over the page', () => {
    // Three phrases of intent in a thread; "headache", "mate", "exam", "mods", "staff" and
    // "safety" in the sidebar, other posts and the footer: each far from every phrase.
    const posts = [at(20, 145, { end: 148 }), at(20, 242, { end: 248 }), at(20, 552, { end: 559 })];
    const chrome = [at(-20, 10), at(-20, 60), at(-20, 200), at(-20, 300), at(-20, 400), at(-20, 600)];
    expect(scorePage([...posts, ...chrome])).toBe(30);
    // Summed as a search sums them, they would outweigh it.
    expect(scoreHits([...posts, ...chrome])).toBe(-60);
    // Context far away takes no more than there is: a page of context and no phrase scores 0.
    expect(scorePage(chrome)).toBe(0);
  });

  it('scorePage: the far context share is of what the phrases score after the context near them', () => {
    // 40 for two phrases, 20 taken by a context word next to one: the far context takes 10 of the 20 left.
    expect(scorePage([at(20, 10), at(20, 50), at(-20, 11), at(-20, 200), at(-20, 300)])).toBe(10);
    // Nothing left: far context takes nothing more, and near context takes a piece to 0, not below.
    expect(scorePage([at(20, 10), at(-30, 11), at(-20, 200)])).toBe(0);
  });

  it('scorePage: near context lowers the pieces it is near; what they cannot take is far context', () => {
    // Two pieces of 20; a context word of -40 next to the first takes it to 0, and its other 20
    // counts as far context, which takes at most half of the 20 left: 10. (Before, it took the
    // whole 40: a blog's "say the cat scratched me" erased its six other pieces of hiding tips.)
    expect(scorePage([at(20, 10), at(20, 50), at(-40, 11)])).toBe(10);
    // Near two pieces, the nearest is taken first, then the next.
    expect(scorePage([at(20, 10), at(20, 14), at(20, 100), at(-30, 11)])).toBe(30);
    // Context holding a phrase's own words ("anti bullying" round "bullying") says what the
    // phrase is, and lowers the whole score as in a search.
    expect(scorePage([at(10, 100), at(20, 50), at(-30, 99, { end: 101 })])).toBe(0);
  });

  it('scorePage: one everyday word lowers someone\'s own post only in that post\'s block', () => {
    // A piece said in the first person in block 5; one-term context ("holidays") in the nav.
    const own = { weight: 20, intent: false, language: 'en', phrase: 'top + not coming back', spans: [{ start: 100, end: 103 }], blocks: { first: 5, last: 5, firstPerson: true } };
    const word = (start: number, ...blocks: number[]) => ({
      weight: -20, intent: false, language: 'en', phrase: '@everyday', spans: [{ start, end: start + 1 }], blocks: { first: blocks[0]!, last: blocks[0]!, firstPerson: false },
      places: blocks.map((block, i) => ({ start: start + 10 * i, end: start + 10 * i + 1, block })),
    });
    // Elsewhere on the page: nothing of the post (before, PAGE_FAR_CONTEXT_LONE_SHARE of it, 12).
    expect(scorePage([own, word(10, 1)])).toBe(20);
    expect(scorePage([own, { ...word(10, 1), places: undefined }])).toBe(20);
    // Of a piece not said in the first person (a lesson, a story), far context as before.
    expect(scorePage([{ ...own, blocks: { first: 5, last: 5, firstPerson: false } }, word(10, 1)])).toBe(8);
    // Also in the post's own block, further than PAGE_CONTEXT_REACH: far context of that post.
    expect(scorePage([own, { ...word(10, 1), places: [{ start: 10, end: 11, block: 1 }, { start: 110, end: 111, block: 5 }] }])).toBe(8);
    // Next to it in its block, or in the block before it (a heading): in full.
    expect(scorePage([own, word(104, 5)])).toBe(0);
    expect(scorePage([own, word(96, 4)])).toBe(0);
    // The first words of the next block (the next post) are not its context.
    expect(scorePage([own, word(104, 6)])).toBe(20);
    // Context of several words ("revision tips") is far context as before.
    expect(scorePage([own, { ...word(10, 1), phrase: 'revision tips' }])).toBe(8);
    // A page that frames itself (pages-only framing) keeps every far word's share: a help page quoting a caller.
    const framing = { weight: -10, intent: false, language: 'en', phrase: '@page-help', pagesOnly: true as const, spans: [{ start: 300, end: 302 }], blocks: { first: 9, last: 9, firstPerson: false } };
    expect(scorePage([own, framing])).toBe(10);
    expect(scorePage([own, word(10, 1), framing])).toBe(-2);
  });

  it('scorePage: context counts only in the language of the phrases it lowers', () => {
    const phrase = at(20, 10, { language: 'ur-latn' });
    expect(scorePage([phrase, at(-20, 11)])).toBe(20);
    expect(scorePage([phrase, at(-20, 11, { language: 'ur-latn' })])).toBe(0);
    // Near an English phrase but of the Urdu one's language, far from it: far context of the page.
    expect(scorePage([phrase, at(10, 100), at(-20, 101, { language: 'ur-latn' })])).toBe(15);
  });

  it('scorePage: rules on overlapping words are one piece of evidence, the strongest in full and the others at half', () => {
    expect(PAGE_OVERLAP_SHARE).toBe(0.5);
    // "going to end my life", "end my life" and a combination over the same words.
    const one = [at(20, 10, { end: 15 }), at(20, 12, { end: 15 }), at(10, 14, { end: 17 })];
    expect(scorePage(one)).toBe(35);
    // The same rules at three places of the page count in full.
    expect(scorePage([at(20, 10, { end: 15 }), at(20, 30, { end: 33 }), at(10, 50, { end: 53 })])).toBe(50);
    // Touching is not overlapping: "kill myself" then "tonight".
    expect(scorePage([at(20, 10, { end: 12 }), at(10, 12, { end: 13 })])).toBe(30);
    // A search counts every rule in full.
    expect(scoreHits(one)).toBe(50);
  });

  it('scorePage: a page\'s framing lowers by its two strongest rules, however much furniture the page has, wherever it is', () => {
    const intent = [at(20, 100), at(20, 200), at(20, 300)];
    // A forum thread of real intent with a help banner, a "symptoms" link, a wiki tab and a recap.
    const furniture = [at(-20, 0, { pagesOnly: true }), at(-20, 1, { pagesOnly: true }), at(-20, 2, { pagesOnly: true }), at(-20, 400, { pagesOnly: true })];
    expect(scorePage([...intent, ...furniture])).toBe(20);
    expect(scorePage([...intent, at(-30, 0, { pagesOnly: true }), at(-5, 5, { pagesOnly: true }), at(-25, 9, { pagesOnly: true })])).toBe(5);
    // Framing next to a phrase counts no more than framing far from it.
    expect(scorePage([...intent, at(-20, 101, { pagesOnly: true }), at(-20, 201, { pagesOnly: true }), at(-20, 301, { pagesOnly: true })])).toBe(20);
    // Ordinary context next to the phrases still adds up: only the page's own framing is capped.
    expect(scorePage([...intent, at(-20, 101), at(-20, 201), at(-20, 301)])).toBe(0);
    expect(scorePage([...intent, at(-20, 101), ...furniture])).toBe(0);
  });

  // First-person intent on a page: one piece of four overlapping rules, three of them intent.
  const intentPost = (start: number) => [
    { ...at(20, start, { end: start + 5 }), intent: true }, { ...at(20, start + 1, { end: start + 5 }), intent: true },
    at(20, start + 3, { end: start + 5 }), { ...at(20, start + 3, { end: start + 7 }), intent: true },
  ];

  it('scorePage: intent in one post keeps caution when the page\'s framing and context are far from it', () => {
    expect([PAGE_PLACE_GAP, PAGE_INTENT_FRAME_REACH, PAGE_INTENT_MAX_PLACES]).toEqual([30, 20, 2]);
    // A gaming thread: "im going to kill myself this weekend" at 240, "spoilers" and a reply's
    // "helpline" as framing, game talk as context, all far from the post.
    const page = [...intentPost(240), at(-20, 280), at(-20, 302), at(-20, 380), at(-20, 290, { pagesOnly: true }), at(-20, 432, { pagesOnly: true })];
    expect(scorePage(page)).toBe(10);
    // Without the floor (nor intent) the same page scores below nothing: its one piece keeps 20
    // of 50 against far context, and the framing takes 40 of that.
    expect(scorePage(page.map((h) => ({ ...h, intent: false })))).toBe(-20);
    // The floor is the category's caution threshold, whatever it is; a higher score stays.
    expect(scorePage(page, { caution: 15, danger: 30 })).toBe(15);
    expect(scorePage(intentPost(240))).toBe(50);
  });

  it('scorePage: intent with framing or context near it is lowered like any other text (a quote)', () => {
    // A charity page quoting "i want to die": its framing sits within PAGE_INTENT_FRAME_REACH words of the quote.
    expect(scorePage([...intentPost(100), at(-20, 125, { pagesOnly: true }), at(-20, 300, { pagesOnly: true }), at(-20, 400)])).toBe(-10);
    expect(scorePage([...intentPost(100), at(-20, 80, { pagesOnly: true }), at(-20, 300, { pagesOnly: true }), at(-20, 400)])).toBe(-10);
    // Ordinary context near the quote frames it too ("in the poem she says").
    expect(scorePage([...intentPost(100), at(-20, 90), at(-20, 300, { pagesOnly: true }), at(-20, 400, { pagesOnly: true })])).toBe(-10);
    // Just beyond the reach it does not: the floor holds.
    expect(scorePage([...intentPost(100), at(-20, 128), at(-20, 300, { pagesOnly: true }), at(-20, 400, { pagesOnly: true })])).toBe(10);
  });

  it('scorePage: a page that says the concern in more than PAGE_INTENT_MAX_PLACES places is about it, and its framing applies', () => {
    const framing = [at(-20, 0, { pagesOnly: true }), at(-20, 1, { pagesOnly: true })];
    // Two places (the post, and a mention 50 words on): the floor holds.
    expect(scorePage([...intentPost(100), at(5, 157), ...framing, at(-20, 300), at(-20, 301), at(-20, 302)])).toBeGreaterThanOrEqual(10);
    // Three places, as on a page of recovery stories: no floor.
    expect(scorePage([...intentPost(100), at(5, 157), at(5, 250), ...framing, at(-20, 400), at(-20, 401), at(-20, 402)])).toBe(-10);
    // Evidence within PAGE_PLACE_GAP words of the post is the same place: the floor holds.
    expect(scorePage([...intentPost(100), at(5, 137), at(5, 250), ...framing, at(-20, 400), at(-20, 401), at(-20, 402)])).toBe(10);
  });

  it('scorePage: a lone weak piece of evidence counts PAGE_LONE_WEAK_SHARE; two pieces, intent or danger weight count in full', () => {
    expect(PAGE_LONE_WEAK_SHARE).toBe(0.5);
    // One "got battered … they" in a match report.
    expect(scorePage([at(10, 132, { end: 135 })])).toBe(5);
    // Two overlapping weak rules are still one piece: 10 + 5, halved.
    expect(scorePage([at(10, 132, { end: 135 }), at(10, 133, { end: 135 })])).toBe(7.5);
    expect(scorePage([at(10, 132, { end: 135 }), at(10, 200)])).toBe(20);
    expect(scorePage([at(20, 132)])).toBe(20);
    expect(scorePage([{ ...at(10, 132), intent: true }])).toBe(10);
    // Weak is below the category's danger threshold.
    expect(scorePage([at(20, 132)], { caution: 10, danger: 30 })).toBe(10);
    // A search is not a page: one rule counts in full.
    expect(scoreHits([at(10, 132)])).toBe(10);
  });

  it('severityOf: caution from the threshold, danger from the danger threshold', () => {
    const rows: [number, 'caution' | 'danger' | null][] = [[-5, null], [0, null], [9.99, null], [10, 'caution'], [19, 'caution'], [19.99, 'caution'], [20, 'danger'], [100, 'danger']];
    for (const [score, want] of rows) expect(severityOf(score, 10, 20), String(score)).toBe(want);
  });

  it('raises caution at the threshold and danger at the danger threshold', () => {
    const m = build([['suicide', 'alpha', 9], ['suicide', 'bravo', 10], ['suicide', 'charlie', 19], ['suicide', 'delta', 20], ['suicide', 'echo', 1]], { default: 10, danger: 20 });
    const rows: [string, string | null][] = [
      ['alpha', null], ['bravo', 'caution'], ['charlie', 'caution'], ['delta', 'danger'],
      ['alpha echo', 'caution'], ['charlie echo', 'danger'],
    ];
    for (const [text, want] of rows) expect(m.match(text).flagged[0]?.severity ?? null, text).toBe(want);
  });

  it('uses per-category thresholds over the defaults', () => {
    const m = build(
      [['drugs', 'cocaine', 15], ['drugs', 'dealer', 25], ['violence', 'knife', 10], ['violence', 'gun', 30], ['suicide', 'alone', 4]],
      { default: 10, byCategory: { drugs: 15, suicide: 4 }, danger: 30, dangerByCategory: { drugs: 40 } },
    );
    const rows: [string, [string, string][]][] = [
      ['cocaine', [['drugs', 'caution']]],
      ['dealer', [['drugs', 'caution']]],
      ['cocaine dealer', [['drugs', 'danger']]],
      ['knife', [['violence', 'caution']]],
      ['gun', [['violence', 'danger']]],
      ['alone', [['suicide', 'caution']]],
    ];
    for (const [text, want] of rows) expect(m.match(text).flagged.map((f) => [f.category, f.severity]), text).toEqual(want);
    expect(m.thresholdsOf('drugs')).toEqual({ caution: 15, danger: 40 });
    expect(m.thresholdsOf('violence')).toEqual({ caution: 10, danger: 30 });
    expect(m.thresholdsOf('grooming')).toEqual({ caution: Infinity, danger: Infinity });
  });

  it('without a danger threshold, danger is twice the threshold, and never below the default', () => {
    const m = build([['drugs', 'cocaine', 1], ['violence', 'knife', 1], ['suicide', 'alone', 1]], { default: 8, byCategory: { drugs: 15 } });
    expect(m.thresholdsOf('drugs')).toEqual({ caution: 15, danger: 30 });
    expect(m.thresholdsOf('violence')).toEqual({ caution: 8, danger: DEFAULT_DANGER_THRESHOLD });
  });

  it('buildPhraseMatcher takes its thresholds from the settings', () => {
    const { lexicon: lex } = lexicon('language: en\ncategories:\n  drugs:\n    "cocaine": 15\n  violence:\n    "knife": 12\n');
    const m = buildPhraseMatcher(settings(lex, { threshold: 12, thresholds: { drugs: 16 }, danger: 24 }));
    expect(m.matchSearch('cocaine').flagged).toEqual([]);
    expect(m.matchSearch('knife').flagged).toEqual([{ category: 'violence', score: 12, severity: 'caution' }]);
    expect(m.thresholdsOf('drugs')).toEqual({ caution: 16, danger: 24 });
  });

  it('builds when a category\'s own threshold is above the danger threshold (danger is then never below it)', () => {
    // The configuration accepts phrases.thresholds up to 1000 whatever phrases.danger says.
    const { lexicon: lex } = lexicon('language: en\ncategories:\n  adult:\n    "nudity": 25\n');
    const m = buildPhraseMatcher(settings(lex, { threshold: 10, thresholds: { adult: 25 }, danger: 20 }));
    const t = m.thresholdsOf('adult');
    expect(t.caution).toBe(25);
    expect(t.danger).toBeGreaterThanOrEqual(25);
    expect(m.matchSearch('nudity').flagged.map((f) => f.category)).toEqual(['adult']);
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

  it('reads a danger threshold below the threshold as danger from the threshold', () => {
    expect(build([['drugs', 'x', 10]], { default: 10, danger: 5 }).match('x').flagged).toEqual([{ category: 'drugs', score: 10, severity: 'danger' }]);
    expect(build([['drugs', 'x', 9]], { default: 10, dangerByCategory: { drugs: 9 } }).match('x').flagged).toEqual([]);
  });

  it('counts a rule listed in two categories once in each', () => {
    const m = build([['drugs', 'essay', -6], ['violence', 'essay', -4], ['violence', 'gun', 12]]);
    expect(m.size).toBe(3);
    const r = m.match('gun essay essay');
    expect(r.hits.map((h) => `${h.category}:${h.weight}`)).toEqual(['drugs:-6', 'violence:-4', 'violence:12']);
    expect(r.flagged).toEqual([]);
  });

  it('orders flagged categories by score, then by id', () => {
    const m = build([['drugs', 'alpha', 10], ['adult', 'bravo', 10], ['violence', 'charlie', 20]]);
    expect(m.match('alpha bravo charlie').flagged.map((f) => f.category)).toEqual(['violence', 'adult', 'drugs']);
  });
});

describe('later entries override earlier ones', () => {
  it('for the same category and rule once folded, keeping the later file and line', () => {
    const m = build([['drugs', 'weed', 2], ['drugs', 'WEED!', 12]]);
    expect(m.size).toBe(1);
    expect(m.match('weed').hits).toMatchObject([{ category: 'drugs', phrase: 'WEED!', weight: 12, matched: 'weed', intent: false, language: 'en', file: 'test.yaml', line: 2 }]);
  });

  it('but not across categories, nor between a prefix and a whole word', () => {
    const m = build([['suicide', 'suicid*', 3], ['suicide', 'suicide', 7], ['self-harm', 'suicide', 4]]);
    expect(m.size).toBe(3);
    expect(m.match('suicide').flagged).toEqual([{ category: 'suicide', score: 10, severity: 'caution' }]);
    expect(m.match('suicidal').flagged).toEqual([]);
  });

  it('a later file, and then the DSL\'s rules, replace the shipped weight and intent', () => {
    const { lexicon: lex, files: [first, second] } = lexicon(
      'language: en\ncategories:\n  drugs:\n    "lean": 10\n    "codeine": 5\n',
      'language: en\ncategories:\n  drugs:\n    "lean": 4\n',
    );
    const m = buildPhraseMatcher(settings(lex));
    expect(m.size).toBe(2);
    expect(m.match('lean').hits).toMatchObject([{ category: 'drugs', phrase: 'lean', weight: 4, matched: 'lean', intent: false, language: 'en', file: second, line: 4 }]);
    expect(m.match('codeine').hits[0]?.file).toBe(first);
    const dsl: PhraseEntry = { category: 'drugs', phrase: 'Lean', weight: 20, intent: true, language: 'en', file: 'dsl', line: 7 };
    const withDsl = buildPhraseMatcher(settings(lex), [dsl]);
    expect(withDsl.match('lean').hits).toMatchObject([{ category: 'drugs', phrase: 'Lean', weight: 20, matched: 'lean', intent: true, language: 'en', file: 'dsl', line: 7 }]);
    expect(withDsl.match('lean').flagged).toEqual([{ category: 'drugs', score: 20, severity: 'danger' }]);
  });

  it('a pages-only file\'s rules count in page text, never in searches or addresses', () => {
    // A lesson plan quotes what a groomer says; its framing is read on pages only, so a pupil's
    // search with "lesson plan" in it is scored by the concern's own rules alone.
    const { lexicon: lex } = lexicon(
      'language: en\ncategories:\n  grooming:\n    "send me a pic": 20\n    "our secret": 10\n',
      'language: en\npages-only: true\nwords:\n  frame-lesson: [lesson plan, learning objectives]\ncategories:\n  grooming:\n    "@frame-lesson": -30\n',
    );
    const m = buildPhraseMatcher(settings(lex));
    const text = 'lesson plan: he says send me a pic and it is our secret';
    expect(m.match(text).flagged).toEqual([{ category: 'grooming', score: 30, severity: 'danger' }]);
    expect(m.match(text).hits.map((h) => h.phrase)).toEqual(['send me a pic', 'our secret']);
    expect(m.matchWords('/lesson-plan/send-me-a-pic-our-secret').flagged).toEqual([{ category: 'grooming', score: 30, severity: 'danger' }]);
    const page = m.matchPage(`Year 9 ${text}. Learning objectives: spot pressure.`);
    expect(page.hits.map((h) => [h.phrase, h.weight])).toEqual([['send me a pic', 20], ['our secret', 10], ['@frame-lesson', -30]]);
    expect(page.flagged).toEqual([]);
  });

  it('a pages-only rule adds to the concern file\'s rule of the same spelling and never replaces it', () => {
    const { lexicon: lex } = lexicon(
      'language: en\ncategories:\n  drugs:\n    "weed": 25\n    "lesson": -10\n',
      'language: en\npages-only: true\ncategories:\n  drugs:\n    "lesson": -5\n',
    );
    const m = buildPhraseMatcher(settings(lex));
    expect(m.size).toBe(3);
    expect(m.match('weed lesson').flagged).toEqual([{ category: 'drugs', score: 15, severity: 'caution' }]);
    expect(m.matchPage('weed lesson').flagged).toEqual([{ category: 'drugs', score: 10, severity: 'caution' }]);
  });

  it('pages-only is true or false', () => {
    expect(() => lexicon('language: en\npages-only: sometimes\ncategories:\n  drugs:\n    "weed": 10\n')).toThrow(/pages-only/);
  });

  it('a combination written with its parts in another order is the same rule', () => {
    // Parts match in any order, so "@self + @method" means what "@method + @self" does: the
    // later one must replace the earlier, not add its weight a second time.
    const m = build([['suicide', '@method + @self', 10], ['suicide', '@self + @method', 10]]);
    expect(m.size).toBe(1);
    expect(m.match('hang myself').flagged).toEqual([{ category: 'suicide', score: 10, severity: 'caution' }]);
  });
});

describe('evidence', () => {
  it('each hit carries the rule, the words matched, intent, file and line, in the order of the rules', () => {
    const { lexicon: lex, files: [file] } = lexicon([
      'language: en',
      'words:',
      '  self: [myself, "my self", me]',
      '  method: [hang, noose]',
      'categories:',
      '  suicide:',
      '    "kill @self": 20',
      '    "@method + @self": { weight: 20, within: 4, intent: true }',
      '    "essay": -10',
      '  violence:',
      '    "knife": 10',
      '',
    ].join('\n'));
    const r = buildPhraseMatcher(settings(lex)).matchSearch('Knives essay: hung my self, kill me');
    expect(r.hits).toMatchObject([
      { category: 'suicide', phrase: 'kill @self', weight: 20, matched: 'kill me', intent: false, language: 'en', file, line: 7 },
      { category: 'suicide', phrase: '@method + @self', weight: 20, matched: 'hung … my self', intent: true, language: 'en', file, line: 8 },
      { category: 'suicide', phrase: 'essay', weight: -10, matched: 'essay', intent: false, language: 'en', file, line: 9 },
      { category: 'violence', phrase: 'knife', weight: 10, matched: 'knives', intent: false, language: 'en', file, line: 11 },
    ]);
    expect(r.flagged).toEqual([{ category: 'suicide', score: 30, severity: 'danger' }, { category: 'violence', score: 10, severity: 'caution' }]);
    expect(r.repairs).toEqual([]);
  });
});

describe('empty results', () => {
  it('returns the shared, frozen empty result when nothing matches', () => {
    const m = build([['drugs', 'cocaine', 10]]);
    for (const text of ['nothing to see here', 'another harmless search']) {
      expect(m.match(text)).toBe(NO_PHRASES);
      expect(m.matchSearch(text)).toBe(NO_PHRASES);
      expect(m.matchWords(`/${text.replaceAll(' ', '-')}`)).toBe(NO_PHRASES);
      expect(m.matchPage(text)).toBe(NO_PHRASES);
    }
    expect(Object.isFrozen(NO_PHRASES)).toBe(true);
    expect(Object.isFrozen(NO_PHRASES.hits)).toBe(true);
    expect(Object.isFrozen(NO_PHRASES.flagged)).toBe(true);
    expect(Object.isFrozen(NO_PHRASES.repairs)).toBe(true);
  });

  it('works with no rules at all', () => {
    const m = build([]);
    expect(m.size).toBe(0);
    expect(m.match('kill myself')).toBe(NO_PHRASES);
    // Nothing matches, but the spaced letters are read as the English word, and the reading is given (for the learned model).
    expect(m.matchSearch('k i l l myself')).toEqual({ ...NO_PHRASES, repairs: [{ from: 'k i l l', to: 'kill', kind: 'spaced letters' }], read: 'kill myself' });
    expect(m.matchWords('/kill-myself')).toBe(NO_PHRASES);
    expect(m.matchPage('kill myself')).toBe(NO_PHRASES);
    expect(m.match('')).toBe(NO_PHRASES);
  });

  it('a rule of common words alone never fires on an address, only in searches and pages', () => {
    const m = build([['suicide', 'how to', 10], ['drugs', 'cocaine', 10]]);
    expect(m.matchWords('/how-to')).toBe(NO_PHRASES);
    expect(m.matchSearch('how to').hits.map((h) => h.phrase)).toEqual(['how to']);
    expect(m.matchPage('how to').hits.map((h) => h.phrase)).toEqual(['how to']);
  });
});

describe('rules the engine refuses', () => {
  it.each([
    ['empty once folded', '!!!'],
    ['only a star', '*'],
    ['a star inside a word', 'sui*cide'],
    ['an empty part', 'alpha +  + bravo'],
    ['a bad class name', '@Self + kill'],
  ])('%s, naming the file and line', (_why, phrase) => {
    expect(() => build([['drugs', 'fine', 1], ['drugs', phrase, 1]])).toThrow(/^test\.yaml:2: /);
  });
});

describe('matchPage over a long text', () => {
  const m = build([
    ['suicide', 'kill @self', 20],
    ['suicide', '@method + @self', 20, { within: 4, intent: true }],
    ['violence', 'knife', 10],
  ]);
  const FILLER = ['the', 'weather', 'school', 'garden', 'music', 'lunch', 'river', 'bridge', 'window', 'paper'];
  const filler = (n: number, from = 0): string => Array.from({ length: n }, (_, i) => FILLER[(from + i) % FILLER.length]).join(' ');

  it('finds a phrase in the middle of 60 kB, and not a combination whose parts are far apart', () => {
    const page = [filler(1000), 'Noose.', filler(3000, 3), 'myself', filler(3500, 7), 'Then I will KILL MYSELF.', filler(2500, 1)].join(' ');
    expect(page.length).toBeGreaterThan(60_000);
    const r = m.matchPage(page);
    expect(r.hits.map((h) => [h.phrase, h.matched])).toEqual([['kill @self', 'kill myself']]);
    expect(r.flagged).toEqual([{ category: 'suicide', score: 20, severity: 'danger' }]);
  });

  it('finds a combination near the end of a long text, counted once however often it occurs', () => {
    const page = `${filler(5000)} ${'a noose for myself. '.repeat(50)}${filler(5, 2)}`;
    const r = m.matchPage(page);
    expect(r.hits.map((h) => [h.phrase, h.matched])).toEqual([['@method + @self', 'noose … myself']]);
    expect(r.flagged).toEqual([{ category: 'suicide', score: 20, severity: 'danger' }]);
  });

  it('a long page of none of the lists\' words is the shared empty result', () => {
    expect(m.matchPage(filler(20_000))).toBe(NO_PHRASES);
  });
});

describe('matchPage: a page naming many concerns', () => {
  it('pageShare: PAGE_MANY_CONCERNS concerns or more named, with intent for none, keep PAGE_MANY_CONCERNS_SHARE of their scores', () => {
    expect([PAGE_MANY_CONCERNS, PAGE_MANY_CONCERNS_SHARE]).toEqual([4, 0.5]);
    const named = (cats: string[]) => cats.map((category) => ({ category, weight: 10, intent: false }));
    expect(pageShare(named(['suicide', 'self-harm', 'bullying', 'drugs']))).toBe(0.5);
    expect(pageShare(named(['suicide', 'self-harm', 'bullying']))).toBe(1);
    // Intent anywhere: the page is not only about them.
    expect(pageShare([...named(['suicide', 'self-harm', 'bullying', 'drugs']), { category: 'suicide', weight: 20, intent: true }])).toBe(1);
    // Context names no concern.
    expect(pageShare([...named(['suicide', 'self-harm', 'bullying']), { category: 'drugs', weight: -10, intent: false }])).toBe(1);
    // Intent in words that say nobody's "i" or "my" is advice to the reader, not someone's own words.
    expect(pageShare([...named(['suicide', 'self-harm', 'bullying', 'drugs']), { category: 'suicide', weight: 20, intent: true, matched: 'dont want to be alive … please' }])).toBe(0.5);
    expect(pageShare([...named(['suicide', 'self-harm', 'bullying', 'drugs']), { category: 'suicide', weight: 20, intent: true, matched: 'i … dont want to be alive' }])).toBe(1);
  });

  it('pageSeverity: an information page raises caution at most; any other page as scored', () => {
    expect(pageSeverity('danger', PAGE_MANY_CONCERNS_SHARE)).toBe('caution');
    expect(pageSeverity('caution', PAGE_MANY_CONCERNS_SHARE)).toBe('caution');
    expect(pageSeverity(null, PAGE_MANY_CONCERNS_SHARE)).toBeNull();
    expect(pageSeverity('danger', 1)).toBe('danger');
  });

  it('a help hub speaking to its reader ("if you feel you dont want to be alive") raises caution at most; a child saying it in the first person keeps danger', () => {
    const m = build([
      ['suicide', 'dont want to be alive', 30, { intent: true }],
      ['suicide', 'i dont want to be alive', 30, { intent: true }],
      ['self-harm', 'self harm', 20],
      ['bullying', 'cyberbullying', 20],
      ['drugs', 'legal highs', 20],
    ]);
    const hub = 'Topics: self harm, cyberbullying and legal highs. If you feel you dont want to be alive, please call us.';
    expect(m.matchPage(hub).flagged.find((f) => f.category === 'suicide')).toEqual({ category: 'suicide', score: 15, severity: 'caution' });
    const post = 'Topics: self harm, cyberbullying and legal highs. Honestly i dont want to be alive any more.';
    expect(m.matchPage(post).flagged.find((f) => f.category === 'suicide')?.severity).toBe('danger');
  });

  it('a helpline page listing four concerns raises each at half its score; a page of three keeps all of it', () => {
    const m = build([['suicide', 'suicidal thoughts', 20], ['self-harm', 'self harm', 20], ['bullying', 'cyberbullying', 20], ['drugs', 'legal highs', 20]]);
    const four = 'We talk about suicidal thoughts, self harm, cyberbullying and legal highs. Calls are free.';
    expect(m.matchPage(four).flagged.map((f) => [f.category, f.score, f.severity])).toEqual([['bullying', 10, 'caution'], ['drugs', 10, 'caution'], ['self-harm', 10, 'caution'], ['suicide', 10, 'caution']]);
    expect(m.matchPage('We talk about suicidal thoughts, self harm and cyberbullying. Calls are free.').flagged.map((f) => f.score)).toEqual([20, 20, 20]);
  });
});

describe('matchPage: context near a phrase and far from it', () => {
  const m = build([
    ['suicide', 'end my life', 20],
    ['suicide', 'want to die', 20],
    ['suicide', 'headache', -20],
    ['suicide', 'exam', -20],
  ]);
  const sidebar = 'Popular threads: headache remedies that work, and revision tips before the exam season starts.';
  const filler = 'The forum rules are simple: be kind, stay on topic, and post in the right board. '.repeat(4);

  it('a post of intent alerts whatever the sidebar says; the same words as one search do not', () => {
    const page = `I am going to end my life this weekend. ${filler} I just want to die. ${filler} ${sidebar}`;
    // 40 for two phrases; the far "headache" and "exam" take half of it.
    expect(m.matchPage(page).flagged).toEqual([{ category: 'suicide', score: 20, severity: 'danger' }]);
    // As one search, the same words are one context, summed.
    expect(m.match('end my life want to die headache exam').flagged).toEqual([]);
  });

  it('context next to the phrase still lowers it in full', () => {
    expect(m.matchPage('This exam will end my life, honestly.').flagged).toEqual([]);
    // Far from it, they take up to PAGE_FAR_CONTEXT_LONE_SHARE of the page's one piece (12 of 20): nothing left to raise.
    expect(m.matchPage(`I will end my life, honestly. ${filler} This exam is a headache.`).flagged).toEqual([]);
    // Next to one phrase, context takes it in full, and leaves the other phrase, far from it, whole.
    expect(m.matchPage(`This exam will end my life. ${filler} I just want to die.`).flagged).toEqual([{ category: 'suicide', score: 20, severity: 'danger' }]);
  });
});

describe('matchPage: first-person intent in one post', () => {
  const m = build([
    ['suicide', 'going to kill myself', 20, { intent: true }],
    ['suicide', 'kill myself', 20],
    ['suicide', 'mate', -20],
    ['suicide', 'game', -20],
    ['suicide', 'helpline', -20, { pagesOnly: true }],
    ['suicide', 'spoilers', -20, { pagesOnly: true }],
    ['suicide', 'quote', -20, { pagesOnly: true }],
  ]);
  const chatter = 'the new patch nerfed every build again and ranked decay is worse than ever this season honestly. ';

  it('keeps caution in a thread whose framing and context are far from the post', () => {
    const thread = `Spoilers below for the game. ${chatter.repeat(3)} im going to kill myself this weekend when they are away. ${chatter.repeat(2)} mate please ring a helpline tonight. ${chatter.repeat(2)}`;
    expect(m.matchPage(thread).flagged).toEqual([{ category: 'suicide', score: 10, severity: 'caution' }]);
    // The same page without an intent rule among its hits raises nothing.
    const plain = build([['suicide', 'kill myself', 20], ['suicide', 'mate', -20], ['suicide', 'game', -20], ['suicide', 'helpline', -20, { pagesOnly: true }], ['suicide', 'spoilers', -20, { pagesOnly: true }]]);
    expect(plain.matchPage(thread).flagged).toEqual([]);
  });

  it('lowers a quote whose framing is next to it', () => {
    const page = `Spoilers for the game. ${chatter.repeat(3)} A quote from a caller: im going to kill myself this weekend. ${chatter.repeat(2)} ring a helpline. ${chatter.repeat(2)}`;
    expect(m.matchPage(page).flagged).toEqual([]);
  });
});

describe('matchPage: one everyday word of context, in its own block', () => {
  const m = build([
    ['suicide', 'not coming back down', 20],
    ['suicide', 'holidays', -20],
    ['suicide', 'xbox', -20],
    ['suicide', 'revision tips', -20],
  ]);
  // Page text keeps a newline where blocks meet (page-text.ts): the nav, a user name, each post.
  const thread = 'Home\nHolidays\nXbox\nquietone\ntonight im going to the top of the car park and im not coming back down\nxbox night later anyone?\nFooter: holidays';

  it('does not talk down someone\'s own post from the nav, the footer or the next post', () => {
    expect(m.matchPage(thread).flagged).toEqual([{ category: 'suicide', score: 20, severity: 'danger' }]);
    // As one search, the same words are one context.
    expect(m.match('not coming back down holidays xbox').flagged).toEqual([]);
  });

  it('each hit names its blocks, and whether evidence is said in the first person', () => {
    const hits = m.matchPage(thread).hits;
    expect(hits.find((h) => h.weight > 0)?.blocks).toEqual({ first: 4, last: 4, firstPerson: true });
    expect(hits.find((h) => h.phrase === 'holidays')?.places?.map((p) => p.block)).toEqual([1, 6]);
  });

  it('still lowers the words of its own post, and a text with no blocks as before', () => {
    expect(m.matchPage('Home\nquietone\nafter the holidays im not coming back down\nbye').flagged).toEqual([]);
    expect(m.matchPage(thread.replaceAll('\n', ' ')).flagged).toEqual([]);
  });

  it('is far context, as before, for what is not someone\'s own post; context of several words stays far context', () => {
    const page = 'Home\nHolidays\nXbox\nThe story ends: the climber is not coming back down\nxbox night later';
    expect(m.matchPage(page).flagged).toEqual([]);
    const lesson = build([['suicide', 'not coming back down', 20], ['suicide', 'revision tips', -20]]);
    expect(lesson.matchPage('Revision tips\nthe board for the school and its clubs, with notices from staff\nquietone\nim not coming back down\nbye').flagged).toEqual([]);
  });
});

describe('times of day are not ages', () => {
  // grm-adult-age holds the numbers 18-60; a chat log's "[20:22]" read as "20 22" put one next
  // to every "he is".
  const m = buildPhraseMatcher(loadConfig(resolve(import.meta.dirname, '../../config/default.yaml')).phrases);
  const grooming = (r: PhraseResult): string[] => r.hits.filter((h) => h.category === 'grooming').map((h) => h.phrase);

  it('a chat log with timestamps and "he is" scores no adult\'s age', () => {
    const page = '<chat log> [20:21] sam: is he coming? [20:22] jo: he is [20:23] jo: at the park now [20:24] sam: ok see you at 9:30pm';
    const r = m.matchPage(page);
    expect(grooming(r)).toEqual([]);
    expect(r.flagged).toEqual([]);
    expect(m.matchSearch('he is 20:22').hits).toEqual([]);
    expect(m.matchSearch('he is 3:15pm').hits).toEqual([]);
  });

  it('"im 13 and he is 22" still does, in a page and in a search', () => {
    const page = m.matchPage('[20:22] jo: im 13 and he is 22');
    const search = m.matchSearch('im 13 and he is 22');
    for (const r of [page, search]) expect(grooming(r)).toContain('@grm-he-is + @grm-adult-age');
    // On a page, the rules on the same words count as one piece of evidence (scorePage).
    expect(page.flagged).toEqual([{ category: 'grooming', score: 25, severity: 'danger' }]);
    expect(search.flagged).toEqual([{ category: 'grooming', score: 30, severity: 'danger' }]);
  });
});
