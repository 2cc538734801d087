// schoolgate explain URL --group G: the decision for one request and the chain of rules
// behind it, in the words a technician or DSL would use.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { classificationJson, type Classifier } from '../classify/classifier.js';
import type { NormalisedUrl } from '../classify/normalise-url.js';
import type { SchoolgateConfig } from '../config/load.js';
import { loadCommandConfig } from './config.js';
import { caFolder, loadCa } from '../tls/ca.js';
import { chooseInterception } from '../tls/intercept.js';
import { loadLists } from '../lists/load.js';
import { decide } from '../policy/decide.js';
import type { SafeSearchAction } from '../policy/safe-search.js';
import type { Decision, PolicySnapshot, TraceStep } from '../policy/types.js';
import { openDatabase } from '../store/db.js';
import { applyUnblocks } from '../policy/compile.js';
import { UnblockStore } from '../store/unblocks.js';
import { COMMON_HELP, COMMON_OPTIONS, helpText, parse, paths, UsageError, type CommandSpec, type Io } from './command.js';
import { parseAt } from './times.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  group: { type: 'string', short: 'g' }, user: { type: 'string', short: 'u' }, at: { type: 'string' },
  json: { type: 'boolean' }, lists: { type: 'string' }, connect: { type: 'boolean' },
} as const;
const spec = {
  name: 'explain',
  summary: 'the decision for a URL for a group (and user, at a time), and why',
  usage: 'explain URL --group G [--user U] [--at ISO-TIME] [--connect] [--json] [--lists DIR] [--config FILE] [--data DIR]',
  details: 'Prints the action (allow, block or warn), the categories, the rule that won with its file and\nline, who may unblock a block, the safe search that will really be applied, and each step of\nprecedence. For https:// it says whether the tunnel is decrypted, given the school CA in --data\n(none yet: nothing is) and tls: in the config, and, when it is not, what the proxy decides on the\nhost alone, since the page itself is never seen.\n--at takes an ISO time such as 2026-11-20T14:45 (school time zone) or 2026-11-20T14:45Z.',
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
  const loaded = loadCommandConfig(config, data);
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
  const https = httpsOf(classifier, cfg, group, values.user, at, classification.url, data);
  // Without decryption only the tunnel's host is seen: its safe search is the only one there is.
  const safeSearch = https === null || https.decrypted ? d.safeSearch : https.tunnel.safeSearch;
  if (values.json) {
    const { tunnel, ...rest } = https ?? { tunnel: null };
    io.out(JSON.stringify({
      action: d.action, categories: d.categories, rule: d.rule, unblockBy: d.unblockBy, safeSearch,
      https: https === null ? null : { ...rest, tunnel: tunnel && { action: tunnel.action, rule: tunnel.rule, safeSearch: tunnel.safeSearch } },
      inspection: https === null ? null : { intercept: https.decrypted, reason: https.reason, noCa: https.ca === 'none' },
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
  if (d.unblockBy) lines.push(`unblock     ${d.unblockBy === 'never' ? 'never: illegal content cannot be unblocked' : `may be unblocked on request, by ${d.unblockBy === 'technician' ? 'staff' : 'a senior leader'}`}`);
  if (https === null || https.decrypted) {
    if (d.safeSearch) lines.push(`safe search ${safeSearchText(d.safeSearch)}`);
  } else if (safeSearch) {
    lines.push(`safe search ${safeSearchText(safeSearch)}${d.safeSearch && d.safeSearch.kind !== 'connect-host' ? ` (no ${safeSearchText(d.safeSearch, false)}: HTTPS here is not decrypted)` : ''}`);
  } else if (d.safeSearch) {
    lines.push(`safe search none: ${safeSearchText(d.safeSearch, false)} needs the HTTPS decrypted, and it is not here`);
  }
  if (https) {
    const later = https.withCa === undefined ? '' : `; once a school CA exists ("schoolgate ca init") it would be ${https.withCa.intercept ? 'decrypted' : 'not decrypted'}: ${https.withCa.reason}`;
    lines.push(`https       ${https.decrypted ? 'decrypted' : 'not decrypted (filtered on the site name)'}: ${https.reason}${later}`);
    // Shown when the host alone decides otherwise than the address would (a page-level entry).
    if (!https.decrypted && (https.tunnel.action !== d.action || https.tunnel.rule.text !== d.rule.text)) {
      const t = https.tunnel;
      const differs = t.action !== d.action ? '; the page\'s own rules cannot apply without decryption' : '';
      const tw = t.rule.line > 0 ? `  (${t.rule.file}:${t.rule.line})` : '';
      lines.push(`tunnel      ${t.action.toUpperCase()} on the host alone: ${t.rule.text}${t.action === 'warn' ? ' (the tunnel is refused until the person continues on an http:// page)' : ''}${differs}${tw}`);
    }
  }
  lines.push('why (in order of precedence)');
  for (const step of chain) lines.push(`  ${step.layer.padEnd(10)} ${step.said}${step.rule && step.rule.line > 0 ? `  (line ${step.rule.line})` : ''}`);
  io.out(lines.join('\n'));
  return 0;
}


/** What happens to an https:// request: whether its tunnel is decrypted, why, and the tunnel's own decision. */
interface HttpsOutcome {
  /** The school CA in the data folder: none yet, present, or present and unusable (the proxy will not start). */
  readonly ca: 'none' | 'present' | 'unusable';
  readonly decrypted: boolean;
  readonly reason: string;
  /** With no CA: what tls: would do once there is one. */
  readonly withCa?: { readonly intercept: boolean; readonly reason: string };
  /** The CONNECT's decision, on the host alone: all there is when the tunnel is not decrypted. */
  readonly tunnel: Decision;
}

/**
 * For an https:// URL, what the proxy would do with its tunnel for this group: decided on the
 * host as the CONNECT would be, with the same functions the proxy uses, and decrypted only when
 * the school's CA exists (the proxy loads it the same way at start).
 */
function httpsOf(classifier: Classifier, cfg: SchoolgateConfig, group: string, user: string | undefined, at: Date, url: NormalisedUrl, data: string): HttpsOutcome | null {
  if (url.scheme !== 'https') return null;
  const host = classifier.classify(`${url.host}:${url.port || 443}`);
  const tunnel = decide({ group, ...(user ? { user } : {}), connect: true }, host, cfg.policy, at);
  const choice = chooseInterception({ group, url: host.url, categories: host.categories, searchEngine: classifier.searchEngineOf(host.url.host), refused: tunnel.action !== 'allow' }, cfg.tls);
  let ca: HttpsOutcome['ca'];
  let problem = '';
  try {
    ca = loadCa(data) === null ? 'none' : 'present';
  } catch (err) {
    ca = 'unusable';
    problem = (err as Error).message;
  }
  if (ca === 'present') return { ca, decrypted: choice.intercept, reason: choice.reason, tunnel };
  if (ca === 'unusable') return { ca, decrypted: false, reason: `the school CA cannot be loaded, and Schoolgate will not start until it is fixed: ${problem}`, tunnel };
  return { ca, decrypted: false, reason: `no school CA yet (${caFolder(data)}), so nothing is decrypted`, withCa: choice, tunnel };
}

/** A safe-search action in words; `where` adds the engine. */
function safeSearchText(s: SafeSearchAction, where = true): string {
  const what = s.kind === 'connect-host' ? `tunnel to ${s.host}` : s.kind === 'rewrite-query' ? `query ${s.param}=${s.value}` : `header ${s.name}: ${s.value}`;
  return where ? `${s.engine}: ${what}` : what;
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
