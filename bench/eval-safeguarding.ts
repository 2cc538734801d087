// Safeguarding detection evaluation (groundwork for issue 14): runs the project's current
// detection over the labelled set in test/fixtures/safeguarding/ and reports what it catches and
// what it misses. Each search is sent as a Google search URL through the same Classifier the
// proxy builds (loadLists on the shipped configuration) and the same detect() the alert service
// calls, so the figures are the production figures. Labels and split: the README in that folder.
//
//   npm run eval:safeguarding                       (node --import tsx bench/eval-safeguarding.ts)
//   npm run eval:safeguarding -- --split dev        tune on dev only; heldout is for checking
//   npm run eval:safeguarding -- --json             one JSON object
//   options: --split dev|heldout|all (all), --config FILE (config/default.yaml), --data DIR (data),
//            --group GROUP (ks2: whose exclusions apply), --engine-url URL (https://www.google.com/search?q=),
//            --phrases FILE,DIR,… (only these phrase files, in place of the configuration's),
//            --searches FILE,… (other labelled search files, same columns, in place of the splits; reported as dev),
//            --pages DIR,… (other labelled page folders: DIR/pages.tsv, same columns, and DIR/pages/*.html,
//            in place of the fixture pages; reported as dev, whatever their split column says; with the dev searches only),
//            --no-model (the phrase lists alone, without the learned search model)
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { detect } from '../src/alerts/detect.js';
import { ExclusionSet } from '../src/alerts/exclusions.js';
import type { Severity } from '../src/alerts/taxonomy.js';
import { pageText } from '../src/classify/page-text.js';
import { loadConfig } from '../src/config/load.js';
import { loadLexicon } from '../src/classify/phrase-file.js';
import { loadLists } from '../src/lists/load.js';
import { checkLabel, CONCERNS, fail, FIXTURES, readSearchFile, readTsv, ROOT, SPLITS, type LabelSeverity, type SearchRow, type Split } from './safeguarding-set.js';

const { values: opts } = parseArgs({
  options: {
    split: { type: 'string', default: 'all' },
    json: { type: 'boolean', default: false },
    config: { type: 'string', default: join(ROOT, 'config/default.yaml') },
    data: { type: 'string', default: join(ROOT, 'data') },
    group: { type: 'string', default: 'ks2' },
    'engine-url': { type: 'string', default: 'https://www.google.com/search?q=' },
    phrases: { type: 'string' },
    searches: { type: 'string' },
    pages: { type: 'string' },
    'no-model': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log('usage: npm run eval:safeguarding -- [--split dev|heldout|all] [--json] [--config FILE] [--data DIR] [--group GROUP] [--engine-url URL]');
  process.exit(0);
}
if (!['dev', 'heldout', 'all'].includes(opts.split)) fail(`--split must be dev, heldout or all, not "${opts.split}"`);
const splits: readonly Split[] = opts.split === 'all' ? SPLITS : [opts.split as Split];

// ---------------------------------------------------------------------------------------
// The labelled set

interface PageRow {
  readonly split: Split;
  readonly file: string;
  /** Where the page is on disk. */
  readonly path: string;
  readonly concern: string;
  readonly severity: LabelSeverity;
  readonly lang: string;
  readonly note: string;
}

function readSearches(split: Split): SearchRow[] {
  return readSearchFile(join(FIXTURES, `searches.${split}.tsv`), split);
}

function readPages(dir = FIXTURES, asDev = false): PageRow[] {
  const file = join(dir, 'pages.tsv');
  return readTsv(file, ['file', 'concern', 'severity', 'split', 'lang', 'note']).map(({ line, cells }) => {
    checkLabel(`${file}:${line}`, cells.concern!, cells.severity!, []);
    if (!asDev && !(SPLITS as readonly string[]).includes(cells.split!)) fail(`${file}:${line}: split must be dev or heldout`);
    const path = join(dir, 'pages', cells.file!);
    if (!existsSync(path)) fail(`${file}:${line}: pages/${cells.file} is missing`);
    return { split: asDev ? 'dev' : (cells.split as Split), file: cells.file!, path, concern: cells.concern!, severity: cells.severity as LabelSeverity, lang: cells.lang!, note: cells.note! };
  });
}

// --searches a.tsv,b.tsv: other labelled files (same columns) in place of the splits, reported as dev.
// With --pages alone, only the dev searches: a first sight of fresh pages must not print the
// held-out searches' misses to whoever is about to tune on those pages.
const searches = opts.searches !== undefined
  ? opts.searches.split(',').flatMap((f) => readSearchFile(resolve(f), 'dev'))
  : splits.filter((s) => opts.pages === undefined || s === 'dev').flatMap(readSearches);
// With --searches, only the dev pages: the held-out ones are never seen while tuning.
// --pages a,b: other labelled page folders in place of the fixture pages, reported as dev.
const pages = opts.pages !== undefined
  ? opts.pages.split(',').flatMap((d) => readPages(resolve(d), true))
  : readPages().filter((p) => (opts.searches === undefined ? splits.includes(p.split) : p.split === 'dev'));
const seen = new Map<string, SearchRow>();
for (const r of searches) {
  // As typed, not folded: "k1ll" and "kill" are different rows on purpose (evasions are tested).
  const key = r.text.toLowerCase().replace(/\s+/g, ' ').trim();
  const before = seen.get(key);
  if (before) fail(`"${r.text}" (${r.split}:${r.line}) is also on ${before.split}:${before.line}: one row per search`);
  seen.set(key, r);
}

// ---------------------------------------------------------------------------------------
// Detection, as the proxy does it

const loaded = loadConfig(resolve(opts.config));
// --phrases a,b,c: only these phrase files and folders, in place of the configuration's (to see one's own lists alone).
const lexicon = opts.phrases === undefined ? loaded : { ...loaded, phrases: { ...loaded.phrases, ...loadLexicon(opts.phrases.split(',').map((p) => resolve(p))) } };
const config = opts['no-model'] ? { ...lexicon, phrases: { ...lexicon.phrases, model: null } } : lexicon;
const { classifier, report } = await loadLists(config, { dataDir: resolve(opts.data) });
const exclusions = new ExclusionSet(config.safeguarding.exclusions);

interface Raised {
  readonly category: string;
  readonly severity: Severity;
}

type Outcome = 'hit' | 'low-severity' | 'miss' | 'ok' | 'false-alert';

interface Result {
  readonly row: SearchRow;
  readonly url: string;
  readonly searchTerm: string | null;
  readonly got: readonly Raised[];
  readonly outcome: Outcome;
  /** Concerns raised that are neither the expected one nor in `also`. */
  readonly wrong: readonly string[];
}

function searchUrl(text: string): string {
  // As a browser sends a form: spaces as '+', everything else UTF-8 percent-encoded.
  return opts['engine-url'] + new URLSearchParams({ q: text }).toString().slice(2);
}

function evaluate(row: SearchRow): Result {
  const url = searchUrl(row.text);
  const c = classifier.classify(url);
  const got = detect(c, { action: 'allow' }, config.safeguarding, exclusions, opts.group).map((a) => ({ category: a.category as string, severity: a.severity }));
  const right = got.find((g) => g.category === row.concern);
  const wrong = got.filter((g) => g.category !== row.concern && !row.also.includes(g.category)).map((g) => g.category);
  let outcome: Outcome;
  if (row.concern === 'none') outcome = got.length === 0 ? 'ok' : 'false-alert';
  else if (!right) outcome = 'miss';
  else if (row.severity === 'danger' && right.severity !== 'danger') outcome = 'low-severity';
  else outcome = 'hit';
  return { row, url, searchTerm: c.searchTerm?.text ?? null, got, outcome, wrong };
}

const results = searches.map(evaluate);
const noTerm = results.filter((r) => r.searchTerm === null);
if (noTerm.length > 0) fail(`no search term was read from ${noTerm[0]!.url}: is ${opts['engine-url']} a configured search engine?`);

// ---------------------------------------------------------------------------------------
// Pages: each page's bytes go through pageText (charset, HTML to text) and the classifier's
// classifyPage, then detect(), as `schoolgate classify URL --page FILE` does. The address is
// a neutral one, so only the page's text can raise anything.

const PAGE_URL = 'https://www.example.com/page';
interface PageResult {
  readonly row: PageRow;
  readonly got: readonly Raised[];
  readonly outcome: Outcome;
  /** Concerns raised that are neither the expected one (for benign pages: any). */
  readonly wrong: readonly string[];
  readonly evidence: readonly string[];
}
const pageResults: PageResult[] = pages.map((row) => {
  const page = pageText(readFileSync(row.path));
  const c = classifier.classifyPage(PAGE_URL, `${page.title} ${page.text}`);
  const got = detect(c, { action: 'allow' }, config.safeguarding, exclusions, opts.group).map((a) => ({ category: a.category as string, severity: a.severity }));
  const right = got.find((g) => g.category === row.concern);
  const wrong = got.filter((g) => g.category !== row.concern).map((g) => g.category);
  const outcome: Outcome = row.concern === 'none' ? (got.length === 0 ? 'ok' : 'false-alert') : !right ? 'miss' : row.severity === 'danger' && right.severity !== 'danger' ? 'low-severity' : 'hit';
  const evidence = c.phrases.filter((h) => h.source === 'page').map((h) => `${h.category} ${h.weight > 0 ? '+' : ''}${h.weight} "${h.phrase}" <- "${h.matched}"`);
  return { row, got, outcome, wrong, evidence };
});

// ---------------------------------------------------------------------------------------
// Figures

interface Ratio {
  readonly n: number;
  readonly of: number;
}
const ratio = (n: number, of: number): Ratio => ({ n, of });
const pct = (r: Ratio): string => (r.of === 0 ? 'n/a' : `${((100 * r.n) / r.of).toFixed(1)} %`);
const show = (r: Ratio): string => `${r.n}/${r.of} = ${pct(r)}`;

interface ConcernFigures {
  readonly concern: string;
  readonly support: number;
  readonly supportDanger: number;
  readonly tp: number;
  readonly fp: number;
  readonly dangerAtDanger: number;
  readonly recall: Ratio;
  readonly precision: Ratio;
}

interface Summary {
  readonly searches: number;
  readonly danger: Ratio;
  readonly dangerAnySeverity: Ratio;
  readonly harmful: Ratio;
  readonly benignFalseAlerts: Ratio;
  /** Positive rows that also raised a concern they should not have. */
  readonly wrongConcern: Ratio;
  readonly concerns: readonly ConcernFigures[];
  readonly byLanguage: Readonly<Record<string, { positives: Ratio; benignFalseAlerts: Ratio }>>;
  readonly pages: { positivesRaised: Ratio; negativesFalseAlerts: Ratio; positivesAtDanger: Ratio };
}

function summarise(rs: readonly Result[], ps: readonly PageResult[]): Summary {
  const dangerRows = rs.filter((r) => r.row.severity === 'danger');
  const cautionRows = rs.filter((r) => r.row.severity === 'caution');
  const benign = rs.filter((r) => r.row.concern === 'none');
  const positives = rs.filter((r) => r.row.concern !== 'none');
  const concerns = CONCERNS.map((concern): ConcernFigures => {
    const support = rs.filter((r) => r.row.concern === concern);
    const tp = support.filter((r) => r.got.some((g) => g.category === concern)).length;
    const fp = rs.filter((r) => r.wrong.includes(concern)).length;
    const supportDanger = support.filter((r) => r.row.severity === 'danger');
    const dangerAtDanger = supportDanger.filter((r) => r.outcome === 'hit').length;
    return { concern, support: support.length, supportDanger: supportDanger.length, tp, fp, dangerAtDanger, recall: ratio(tp, support.length), precision: ratio(tp, tp + fp) };
  });
  const byLanguage: Record<string, { positives: Ratio; benignFalseAlerts: Ratio }> = {};
  for (const lang of [...new Set(rs.map((r) => r.row.lang))].sort()) {
    const pos = positives.filter((r) => r.row.lang === lang);
    const neg = benign.filter((r) => r.row.lang === lang);
    byLanguage[lang] = {
      positives: ratio(pos.filter((r) => r.outcome === 'hit' || r.outcome === 'low-severity').length, pos.length),
      benignFalseAlerts: ratio(neg.filter((r) => r.outcome === 'false-alert').length, neg.length),
    };
  }
  const posPages = ps.filter((p) => p.row.concern !== 'none');
  const negPages = ps.filter((p) => p.row.concern === 'none');
  return {
    searches: rs.length,
    danger: ratio(dangerRows.filter((r) => r.outcome === 'hit').length, dangerRows.length),
    dangerAnySeverity: ratio(dangerRows.filter((r) => r.outcome !== 'miss').length, dangerRows.length),
    harmful: ratio(cautionRows.filter((r) => r.outcome === 'hit').length, cautionRows.length),
    benignFalseAlerts: ratio(benign.filter((r) => r.outcome === 'false-alert').length, benign.length),
    wrongConcern: ratio(positives.filter((r) => r.wrong.length > 0).length, positives.length),
    concerns,
    byLanguage,
    pages: {
      positivesRaised: ratio(posPages.filter((p) => p.outcome === 'hit' || p.outcome === 'low-severity').length, posPages.length),
      negativesFalseAlerts: ratio(negPages.filter((p) => p.outcome === 'false-alert').length, negPages.length),
      positivesAtDanger: ratio(posPages.filter((p) => p.row.severity === 'danger' && p.outcome === 'hit').length, posPages.filter((p) => p.row.severity === 'danger').length),
    },
  };
}

const groups: [string, Summary][] = splits.map((s) => [s, summarise(results.filter((r) => r.row.split === s), pageResults.filter((p) => p.row.split === s))]);
if (splits.length > 1) groups.push(['all', summarise(results, pageResults)]);

const gotText = (got: readonly Raised[]): string => (got.length === 0 ? '(nothing)' : got.map((g) => `${g.category} (${g.severity})`).join(', '));
const expectedText = (r: SearchRow | PageRow): string => (r.concern === 'none' ? 'none' : `${r.concern} (${r.severity})`);
const listsLine = `${report.stats.length} lists loaded${report.notDownloaded.length ? `; not downloaded: ${report.notDownloaded.map((e) => e.split(':')[0]).join(', ')}` : ''}${report.errors.length > report.notDownloaded.length ? `; ${report.errors.length - report.notDownloaded.length} list errors` : ''}`;

if (opts.json) {
  console.log(JSON.stringify({
    generatedAt: new Date().toISOString(),
    config: resolve(opts.config),
    group: opts.group,
    engineUrl: opts['engine-url'],
    lists: listsLine,
    splits: Object.fromEntries(groups),
    searches: results.map((r) => ({
      split: r.row.split, line: r.row.line, text: r.row.text, expected: { concern: r.row.concern, severity: r.row.severity, also: r.row.also },
      lang: r.row.lang, note: r.row.note, got: r.got, outcome: r.outcome, wrongConcerns: r.wrong,
    })),
    pages: pageResults.map((p) => ({
      split: p.row.split, file: p.row.file, expected: { concern: p.row.concern, severity: p.row.severity }, got: p.got, outcome: p.outcome,
      wrongConcerns: p.wrong, evidence: p.evidence,
    })),
  }, null, 2));
} else {
  console.log(textReport());
}

function textReport(): string {
  const out: string[] = [];
  const table = (rows: readonly (readonly string[])[]): void => {
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) out.push('  ' + r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ').trimEnd());
  };

  out.push(`Safeguarding detection: ${searches.length} searches (${splits.map((s) => `${results.filter((r) => r.row.split === s).length} ${s}`).join(', ')}), ${pages.length} pages`);
  out.push(`config ${opts.config.replace(ROOT + '/', '')}; learned search model ${config.phrases.model ? `at ${config.phrases.model.threshold}, danger class at ${config.phrases.model.danger ?? 'off'}, alone at ${config.phrases.model.alone ?? 'off'}` : 'off'}; searches sent as ${opts['engine-url']}…; detect() as the proxy calls it (group ${opts.group}, ${config.safeguarding.exclusions.length} exclusions in the file); ${listsLine}`);
  out.push('');

  for (const [name, s] of groups) {
    out.push(`== ${name}: ${s.searches} searches, ${s.pages.positivesRaised.of + s.pages.negativesFalseAlerts.of} pages ==`);
    out.push(`  danger-class searches raising the right concern at danger: ${show(s.danger)}   (the right concern at any severity: ${show(s.dangerAnySeverity)})`);
    out.push(`  harmful (caution) searches raising the right concern:      ${show(s.harmful)}`);
    out.push(`  false alerts on benign searches:                           ${show(s.benignFalseAlerts)}`);
    out.push(`  positive searches that also raised a wrong concern:        ${show(s.wrongConcern)}`);
    out.push(`  harmful pages raising the right concern:                    ${show(s.pages.positivesRaised)}   (danger pages at danger: ${show(s.pages.positivesAtDanger)})`);
    out.push(`  false alerts on benign pages:                              ${show(s.pages.negativesFalseAlerts)}`);
    out.push('');
    const rows: string[][] = [['concern', 'searches', 'danger', 'hits', 'recall', 'danger@danger', 'raised wrongly', 'precision']];
    for (const c of s.concerns) {
      rows.push([
        c.concern, String(c.support), String(c.supportDanger), String(c.tp), c.support ? pct(c.recall) : '—',
        c.supportDanger ? `${c.dangerAtDanger}/${c.supportDanger}` : '—', String(c.fp), c.tp + c.fp ? pct(c.precision) : '—',
      ]);
    }
    table(rows);
    out.push('');
    const langRows: string[][] = [['language', 'positives', 'right concern', 'benign', 'false alerts']];
    for (const [lang, l] of Object.entries(s.byLanguage)) langRows.push([lang, String(l.positives.of), pct(l.positives), String(l.benignFalseAlerts.of), pct(l.benignFalseAlerts)]);
    table(langRows);
    out.push('');
  }
  out.push('  recall: searches labelled with the concern that raised it (any severity). precision: of the searches that raised the');
  out.push("  concern, those labelled with it (a concern in a row's `also` column counts neither way). danger@danger: danger-class");
  out.push('  searches raising the concern at danger. terrorism and child-sexual-abuse are raised by the illegal lists only, never');
  out.push('  by a search: the set has no searches for them (see the README).');
  out.push('');

  for (const split of splits) {
    const rs = results.filter((r) => r.row.split === split);
    const warn = split === 'heldout' ? ' (held out: measure with these, never tune on them)' : '';
    const misses = rs.filter((r) => r.outcome === 'miss' || r.outcome === 'low-severity');
    out.push(`== ${split}: misses, ${misses.length}${warn} ==`);
    out.push('  text\texpected\tgot');
    for (const r of misses) out.push(`  ${r.row.text}\t${expectedText(r.row)}\t${gotText(r.got)}${r.outcome === 'low-severity' ? '\t[right concern, below danger]' : ''}`);
    const pageMisses = pageResults.filter((p) => p.row.split === split && (p.outcome === 'miss' || p.outcome === 'low-severity'));
    for (const p of pageMisses) out.push(`  page ${p.row.file}\t${expectedText(p.row)}\t${gotText(p.got)}\t${p.evidence.join('; ')}`);
    out.push('');
    const falseAlerts = rs.filter((r) => r.outcome === 'false-alert' || (r.row.concern !== 'none' && r.wrong.length > 0));
    out.push(`== ${split}: false alerts, ${falseAlerts.length} (benign searches raising anything; positive searches raising a concern they are not labelled with)${warn} ==`);
    out.push('  text\texpected\tgot');
    for (const r of falseAlerts) out.push(`  ${r.row.text}\t${expectedText(r.row)}\t${gotText(r.got)}${r.row.concern !== 'none' ? `\t[wrong: ${r.wrong.join(', ')}]` : ''}`);
    for (const p of pageResults.filter((x) => x.row.split === split && (x.outcome === 'false-alert' || (x.row.concern !== 'none' && x.wrong.length > 0)))) {
      out.push(`  page ${p.row.file}\t${expectedText(p.row)}\t${gotText(p.got)}\t${p.evidence.join('; ')}`);
    }
    out.push('');
  }
  return out.join('\n');
}
