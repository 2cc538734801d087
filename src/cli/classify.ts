// schoolgate classify URL: what the classifier says about one URL, and why.
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import type { PageText } from '../classify/page-text.js';
import { alertsOf, dryRun, learnedPhrase, postPhrase, type AlertCandidate } from '../alerts/detect.js';
import type { SafeguardingConfig } from '../alerts/taxonomy.js';
import { classificationJson, type Classification } from '../classify/classifier.js';
import { loadCommandConfig } from './config.js';
import { loadLists } from '../lists/load.js';
import { COMMON_HELP, COMMON_OPTIONS, helpText, parse, paths, type CommandSpec, type Io } from './command.js';

const spec = {
  name: 'classify',
  summary: 'show the categories, matched list entries, search term and safeguarding phrases of a URL',
  usage: 'classify URL [--page FILE] [--json] [--lists DIR] [--config FILE] [--data DIR]',
  details: 'URL may be absolute (https://example.com/page) or a bare host (example.com).\nWith --page FILE, FILE is the body of the page the URL returned (HTML or text; its charset from a\nBOM, <meta charset> or http-equiv, else UTF-8 or windows-1252): its text is read by the same\ndetection engine as searches and addresses, and what it would raise is shown with the evidence.\nWith --lists DIR, classify against a squidGuard-layout folder instead of the configured lists\n(to try out a list before deploying it); its lists map through the category map, or keep their own names.',
  options: { ...COMMON_OPTIONS, json: { type: 'boolean' }, lists: { type: 'string' }, page: { type: 'string' } },
  help: { ...COMMON_HELP, json: 'print one JSON object', lists: 'a squidGuard folder to classify against instead of the configured lists', page: 'the body of the page (HTML or text) to read as well' },
  positionals: { min: 1, max: 1 },
} as const satisfies CommandSpec<typeof COMMON_OPTIONS & { json: { type: 'boolean' }; lists: { type: 'string' }; page: { type: 'string' } }>;

export async function classifyCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, help } = parse(spec, argv);
  if (help) return io.out(helpText(spec)), 0;
  const { config, data } = paths(values);
  const cfg = loadCommandConfig(config, data);
  const { classifier, report } = await loadLists(cfg, { dataDir: data, ...(values.lists ? { listsDir: resolve(values.lists) } : {}) });
  for (const e of report.errors) io.err(`warning: ${e}`);
  let page: PageText | undefined;
  if (values.page !== undefined) {
    let body: Buffer;
    try {
      body = readFileSync(resolve(values.page));
    } catch (err) {
      io.err(`cannot read the page ${values.page}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      return 1;
    }
    // The HTML parser is loaded only for a page: its fifty-odd modules were a tenth of `classify URL`.
    const { pageText } = await import('../classify/page-text.js');
    page = pageText(body);
  }
  const result = page === undefined ? classifier.classify(positionals[0]!) : classifier.classifyPage(positionals[0]!, `${page.title} ${page.text}`);
  // Detected once: the alerts shown and what the learned model adds are read off the same run.
  const alerts = dryRun(result, cfg.safeguarding);
  if (values.json) {
    const content = page === undefined ? {} : { page: { file: values.page, title: page.title, charset: page.charset }, content: { concerns: pageConcerns(result, cfg.safeguarding) } };
    io.out(JSON.stringify({ ...classificationJson(result), ...content, alerts: alertsOf(alerts) }));
  } else io.out(describe(result, cfg.safeguarding, alerts, page));
  return 0;
}

/** What the page's text raises, per safeguarding concern, with the rules that matched. */
export function pageConcerns(c: Classification, safeguarding: SafeguardingConfig): { category: string; score: number; severity: string; evidence: { rule: string; weight: number; matched: string; intent: boolean; file: string; line: number }[] }[] {
  return c.flagged.filter((f) => f.source === 'page').flatMap((f) => {
    const concern = safeguarding.byPhraseCategory.get(f.category);
    if (!concern) return [];
    const evidence = c.phrases.filter((h) => h.source === 'page' && h.category === f.category)
      .map((h) => ({ rule: h.phrase, weight: h.weight, matched: h.matched, intent: h.intent, file: relative(process.cwd(), h.file), line: h.line }));
    return [{ category: concern.id, score: f.score, severity: f.severity, evidence }];
  });
}

/** The classification in words; `alerts`: its dry run (dryRun). */
function describe(c: Classification, safeguarding: SafeguardingConfig, alerts: readonly AlertCandidate[], page: PageText | undefined): string {
  const j = classificationJson(c);
  const lines = [`URL         ${j.url as string}`, `categories  ${c.categories.length ? c.categories.join(', ') : '(none)'}`];
  if (page) lines.push(`page        "${page.title}" (${page.charset}, ${page.text.length} characters of text)`);
  if (c.matches.length) {
    lines.push('matches     (most specific first)');
    for (const m of c.matches) lines.push(`  ${m.category.padEnd(18)} ${m.role.padEnd(8)} ${m.kind.padEnd(6)} ${m.entry}  (${m.list}, line ${m.line})`);
  }
  if (c.searchTerm) lines.push(`search      "${c.searchTerm.text}" on ${c.searchTerm.engine}${c.searchTerm.partial ? ' (partial: typed so far)' : ''}`);
  for (const r of c.repairs) lines.push(`read        "${r.from}" as "${r.to}" (${r.kind})`);
  if (c.phrases.length) {
    lines.push('phrases     (rule, weight, where, the words it matched)');
    for (const p of c.phrases) lines.push(`  ${p.category.padEnd(10)} ${p.source.padEnd(6)} ${p.weight > 0 ? '+' : ''}${p.weight}${p.intent ? ' intent' : ''}  "${p.phrase}"  <- "${p.matched}"  (${relative(process.cwd(), p.file)}:${p.line})`);
  }
  if (c.flagged.length) lines.push(`flagged     ${c.flagged.map((f) => `${f.category} in ${f.source} (score ${f.score}: ${f.severity})`).join(', ')}`);
  if (c.learned?.length) {
    // The model adds a concern the lists did not raise (at caution) and may take one they raised to danger: say which.
    lines.push('learned     (the search model, in the search term: probability, the words it weighed most; its danger class\'s when it raises danger)');
    for (const l of c.learned) {
      const concern = safeguarding.byPhraseCategory.get(l.category);
      const alert = alerts.find((a) => a.category === concern?.id);
      const byModel = alert?.triggers.filter((t) => t.kind === 'phrase' && t.learned === true) ?? [];
      const does = concern === undefined || alert === undefined ? 'raises no concern'
        : byModel.some((t) => t.severity === 'danger') ? `raises ${concern.id} to danger`
          : byModel.length > 0 ? `adds ${concern.id} at ${alert.severity}` : `the lists raise ${concern.id} already`;
      lines.push(`  ${l.category.padEnd(10)} ${learnedPhrase(l)}${l.danger > 0 ? ` (danger class ${l.danger.toFixed(2)})` : ''}  (${does})`);
      if (byModel.some((t) => t.severity === 'danger')) lines.push(`  ${''.padEnd(10)} ${learnedPhrase(l, true)}`);
    }
  }
  if (c.posts?.length) {
    // What the models read in single posts of the page: the post itself, so the DSL sees whose words they were.
    lines.push('posts       (the learned models, in one post of the page: probability, the words they weighed most)');
    for (const p of c.posts) lines.push(`  ${p.category.padEnd(10)} ${postPhrase(p)}${p.urgent ? ' (urgent: danger)' : ''}\n  ${''.padEnd(10)} "${p.post}"`);
  }
  // Said when nothing is raised too: a page or search that should have alerted is seen not to.
  lines.push(`alerts      ${alerts.length ? alerts.map((a) => `${a.category} (${a.severity})`).join(', ') : '(none)'}`);
  return lines.join('\n');
}
