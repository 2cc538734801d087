// matchPage of this tree against another checkout's, in one process, on the content bench's
// "mixed" 64 KiB page: rounds of each taken in turn, timed in CPU time. On a machine shared
// with other work (load far above its cores) the wall-clock medians of bench/content.ts swing
// by several times from run to run; CPU time measured in alternating rounds is what still
// compares two versions fairly.
//
//   git archive <commit> | tar -x -C /tmp/before && ln -s "$PWD/node_modules" /tmp/before/
//   OLD=/tmp/before node --import tsx bench/page-ab.ts
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pageText } from '../src/classify/page-text.js';
import { buildPhraseMatcher } from '../src/classify/phrases.js';
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


const old = (await import(pathToFileURL(join(resolve(OLD), 'src/classify/phrases.ts')).href)) as { buildPhraseMatcher: typeof buildPhraseMatcher };
const config = loadConfig(join(ROOT, 'config/default.yaml'));
const matchers = { old: old.buildPhraseMatcher(config.phrases), new: buildPhraseMatcher(config.phrases) };
const t = pageText(bigPage(readdirSync(join(FIXTURES, 'pages')).filter((f) => f.endsWith('.html')).sort()));
const text = `${t.title} ${t.text}`;
if (JSON.stringify(matchers.old.matchPage(text)) !== JSON.stringify(matchers.new.matchPage(text))) {
  console.error('the two answer differently on this page');
  process.exit(1);
}

const cpu = { old: [] as number[], new: [] as number[] };
for (let i = 0; i < 20; i++) for (const m of Object.values(matchers)) m.matchPage(text);
for (let r = 0; r < ROUNDS; r++) {
  for (const k of r % 2 === 0 ? (['new', 'old'] as const) : (['old', 'new'] as const)) {
    const start = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) matchers[k].matchPage(text);
    const d = process.cpuUsage(start);
    cpu[k].push((d.user + d.system) / 1000 / CALLS);
  }
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const least = (a: number[]): number => Math.min(...a);
console.log(`matchPage, 64 KiB "mixed" page, CPU ms per call over ${ROUNDS} alternating rounds of ${CALLS}; Node ${process.version}`);
console.log(`median: old ${median(cpu.old).toFixed(3)}, new ${median(cpu.new).toFixed(3)}, new/old ${(median(cpu.new) / median(cpu.old)).toFixed(3)}`);
console.log(`least:  old ${least(cpu.old).toFixed(3)}, new ${least(cpu.new).toFixed(3)}, new/old ${(least(cpu.new) / least(cpu.old)).toFixed(3)}`);
