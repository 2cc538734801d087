// matchPage gives the same answer after a speed change: its full result (hits, spans, words
// matched, scores, the text as read) on every dev fixture page, on every other fixture page
// (subfolders included), on the content bench's two 64 KiB pages and on 64 KiB pages made of the
// fixture pages in other orders, written as a snapshot before the change and checked against it
// after. pageText's output is part of it: a page whose text changed is "not compared".
//
//   node --import tsx bench/page-equivalence.ts --write /tmp/pages.json   (before the change)
//   node --import tsx bench/page-equivalence.ts --check /tmp/pages.json   (after it)
//
// Each text is also read upper-cased and doubled, and the whole set is read twice in a row, so
// that whatever a matcher keeps from page to page (a word cache) is read both cold and warm.
// Held-out pages are never read by a person: every page that is not a dev page, and every
// 64 KiB page (the bench builds them from every fixture page), is compared by hash only, and a
// difference in it prints no text.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pageText } from '../src/classify/page-text.js';
import { buildPhraseMatcher } from '../src/classify/phrases.js';
import { loadConfig } from '../src/config/load.js';
import { bigPage, FIXTURES } from './big-page.js';

const ROOT = resolve(import.meta.dirname, '..');

const [mode, file] = process.argv.slice(2);
if ((mode !== '--write' && mode !== '--check') || file === undefined) {
  console.error('usage: page-equivalence.ts --write|--check snapshot.json');
  process.exit(2);
}

const rows = readFileSync(join(FIXTURES, 'pages.tsv'), 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t'));
const dev = rows.filter((r) => r[3] === 'dev').map((r) => r[0]!).sort();
const benign = new Set(rows.filter((r) => r[1] === 'none').map((r) => r[0]!));


const texts: { name: string; text: string; private: boolean }[] = [];
const add = (name: string, buf: Buffer, hidden: boolean): void => {
  const t = pageText(buf);
  const text = `${t.title} ${t.text}`;
  texts.push({ name, text, private: hidden }, { name: `${name} (upper)`, text: text.toUpperCase(), private: hidden }, { name: `${name} (twice)`, text: `${text} ${text}`, private: hidden });
};
for (const f of dev) add(f, readFileSync(join(FIXTURES, 'pages', f)), false);
const all = readdirSync(join(FIXTURES, 'pages')).filter((f) => f.endsWith('.html')).sort();
add('bench mixed', bigPage(all), true);
add('bench benign', bigPage(all.filter((f) => benign.has(f))), true);
// Every other fixture page, subfolders too (paths relative to pages/).
const devSet = new Set(dev);
const others: string[] = [];
const list = (dir: string): void => {
  for (const f of readdirSync(join(FIXTURES, 'pages', dir)).sort()) {
    const rel = dir === '' ? f : `${dir}/${f}`;
    if (statSync(join(FIXTURES, 'pages', rel)).isDirectory()) list(rel);
    else if (f.endsWith('.html') && !devSet.has(rel)) others.push(rel);
  }
};
list('');
for (const f of others) add(`page ${createHash('sha256').update(f).digest('hex').slice(0, 12)}`, readFileSync(join(FIXTURES, 'pages', f)), true);
// 64 KiB pages of the fixture pages in other orders (a seeded shuffle): other words side by side.
const everyPage = [...all, ...others.filter((f) => f.includes('/'))];
let seed = 14;
const random = (n: number): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed >>> 8) % n;
};
for (let k = 0; k < 8; k++) {
  const order = [...everyPage];
  for (let i = order.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  add(`generated ${k}`, bigPage(order), true);
}

const config = loadConfig(join(ROOT, 'config/default.yaml'));
const matcher = buildPhraseMatcher(config.phrases);
const hash = (s: string): string => createHash('sha256').update(s).digest('hex');

const results: Record<string, { input: string; result: string }> = {};
for (let round = 0; round < 2; round++) {
  for (const t of texts) {
    // Rule files are named by path: a snapshot written in another checkout names them from its own root.
    const result = JSON.stringify(matcher.matchPage(t.text)).replaceAll(JSON.stringify(`${ROOT}/`).slice(1, -1), '');
    const prev = results[t.name];
    if (prev !== undefined && prev.result !== result) {
      console.error(`${t.name}: the second reading differs from the first`);
      process.exit(1);
    }
    results[t.name] = { input: hash(t.text), result };
  }
}

if (mode === '--write') {
  writeFileSync(file, JSON.stringify(results));
  const hits = Object.values(results).reduce((n, r) => n + (JSON.parse(r.result) as { hits: unknown[] }).hits.length, 0);
  console.log(`wrote ${Object.keys(results).length} results (${hits} hits) to ${file}`);
} else {
  const before = JSON.parse(readFileSync(file, 'utf8')) as typeof results;
  let same = 0;
  let differ = 0;
  let inputChanged = 0;
  for (const t of texts) {
    const b = before[t.name];
    const a = results[t.name]!;
    if (b === undefined || b.input !== a.input) {
      inputChanged++;
      console.log(`${t.name}: not in the snapshot, or its text changed (pageText?): not compared`);
    } else if (b.result === a.result) same++;
    else {
      differ++;
      console.log(`${t.name}: DIFFERS${t.private ? '' : `\n  before ${b.result.slice(0, 400)}\n  after  ${a.result.slice(0, 400)}`}`);
    }
  }
  console.log(`${same} identical, ${differ} different, ${inputChanged} not compared, of ${texts.length} texts`);
  if (differ > 0 || inputChanged > 0) process.exit(1);
}
