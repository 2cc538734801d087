// matchPage, pageText and the two together (the whole page path), and the whole path with the
// page's posts read as phrases.model configures (whole+posts, as classifyPage does), of this tree
// against another checkout's, in one process, on the content bench's "mixed" and "benign" 64 KiB
// pages: rounds of each taken in turn, timed in CPU time. Both must read the same text from the
// pages and give the same answers (the posts' readings included). On a machine shared with other work (load far above its cores) the
// wall-clock medians of bench/content.ts swing by several times from run to run; CPU time
// measured in alternating rounds is what still compares two versions fairly.
//
//   git archive <commit> | tar -x -C /tmp/before && ln -s "$PWD/node_modules" /tmp/before/
//   OLD=/tmp/before node --import tsx bench/page-ab.ts
//
// A checkout with conversation turns (src/classify/turns.ts) finds them and hears the lists'
// hits by speaker before the posts are read, as classifyPage does; one without reads as before.
// The "chat" page is made of the conversation pages (pages/turns/*.html).
//
// With OLD_LISTS=1 the old checkout reads its own config and phrase files, not this tree's: a
// round that adds rules is timed lists and code together. The answers then differ on purpose,
// so only the text read is compared.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { postReader, readPostsWith } from '../src/classify/page-posts.js';
import { pageText } from '../src/classify/page-text.js';
import { buildPhraseMatcher, type PhraseResult } from '../src/classify/phrases.js';
import { loadConfig } from '../src/config/load.js';
import { bigPage, FIXTURES } from './big-page.js';

const ROOT = resolve(import.meta.dirname, '..');
const OLD = process.env.OLD;
if (OLD === undefined) {
  console.error('OLD=<another checkout> node --import tsx bench/page-ab.ts');
  process.exit(2);
}
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
const CALLS = 5;


const oldPhrases = (await import(pathToFileURL(join(resolve(OLD), 'src/classify/phrases.ts')).href)) as { buildPhraseMatcher: typeof buildPhraseMatcher };
const oldText = (await import(pathToFileURL(join(resolve(OLD), 'src/classify/page-text.ts')).href)) as { pageText: typeof pageText };
const oldPosts = (await import(pathToFileURL(join(resolve(OLD), 'src/classify/page-posts.ts')).href)) as { readPostsWith: typeof readPostsWith };
/** A checkout's turn reading, or null before turns (src/classify/turns.ts, page-turns.ts) existed. */
type Turns = { find: (text: string) => readonly unknown[]; hear: (r: PhraseResult, text: string, turns: readonly unknown[], t: (c: string) => { caution: number; danger: number }) => PhraseResult } | null;
async function turnsOf(dir: string): Promise<Turns> {
  if (!existsSync(join(dir, 'src/classify/turns.ts'))) return null;
  const t = (await import(pathToFileURL(join(dir, 'src/classify/turns.ts')).href)) as { findTurns: (text: string) => readonly unknown[] };
  const h = (await import(pathToFileURL(join(dir, 'src/classify/page-turns.ts')).href)) as { hearTurns: NonNullable<Turns>['hear'] };
  return { find: t.findTurns, hear: h.hearTurns };
}
const config = loadConfig(join(ROOT, 'config/default.yaml'));
const oldLists = process.env.OLD_LISTS === '1';
const oldConfig = oldLists ? loadConfig(join(resolve(OLD), 'config/default.yaml')) : config;
const versions = {
  old: { matcher: oldPhrases.buildPhraseMatcher(oldConfig.phrases), pageText: oldText.pageText, readPostsWith: oldPosts.readPostsWith, readers: oldConfig.phrases.model == null ? [] : postReader(oldConfig.phrases.model), turns: await turnsOf(resolve(OLD)) },
  new: { matcher: buildPhraseMatcher(config.phrases), pageText, readPostsWith, readers: config.phrases.model == null ? [] : postReader(config.phrases.model), turns: await turnsOf(ROOT) },
};
const labels = readFileSync(join(FIXTURES, 'pages.tsv'), 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t'));
const benign = new Set(labels.filter((r) => r[1] === 'none').map((r) => r[0]!));
const all = readdirSync(join(FIXTURES, 'pages')).filter((f) => f.endsWith('.html')).sort();
const chat = readdirSync(join(FIXTURES, 'pages/turns')).filter((f) => f.endsWith('.html')).sort().map((f) => `turns/${f}`);
const pages = { mixed: bigPage(all), benign: bigPage(all.filter((f) => benign.has(f))), chat: bigPage(chat) };

const readText = (v: (typeof versions)['old'], buf: Buffer): string => {
  const t = v.pageText(buf);
  return `${t.title} ${t.text}`;
};
/** matchPage, then the posts read for the concerns it did not raise at danger, as classifyPage does. */
const posts = (v: (typeof versions)['old'], text: string): unknown => {
  const matched = v.matcher.matchPage(text);
  const turns = v.turns === null || matched.hits.length === 0 ? [] : v.turns.find(text);
  const r = turns.length === 0 ? matched : v.turns!.hear(matched, text, turns, (c) => v.matcher.thresholdsOf(c));
  return v.readers.length === 0 ? [] : v.readPostsWith(v.readers, text, r.hits, r.read, new Set(r.flagged.map((f) => f.category)), new Set(r.flagged.filter((f) => f.severity === 'danger').map((f) => f.category)), ...(turns.length === 0 ? [] : [turns] as never[]));
};
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const least = (a: number[]): number => Math.min(...a);
console.log(`CPU ms per call over ${ROUNDS} alternating rounds of ${CALLS}, 64 KiB pages; Node ${process.version}`);
console.log('page    step        old median  new median  new/old  old least  new least  new/old');
for (const [name, buf] of Object.entries(pages)) {
  const text = readText(versions.new, buf);
  // The chat page's text differs on purpose where chat markup names a speaker ("User:").
  if (name !== 'chat' && readText(versions.old, buf) !== text) {
    console.error(`${name}: the two read different text from the page`);
    process.exit(1);
  }
  if (!oldLists && name !== 'chat' && (JSON.stringify(versions.old.matcher.matchPage(text)) !== JSON.stringify(versions.new.matcher.matchPage(text)) || JSON.stringify(posts(versions.old, text)) !== JSON.stringify(posts(versions.new, text)))) {
    console.error(`${name}: the two answer differently on this page`);
    process.exit(1);
  }
  const steps = {
    pageText: (v: (typeof versions)['old']): unknown => v.pageText(buf),
    matchPage: (v: (typeof versions)['old']): unknown => v.matcher.matchPage(text),
    whole: (v: (typeof versions)['old']): unknown => v.matcher.matchPage(readText(v, buf)),
    // As classifyPage reads a page: the posts too, by the readers phrases.model configures.
    'whole+posts': (v: (typeof versions)['old']): unknown => posts(v, readText(v, buf)),
  };
  for (const [step, run] of Object.entries(steps)) {
    const cpu = { old: [] as number[], new: [] as number[] };
    for (let i = 0; i < 20; i++) for (const v of Object.values(versions)) run(v);
    for (let r = 0; r < ROUNDS; r++) {
      for (const k of r % 2 === 0 ? (['new', 'old'] as const) : (['old', 'new'] as const)) {
        const start = process.cpuUsage();
        for (let i = 0; i < CALLS; i++) run(versions[k]);
        const d = process.cpuUsage(start);
        cpu[k].push((d.user + d.system) / 1000 / CALLS);
      }
    }
    const f = (x: number): string => x.toFixed(3).padStart(10);
    console.log(`${name.padEnd(7)} ${step.padEnd(11)} ${f(median(cpu.old))}  ${f(median(cpu.new))}  ${(median(cpu.new) / median(cpu.old)).toFixed(3).padStart(7)} ${f(least(cpu.old))} ${f(least(cpu.new))}  ${(least(cpu.new) / least(cpu.old)).toFixed(3).padStart(7)}`);
  }
}
