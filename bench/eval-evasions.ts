// Evasion robustness (issue 14): how much of what detection reads in the DEV searches it still
// reads when the search is written the way pupils hide it from a filter. Each dev search is
// rewritten with one family of evasion at a time (bench/evasion-transforms.ts: leetspeak, spaced
// and dotted letters, repeated letters, look-alike, accented and styled letters, zero-width
// characters, one typo, words run together, case, emoji, punctuation, and two families at once),
// with a seeded generator, and sent through the same classifier and detect() as
// eval-safeguarding.ts. Outside checks use evasions we never see, so this measures families, not
// rows. Held-out searches are never read.
//
//   npm run eval:evasions                          (node --import tsx bench/eval-evasions.ts)
//   options: --seed N (14), --sample N (every dev row; else N rows per family, seeded),
//            --worst N (5 examples per family of each kind), --family NAME (only families whose name has NAME),
//            --json (one JSON object), --config FILE, --data DIR, --group GROUP (as eval-safeguarding)
//
// Per family:
//   harmful kept:  harmful searches that raised their concern as written and still raise it rewritten;
//   danger kept:   danger-class searches at danger as written that are still at danger rewritten;
//   benign raised: benign searches that raised nothing as written and raise something rewritten.
// A row the family cannot rewrite (no letter it changes, no emoji for a word) is left out of that family.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { detect } from '../src/alerts/detect.js';
import { ExclusionSet } from '../src/alerts/exclusions.js';
import { foldText } from '../src/classify/normalise-text.js';
import { loadConfig } from '../src/config/load.js';
import { loadLists } from '../src/lists/load.js';
import { FAMILIES, keyIndex, TWO_FAMILIES, twoFamilies, type Random, type TransformContext, type Words } from './evasion-transforms.js';
import { seededRandom } from './lib.js';
import { fail, FIXTURES, readSearchFile, ROOT, type SearchRow } from './safeguarding-set.js';

const { values: opts } = parseArgs({
  options: {
    seed: { type: 'string', default: '14' },
    sample: { type: 'string' },
    worst: { type: 'string', default: '5' },
    family: { type: 'string' },
    json: { type: 'boolean', default: false },
    config: { type: 'string', default: join(ROOT, 'config/default.yaml') },
    data: { type: 'string', default: join(ROOT, 'data') },
    group: { type: 'string', default: 'ks2' },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log('usage: npm run eval:evasions -- [--seed N] [--sample N] [--worst N] [--family NAME] [--json] [--config FILE] [--data DIR] [--group GROUP]');
  process.exit(0);
}
const seed = Number(opts.seed);
const sample = opts.sample === undefined ? Infinity : Number(opts.sample);
const worst = Number(opts.worst);
if (!Number.isInteger(seed) || !(sample > 0) || !Number.isInteger(worst) || worst < 0) fail('--seed, --sample and --worst take whole numbers');

// Dev rows only: the held-out split is never rewritten, read or printed here.
const rows = readSearchFile(join(FIXTURES, 'searches.dev.tsv'), 'dev');
const config = loadConfig(resolve(opts.config));
const { classifier } = await loadLists(config, { dataDir: resolve(opts.data) });
const exclusions = new ExclusionSet(config.safeguarding.exclusions);
const ENGINE = 'https://www.google.com/search?q=';

interface Reading {
  readonly raised: ReadonlyMap<string, string>;
  /** The words of the search's hits for its own concern, as read. */
  readonly matched: ReadonlySet<string>;
}

function read(text: string, concern: string): Reading {
  const c = classifier.classify(ENGINE + new URLSearchParams({ q: text }).toString().slice(2));
  const raised = new Map(detect(c, { action: 'allow' }, config.safeguarding, exclusions, opts.group).map((a) => [a.category as string, a.severity as string]));
  const matched = new Set(c.phrases.filter((h) => h.source === 'search' && h.category === concern && h.weight > 0).flatMap((h) => h.matched.split(/ … | /)));
  return { raised, matched };
}

type Kind = 'harmful' | 'danger' | 'benign';
interface Base {
  readonly row: SearchRow;
  readonly words: Words;
  /** What the row counts towards as written: harmful (its concern raised), danger (at danger), benign (nothing raised). */
  readonly kinds: readonly Kind[];
}

const started = performance.now();
const emojiFor = new Map<string, string>();
for (const e of config.phrases.emoji) if (!emojiFor.has(e.words)) emojiFor.set(e.words, e.emoji);
const ctx: TransformContext = { emojiFor };

const bases: Base[] = rows.map((row) => {
  const r = read(row.text, row.concern);
  const words = row.text.split(/\s+/).filter(Boolean);
  const kinds: Kind[] = [];
  if (row.concern === 'none') {
    if (r.raised.size === 0) kinds.push('benign');
  } else if (r.raised.has(row.concern)) {
    kinds.push('harmful');
    if (row.severity === 'danger' && r.raised.get(row.concern) === 'danger') kinds.push('danger');
  }
  return { row, words: { words, key: keyIndex(words, r.matched, foldText) }, kinds };
});

interface Example {
  readonly from: string;
  readonly to: string;
  readonly expected: string;
  readonly got: string;
  readonly family?: string;
}
interface FamilyResult {
  readonly family: string;
  rewritten: number;
  readonly kept: Record<Kind, { n: number; of: number }>;
  readonly lost: Example[];
  readonly lowered: Example[];
  readonly falseAlerts: Example[];
}

/** A generator for one row and family: the same whatever else is run, so --family and --sample do not change a row's rewriting. */
function rngFor(family: string, line: number): Random {
  let h = seed | 0;
  for (let i = 0; i < family.length; i++) h = Math.imul(h ^ family.charCodeAt(i), 0x01000193);
  return seededRandom(Math.imul(h ^ line, 0x9e3779b1));
}

/** The rows of a family: every row, or a seeded sample of them. */
function rowsFor(family: string): Base[] {
  const usable = bases.filter((b) => b.kinds.length > 0);
  if (usable.length <= sample) return usable;
  const rnd = rngFor(family, -1);
  const shuffled = [...usable];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return shuffled.slice(0, sample);
}

/** Up to n examples, danger-class first and one concern after another, so a family's worst are not n rows of one kind. */
function spread(examples: readonly Example[], n: number): Example[] {
  const groups = new Map<string, Example[]>();
  for (const e of [...examples].sort((a, b) => Number(b.expected.endsWith('(danger)')) - Number(a.expected.endsWith('(danger)')))) {
    groups.set(e.expected, [...(groups.get(e.expected) ?? []), e]);
  }
  const out: Example[] = [];
  for (let i = 0; out.length < n && out.length < examples.length; i++) for (const g of groups.values()) if (g[i] && out.length < n) out.push(g[i]!);
  return out;
}

const raisedText = (m: ReadonlyMap<string, string>): string => (m.size === 0 ? '(nothing)' : [...m].map(([c, s]) => `${c} (${s})`).join(', '));

function runFamily(family: string): FamilyResult {
  const result: FamilyResult = { family, rewritten: 0, kept: { harmful: { n: 0, of: 0 }, danger: { n: 0, of: 0 }, benign: { n: 0, of: 0 } }, lost: [], lowered: [], falseAlerts: [] };
  for (const b of rowsFor(family)) {
    const rnd = rngFor(family, b.row.line);
    let to: Words | null;
    let names: string | undefined;
    if (family === TWO_FAMILIES) {
      const two = twoFamilies(b.words, rnd, ctx);
      to = two?.words ?? null;
      names = two?.names;
    } else to = FAMILIES[family]!(b.words, rnd, ctx);
    if (to === null) continue;
    const text = to.words.join(' ');
    if (text === b.row.text) continue;
    result.rewritten++;
    const r = read(text, b.row.concern);
    const example = (): Example => ({ from: b.row.text, to: text, expected: b.row.concern === 'none' ? 'none' : `${b.row.concern} (${b.row.severity})`, got: raisedText(r.raised), ...(names ? { family: names } : {}) });
    for (const kind of b.kinds) {
      const k = result.kept[kind];
      k.of++;
      const ok = kind === 'benign' ? r.raised.size > 0 : kind === 'harmful' ? r.raised.has(b.row.concern) : r.raised.get(b.row.concern) === 'danger';
      if (ok) k.n++;
      else if (kind === 'harmful') result.lost.push(example());
      else if (kind === 'danger' && r.raised.has(b.row.concern)) result.lowered.push(example());
    }
    if (b.kinds.includes('benign') && r.raised.size > 0) result.falseAlerts.push(example());
  }
  return result;
}

const families = [...Object.keys(FAMILIES), TWO_FAMILIES].filter((f) => opts.family === undefined || f.includes(opts.family));
const results = families.map(runFamily);
const seconds = (performance.now() - started) / 1000;

const pct = (r: { n: number; of: number }): string => (r.of === 0 ? 'n/a' : `${((100 * r.n) / r.of).toFixed(1)} %`);
const total = (kind: Kind): { n: number; of: number } => results.reduce((acc, r) => ({ n: acc.n + r.kept[kind].n, of: acc.of + r.kept[kind].of }), { n: 0, of: 0 });

if (opts.json) {
  console.log(JSON.stringify({ generatedAt: new Date().toISOString(), seed, sample: Number.isFinite(sample) ? sample : null, seconds, families: results }, null, 2));
} else {
  const out: string[] = [];
  const baseCount = (kind: Kind): number => bases.filter((b) => b.kinds.includes(kind)).length;
  out.push(`Evasion robustness on the dev searches (${rows.length} rows; as written: ${baseCount('harmful')} harmful raise their concern, ${baseCount('danger')} danger-class at danger, ${baseCount('benign')} benign raise nothing)`);
  out.push(`seed ${seed}; ${Number.isFinite(sample) ? `${sample} rows per family` : 'every row'}; ${seconds.toFixed(1)} s`);
  out.push('');
  const table: string[][] = [['family', 'rewritten', 'harmful kept', 'danger kept', 'benign now raised']];
  for (const r of results) {
    table.push([r.family, String(r.rewritten), `${pct(r.kept.harmful)} (${r.kept.harmful.of})`, `${pct(r.kept.danger)} (${r.kept.danger.of})`, `${r.kept.benign.n}/${r.kept.benign.of} = ${pct(r.kept.benign)}`]);
  }
  if (results.length > 1) table.push(['all families', String(results.reduce((a, r) => a + r.rewritten, 0)), pct(total('harmful')), pct(total('danger')), `${total('benign').n}/${total('benign').of} = ${pct(total('benign'))}`]);
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const r of table) out.push('  ' + r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  '));
  out.push('');
  if (worst > 0) {
    for (const r of results) {
      const lines = [
        ...spread(r.lost, worst).map((e) => `  lost      ${JSON.stringify(e.from)} -> ${JSON.stringify(e.to)}\t${e.expected}\tgot ${e.got}${e.family ? `\t[${e.family}]` : ''}`),
        ...spread(r.lowered, worst).map((e) => `  lowered   ${JSON.stringify(e.from)} -> ${JSON.stringify(e.to)}\t${e.expected}\tgot ${e.got}${e.family ? `\t[${e.family}]` : ''}`),
        ...spread(r.falseAlerts, worst).map((e) => `  raised    ${JSON.stringify(e.from)} -> ${JSON.stringify(e.to)}\tgot ${e.got}${e.family ? `\t[${e.family}]` : ''}`),
      ];
      if (lines.length === 0) continue;
      out.push(`== ${r.family}: ${r.lost.length} lost, ${r.lowered.length} below danger, ${r.falseAlerts.length} benign raised ==`);
      out.push(...lines);
      out.push('');
    }
  }
  console.log(out.join('\n'));
}
