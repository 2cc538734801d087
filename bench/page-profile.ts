// Where a 64 KiB page's time goes: pageText and matchPage on the content bench's "mixed" page,
// BENCH_ROUNDS times in a loop, for a CPU profile (open the .cpuprofile in Chrome DevTools, or
// sum its samples by function). Compiled with tsc instead of tsx, the profile keeps the
// sources' line numbers (positionTicks).
//
//   BENCH_ROUNDS=1000 node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/page-profile.ts
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pageText } from '../src/classify/page-text.js';
import { buildPhraseMatcher } from '../src/classify/phrases.js';
import { loadConfig } from '../src/config/load.js';
import { bigPage, FIXTURES } from './big-page.js';

const ROOT = resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300);
const config = loadConfig(join(ROOT, 'config/default.yaml'));
const matcher = buildPhraseMatcher(config.phrases);
const buf = bigPage(readdirSync(join(FIXTURES, 'pages')).filter((f) => f.endsWith('.html')).sort());
const start = process.hrtime.bigint();
for (let i = 0; i < ROUNDS; i++) {
  const t = pageText(buf);
  matcher.matchPage(`${t.title} ${t.text}`);
}
console.log(`${(Number(process.hrtime.bigint() - start) / 1e6 / ROUNDS).toFixed(3)} ms per page`);
