// What the DSL reads: one alert sent at once (subject, plain text, HTML), the daily or weekly
// digest (grouped by pupil and by category), and the JSON a webhook receives. Pure.
//
// Search terms and addresses are chosen by whoever browsed, so every value is escaped in HTML,
// and addresses are shown as text, never as links. An alert about illegal content (the IWF or
// terrorism lists) never carries its address, search term or list entry in any form: it says
// what happened and what to do (the school's procedure: stop, do not revisit, refer to the
// police), and links only to the alert in the staff app.
import type { SchoolgateConfig } from '../config/load.js';
import { SchoolClock } from '../policy/time.js';
import type { Action } from '../policy/types.js';
import { escapeHtml } from '../proxy/pages.js';
import type { AlertTrigger } from './detect.js';
import { withheld, type AlertSummary } from './fold.js';
import { SEVERITY_RANK, type Severity } from './taxonomy.js';

/** An alert as stored and sent: its summary, its id, and who it is about. */
export interface AlertNotice extends Omit<AlertSummary, 'key' | 'notifiedSeverity'> {
  readonly id: string;
  /** The category's label ("Suicide"). */
  readonly label: string;
  /** The signed-in person, or null (then the device address is all there is). */
  readonly user: string | null;
  readonly client: string;
  readonly group: string;
}

export interface RenderContext {
  readonly schoolName: string;
  readonly timeZone: string;
  /** school.staffAppUrl: each alert links to `${staffAppUrl}/alerts/<id>`; null for no links. */
  readonly staffAppUrl: string | null;
}

/** What rendering needs from the configuration. */
export function renderContext(c: SchoolgateConfig): RenderContext {
  return { schoolName: c.school.name, timeZone: c.school.timezone, staffAppUrl: c.school.staffAppUrl };
}

export interface RenderedMessage {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** The scheduled digests, and the one catch-up sent when someone can first be told (see store.addCatchUp). */
export type DigestKind = 'daily' | 'weekly' | 'catch-up';

export interface Digest {
  readonly period: DigestKind;
  /** The alerts of [from, to), milliseconds since the epoch. */
  readonly from: number;
  readonly to: number;
  readonly alerts: readonly AlertNotice[];
  /** By alert id: what became of a notification that should have gone at once and reached nobody. */
  readonly notes?: ReadonlyMap<string, string>;
}

const DIGEST_TITLE: Readonly<Record<DigestKind, string>> = {
  daily: 'Daily safeguarding digest',
  weekly: 'Weekly safeguarding digest',
  'catch-up': 'Safeguarding alerts nobody was told about',
};

const CATCH_UP_TEXT = 'Until now Schoolgate had no way to send safeguarding alerts to anyone (no DSL or deputy it could e-mail, and no webhook). '
  + 'These alerts were stored when they happened but nobody was told of them. Please look at each.';

export const ILLEGAL_GUIDANCE: readonly string[] = [
  'This was an attempt to reach content on a list of illegal material. Schoolgate blocked it.',
  'The address is deliberately left out of this message. Do not try to find, visit or view it, and do not copy or forward it.',
  "Follow the school's procedure: stop, do not revisit, and refer to the police. Schoolgate's log keeps the address for them.",
];

const DID: Readonly<Record<Action, string>> = { allow: 'allowed', warn: 'warned', block: 'blocked' };

export function alertLink(ctx: RenderContext, id: string): string | null {
  return ctx.staffAppUrl === null ? null : `${ctx.staffAppUrl}/alerts/${encodeURIComponent(id)}`;
}

/** The notice with everything about an illegal address taken out; unchanged otherwise. */
export function shownNotice(n: AlertNotice): AlertNotice {
  return n.illegal ? { ...n, searchTerm: null, url: null, triggers: n.triggers.map(withheld) } : n;
}

export function renderAlert(notice: AlertNotice, ctx: RenderContext): RenderedMessage {
  const n = shownNotice(notice);
  const time = timeFormat(ctx.timeZone);
  const link = alertLink(ctx, n.id);
  const facts = noticeFacts(n, time);
  const subject = `[${oneLine(ctx.schoolName)}] Safeguarding alert, ${n.severity}: ${n.label}`;
  const text = [
    `Safeguarding alert: ${n.label} (${n.severity.toUpperCase()})`,
    '',
    ...(n.illegal ? [...ILLEGAL_GUIDANCE, ''] : []),
    ...facts.map(([k, v]) => `${`${k}:`.padEnd(14)}${v}`),
    '',
    'Triggers:',
    ...triggerLines(n).map((l) => `  - ${l}`),
    ...(link ? ['', `Open the alert: ${link}`] : []),
  ].join('\n');
  const html = page(subject, [
    `<h1 style="font-size:20px">Safeguarding alert: ${escapeHtml(n.label)}</h1>`,
    `<p>${severityBadge(n.severity)}</p>`,
    n.illegal ? guidanceHtml() : '',
    `<table cellpadding="4" style="border-collapse:collapse">${facts.map(([k, v]) => `<tr><th align="left" valign="top">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`,
    '<h2 style="font-size:16px">Triggers</h2>',
    listHtml(triggerLines(n)),
    link ? `<p><a href="${escapeHtml(link)}">Open the alert in Schoolgate</a></p>` : '',
  ]);
  return { subject, text: `${text}\n`, html };
}

export function renderDigest(d: Digest, ctx: RenderContext): RenderedMessage {
  const time = timeFormat(ctx.timeZone);
  const alerts = d.alerts.map(shownNotice);
  const title = DIGEST_TITLE[d.period];
  const range = `${time(d.from)} to ${time(d.to)}`;
  const subject = `[${oneLine(ctx.schoolName)}] ${title}: ${alerts.length === 0 ? 'nothing new' : `${alerts.length} alert${alerts.length === 1 ? '' : 's'}`}`;
  if (alerts.length === 0) {
    const none = `Nothing new: no safeguarding alerts from ${range}.`;
    return { subject, text: `${title} for ${ctx.schoolName}\n\n${none}\n`, html: page(subject, [`<h1 style="font-size:20px">${escapeHtml(title)}</h1>`, `<p>${escapeHtml(none)}</p>`]) };
  }
  const categories = byCategory(alerts);
  const people = byPerson(alerts);
  const intro = d.period === 'catch-up' ? [CATCH_UP_TEXT] : [];
  const text: string[] = [`${title} for ${ctx.schoolName}`, range, ...intro.flatMap((t) => ['', t]), '', 'By category'];
  const html: string[] = [`<h1 style="font-size:20px">${escapeHtml(title)}</h1>`, `<p>${escapeHtml(range)}</p>`, ...intro.map((t) => `<p><strong>${escapeHtml(t)}</strong></p>`), '<h2 style="font-size:16px">By category</h2>', '<ul>'];
  for (const c of categories) {
    text.push(`  ${c.line}`);
    html.push(`<li>${escapeHtml(c.line)}</li>`);
  }
  html.push('</ul>', '<h2 style="font-size:16px">By pupil</h2>');
  text.push('', 'By pupil');
  for (const p of people) {
    text.push(`  ${p.who}`);
    html.push(`<h3 style="font-size:14px">${escapeHtml(p.who)}</h3>`, '<ul>');
    for (const a of p.alerts) {
      const link = alertLink(ctx, a.id);
      const head = `${a.label}, ${a.severity}: ${timesText(a, time)}, ${a.actions.map((x) => DID[x]).join(' and ')}`;
      const note = d.notes?.get(a.id);
      const lines = [...(note !== undefined ? [note] : []), ...(a.searchTerm !== null ? [`last search: "${a.searchTerm}"`] : []), ...triggerLines(a)];
      text.push(`    - ${head}`, ...(a.illegal ? ['      Illegal content: address withheld; follow the procedure in the alert.'] : []), ...lines.map((l) => `      ${l}`), ...(link ? [`      ${link}`] : []));
      html.push(`<li>${severityBadge(a.severity)} <strong>${escapeHtml(a.label)}</strong>: ${escapeHtml(timesText(a, time))}, ${escapeHtml(a.actions.map((x) => DID[x]).join(' and '))}`
        + (a.illegal ? `<br><em>${escapeHtml('Illegal content: address withheld; follow the procedure in the alert.')}</em>` : '')
        + listHtml(lines) + (link ? `<a href="${escapeHtml(link)}">Open the alert</a>` : '') + '</li>');
    }
    html.push('</ul>');
  }
  if (alerts.some((a) => a.illegal)) {
    text.push('', ...ILLEGAL_GUIDANCE);
    html.push(guidanceHtml());
  }
  return { subject, text: `${text.join('\n')}\n`, html: page(subject, html) };
}

/** The body a webhook receives for one alert (JSON; illegal content withheld as everywhere). */
export function alertPayload(notice: AlertNotice, ctx: RenderContext): Record<string, unknown> {
  const n = shownNotice(notice);
  return {
    type: 'alert', id: n.id, school: ctx.schoolName, category: n.category, label: n.label, severity: n.severity, illegal: n.illegal,
    count: n.count, firstSeen: new Date(n.firstSeen).toISOString(), lastSeen: new Date(n.lastSeen).toISOString(),
    user: n.user, client: n.client, group: n.group, actions: n.actions,
    searchTerm: n.searchTerm, url: n.url, triggers: n.triggers, moreTriggers: n.moreTriggers,
    link: alertLink(ctx, n.id), ...(n.illegal ? { guidance: ILLEGAL_GUIDANCE.join(' ') } : {}),
  };
}

// ---------------------------------------------------------------------------------------

function whoText(n: AlertNotice): string {
  return `${n.user ?? `device ${n.client}`} (${n.group})`;
}

function noticeFacts(n: AlertNotice, time: (ms: number) => string): [string, string][] {
  return [
    ['Who', n.user === null ? `device ${n.client}` : `${n.user} (device ${n.client})`],
    ['Group', n.group],
    ['When', timesText(n, time)],
    ['Filter', n.actions.map((a) => DID[a]).join(' and ')],
    ...(n.searchTerm !== null ? [['Search term', n.searchTerm] as [string, string]] : []),
    ...(n.url !== null ? [['Address', n.url] as [string, string]] : []),
    ['Reference', n.id],
  ];
}

function timesText(n: AlertNotice, time: (ms: number) => string): string {
  if (n.count === 1) return time(n.firstSeen);
  return `${n.count} times, ${time(n.firstSeen)} to ${time(n.lastSeen)}`;
}

function triggerLines(n: AlertNotice): string[] {
  const lines = n.triggers.map(triggerText);
  if (n.moreTriggers > 0) lines.push(`and ${n.moreTriggers} more`);
  return lines;
}

export function triggerText(t: AlertTrigger): string {
  if (t.kind === 'list') {
    const entry = t.entry === undefined ? '' : `, entry ${t.entry} (line ${t.line ?? 0})`;
    return `${t.severity}: on the list ${t.list} (${t.category})${entry}`;
  }
  const place = t.source === 'search' ? 'the search' : t.source === 'page' ? 'the page at' : 'the address';
  const where = t.text === undefined ? (t.source === 'search' ? 'the search term' : t.source === 'page' ? 'a page' : 'the address') : t.source === 'search' ? `${place} "${t.text}"` : `${place} ${t.text}`;
  if (t.learned) return `${t.severity}: ${t.phrase} (${t.category}; not on any list) in ${where}`;
  // A rule written with word classes or a combination says little to a DSL on its own: the
  // words it matched say why.
  const words = t.matched !== undefined && /[@+*]/.test(t.phrase) ? ` matching "${t.matched}"` : '';
  return `${t.severity}: phrase "${t.phrase}"${words} (${t.category}, weight ${t.weight}) in ${where}`;
}

function byCategory(alerts: readonly AlertNotice[]): { line: string }[] {
  const groups = new Map<string, AlertNotice[]>();
  for (const a of alerts) groups.set(a.label, [...(groups.get(a.label) ?? []), a]);
  return [...groups.entries()]
    .sort(([, a], [, b]) => worst(b) - worst(a) || b.length - a.length)
    .map(([label, list]) => {
      const events = list.reduce((n, a) => n + a.count, 0);
      const bySeverity = (['danger', 'caution', 'advisory'] as const).map((s) => [s, list.filter((a) => a.severity === s).length] as const).filter(([, k]) => k > 0);
      const people = [...new Set(list.map(whoText))];
      return { line: `${label}: ${list.length} alert${list.length === 1 ? '' : 's'} (${events} event${events === 1 ? '' : 's'}), ${bySeverity.map(([s, k]) => `${k} ${s}`).join(', ')}; ${people.join(', ')}` };
    });
}

function byPerson(alerts: readonly AlertNotice[]): { who: string; alerts: AlertNotice[] }[] {
  const groups = new Map<string, AlertNotice[]>();
  for (const a of alerts) groups.set(whoText(a), [...(groups.get(whoText(a)) ?? []), a]);
  return [...groups.entries()]
    .sort(([wa, a], [wb, b]) => worst(b) - worst(a) || (wa < wb ? -1 : wa > wb ? 1 : 0))
    .map(([who, list]) => ({ who, alerts: list.sort((a, b) => a.firstSeen - b.firstSeen) }));
}

function worst(list: readonly AlertNotice[]): number {
  return Math.max(...list.map((a) => SEVERITY_RANK[a.severity]));
}

/** School time as "YYYY-MM-DD HH:MM". */
const clocks = new Map<string, SchoolClock>();

export function timeFormat(timeZone: string): (ms: number) => string {
  // A SchoolClock builds an Intl.DateTimeFormat (a quarter of a millisecond): one per zone.
  let clock = clocks.get(timeZone);
  if (clock === undefined) clocks.set(timeZone, (clock = new SchoolClock(timeZone)));
  const c = clock;
  return (ms) => {
    const l = c.local(ms);
    return `${l.date} ${String(Math.floor(l.minute / 60)).padStart(2, '0')}:${String(l.minute % 60).padStart(2, '0')}`;
  };
}

/** Header values are one line (a school name with a line break cannot add headers). */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

const SEVERITY_COLOUR: Readonly<Record<Severity, string>> = { danger: '#b00020', caution: '#b35c00', advisory: '#35619e' };

function severityBadge(s: Severity): string {
  return `<strong style="color:${SEVERITY_COLOUR[s]}">${s.toUpperCase()}</strong>`;
}

function guidanceHtml(): string {
  return `<div style="border:2px solid ${SEVERITY_COLOUR.danger};padding:8px">${ILLEGAL_GUIDANCE.map((g) => `<p>${escapeHtml(g)}</p>`).join('')}</div>`;
}

function listHtml(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `<ul>${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`;
}

function page(title: string, body: readonly string[]): string {
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n<body style="font-family:sans-serif">\n${body.filter((b) => b !== '').join('\n')}\n</body></html>\n`;
}
