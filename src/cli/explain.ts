// schoolgate explain URL --group G: the decision for one request and the chain of rules
// behind it, in the words a technician or DSL would use.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { classificationJson, type Classifier } from '../classify/classifier.js';
import type { NormalisedUrl } from '../classify/normalise-url.js';
import { loadConfig, type SchoolgateConfig } from '../config/load.js';
import { CA_FILES, caFolder } from '../tls/ca.js';
import { chooseInterception, type InterceptChoice } from '../tls/intercept.js';
import { loadLists } from '../lists/load.js';
import { decide } from '../policy/decide.js';
import { instantOf } from '../policy/time.js';
import type { PolicySnapshot, TraceStep } from '../policy/types.js';
import { openDatabase } from '../store/db.js';
import { applyUnblocks } from '../store/live-policy.js';
import { UnblockStore } from '../store/unblocks.js';
import { COMMON_HELP, COMMON_OPTIONS, helpText, parse, paths, UsageError, type CommandSpec, type Io } from './command.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  group: { type: 'string', short: 'g' }, user: { type: 'string', short: 'u' }, at: { type: 'string' },
  json: { type: 'boolean' }, lists: { type: 'string' }, connect: { type: 'boolean' },
} as const;
const spec = {
  name: 'explain',
  summary: 'the decision for a URL for a group (and user, at a time), and why',
  usage: 'explain URL --group G [--user U] [--at ISO-TIME] [--connect] [--json] [--lists DIR] [--config FILE] [--data DIR]',
  details: 'Prints the action (allow, block or warn), the categories, the rule that won with its file and\nline, who may unblock a block, any safe-search rewrite, and each step of precedence.\n--at takes an ISO time such as 2026-11-20T14:45 (school time zone) or 2026-11-20T14:45Z.',
  options: OPTIONS,
  help: {
    ...COMMON_HELP, group: 'the group asking (ks1, ks2, staff, guest, …)', user: 'the person asking (nominated-user overrides, unblocks)',
    at: 'the time of the request (default: now)', json: 'print one JSON object', lists: 'a squidGuard folder instead of the configured lists',
    connect: 'as a CONNECT tunnel (only the host is known: host:443)',
  },
  positionals: { min: 1, max: 1 },
} as const satisfies CommandSpec<typeof OPTIONS>;

export async function explainCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, help } = parse(spec, argv);
  if (help) return io.out(helpText(spec)), 0;
  const { config, data } = paths(values);
  // With the unblocks in force at that time, as the running proxy has them (when there is a database).
  const loaded = loadConfig(config);
  const cfg = { ...loaded, policy: withActiveUnblocks(loaded.policy, data, values.at === undefined ? new Date() : parseAt(values.at, loaded.policy.clock.timeZone)) };
  const group = values.group;
  if (group === undefined) throw new UsageError(`--group is required: one of ${[...cfg.policy.groups.keys()].join(', ')}`);
  if (!cfg.policy.groups.has(group)) throw new UsageError(`unknown group "${group}": use one of ${[...cfg.policy.groups.keys()].join(', ')}`);
  const at = values.at === undefined ? new Date() : parseAt(values.at, cfg.policy.clock.timeZone);
  const { classifier, report } = await loadLists(cfg, { dataDir: data, ...(values.lists ? { listsDir: resolve(values.lists) } : {}) });
  for (const e of report.errors) io.err(`warning: ${e}`);
  const classification = classifier.classify(positionals[0]!);
  const chain: TraceStep[] = [];
  const d = decide({ group, ...(values.user ? { user: values.user } : {}), connect: values.connect === true }, classification, cfg.policy, at, chain);
  const inspection = inspectionOf(classifier, cfg, group, values.user, at, classification.url, data);
  if (values.json) {
    io.out(JSON.stringify({
      action: d.action, categories: d.categories, rule: d.rule, unblockBy: d.unblockBy, safeSearch: d.safeSearch, inspection,
      group, user: values.user ?? null, at: at.toISOString(), chain, classification: classificationJson(classification),
    }));
    return 0;
  }
  const local = cfg.policy.clock.local(at);
  const where = d.rule.line > 0 ? `  (${d.rule.file}:${d.rule.line})` : '';
  const lines = [
    `URL         ${classificationJson(classification).url as string}`,
    `asking      ${group}${values.user ? `, user ${values.user}` : ''}, at ${at.toISOString()} (${local.date} ${String(Math.floor(local.minute / 60)).padStart(2, '0')}:${String(local.minute % 60).padStart(2, '0')} ${cfg.policy.clock.timeZone})`,
    `decision    ${d.action.toUpperCase()}: ${d.rule.text}${where}`,
    `categories  ${d.categories.length ? d.categories.join(', ') : '(none)'}`,
  ];
  if (d.unblockBy) lines.push(`unblock     ${d.unblockBy === 'never' ? 'never: illegal content cannot be unblocked' : `may be unblocked on request, by ${d.unblockBy === 'staff' ? 'staff' : 'a senior leader'}`}`);
  if (d.safeSearch) lines.push(`safe search ${d.safeSearch.engine}: ${d.safeSearch.kind === 'connect-host' ? `tunnel to ${d.safeSearch.host}` : d.safeSearch.kind === 'rewrite-query' ? `query ${d.safeSearch.param}=${d.safeSearch.value}` : `header ${d.safeSearch.name}: ${d.safeSearch.value}`}`);
  if (inspection) lines.push(`https       ${inspection.intercept ? 'decrypted' : 'not decrypted (filtered on the site name)'}: ${inspection.reason}${inspection.noCa ? ' [no school CA yet: nothing is decrypted until "schoolgate ca init"]' : ''}`);
  lines.push('why (in order of precedence)');
  for (const step of chain) lines.push(`  ${step.layer.padEnd(10)} ${step.said}${step.rule && step.rule.line > 0 ? `  (line ${step.rule.line})` : ''}`);
  io.out(lines.join('\n'));
  return 0;
}

/** An ISO time; without a zone it is read in the school's time zone. `option` names it in the error. */
export function parseAt(text: string, timeZone: string, option = '--at'): Date {
  const d = instantOf(text, timeZone);
  if (d === null) throw new UsageError(`${option}: "${text}" is not an ISO time (write 2026-11-20T14:45, or with a zone: 2026-11-20T14:45Z)`);
  return d;
}

/**
 * For an https:// URL, whether the proxy would decrypt its tunnel for this group: decided on the
 * host as the CONNECT would be, with the same function the proxy uses.
 */
function inspectionOf(classifier: Classifier, cfg: SchoolgateConfig, group: string, user: string | undefined, at: Date, url: NormalisedUrl, data: string): (InterceptChoice & { noCa: boolean }) | null {
  if (url.scheme !== 'https') return null;
  const tunnel = classifier.classify(`${url.host}:${url.port || 443}`);
  const d = decide({ group, ...(user ? { user } : {}), connect: true }, tunnel, cfg.policy, at);
  const choice = chooseInterception({ group, url: tunnel.url, categories: tunnel.categories, searchEngine: classifier.searchEngineOf(tunnel.url.host), refused: d.action !== 'allow' }, cfg.tls);
  return { ...choice, noCa: !existsSync(join(caFolder(data), CA_FILES.rootCert)) };
}

function withActiveUnblocks(policy: PolicySnapshot, data: string, at: Date): PolicySnapshot {
  if (!existsSync(join(data, 'schoolgate.db'))) return policy;
  const db = openDatabase(data);
  try {
    return applyUnblocks(policy, new UnblockStore(db).inForce(at));
  } finally {
    db.close();
  }
}
