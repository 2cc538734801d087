// Shows how the detection engine reads a text, for whoever tunes the phrase lists:
//   node --import tsx bench/explain-phrase.ts "how to k i l l myself" ["another search" …]
//   options: --page (read the text as page text), --url (as the words of an address), --config FILE,
//            --phrases FILE,DIR,… (only these phrase files, in place of the configuration's)
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPhraseMatcher } from '../src/classify/phrases.js';
import { loadConfig } from '../src/config/load.js';
import { loadLexicon } from '../src/classify/phrase-file.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { phrases: { type: 'string' }, page: { type: 'boolean', default: false }, url: { type: 'boolean', default: false }, config: { type: 'string', default: resolve(import.meta.dirname, '../config/default.yaml') } },
});
const config = loadConfig(resolve(values.config));
const matcher = buildPhraseMatcher(values.phrases === undefined ? config.phrases : { ...config.phrases, ...loadLexicon(values.phrases.split(',').map((p) => resolve(p))) });
for (const text of positionals) {
  const r = values.page ? matcher.matchPage(text) : values.url ? matcher.matchWords(text) : matcher.matchSearch(text);
  console.log(`\n${JSON.stringify(text)}`);
  for (const rep of r.repairs) console.log(`  read "${rep.from}" as "${rep.to}" (${rep.kind})`);
  for (const h of r.hits) console.log(`  ${h.category.padEnd(10)} ${String(h.weight).padStart(4)}${h.intent ? ' intent' : '       '}  ${h.phrase}   <- "${h.matched}"   ${h.file.replace(/.*config\//, '')}:${h.line}`);
  if (r.flagged.length === 0) console.log('  raises nothing');
  for (const f of r.flagged) console.log(`  => ${f.category} score ${f.score}: ${f.severity}`);
}
