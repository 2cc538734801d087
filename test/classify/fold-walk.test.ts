// The streaming fold used on every URL path must agree exactly with foldText, or a phrase in
// a URL could be missed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { foldText, WALK_NOT_ASCII, walkFoldedAscii } from '../../src/classify/normalise-text.js';
import { normaliseUrl } from '../../src/classify/normalise-url.js';
import { loadLexicon } from '../../src/classify/phrase-file.js';
import { buildPhraseMatcher, NO_PHRASES } from '../../src/classify/phrases.js';
import { tempDir } from '../helpers/lists.js';
import { labelledTraffic } from '../helpers/shared.js';

// A small lexicon of its own, so the agreement is tested whatever the shipped lists hold; every
// rule has an uncommon word, as only those can fire on an address.
const tmp = tempDir('schoolgate-fold-walk-');
afterAll(tmp.cleanup);
const LEXICON = join(tmp.dir, 'walk.yaml');
writeFileSync(LEXICON, `language: en
words:
  self: [myself, "my self", me, yourself]
  method: [hang, noose, "jump off"]
categories:
  suicide:
    "kill @self": 20
    "suicid*": 10
    "@method + @self": { weight: 20, within: 4, intent: true }
    "teen suicide rates": -15
  adult:
    "sex": 10
    "porn*": 10
  drugs:
    "cocaine": 10
    "buy + cocaine": 5
    "essay": -5
  violence:
    "pipe bomb": 20
    "shoot up the school": 20
    "knife + buy": 10
`);
const phrases = buildPhraseMatcher({ ...loadLexicon([LEXICON]), threshold: 10, thresholds: {}, danger: 20 });

/** An automaton whose state is the last character code read, so a walk's states spell its input. */
function walked(s: string): string | null {
  let out = '';
  const symbolOf = Uint8Array.from({ length: 128 }, (_, c) => c);
  const delta = new Uint16Array(128 * 128);
  for (let st = 0; st < 128; st++) for (let c = 0; c < 128; c++) delta[st * 128 + c] = c;
  const dfa = { symbolOf, delta, alphabet: 128, firstOut: 1000 };
  // Walk one folded character at a time by re-running from each prefix length would be slow;
  // instead record transitions through a proxy array.
  const recording = new Proxy(delta, { get: (t, k) => (typeof k === 'string' && /^\d+$/.test(k) ? ((out += String.fromCharCode(Number(k) % 128)), t[Number(k)]) : Reflect.get(t, k)) });
  const r = walkFoldedAscii(s, { ...dfa, delta: recording as Uint16Array }, 0);
  return r === WALK_NOT_ASCII ? null : out;
}

const TRICKY = [
  '', '/', '//', '/a', '/How-To-Kill-Myself', '/k1ll_myself', "/don't-do-it", "/'quoted'", "/rock'n'roll", '/$uicide', '/$5-off',
  '/@home', '/a@b$c', '/@@', '/year-7/maths', '/2024/01/02', '/mp3-3d-1st', '/K1LL MY$ELF', '/x--y__z', "/it's/k1ll's",
  '/how+to+make+a+pipe+bomb', '/news/teen-suicide-rates', '/ESSEX/Scunthorpe', "/l'amour", "/'", "/a'", "/'a", '/0', '/a0',
  '/buy-c0ca1ne-online', '/search?q=x', '/caf\u00e9', '/\u017cyj', '/tab\there',
  '/chat/[20:22]-he-is-22', '/at-3:15pm', '/3:15PM/x', '/20:22:05', '/20h22', "/3:15's", "/3:15pm's", '/14:88', '/120:22', '/x20:22',
  '/20:22x', '/20:22\u00e9', '/1:2',
  '/at 3:15 pm', '/3.15pm', '/3.15 P.M.', '/3 15pm', '/3 15 pm', '/3pm', '/1am-12AM', '/3.15', '/3:15 pmx',
];

describe('walkFoldedAscii produces exactly foldText', () => {
  it.each(TRICKY)('%j', (s) => {
    const w = walked(s);
    if (/^[\x00-\x7f]*$/.test(s)) expect(w).toBe(foldText(s));
    else expect(w).toBeNull();
  });

  it('on 5,000 paths of the shared traffic sample', () => {
    for (const row of labelledTraffic(40)) {
      const path = normaliseUrl(row.url).path;
      expect(walked(path), path).toBe(foldText(path));
    }
  });
});

/**
 * matchWords against the full reading of the same words: the same answer wherever the full
 * reading finds a positive rule; elsewhere nothing, or the same (context alone raises nothing).
 */
function agrees(path: string): void {
  const words = phrases.matchWords(path);
  const full = phrases.readWords(path);
  expect(words.flagged, path).toEqual(full.flagged);
  if (full.hits.some((h) => h.weight > 0) || words !== NO_PHRASES) expect(words, path).toEqual(full);
}

describe('PhraseMatcher.matchWords agrees with the full reading, and with match(foldText(...))', () => {
  it.each(TRICKY)('%j', (s) => {
    agrees(s);
    const full = phrases.readWords(s);
    if (full.repairs.length === 0) expect(full).toEqual(phrases.match(foldText(s)));
  });

  it('on 5,000 paths of the shared traffic sample', () => {
    for (const row of labelledTraffic(40)) {
      const path = normaliseUrl(row.url).path;
      agrees(path);
      const full = phrases.readWords(path);
      // An address's spaced or repeated letters are read back by readWords only; match reads as written.
      if (full.repairs.length === 0) expect(full, path).toEqual(phrases.match(foldText(path)));
    }
  });

  it('finds phrases in paths, and nothing in everyday ones', () => {
    expect(phrases.matchWords('/blog/how-to-k1ll-myself').flagged).toEqual([{ category: 'suicide', score: 20, severity: 'danger' }]);
    expect(phrases.matchWords('/news/teen-suicide-rates').flagged).toEqual([]);
    expect(phrases.matchWords('/Buy_C0CA1NE-online').flagged.map((f) => f.category)).toEqual(['drugs']);
    expect(phrases.matchWords('/wildlife/killer-whale-facts').hits).toEqual([]);
    expect(phrases.matchWords('/ESSEX/Scunthorpe/middlesex')).toEqual(phrases.match('essex scunthorpe middlesex'));
    expect(phrases.matchWords('/ESSEX/Scunthorpe/middlesex').hits).toEqual([]);
  });
});
