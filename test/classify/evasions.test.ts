// How the engine reads text written to slip past a filter: look-alike letters, invisible
// characters, emoji, spaced and repeated letters, one-letter typos. Each repair must turn an
// unknown token into a listed word, and never touch ordinary words.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emojiMap, englishWordsWithPrefix, foldForMatching, NearIndex, readCharacters, readSearch, repairTokens, type Vocabulary } from '../../src/classify/evasions.js';
import { loadLexicon } from '../../src/classify/phrase-file.js';
import { buildPhraseMatcher, type PhraseResult } from '../../src/classify/phrases.js';
import { tempDir } from '../helpers/lists.js';

const NO_EMOJI = emojiMap([]);

const tmp = tempDir('schoolgate-evasions-');
afterAll(tmp.cleanup);
const LEXICON = join(tmp.dir, 'evasions.yaml');
writeFileSync(LEXICON, `language: en
words:
  self: [myself, "my self", me]
emoji:
  "🔪": knife
  "👉👌": sex
  "👉": point
  "❤️‍🩹": mending heart
categories:
  suicide:
    "kill @self": 20
    "suicid*": 10
    "overdose": 10
    "noose": 10
    "die": 10
    "kms": 20
  self-harm:
    "mending heart": 10
  violence:
    "knife": 10
    "blade": 10
  adult:
    "sex": 10
`);
const m = buildPhraseMatcher({ ...loadLexicon([LEXICON]), threshold: 10, thresholds: {}, danger: 20 });

const phrases = (r: PhraseResult): string[] => r.hits.map((h) => h.phrase);

describe('readCharacters', () => {
  const map = emojiMap([{ emoji: '🔪', words: 'knife' }, { emoji: '👉👌', words: 'sex' }, { emoji: '👉', words: 'point' }]);

  it('gives ASCII text back as it is', () => {
    const s = 'k i l l my$elf -- /path?q=1';
    expect(readCharacters(s, map)).toBe(s);
  });

  it('drops zero-width characters and the soft hyphen', () => {
    expect(readCharacters('ki\u200bll se\u200cx di\u200de ov\u2060er\ufeffdose su\u00adicide', map)).toBe('kill sex die overdose suicide');
  });

  it('reads look-alike letters as Latin in a word that has Latin letters, or is all look-alikes', () => {
    expect(readCharacters('kіll', map)).toBe('kill'); // Cyrillic і
    expect(readCharacters('ѕех', map)).toBe('sex'); // all Cyrillic look-alikes
    expect(readCharacters('Κιll', map)).toBe('kill'); // Greek capital kappa and iota
  });

  it('leaves words of other scripts alone, and Latin letters with accents', () => {
    for (const word of ['убить', 'самоубийство', 'θάνατος', 'zabić', 'się', 'café']) expect(readCharacters(word, map), word).toBe(word);
  });

  it('reads an emoji as the words it stands for, the longest sequence first, with or without U+FE0F', () => {
    expect(foldForMatching('buy🔪now', map)).toBe('buy knife now');
    expect(foldForMatching('🔪\ufe0f', map)).toBe('knife');
    expect(foldForMatching('👉👌 👉 x', map)).toBe('sex point x');
  });
});

describe('repairTokens', () => {
  const KNOWN = new Set(['kill', 'die', 'kms', 'sex', 'suicide', 'overdose', 'stabbing']);
  const vocab: Vocabulary = { known: (t) => KNOWN.has(t), nearest: (t) => (t === 'overdse' || t === 'zzzzz' ? 'overdose' : null) };

  it('joins a run of three or more single letters that spells a listed word', () => {
    const rows: [string, string][] = [
      ['k i l l', 'kill'],
      ['s u i c i d e', 'suicide'],
      ['s e x', 'sex'],
      ['i k i l l', 'i kill'], // "i" may be a word of its own
      ['a k i l l', 'a kill'],
      ['go k i l l now', 'go kill now'],
      ['d i i i e', 'die'], // spaced and repeated
    ];
    for (const [text, want] of rows) expect(repairTokens(text, vocab, false).text, text).toBe(want);
    expect(repairTokens('k i l l', vocab, false).repairs).toEqual([{ from: 'k i l l', to: 'kill', kind: 'spaced letters' }]);
  });

  it('reads a run that is several listed words as the fewest of them, when the whole of it is spaced out', () => {
    const words = new Set([...KNOWN, 'how', 'to', 'myself', 'want', 'killing']);
    const wordy: Vocabulary = { known: (t) => words.has(t), nearest: () => null };
    const rows: [string, string][] = [
      ['h o w t o k i l l m y s e l f', 'how to kill myself'],
      ['i w a n t t o d i e', 'i want to die'],
      ['u w a n t t o d i e', 'u want to die'], // text-speak "you"
      ['k i l l i n g m y s e l f', 'killing myself'], // the longer word, not "kill" + "in" + …
      ['h o w t o k i l l x', 'h o w t o k i l l x'], // a letter left over: not read at all
      ['t o d i e', 't o die'], // no word of four letters: not split, but a listed word at its end is read, as before
      ['u s a', 'u s a'],
    ];
    for (const [text, want] of rows) expect(repairTokens(text, wordy, false).text, text).toBe(want);
    expect(repairTokens('i w a n t t o d i e', wordy, false).repairs).toEqual([{ from: 'i w a n t t o d i e', to: 'i want to die', kind: 'spaced letters' }]);
  });

  it('reads a word with hidden letters as the one listed word it can be, in a search', () => {
    const words = new Set([...KNOWN, 'nudes', 'pills', 'suecide', 'due', 'dye', 'six']);
    const masked: Vocabulary = { known: (t) => words.has(t), nearest: () => null };
    const read = (raw: string): string => readSearch(raw, undefined, NO_EMOJI, masked).text;
    expect(read('how to k*ll myself')).toBe('how to kill myself');
    expect(read('send n*des')).toBe('send nudes');
    expect(read('how many p!lls')).toBe('how many pills'); // "!" as the i (or l) of leetspeak
    expect(read('su*cide')).toBe('suicide'); // of the listed "suecide" and "suicide", the English word
    expect(read('k*ll*ng')).toBe('k ll ng'); // no listed filling: left as it was
    expect(read('i want to d*e')).toBe('i want to d e'); // die, due, dye: which is not for us to guess
    expect(read('s*x')).toBe('s x'); // sex, six
    expect(read('wow!!! *great* game')).toBe('wow great game'); // marks around words hide nothing
    expect(readSearch('how to k*ll myself', undefined, NO_EMOJI, masked).repairs).toEqual([{ from: 'k*ll', to: 'kill', kind: 'masked letters' }]);
  });

  it('cuts repeated letters to two, then to one', () => {
    const rows: [string, string][] = [['killlll', 'kill'], ['dieeeee', 'die'], ['kmsss', 'kms'], ['diiiieee', 'die'], ['stabbbbbing', 'stabbing']];
    for (const [text, want] of rows) {
      expect(repairTokens(text, vocab, false), text).toEqual({ text: want, repairs: [{ from: text, to: want, kind: 'repeated letters' }] });
    }
  });

  it('corrects a one-letter typo only when asked, and only on tokens of 5 or more letters', () => {
    expect(repairTokens('overdse', vocab, true)).toEqual({ text: 'overdose', repairs: [{ from: 'overdse', to: 'overdose', kind: 'misspelling' }] });
    expect(repairTokens('overdse', vocab, false)).toEqual({ text: 'overdse', repairs: [] });
  });

  it('never corrects a real English word, even one the vocabulary would map', () => {
    expect(repairTokens('zzzzz pizza', { known: () => false, nearest: () => 'overdose' }, true).text).toBe('overdose pizza');
  });

  it('leaves ordinary text as it is, as the same string', () => {
    // ("cooool" is read as "cool" now, an English word whose context counts: evasion-repairs.test.ts.)
    for (const text of ['x y z', 'a b c', 'k i', 'bookkeeper', 'kill me', 'year 7 maths', '']) {
      const r = repairTokens(text, vocab, true);
      expect(r.text, text).toBe(text);
      expect(r.repairs, text).toEqual([]);
    }
  });
});

describe('NearIndex', () => {
  const index = new NearIndex();
  for (const f of ['noose', 'overdose', 'kill', 'blade']) index.add(f);

  it('holds forms of 5 letters or more', () => {
    expect(index.size).toBe(3);
    expect(index.nearest('kil')).toBeNull();
    expect(index.nearest('kjll')).toBeNull();
  });

  it('finds the form one edit away: a letter dropped, added, changed, or two swapped', () => {
    const rows: [string, string | null][] = [
      ['overdse', 'overdose'], ['overdosse', 'overdose'], ['overdoze', 'overdose'], ['ovredose', 'overdose'],
      ['noos', 'noose'], ['nooze', 'noose'], ['onose', 'noose'], ['blde', 'blade'],
      ['ovrdse', null], ['noose', null], ['table', null],
    ];
    for (const [token, want] of rows) expect(index.nearest(token), token).toBe(want);
  });

  it('answers nothing when two forms are as near', () => {
    const two = new NearIndex();
    two.add('blade');
    two.add('blame');
    expect(two.nearest('blage')).toBeNull();
    expect(two.nearest('blad')).toBe('blade');
  });
});

describe('PhraseMatcher reads evasions in searches', () => {
  const rows: [string, string[]][] = [
    ['k i l l myself', ['kill @self']],
    ['K.I.L.L. MYSELF', ['kill @self']],
    ['i k i l l myself', ['kill @self']],
    ['s.u.i.c.i.d.e', ['suicid*']],
    ['s-u-i-c-i-d-e', ['suicid*']],
    ['s u i c i d a l', ['suicid*']],
    ['killlll myself', ['kill @self']],
    ['dieeeee', ['die']],
    ['kmssss', ['kms']],
    ['k1ll mys3lf', ['kill @self']],
    ['kіll myself', ['kill @self']], // Cyrillic і
    ['kill mуself', ['kill @self']], // Cyrillic у
    ['ѕех', ['sex']],
    ['ki\u200bll my\u200dself', ['kill @self']],
    ['ki\u00adll myself', ['kill @self']],
    ['buy 🔪', ['knife']],
    ['buy🔪now', ['knife']],
    ['🔪️', ['knife']],
    ['👉👌', ['sex']],
    ['overdse', ['overdose']],
    ['ovredose', ['overdose']],
    ['overdosxe', ['overdose']],
    ['ovardose', ['overdose']],
    ['bladde', ['blade']],
  ];
  it.each(rows)('%j', (text, want) => {
    expect(phrases(m.matchSearch(text))).toEqual(want);
  });

  it('reports each repair', () => {
    expect(m.matchSearch('k i l l myself').repairs).toEqual([{ from: 'k i l l', to: 'kill', kind: 'spaced letters' }]);
    expect(m.matchSearch('killlll myself').repairs).toEqual([{ from: 'killlll', to: 'kill', kind: 'repeated letters' }]);
    expect(m.matchSearch('overdse').repairs).toEqual([{ from: 'overdse', to: 'overdose', kind: 'misspelling' }]);
    expect(m.matchSearch('kill myself').repairs).toEqual([]);
  });

  it('reads a repaired word in the evidence as read', () => {
    expect(m.matchSearch('k i l l myself').hits.map((h) => h.matched)).toEqual(['kill myself']);
  });

  it('does not correct words of fewer than 5 letters', () => {
    for (const text of ['kjll myself', 'kilk myself', 'dye', 'sax']) expect(m.matchSearch(text).hits, text).toEqual([]);
  });

  it('reads a short word a child spells by sound from the curated map only ("kil", not "kjll")', () => {
    const r = m.matchSearch('kil myself');
    expect(r.repairs).toEqual([{ from: 'kil', to: 'kill', kind: 'sound spelling' }]);
    expect(r.hits.length).toBeGreaterThan(0);
  });

  it('never "corrects" a real English word into a listed one', () => {
    // "moose" and "blame" are each one letter from a listed word.
    for (const text of ['moose', 'blame', 'noise', 'loose', 'goose']) {
      const r = m.matchSearch(text);
      expect(r.hits, text).toEqual([]);
      expect(r.repairs, text).toEqual([]);
    }
  });

  it('reads a one-letter typo of a listed word that is one letter from two of its forms', () => {
    // "overdosd" is one edit from "overdose" and from "overdosed", "noosse" from "noose" and
    // "nooses": forms of the same listed word, so the reading is not in doubt.
    for (const text of ['overdosd', 'noosse']) expect(m.matchSearch(text).flagged.map((f) => f.category), text).toEqual(['suicide']);
  });

  it('reads a one-letter typo of a word a prefix rule covers', () => {
    // The format's own example: "do NOT list suicde", while the lists write "suicid*".
    for (const text of ['suicde', 'suicdal', 'siucide']) expect(phrases(m.matchSearch(text)), text).toEqual(['suicid*']);
  });

  it('leaves spaced letters that spell nothing listed alone', () => {
    expect(m.matchSearch('a b c d e f')).toMatchObject({ hits: [], flagged: [], repairs: [] });
    expect(m.matchSearch('x y z kill myself').repairs).toEqual([]);
  });

  it('reads an emoji that is a zero-width-joiner sequence', () => {
    expect(phrases(m.matchSearch('❤️‍🩹'))).toEqual(['mending heart']);
  });
});

describe('PhraseMatcher reads evasions in addresses and pages, but corrects no typos there', () => {
  it('addresses: look-alikes, invisible characters, emoji, leetspeak', () => {
    expect(phrases(m.matchWords('/blog/kіll-myself'))).toEqual(['kill @self']);
    expect(phrases(m.matchWords('/blog/ki\u200bll-myself'))).toEqual(['kill @self']);
    expect(phrases(m.matchWords('/buy-🔪'))).toEqual(['knife']);
    expect(phrases(m.matchWords('/K1LL_MY$ELF'))).toEqual(['kill @self']);
  });

  it('addresses: spaced and repeated letters are read beside another listed word', () => {
    expect(phrases(m.matchWords('/k-i-l-l-myself/knife'))).toEqual(['kill @self', 'knife']);
    expect(phrases(m.matchWords('/killlll-myself/knife'))).toEqual(['kill @self', 'knife']);
  });

  it('addresses: spaced and repeated letters are read on their own, not only beside another listed word', () => {
    // The address gate reads a run of spaced letters, and repeated letters, as the full reading does.
    expect(phrases(m.matchWords('/k-i-l-l-myself'))).toEqual(['kill @self']);
    expect(phrases(m.matchWords('/killlll-myself'))).toEqual(['kill @self']);
    expect(phrases(m.matchWords('/k-i-l-l-myself/knife'))).toContain('kill @self');
    expect(phrases(m.matchWords('/killlll-myself/knife'))).toContain('kill @self');
  });

  it('pages: look-alikes, invisible characters and emoji', () => {
    expect(phrases(m.matchPage('I will kіll myself tonight.'))).toEqual(['kill @self']);
    expect(phrases(m.matchPage('I will ki\u200bll myself tonight.'))).toEqual(['kill @self']);
    expect(phrases(m.matchPage('Bring a 🔪 tomorrow'))).toEqual(['knife']);
  });

  it('one-letter typos are corrected in searches only', () => {
    expect(phrases(m.matchSearch('overdse'))).toEqual(['overdose']);
    expect(m.matchWords('/overdse')).toMatchObject({ hits: [], flagged: [], repairs: [] });
    expect(m.matchWords('/overdse/knife').repairs).toEqual([]);
    expect(phrases(m.matchWords('/overdse/knife'))).toEqual(['knife']);
    const { read: _typo, ...typo } = m.matchPage('an overdse of knife');
    const { read: _plain, ...plain } = m.matchPage('an xxxxxx of knife');
    expect(typo).toEqual(plain);
    expect(typo.repairs).toEqual([]);
  });
});

describe('English words under a listed prefix', () => {
  it('finds every WordNet word that starts with a prefix of four letters or more, and nothing else', () => {
    const words = englishWordsWithPrefix(['overdos', 'strangl', 'hang']);
    expect(words).toEqual(expect.arrayContaining(['overdose', 'strangle', 'strangler', 'hangman']));
    expect(words.every((w) => w.startsWith('overdos') || w.startsWith('strangl') || w.startsWith('hang'))).toBe(true);
    expect(words).not.toContain('over');
    // Short prefixes would pull in too much of the language to be worth repairing towards.
    expect(englishWordsWithPrefix(['cut'])).toEqual([]);
    expect(new Set(words).size).toBe(words.length);
  });
});
