// schoolgate classify URL: what the classifier says about one URL, and why.
import { resolve } from 'node:path';
import { previewAlerts } from '../alerts/detect.js';
import type { SafeguardingConfig } from '../alerts/taxonomy.js';
import { classificationJson, type Classification } from '../classify/classifier.js';
import { loadConfig } from '../config/load.js';
import { loadLists } from '../lists/load.js';
import { COMMON_HELP, COMMON_OPTIONS, helpText, parse, paths, type CommandSpec, type Io } from './command.js';

const spec = {
  name: 'classify',
  summary: 'show the categories, matched list entries, search term and safeguarding phrases of a URL',
  usage: 'classify URL [--json] [--lists DIR] [--config FILE] [--data DIR]',
  details: 'URL may be absolute (https://example.com/page) or a bare host (example.com).\nWith --lists DIR, classify against a squidGuard-layout folder instead of the configured lists\n(to try out a list before deploying it); its lists map through the category map, or keep their own names.',
  options: { ...COMMON_OPTIONS, json: { type: 'boolean' }, lists: { type: 'string' } },
  help: { ...COMMON_HELP, json: 'print one JSON object', lists: 'a squidGuard folder to classify against instead of the configured lists' },
  positionals: { min: 1, max: 1 },
} as const satisfies CommandSpec<typeof COMMON_OPTIONS & { json: { type: 'boolean' }; lists: { type: 'string' } }>;

export async function classifyCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, help } = parse(spec, argv);
  if (help) return io.out(helpText(spec)), 0;
  const { config, data } = paths(values);
  const cfg = loadConfig(config);
  const { classifier, report } = await loadLists(cfg, { dataDir: data, ...(values.lists ? { listsDir: resolve(values.lists) } : {}) });
  for (const e of report.errors) io.err(`warning: ${e}`);
  const result = classifier.classify(positionals[0]!);
  io.out(values.json ? JSON.stringify({ ...classificationJson(result), alerts: previewAlerts(result, cfg.safeguarding) }) : describe(result, cfg.safeguarding));
  return 0;
}

function describe(c: Classification, safeguarding: SafeguardingConfig): string {
  const j = classificationJson(c);
  const lines = [`URL         ${j.url as string}`, `categories  ${c.categories.length ? c.categories.join(', ') : '(none)'}`];
  if (c.matches.length) {
    lines.push('matches     (most specific first)');
    for (const m of c.matches) lines.push(`  ${m.category.padEnd(18)} ${m.role.padEnd(8)} ${m.kind.padEnd(6)} ${m.entry}  (${m.list}, line ${m.line})`);
  }
  if (c.searchTerm) lines.push(`search      "${c.searchTerm.text}" on ${c.searchTerm.engine}${c.searchTerm.partial ? ' (partial: typed so far)' : ''}`);
  if (c.phrases.length) {
    lines.push('phrases');
    for (const p of c.phrases) lines.push(`  ${p.category.padEnd(18)} "${p.phrase}" ${p.weight > 0 ? '+' : ''}${p.weight}`);
  }
  if (c.flagged.length) lines.push(`flagged     ${c.flagged.map((f) => `${f.category} (score ${f.score})`).join(', ')}`);
  const alerts = previewAlerts(c, safeguarding);
  if (alerts.length) lines.push(`alerts      ${alerts.map((a) => `${a.category} (${a.severity})`).join(', ')}`);
  return lines.join('\n');
}
