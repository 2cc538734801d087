// schoolgate phrases list|add|weight|remove: the DSL tunes the safeguarding phrases from the
// command line. Changes go to data/alerts.db (phrase_changes) with an audit row, as the person
// running the command (SCHOOLGATE_ACTOR, or the operating-system user), and a running
// Schoolgate uses them within half a second, usually a tenth: it looks for a change ten times
// a second and compiles only the DSL's phrases (src/lists/live-phrases.ts; npm run
// bench:phrase-pickup).
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ALERTS_FILE, openAlertsDatabase } from '../alerts/db.js';
import { dslPhraseProblems, PhraseChangeError, PhraseChanges, PhraseInputError, readDslPhrases, type ChangeResult, type DslPhrase } from '../alerts/dsl-phrases.js';
import { timeFormat } from '../alerts/render.js';
import { MAX_WEIGHT, MAX_WITHIN, MIN_WITHIN, phraseKey } from '../classify/phrase-check.js';
import { keepCheck, keptCheck } from '../classify/phrase-file.js';
import { entryKey, PHRASE_CATEGORIES, type PhraseEntry } from '../classify/phrases.js';
import type { SchoolgateConfig } from '../config/load.js';
import { loadCommandConfig } from './config.js';
import { openDatabase, type Database } from '../store/db.js';
import { COMMON_HELP, COMMON_OPTIONS, formatTable, helpText, parse, paths, UsageError, type CommandSpec, type Io } from './command.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  json: { type: 'boolean' },
  category: { type: 'string' },
  weight: { type: 'string', short: 'w' },
  within: { type: 'string' },
  intent: { type: 'boolean' },
  language: { type: 'string' },
  reason: { type: 'string' },
} as const;
type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

const spec = {
  name: 'phrases',
  summary: 'list the safeguarding phrases; add, re-weight or remove the DSL\'s own',
  usage: 'phrases list [--category C] | add "PHRASE" --category C --weight N [--within N] [--intent] [--language L] --reason TEXT | weight "PHRASE" --category C --weight N --reason TEXT | remove "PHRASE" --category C --reason TEXT [--json] [--config FILE] [--data DIR]',
  details: [
    'list    every phrase: the shipped files\' (with file and line) and the DSL\'s (with who, when and',
    '        why), and which replaces which',
    'add     a phrase the lists do not have. Written as in a phrase file: words ("kill myself"), a',
    '        trailing * for a word prefix ("suicid*"), @name for a word class, " + " between the parts',
    '        of a combination ("@self + overdose", with --within N words and --intent)',
    'weight  a new weight for a listed phrase, the DSL\'s or a shipped one: a small weight quietens',
    '        a shipped phrase; a negative one makes it context that lowers its category\'s score',
    '        (never below a matched intent rule). A negative N: --weight -5 or --weight=-5.',
    'remove  takes the DSL\'s phrase away, or its weight for a shipped phrase (the shipped weight',
    '        applies again). A shipped phrase itself is never removed: give it a small weight.',
    '',
    `Weights: ${-MAX_WEIGHT} to ${MAX_WEIGHT}, not 0; a category is raised when its phrases in one search reach`,
    'phrases.threshold (10 unless changed). Every change needs --reason and is audited (phrase.added,',
    'phrase.weighted, phrase.removed); a running Schoolgate uses it within half a second, usually a tenth.',
    'Exit codes: 0 done, 1 the change cannot be made (already listed, not listed), 2 usage.',
  ].join('\n'),
  options: OPTIONS,
  help: {
    ...COMMON_HELP,
    json: 'print JSON',
    category: `the phrase category: ${PHRASE_CATEGORIES.join(', ')}`,
    weight: `with add and weight: ${-MAX_WEIGHT} to ${MAX_WEIGHT}, not 0`,
    within: `with add: a combination's parts within N words (${MIN_WITHIN} to ${MAX_WITHIN}; default 5)`,
    intent: 'with add: intent (the score never falls below this weight when it matches)',
    language: 'with add: the phrase\'s language tag (default en)',
    reason: 'why (kept with the phrase and in the audit row); required for every change',
  },
  positionals: { min: 1, max: 2 },
} as const satisfies CommandSpec<typeof OPTIONS>;

const ACTIONS = {
  list: { phrase: false, required: [], options: ['category'] },
  add: { phrase: true, required: ['category', 'weight', 'reason'], options: ['category', 'weight', 'within', 'intent', 'language', 'reason'] },
  weight: { phrase: true, required: ['category', 'weight', 'reason'], options: ['category', 'weight', 'reason'] },
  remove: { phrase: true, required: ['category', 'reason'], options: ['category', 'reason'] },
} as const satisfies Record<string, { phrase: boolean; required: readonly (keyof typeof OPTIONS)[]; options: readonly (keyof typeof OPTIONS)[] }>;
type Action = keyof typeof ACTIONS;
const GENERAL = new Set(['config', 'data', 'help', 'json']);

export async function phrasesCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, help } = parse(spec, joinNegativeNumbers(argv));
  if (help) return io.out(helpText(spec)), 0;
  const [action, phrase] = positionals as [string, string | undefined];
  if (!(action in ACTIONS)) throw new UsageError(`unknown phrases action "${action}": use ${Object.keys(ACTIONS).join(', ')}`);
  const a = ACTIONS[action as Action];
  if (a.phrase !== (phrase !== undefined)) throw new UsageError(a.phrase ? `phrases ${action} needs the phrase, in quotes: schoolgate phrases ${action} "PHRASE" …` : `phrases ${action} takes no phrase`);
  const given = values as Record<string, unknown>;
  const stray = Object.keys(given).filter((k) => !GENERAL.has(k) && !(a.options as readonly string[]).includes(k) && given[k] !== undefined);
  if (stray.length > 0) throw new UsageError(`--${stray[0]} does not go with phrases ${action}`);
  const missing = a.required.filter((k) => given[k] === undefined);
  if (missing.length > 0) throw new UsageError(`phrases ${action} needs ${missing.map((k) => `--${k}`).join(', ')}`);
  if (values.category !== undefined && !(PHRASE_CATEGORIES as readonly string[]).includes(values.category)) {
    throw new UsageError(`--category: "${values.category}" is not a phrase category: use one of ${PHRASE_CATEGORIES.join(', ')}`);
  }

  const { config, data } = paths(values);
  const cfg = loadCommandConfig(config, data);
  if (action === 'list') return list(cfg, data, values, io);

  const alertsFile = join(data, ALERTS_FILE);
  // Opening would create an empty database: say the folder is wrong instead.
  if (!existsSync(alertsFile)) throw new UsageError(`no alerts database at ${alertsFile}: is --data right? (Schoolgate makes it when it first starts)`);
  const dbs: Database[] = [];
  try {
    const alerts = openAlertsDatabase(data);
    dbs.push(alerts);
    const main = openDatabase(data);
    dbs.push(main);
    const changes = new PhraseChanges({ alerts, main, phrases: cfg.phrases });
    const category = values.category!;
    const reason = values.reason!;
    const text = phrase!;
    let result: ChangeResult;
    switch (action as Exclude<Action, 'list'>) {
      case 'add':
        result = changes.add({
          category, phrase: text, weight: number(values.weight!, '--weight'), language: values.language ?? 'en', reason,
          ...(values.within !== undefined ? { within: number(values.within, '--within') } : {}), ...(values.intent ? { intent: true } : {}),
        });
        break;
      case 'weight':
        result = changes.weight({ category, phrase: text, weight: number(values.weight!, '--weight'), reason });
        break;
      case 'remove':
        result = changes.remove({ category, phrase: text, reason });
        break;
    }
    io.out(values.json ? JSON.stringify(changeJson(result, cfg)) : said(action as Exclude<Action, 'list'>, result, cfg));
    return 0;
  } catch (err) {
    if (err instanceof PhraseInputError) {
      // The engine's own messages already quote the phrase.
      const quoted = `"${phrase!.trim()}"`;
      const lines = err.problems.map((p) => `${p.message.startsWith(quoted) ? '' : `${quoted}: `}${p.message}: ${p.fix}`);
      throw new UsageError(lines.join('\n  '));
    }
    if (err instanceof PhraseChangeError) return io.err(`schoolgate phrases: ${err.message}`), 1;
    throw err;
  } finally {
    dbs.forEach((db) => db.close());
  }
}

/** `--weight -5` reads as a value, not as an unknown option -5. */
function joinNegativeNumbers(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if ((a === '--weight' || a === '-w' || a === '--within') && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a === '-w' ? '--weight' : a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function number(text: string, option: string): number {
  if (!/^\s*-?\d+(\.\d+)?\s*$/.test(text)) {
    throw new UsageError(option === '--weight' ? `--weight: "${text}" is not a number: use a number from ${-MAX_WEIGHT} to ${MAX_WEIGHT}, not 0` : `${option}: "${text}" is not a whole number of words`);
  }
  return Number(text);
}

function said(action: 'add' | 'weight' | 'remove', r: ChangeResult, cfg: SchoolgateConfig): string {
  const live = 'a running Schoolgate uses it within half a second, usually a tenth';
  if (action === 'remove') {
    const p = r.previous!;
    const after = r.shipped ? `its shipped weight ${r.shipped.weight} (${where(r.shipped, cfg)}) applies again` : 'it no longer counts';
    return `removed the DSL's weight ${p.weight} for "${p.phrase}" in ${p.category} (change ${p.id}): ${after}; a running Schoolgate stops using it within half a second, usually a tenth`;
  }
  const c = r.change!;
  const threshold = cfg.phrases.thresholds[c.category] ?? cfg.phrases.threshold;
  const alone = c.weight > 0 && c.weight < threshold ? ` On its own it stays below the threshold of ${threshold}: it raises an alert only with other phrases.` : '';
  if (action === 'add') return `added "${c.phrase}" to ${c.category} with weight ${c.weight} (change ${c.id}): ${live}.${alone}`;
  const was = r.previous ? `the DSL's weight ${r.previous.weight} (change ${r.previous.id})` : `the shipped weight ${r.shipped!.weight} (${where(r.shipped!, cfg)})`;
  return `"${c.phrase}" in ${c.category} now has weight ${c.weight} (change ${c.id}), instead of ${was}: ${live}.${alone}`;
}

function changeJson(r: ChangeResult, cfg: SchoolgateConfig): Record<string, unknown> {
  return {
    change: r.change && dslJson(r.change),
    previous: r.previous && dslJson(r.previous),
    shipped: r.shipped && { phrase: r.shipped.phrase, weight: r.shipped.weight, file: where(r.shipped, cfg).replace(/:\d+$/, ''), line: r.shipped.line },
  };
}

function dslJson(p: DslPhrase): Record<string, unknown> {
  return { id: p.id, category: p.category, phrase: p.phrase, weight: p.weight, language: p.language, within: p.within, intent: p.intent, reason: p.reason, by: p.createdBy, at: new Date(p.createdAt).toISOString() };
}

/** A shipped entry's file (relative to the configuration's folder) and line. */
function where(e: PhraseEntry, cfg: SchoolgateConfig): string {
  const rel = relative(dirname(cfg.file), e.file);
  return `${rel.startsWith('..') ? e.file : rel}:${e.line}`;
}

interface Listed {
  readonly category: string;
  readonly phrase: string;
  readonly weight: number;
  readonly language: string;
  readonly within: number | null;
  readonly intent: boolean;
  /** From a pages-only file: read in page text only, and never replacing a rule of searches. */
  readonly pagesOnly: boolean;
  readonly from: { file: string; line: number } | { change: number; by: string; at: number; reason: string };
  /** False when a later entry for the same phrase replaces it, or (a DSL row) it fails its checks. */
  inForce: boolean;
  replacedBy: string | null;
  replaces: string | null;
  problem: string | null;
}

function list(cfg: SchoolgateConfig, data: string, values: Values, io: Io): number {
  const dsl = readDslPhrases(data);
  if (dsl.problem) io.err(`schoolgate phrases: ${dsl.problem}`);
  const rows: Listed[] = [];
  // Each file's name as shown, worked out once per file, not once per rule.
  const shownFile = new Map<string, string>();
  const fileOf = (e: PhraseEntry): string => shownFile.get(e.file) ?? shownFile.set(e.file, where(e, cfg).replace(/:\d+$/, '')).get(e.file)!;
  const shippedOf = (e: PhraseEntry): Listed => {
    return {
      category: e.category, phrase: e.phrase, weight: e.weight, language: e.language, within: e.within ?? null, intent: e.intent === true, pagesOnly: e.pagesOnly === true,
      from: { file: fileOf(e), line: e.line }, inForce: true, replacedBy: null, replaces: null, problem: null,
    };
  };
  for (const e of cfg.phrases.entries) rows.push(shippedOf(e));
  const keys = shippedKeys(cfg.phrases.entries);
  for (const p of dsl.phrases) {
    const problem = dslPhraseProblems({ ...p, within: p.within ?? undefined }, cfg.phrases.classes)[0];
    rows.push({
      category: p.category, phrase: p.phrase, weight: p.weight, language: p.language, within: p.within, intent: p.intent, pagesOnly: false,
      from: { change: p.id, by: p.createdBy, at: p.createdAt, reason: p.reason }, inForce: problem === undefined, replacedBy: null, replaces: null,
      problem: problem ? `${problem.message}: ${problem.fix}` : null,
    });
  }
  // The matcher's rule: a later entry for the same category and phrase replaces an earlier one.
  const last = new Map<string, Listed>();
  for (const [i, r] of rows.entries()) {
    if (!r.inForce) continue;
    const key = (i < keys.length ? keys[i] : entryKey(r)) ?? `${r.category}\n${phraseKey(r.phrase)}`;
    const before = last.get(key);
    if (before) {
      before.inForce = false;
      before.replacedBy = label(r);
      r.replaces = `${label(before)} (weight ${before.weight})`;
    }
    last.set(key, r);
  }
  const order = (c: string): number => (PHRASE_CATEGORIES as readonly string[]).indexOf(c);
  const shown = rows.filter((r) => values.category === undefined || r.category === values.category)
    .map((r, i) => ({ r, i })).sort((a, b) => order(a.r.category) - order(b.r.category) || a.i - b.i).map((x) => x.r);
  if (values.json) {
    io.out(JSON.stringify(shown.map((r) => ({
      category: r.category, phrase: r.phrase, weight: r.weight, language: r.language, within: r.within, intent: r.intent, pagesOnly: r.pagesOnly,
      ...('file' in r.from ? { source: 'file', file: r.from.file, line: r.from.line } : { source: 'dsl', change: r.from.change, by: r.from.by, at: new Date(r.from.at).toISOString(), reason: r.from.reason }),
      inForce: r.inForce, replacedBy: r.replacedBy, replaces: r.replaces, problem: r.problem,
    }))));
    return 0;
  }
  if (shown.length === 0) return io.out('no phrases'), 0;
  const time = timeFormat(cfg.school.timezone);
  io.out(formatTable([
    ['category', 'phrase', 'weight', 'from', 'note'],
    ...shown.map((r) => [
      r.category, r.phrase + (r.within !== null ? ` (within ${r.within})` : '') + (r.intent ? ' (intent)' : '') + (r.pagesOnly ? ' (pages only)' : ''), String(r.weight),
      'file' in r.from ? `${r.from.file}:${r.from.line}` : `DSL change ${r.from.change}, ${r.from.by}, ${time(r.from.at)}: ${r.from.reason}`,
      r.problem ? `NOT USED: ${r.problem}` : r.replacedBy ? `replaced by ${r.replacedBy}` : r.replaces ? `replaces ${r.replaces}` : '',
    ]),
  ]));
  return 0;
}

/**
 * entryKey() of each shipped rule: parsing the 6,800 rules again for their keys took a third of
 * the listing's time, so the keys are kept in the state folder (as the checks are), for exactly
 * these rules (category, text, pages only) and this code.
 */
function shippedKeys(entries: readonly PhraseEntry[]): readonly (string | null)[] {
  const inputs = [JSON.stringify(entries.map((e) => [e.category, e.phrase, e.pagesOnly === true]))];
  const kept = keptCheck<(string | null)[]>('rule-keys', inputs);
  if (Array.isArray(kept) && kept.length === entries.length) return kept;
  const keys = entries.map(entryKey);
  keepCheck('rule-keys', inputs, keys);
  return keys;
}

function label(r: Listed): string {
  return 'file' in r.from ? `${r.from.file}:${r.from.line}` : `DSL change ${r.from.change}`;
}
