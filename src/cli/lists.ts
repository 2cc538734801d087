// schoolgate lists [update|reload]: what every list contributes, fetching updates, and
// telling a running Schoolgate to load them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { entriesOf, type ListStats } from '../classify/lists.js';
import { SKIP_REASONS } from '../classify/parse-list.js';
import { loadCommandConfig } from './config.js';
import { loadListTables } from '../lists/load.js';
import { COMMON_HELP, COMMON_OPTIONS, helpText, parse, paths, UsageError, type CommandSpec, type Io } from './command.js';
import { signalReload } from './reload-signal.js';

const OPTIONS = { ...COMMON_OPTIONS, json: { type: 'boolean' }, source: { type: 'string' } } as const;
const spec = {
  name: 'lists',
  summary: 'report, update or reload the blocklists',
  usage: 'lists [status|update|reload] [--json] [--source NAME] [--config FILE] [--data DIR]',
  details: [
    'status (default)  per list: entries loaded, lines skipped and why, load time, memory; exit 1 when',
    '                  a list did not load (a source never downloaded yet is reported, and is not one)',
    'update            download every https:// source now (or only --source NAME); a download that',
    '                  fails, does not parse, or shrinks the source or one of its lists by more than',
    '                  half (minKeepRatio) is refused and the old copy stays in use; a running',
    '                  Schoolgate is then told to reload',
    'reload            tell a running Schoolgate (data/schoolgate.pid) to reload its lists (SIGHUP)',
  ].join('\n'),
  options: OPTIONS,
  help: { ...COMMON_HELP, json: 'print JSON', source: 'with update: only this source' },
  positionals: { min: 0, max: 1 },
} as const satisfies CommandSpec<typeof OPTIONS>;

export async function listsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, help } = parse(spec, argv);
  if (help) return io.out(helpText(spec)), 0;
  const action = positionals[0] ?? 'status';
  const { config, data } = paths(values);
  switch (action) {
    case 'status': return status(config, data, values.json === true, io);
    case 'update': return update(config, data, values.source, values.json === true, io);
    case 'reload': return reload(data, io);
    default: throw new UsageError(`unknown lists action "${action}": use status, update or reload`);
  }
}

async function status(configFile: string, dataDir: string, json: boolean, io: Io): Promise<number> {
  const cfg = loadCommandConfig(configFile, dataDir);
  // The phrase rules play no part in what is reported here: only the lists are built.
  const { matcher, report } = loadListTables(cfg, { dataDir });
  // A source never downloaded is where every fresh install starts: said plainly, not a failure.
  const failures = report.errors.filter((e) => !report.notDownloaded.includes(e));
  const domainTotal = report.stats.reduce((n, s) => n + s.domains, 0);
  const perDomain = domainTotal === 0 ? 0 : matcher.byteLength() / domainTotal;
  const memoryOf = (s: ListStats): number => Math.round(s.domains * perDomain + s.urls * URL_ENTRY_BYTES);
  if (json) {
    io.out(JSON.stringify({
      lists: report.stats.map((s) => ({ ...s, entries: entriesOf(s), memoryBytes: memoryOf(s) })),
      categories: byCategory(report.stats),
      totals: { entries: report.stats.reduce((n, s) => n + entriesOf(s), 0), distinctNames: matcher.domainCount, tableBytes: matcher.byteLength(), buildMs: Math.round(report.buildMs) },
      errors: failures,
      notDownloaded: report.notDownloaded,
    }));
    return failures.length > 0 ? 1 : 0;
  }
  const rows = [['list', 'category', 'role', 'domains', 'urls', 'other', 'skipped', 'load ms', 'memory']];
  for (const s of report.stats) {
    rows.push([s.name, s.category, s.role, fmt(s.domains), fmt(s.urls), fmt(s.hashes + s.expressions), fmt(s.skipped), fmt(Math.round(s.loadMs)), bytes(memoryOf(s))]);
  }
  io.out(table(rows));
  io.out('\nBy category:');
  io.out(table([['category', 'entries', 'lists'], ...Object.entries(byCategory(report.stats)).map(([c, v]) => [c, fmt(v.entries), String(v.lists)])]));
  const total = report.stats.reduce((n, s) => n + entriesOf(s), 0);
  io.out(`\n${fmt(total)} entries in ${report.stats.length} lists; ${fmt(matcher.domainCount)} distinct names in ${bytes(matcher.byteLength())} of tables; built in ${fmt(Math.round(report.buildMs))} ms.`);
  const skipped = report.stats.filter((s) => s.skipped > 0);
  if (skipped.length) {
    io.out('\nSkipped lines:');
    for (const s of skipped) {
      io.out(`  ${s.name}: ${Object.entries(s.reasons).map(([r, n]) => `${fmt(n)} ${SKIP_REASONS[r as keyof typeof SKIP_REASONS]}`).join('; ')}`);
      for (const e of s.examples) io.out(`    ${e.file}:${e.line}: ${e.reason}${e.text !== undefined ? `: ${e.text}` : ''}`);
    }
  }
  if (report.notDownloaded.length > 0) {
    io.out(`\nNot downloaded yet (normal on a fresh install, not an error): until "schoolgate lists update" has fetched them (it needs internet access), these filter nothing:`);
    for (const n of report.notDownloaded) io.out(`  ${n}`);
  }
  for (const e of failures) io.err(`error: ${e}`);
  return failures.length > 0 ? 1 : 0;
}

/** A URL entry's rough cost in the JS heap (string key and record); for the memory column only. */
const URL_ENTRY_BYTES = 120;

function byCategory(stats: readonly ListStats[]): Record<string, { entries: number; lists: number }> {
  const out: Record<string, { entries: number; lists: number }> = {};
  for (const s of stats) {
    const c = (out[s.category] ??= { entries: 0, lists: 0 });
    c.entries += entriesOf(s);
    c.lists++;
  }
  return out;
}

async function update(configFile: string, dataDir: string, only: string | undefined, json: boolean, io: Io): Promise<number> {
  const cfg = loadCommandConfig(configFile, dataDir);
  const sources = cfg.sources.filter((s) => s.url !== undefined && (only === undefined || s.name === only));
  if (only !== undefined && sources.length === 0) throw new UsageError(`no downloaded source named "${only}" in ${configFile}`);
  // Downloading and unpacking (tar) and the logger (pino) are loaded only for an update.
  const [{ countEntriesWith, updateAll }, { createLogger }] = await Promise.all([import('../lists/update.js'), import('../log.js')]);
  const log = createLogger({ level: json ? 'silent' : 'info', destination: 2 });
  const outcomes = await updateAll(sources, dataDir, {
    log, now: () => new Date(),
    countEntries: (source) => countEntriesWith(source, (n) => cfg.categories.categoryOf(n)),
  });
  if (json) io.out(JSON.stringify(outcomes));
  else for (const o of outcomes) io.out(`${o.source}: ${o.status}${o.entries !== undefined ? ` (${fmt(o.entries)} entries)` : ''}${o.reason ? `: ${o.reason}` : ''}`);
  if (outcomes.some((o) => o.status === 'updated')) signalReload(dataDir, io, { quietIfNone: true, what: 'its lists' });
  return outcomes.some((o) => o.status === 'refused') ? 1 : 0;
}

function reload(dataDir: string, io: Io): number {
  return signalReload(dataDir, io, { quietIfNone: false, what: 'its lists' }) ? 0 : 1;
}

function fmt(n: number): string {
  return n.toLocaleString('en-GB');
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((v, c) => (c < 3 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
}
