// schoolgate alerts list|show|ack|escalate|close|false-positive|incident: the DSL's workflow on
// safeguarding alerts (data/alerts.db) from the command line. Each change is audited, as the
// person running the command (SCHOOLGATE_ACTOR, or the operating-system user).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ALERTS_FILE } from '../alerts/db.js';
import { alertPayload, renderAlert, renderContext, timeFormat, type RenderContext } from '../alerts/render.js';
import { ALERT_STATES, type AlertDelivery, type AlertState, type OutboxRow, type StoredAlert } from '../alerts/store.js';
import { SAFEGUARDING_CATEGORIES, type SafeguardingCategoryId } from '../alerts/taxonomy.js';
import { AlertWorkflow, WorkflowError, WITHHELD_TEXT, type AlertDetail, type ExclusionInput, type Incident } from '../alerts/workflow.js';
import { openAlertsDatabase } from '../alerts/db.js';
import type { SchoolgateConfig } from '../config/load.js';
import { loadCommandConfig } from './config.js';
import { DATABASE_FILE, openDatabase, type Database } from '../store/db.js';
import { COMMON_HELP, COMMON_OPTIONS, formatTable, helpText, parse, paths, UsageError, type CommandSpec, type Io } from './command.js';
import { parseBound } from './times.js';
import { nobodyToTell } from '../alerts/recipients.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  json: { type: 'boolean' },
  state: { type: 'string' }, category: { type: 'string' }, user: { type: 'string', short: 'u' }, since: { type: 'string' }, limit: { type: 'string', short: 'n' },
  'exclude-term': { type: 'string' }, 'exclude-site': { type: 'string' }, 'exclude-url': { type: 'string' }, group: { type: 'string', short: 'g' }, reason: { type: 'string' },
  alerts: { type: 'string' }, type: { type: 'string' }, description: { type: 'string' }, 'action-taken': { type: 'string' },
  'referred-to': { type: 'string' }, 'referred-by': { type: 'string' }, 'referred-at': { type: 'string' },
} as const;
type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

const spec = {
  name: 'alerts',
  summary: 'list, open and act on safeguarding alerts',
  usage: 'alerts list|show ID|ack ID|escalate ID|close ID|false-positive ID|incident [options] [--json] [--config FILE] [--data DIR]',
  details: [
    'list [--state S] [--category C] [--user U] [--since T] [--limit N]',
    '        the newest alerts first (last seen); S is new, acknowledged, escalated, closed or',
    '        false-positive; T a date (2026-11-20), a school time (2026-11-20T14:45) or 24h / 7d',
    'show ID the alert, its triggers, its notifications and their delivery, its incidents, and the',
    '        pupil\'s browsing from an hour before it to an hour after (by user, else by device)',
    'ack ID | escalate ID | close ID',
    'false-positive ID [--exclude-term T | --exclude-site S | --exclude-url U] [--group G] [--reason TEXT]',
    '        with an exclusion (for everyone, or group G) that a running Schoolgate applies within a second',
    'incident --alerts 1,2 --type T --description D --action-taken A [--referred-to X --referred-by Y --referred-at T]',
    '        record an incident against the alerts, as on the school\'s e-safety concern form',
    '',
    'Every change is a row of the audit chain (schoolgate audit list), recorded as the operating-',
    'system user running the command, or SCHOOLGATE_ACTOR=NAME when set. Alerts about illegal',
    'content never show their address or search term, here or in the browsing around them.',
    'Exit codes: 0 done, 1 the step cannot be taken (no such alert, already closed), 2 usage.',
  ].join('\n'),
  options: OPTIONS,
  help: {
    ...COMMON_HELP,
    json: 'print JSON',
    state: 'with list: only alerts in this state',
    category: 'with list: only this concern (suicide, self-harm, …)',
    user: 'with list: only this person\'s alerts (any case)',
    since: 'with list: only alerts last seen since T',
    limit: 'with list: at most N alerts (default 100)',
    'exclude-term': 'with false-positive: exclude these words from now on',
    'exclude-site': 'with false-positive: exclude this site (and its subdomains)',
    'exclude-url': 'with false-positive: exclude this address prefix',
    group: 'with false-positive: the exclusion is for this group only',
    reason: 'with false-positive: why (kept with the exclusion and in the audit row)',
    alerts: 'with incident: the alert ids, comma-separated',
    type: 'with incident: the type of incident',
    description: 'with incident: what happened',
    'action-taken': 'with incident: the action taken',
    'referred-to': 'with incident: referred to whom (MASH, police, …)',
    'referred-by': 'with incident: referred by whom',
    'referred-at': 'with incident: when referred (a date or a school time)',
  },
  positionals: { min: 1, max: 2 },
} as const satisfies CommandSpec<typeof OPTIONS>;

const ACTIONS = {
  list: { id: false, options: ['state', 'category', 'user', 'since', 'limit'] },
  show: { id: true, options: [] },
  ack: { id: true, options: [] },
  escalate: { id: true, options: [] },
  close: { id: true, options: [] },
  'false-positive': { id: true, options: ['exclude-term', 'exclude-site', 'exclude-url', 'group', 'reason'] },
  incident: { id: false, options: ['alerts', 'type', 'description', 'action-taken', 'referred-to', 'referred-by', 'referred-at'] },
} as const satisfies Record<string, { id: boolean; options: readonly (keyof typeof OPTIONS)[] }>;
type Action = keyof typeof ACTIONS;
const GENERAL = new Set(['config', 'data', 'help', 'json']);

export async function alertsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals, help } = parse(spec, argv);
  if (help) return io.out(helpText(spec)), 0;
  const [action, idText] = positionals as [string, string | undefined];
  if (!(action in ACTIONS)) throw new UsageError(`unknown alerts action "${action}": use ${Object.keys(ACTIONS).join(', ')}`);
  const a = ACTIONS[action as Action];
  if (a.id !== (idText !== undefined)) throw new UsageError(a.id ? `alerts ${action} needs the alert's id: schoolgate alerts ${action} ID` : `alerts ${action} takes no id`);
  const allowed = new Set<string>(a.options);
  const stray = Object.keys(values).filter((k) => !GENERAL.has(k) && !allowed.has(k) && (values as Record<string, unknown>)[k] !== undefined);
  if (stray.length > 0) throw new UsageError(`--${stray[0]} does not go with alerts ${action}`);
  const id = idText === undefined ? 0 : alertId(idText);

  const { config, data } = paths(values);
  const cfg = loadCommandConfig(config, data);
  const opened = openWorkflow(cfg, data, action === 'list' || action === 'show' ? 'read' : 'write');
  try {
    const run = new Runner(opened.workflow, cfg, values, io);
    switch (action as Action) {
      case 'list': return run.list();
      case 'show': return run.show(id);
      case 'ack': return run.changed(opened.workflow.acknowledge(id), 'acknowledged');
      case 'escalate': return run.changed(opened.workflow.escalate(id), 'escalated');
      case 'close': return run.changed(opened.workflow.close(id), 'closed');
      case 'false-positive': return run.falsePositive(id);
      case 'incident': return run.incident();
    }
  } catch (err) {
    if (err instanceof WorkflowError) return io.err(`schoolgate alerts: ${err.message}`), 1;
    throw err;
  } finally {
    opened.close();
  }
}

function alertId(text: string, option = 'ID'): number {
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${option}: "${text}" is not an alert id (a whole number)`);
  return n;
}

/** The workflow over the data folder's databases: alerts.db, schoolgate.db for the audit (when writing) and, read-only, for the traffic context. */
function openWorkflow(cfg: SchoolgateConfig, data: string, mode: 'read' | 'write'): { workflow: AlertWorkflow; close: () => void } {
  const alertsFile = join(data, ALERTS_FILE);
  const mainFile = join(data, DATABASE_FILE);
  // Opening would create empty databases: say the folder is wrong instead.
  if (!existsSync(alertsFile)) throw new UsageError(`no alerts database at ${alertsFile}: is --data right?`);
  const dbs: Database[] = [];
  const keep = (db: Database): Database => (dbs.push(db), db);
  try {
    const alerts = keep(openAlertsDatabase(data));
    const main = mode === 'write' ? keep(openDatabase(data)) : null;
    const traffic = existsSync(mainFile) ? keep(new BetterSqlite3(mainFile, { readonly: true, fileMustExist: true })) : null;
    const workflow = new AlertWorkflow({ alerts, main, traffic, safeguarding: cfg.safeguarding, groups: new Set(cfg.policy.groups.keys()) });
    return { workflow, close: () => dbs.forEach((db) => db.close()) };
  } catch (err) {
    dbs.forEach((db) => db.close());
    throw err;
  }
}

class Runner {
  private readonly ctx: RenderContext;
  private readonly time: (ms: number) => string;

  constructor(private readonly workflow: AlertWorkflow, private readonly cfg: SchoolgateConfig, private readonly values: Values, private readonly io: Io) {
    this.ctx = renderContext(cfg);
    this.time = timeFormat(cfg.school.timezone);
  }

  list(): number {
    const v = this.values;
    if (v.state !== undefined && !ALERT_STATES.includes(v.state as AlertState)) throw new UsageError(`--state: "${v.state}" is not a state: use ${ALERT_STATES.join(', ')}`);
    if (v.category !== undefined && !(SAFEGUARDING_CATEGORIES as readonly string[]).includes(v.category)) throw new UsageError(`--category: "${v.category}" is not a concern: use ${SAFEGUARDING_CATEGORIES.join(', ')}`);
    const limit = v.limit === undefined ? 100 : Number(v.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: "${v.limit}" is not a whole number of at least 1`);
    const alerts = this.workflow.list({
      ...(v.state !== undefined ? { state: v.state as AlertState } : {}), ...(v.category !== undefined ? { category: v.category as SafeguardingCategoryId } : {}),
      ...(v.user !== undefined ? { user: v.user } : {}), ...(v.since !== undefined ? { from: this.since(v.since) } : {}), limit,
    });
    if (v.json) return this.io.out(JSON.stringify(alerts.map((a) => this.json(a)))), 0;
    if (alerts.length === 0) return this.io.out('no alerts'), 0;
    this.io.out(formatTable([
      ['id', 'last seen', 'state', 'severity', 'concern', 'who', 'group', 'count', 'DSL told'],
      ...alerts.map((a) => [a.id, this.time(a.lastSeen), a.state, a.severity, a.category, a.user ?? `device ${a.client}`, a.group, String(a.count), a.delivery === 'none' && this.nobody() !== null ? TOLD.untold : TOLD[a.delivery]]),
    ]));
    if (alerts.length === limit) this.io.err(`the newest ${limit} shown: --limit N for more`);
    return 0;
  }

  show(id: number): number {
    const d = this.workflow.show(id);
    if (this.values.json) {
      const context = 'unavailable' in d.context ? d.context : { ...d.context, from: iso(d.context.from), to: iso(d.context.to) };
      const outbox = d.outbox.map((o) => ({ ...o, createdAt: iso(o.createdAt), relayedAt: o.relayedAt === null ? null : iso(o.relayedAt), channels: o.channels.map((c) => ({ ...c, at: iso(c.at) })) }));
      return this.io.out(JSON.stringify({ alert: this.json(d.alert), outbox, incidents: d.incidents.map(incidentJson), context })), 0;
    }
    this.io.out([renderAlert(d.alert, this.ctx).text.trimEnd(), '', `${'State:'.padEnd(14)}${d.alert.state}`, '', ...this.notifications(d), '', ...this.incidents(d), '', ...this.browsing(d, id)].join('\n'));
    return 0;
  }

  changed(a: StoredAlert, did: string): number {
    this.io.out(this.values.json ? JSON.stringify(this.json(a)) : `alert ${a.id} ${did}`);
    return 0;
  }

  falsePositive(id: number): number {
    const v = this.values;
    const given = (['term', 'site', 'url'] as const).filter((k) => v[`exclude-${k}`] !== undefined);
    if (given.length > 1) throw new UsageError('give one of --exclude-term, --exclude-site and --exclude-url');
    if (v.group !== undefined && given.length === 0) throw new UsageError('--group is for an exclusion: give --exclude-term, --exclude-site or --exclude-url too');
    const kind = given[0];
    const exclude: ExclusionInput | undefined = kind === undefined ? undefined : { kind, value: v[`exclude-${kind}`]!.trim(), ...(v.group !== undefined ? { group: v.group } : {}) };
    const { alert, exclusionId } = this.workflow.falsePositive(id, { ...(exclude ? { exclude } : {}), ...(v.reason !== undefined ? { reason: v.reason } : {}) });
    if (v.json) return this.io.out(JSON.stringify({ alert: this.json(alert), exclusion: exclusionId === null ? null : { id: exclusionId, ...exclude } })), 0;
    const excluded = exclude ? `; excluded ${exclude.kind} "${exclude.value}" for ${exclude.group ?? 'every group'} (exclusion ${exclusionId}): a running Schoolgate applies it within a second` : '';
    this.io.out(`alert ${alert.id} marked a false positive${excluded}`);
    return 0;
  }

  incident(): number {
    const v = this.values;
    const missing = (['alerts', 'type', 'description', 'action-taken'] as const).filter((k) => v[k] === undefined);
    if (missing.length > 0) throw new UsageError(`alerts incident needs ${missing.map((k) => `--${k}`).join(', ')}`);
    const tz = this.cfg.school.timezone;
    const incident = this.workflow.recordIncident({
      alertIds: v.alerts!.split(',').map((s) => alertId(s, '--alerts')), type: v.type!, description: v.description!, actionTaken: v['action-taken']!,
      referredTo: v['referred-to'] ?? null, referredBy: v['referred-by'] ?? null, referredAt: v['referred-at'] === undefined ? null : parseBound(v['referred-at'], tz, '--referred-at', false),
    });
    this.io.out(v.json ? JSON.stringify(incidentJson(incident)) : `incident ${incident.id} recorded against alert${incident.alertIds.length === 1 ? '' : 's'} ${incident.alertIds.join(', ')}`);
    return 0;
  }

  /** --since: a date, a school time, or a span back from now (24h, 7d). */
  private since(text: string): number {
    const span = /^(\d+)\s*([hd])$/.exec(text.trim());
    if (span) return Date.now() - Number(span[1]) * (span[2] === 'h' ? 3_600_000 : 86_400_000);
    return parseBound(text, this.cfg.school.timezone, '--since', false).getTime();
  }

  private json(a: StoredAlert): Record<string, unknown> {
    return { ...alertPayload(a, this.ctx), id: Number(a.id), state: a.state, notifiedSeverity: a.notifiedSeverity, delivery: a.delivery };
  }

  private notifications(d: AlertDetail): string[] {
    if (d.outbox.length === 0) {
      const nobody = this.nobody();
      // A digest nobody receives tells nobody: say so rather than promise it.
      return [nobody === null ? 'Notifications: none sent at once (this alert waits for the digest)' : `Notifications: none sent at once, and the digest it waits for reaches nobody: ${nobody}`];
    }
    return ['Notifications:', ...d.outbox.map((o) => `  ${o.severity ?? o.kind} notification ${o.id}, ${this.time(o.createdAt)}: ${this.delivery(o)}`)];
  }

  /** Why nobody would be told (no DSL, no channel), or null when someone would. */
  private nobody(): string | null {
    return nobodyToTell(this.cfg.safeguarding.recipients, this.cfg.safeguarding.email !== null);
  }

  /** What became of one notification, in words that never claim a delivery nobody received. */
  private delivery(o: OutboxRow & { readonly channels: readonly { channel: string; at: number }[] }): string {
    const attempts = `${o.attempts} attempt${o.attempts === 1 ? '' : 's'}`;
    const channels = o.channels.map((c) => `${c.channel} at ${this.time(c.at)}`).join(', ');
    const error = o.lastError === null ? '' : `; last error: ${o.lastError}`;
    switch (o.state) {
      case 'delivered': return `delivered after ${attempts} (${channels || 'no channel recorded'})`;
      case 'pending': return `pending after ${attempts} (${o.channels.length === 0 ? 'no channel has taken it yet' : `taken so far by ${channels}`})${error}`;
      case 'failed': return `failed after ${attempts}${o.channels.length === 0 ? '' : ` (taken only by ${channels})`}${error}`;
      case 'untold': {
        const later = o.toldIn === null ? '; it goes in a catch-up digest once a recipient or channel is set up' : `; told later in the catch-up digest, notification ${o.toldIn}`;
        return `not delivered: ${o.lastError ?? 'nobody to tell'}${later}`;
      }
    }
  }

  private incidents(d: AlertDetail): string[] {
    if (d.incidents.length === 0) return ['Incidents: none recorded'];
    return ['Incidents:', ...d.incidents.flatMap((i) => [
      `  incident ${i.id}, ${this.time(i.createdAt)} by ${i.createdBy}: ${i.type} (alerts ${i.alertIds.join(', ')})`,
      `    description:  ${i.description}`,
      `    action taken: ${i.actionTaken}`,
      ...(i.referredTo || i.referredBy || i.referredAt ? [`    referred to ${i.referredTo ?? '-'} by ${i.referredBy ?? '-'}${i.referredAt ? ` at ${this.time(Date.parse(i.referredAt))}` : ''}`] : []),
    ])];
  }

  private browsing(d: AlertDetail, id: number): string[] {
    const c = d.context;
    if ('unavailable' in c) return [`Browsing: ${c.unavailable}`];
    const who = 'user' in c.by ? `user ${c.by.user}` : `device ${c.by.ip}`;
    const head = `Browsing of ${who}, ${this.time(c.from)} to ${this.time(c.to)}: ${c.rows.length}${c.truncated ? '+' : ''} request${c.rows.length === 1 ? '' : 's'} (> marks this alert's)`;
    if (c.rows.length === 0) return [head];
    const rows = c.rows.map((r) => [
      r.alert === id ? '>' : '', this.time(Date.parse(r.time)), r.action, r.host === WITHHELD_TEXT ? r.host : `${r.scheme}://${r.host}${r.path ?? ''}`, r.categories.join(','), r.term ?? '',
    ]);
    return [head, ...formatTable([['', 'time', 'action', 'address', 'categories', 'search'], ...rows]).split('\n').map((l) => `  ${l}`)];
  }
}

/** The "DSL told" column of `alerts list`: the latest notification sent at once, if any. */
const TOLD: Readonly<Record<AlertDelivery, string>> = {
  none: 'in the digest', pending: 'sending', delivered: 'yes', failed: 'FAILED', untold: 'NOBODY TO TELL',
};

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function incidentJson(i: Incident): Record<string, unknown> {
  return { ...i, createdAt: iso(i.createdAt) };
}
