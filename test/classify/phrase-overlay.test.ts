// The DSL's phrases laid over the files' (phrase-overlay.ts) must answer exactly as one matcher
// compiled from all of them would (the way they were used before): the same hits, in the same
// order, with the same evidence, scores, repairs and reading, for searches, addresses and pages.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pageText } from '../../src/classify/page-text.js';
import { basePhrases, layeredPhrases } from '../../src/classify/phrase-overlay.js';
import { buildPhraseMatcher, type PhraseEntry, type PhraseHit, type PhraseResult } from '../../src/classify/phrases.js';
import { loadConfig } from '../../src/config/load.js';

const FIXTURES = 'test/fixtures/safeguarding';
const settings = loadConfig('config/default.yaml').phrases;
const dsl = (id: number, e: Omit<PhraseEntry, 'file' | 'line' | 'language'> & { language?: string }): PhraseEntry => ({ language: 'en', ...e, file: 'DSL jane, 2026-12-07 09:30 UTC, phrase change', line: id });

// Synthetic words added; shipped rules re-weighted (a plain one down, others to context and up to
// intent); a combination with a word class.
const plain = settings.entries.find((e) => e.category === 'suicide' && e.weight >= 10 && /^[a-z]+ [a-z]+$/.test(e.phrase))!;
const reweighted = [plain, ...settings.entries.filter((e) => e.category === 'suicide' && e.weight > 0 && e !== plain).slice(0, 2)];
const more: PhraseEntry[] = [
  dsl(1, { category: 'bullying', phrase: 'zorblax quiggle', weight: 12 }),
  dsl(2, { category: 'self-harm', phrase: '@self + snorfle*', weight: 20, within: 4, intent: true }),
  dsl(3, { category: 'suicide', phrase: reweighted[0]!.phrase, weight: 2 }),
  dsl(4, { category: 'suicide', phrase: reweighted[1]!.phrase, weight: -8 }),
  dsl(5, { category: 'suicide', phrase: ` ${reweighted[2]!.phrase.replaceAll(' ', '  ')}`, weight: 30, intent: true }),
  dsl(6, { category: 'drugs', phrase: 'plimsoll juice', weight: 6 }),
];
const layered = layeredPhrases(settings, more);
const whole = buildPhraseMatcher(settings, more);

const fromDsl = (h: PhraseHit): boolean => h.file.startsWith('DSL ');
const positive = (r: PhraseResult): boolean => r.hits.some((h) => h.weight > 0);
const searches = readFileSync(join(FIXTURES, 'searches.dev.tsv'), 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t')[0]!);
// Every search once as written and once with the DSL's words in it, spelt as pupils spell them.
const extra = ['zorblax quiggle', 'z o r b l a x quiggle', 'zorblaxxx quiggle', 'zorblx quiggle', 'me snorfled', 'snorfling myself', 'plimsoll juice please', 'plimsol juice'];
const texts = [...searches, ...searches.filter((_, i) => i % 2 === 0).map((s, i) => `${s} ${extra[i % extra.length]!}`), ...extra];

describe('the DSL\'s phrases laid over the files\' answer as one matcher of all of them', () => {
  it('for searches', () => {
    let byDsl = 0;
    for (const t of texts) {
      const r = layered.matchSearch(t);
      expect(r, t).toEqual(whole.matchSearch(t));
      if (r.hits.some(fromDsl)) byDsl++;
    }
    // Not only texts the DSL's rules leave alone.
    expect(byDsl).toBeGreaterThan(1000);
  });

  it('for the words of addresses', () => {
    let byDsl = 0;
    for (const t of texts) {
      const path = `/${t.replaceAll(' ', '-')}`;
      const r = layered.matchWords(path);
      const w = whole.matchWords(path);
      // An address is read only where a positive rule could match (address-anchors.ts); which
      // context-only hits come along where none does depends on whose gate opened, and is never
      // scored, so there the answers must agree on what they flag.
      if (positive(r) || positive(w)) expect(r, path).toEqual(w);
      else expect(r.flagged, path).toEqual(w.flagged);
      if (r.hits.some(fromDsl)) byDsl++;
    }
    expect(byDsl).toBeGreaterThan(1000);
  });

  it('for pages, with the DSL\'s words and re-weighted phrases in them', () => {
    const dir = join(FIXTURES, 'pages');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.html'))) {
      const page = pageText(readFileSync(join(dir, f)));
      const text = `${page.title} ${page.text} ${extra.join('. ')}`;
      const r = layered.matchPage(text);
      expect(r, f).toEqual(whole.matchPage(text));
      expect(r.hits.filter(fromDsl).length, f).toBeGreaterThan(0);
    }
  });

  it('a re-weighted shipped rule counts once, with the DSL\'s weight and the DSL\'s evidence', () => {
    const r = layered.matchSearch(plain.phrase);
    const rule = r.hits.filter((h) => h.phrase === plain.phrase);
    expect(rule).toMatchObject([{ category: 'suicide', weight: 2, file: 'DSL jane, 2026-12-07 09:30 UTC, phrase change', line: 3 }]);
    expect(basePhrases(settings).matchSearch(plain.phrase).hits.filter((h) => h.phrase === plain.phrase)).toMatchObject([{ weight: plain.weight, file: plain.file, line: plain.line }]);
  });

  it('no DSL phrases is the files\' matcher itself, compiled once per configuration', () => {
    expect(layeredPhrases(settings, [])).toBe(basePhrases(settings));
    // A configuration read again with the same phrase files (a reload) compiles nothing.
    expect(basePhrases(loadConfig('config/default.yaml').phrases)).toBe(basePhrases(settings));
  });

  it('a DSL weight replaces the search rule of that spelling, never a pages-only rule written the same way', () => {
    const own = (e: Pick<PhraseEntry, 'phrase' | 'weight'> & { pagesOnly?: boolean }, file: string): PhraseEntry => ({ category: 'bullying', language: 'en', file, line: 1, ...e });
    const withPageRule = { ...settings, entries: [...settings.entries, own({ phrase: 'zorp wibble', weight: 10 }, 'concern.yaml'), own({ phrase: 'zorp wibble', weight: -5, pagesOnly: true }, 'page-context.yaml')] };
    const dslWeight = dsl(7, { category: 'bullying', phrase: 'zorp wibble', weight: 2 });
    const search = layeredPhrases(withPageRule, [dslWeight]).matchSearch('zorp wibble').hits.filter((h) => h.phrase === 'zorp wibble');
    expect(search.map((h) => [h.weight, h.file])).toEqual([[2, dslWeight.file]]);
    const page = layeredPhrases(withPageRule, [dslWeight]).matchPage('zorp wibble').hits.filter((h) => h.phrase === 'zorp wibble');
    expect(page.map((h) => h.weight).sort((a, b) => a - b)).toEqual([-5, 2]);
  });
});
