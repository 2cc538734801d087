// The ninth round's pages (test/fixtures/safeguarding/pages/r9/): forum threads, group chats and
// comment pages whose chrome and ordinary posts are full of everyday words that search context is
// made of ("Holidays", "Match reports", "Xbox", "brother"), read by the shipped lists as a page
// (README.md, "Context on a page": one everyday word is context for its own post, not for the
// page). A first-person post among them is not talked down by the nav, the footer or the other
// posts; the same words around an idiom in a benign post still hold it down.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pageText } from '../../src/classify/page-text.js';
import { loadLexicon } from '../../src/classify/phrase-file.js';
import { buildPhraseMatcher } from '../../src/classify/phrases.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PAGES = resolve(ROOT, 'test/fixtures/safeguarding/pages');
const m = buildPhraseMatcher({ ...loadLexicon(['en', 'pl', 'ur-latn'].map((l) => resolve(ROOT, 'config/phrases', l))), threshold: 10, thresholds: {}, danger: 20 });

/** What the lists raise on a page of the set, as `classify --page` reads it: category -> severity. */
function raised(file: string): Record<string, string> {
  const page = pageText(readFileSync(resolve(PAGES, file)));
  return Object.fromEntries(m.matchPage(`${page.title} ${page.text}`).flagged.map((f) => [f.category, f.severity]));
}

/** The r9 rows of pages.tsv: file, concern. */
const rows = readFileSync(resolve(ROOT, 'test/fixtures/safeguarding/pages.tsv'), 'utf8').split('\n')
  .map((l) => l.split('\t')).filter((c) => c[0]?.startsWith('r9/')).map((c) => ({ file: c[0]!, concern: c[1]! }));

describe('the ninth round\'s pages', () => {
  it('are all in pages.tsv, in dev', () => {
    expect(rows.length).toBe(71);
    expect(rows.filter((r) => r.concern === 'none').length).toBe(34);
  });

  it('a post of intent is not talked down by the nav, the footer or the next post', () => {
    // The reproduction: "Holidays", "Match reports", "Xbox" in the nav, a cross country
    // club opening the next post, a pool and a party in the others.
    expect(raised('r9/h-sui-car-park-repro.html').suicide).toBe('danger');
    expect(raised('r9/h-vio-burn-house.html').violence).toBe('danger');
    expect(raised('r9/h-pl-sui-most.html').suicide).toBe('danger');
  });

  it('the same everyday words still hold down a benign post\'s idiom', () => {
    // All but one: a squad chat's "im going to kill them all from the hill with the sniper",
    // raised at first sight too (violence), is a game's talk the lists cannot tell from a threat.
    const quiet = rows.filter((r) => r.concern === 'none' && r.file !== 'r9/b-game-squad-kill-them.html');
    expect(quiet.length).toBe(33);
    for (const { file } of quiet) expect(raised(file), file).toEqual({});
  });
});
