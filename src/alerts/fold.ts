// Folding: a pupil typing "how to k", "how to ki", … "how to kill myself" is one concern, not
// fifty e-mails. A candidate for the same person (or device) and category within the window of
// the last one folds into the open alert: the count goes up, the severity only ever rises, and
// the triggers are kept (distinct, up to a cap). The DSL is told at once when an alert first
// reaches a severity its category sends at once; a fold that raises it to such a severity, not
// yet sent, is sent at once too; anything else waits for the digest. Pure: the caller stores
// the summary and sends what `notify` says.
import type { Action } from '../policy/types.js';
import type { AlertCandidate, AlertTrigger } from './detect.js';
import { higherSeverity, SEVERITY_RANK, type SafeguardingCategoryId, type Severity } from './taxonomy.js';

export interface AlertSummary {
  /** Who and what: alertKey(). */
  readonly key: string;
  readonly category: SafeguardingCategoryId;
  readonly severity: Severity;
  readonly illegal: boolean;
  /** Candidates folded into it, the first included. */
  readonly count: number;
  /** Milliseconds since the epoch. */
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** The highest severity already sent at once; null when nothing has been. */
  readonly notifiedSeverity: Severity | null;
  /** What the filter did, each once, in the order first seen. */
  readonly actions: readonly Action[];
  /** Distinct triggers in the order first seen, at most maxTriggers. */
  readonly triggers: readonly AlertTrigger[];
  /** Triggers seen past the cap and not kept. */
  readonly moreTriggers: number;
  /** The latest search term as typed and the latest address; always null for illegal content. */
  readonly searchTerm: string | null;
  readonly url: string | null;
}

export interface FoldOptions {
  /** Default 10 minutes (the safeguarding file's foldWindowMinutes). */
  readonly windowMs?: number;
  /** Severities the category sends at once. */
  readonly immediate: ReadonlySet<Severity>;
  /** Triggers kept per alert (default 50). */
  readonly maxTriggers?: number;
}

export interface FoldOutcome {
  /** new: a new alert (no open one, or outside the window); fold: folded into `existing`. */
  readonly kind: 'new' | 'fold';
  readonly summary: AlertSummary;
  /** The severity to send at once now, or null for the digest. */
  readonly notify: Severity | null;
}

export const DEFAULT_FOLD_WINDOW_MS = 10 * 60_000;
export const MAX_STORED_TRIGGERS = 50;

/** The folding key: the signed-in person (any letter case), else the device address; and the category. */
export function alertKey(who: { readonly user?: string | null; readonly client: string }, category: SafeguardingCategoryId): string {
  return who.user ? `user:${who.user.toLowerCase()}|${category}` : `client:${who.client}|${category}`;
}

/** Whether a candidate at `at` falls within the window of an open alert (either side: events may arrive out of order). */
export function inWindow(existing: AlertSummary, at: number, windowMs = DEFAULT_FOLD_WINDOW_MS): boolean {
  return at <= existing.lastSeen + windowMs && at >= existing.firstSeen - windowMs;
}

export function foldAlert(existing: AlertSummary | null, key: string, candidate: AlertCandidate, at: number, opts: FoldOptions): FoldOutcome {
  const max = opts.maxTriggers ?? MAX_STORED_TRIGGERS;
  if (existing !== null && (existing.key !== key || existing.category !== candidate.category)) {
    throw new RangeError(`foldAlert: candidate ${key} (${candidate.category}) does not belong to alert ${existing.key} (${existing.category})`);
  }
  if (existing === null || !inWindow(existing, at, opts.windowMs)) {
    const base: AlertSummary = {
      key, category: candidate.category, severity: candidate.severity, illegal: false, count: 0, firstSeen: at, lastSeen: at,
      notifiedSeverity: null, actions: [], triggers: [], moreTriggers: 0, searchTerm: null, url: null,
    };
    return outcome('new', base, candidate, at, opts.immediate, max);
  }
  return outcome('fold', existing, candidate, at, opts.immediate, max);
}

function outcome(kind: FoldOutcome['kind'], s: AlertSummary, c: AlertCandidate, at: number, immediate: ReadonlySet<Severity>, max: number): FoldOutcome {
  const severity = higherSeverity(s.severity, c.severity);
  const notify = immediate.has(severity) && (s.notifiedSeverity === null || SEVERITY_RANK[severity] > SEVERITY_RANK[s.notifiedSeverity]) ? severity : null;
  const illegal = s.illegal || c.illegal;
  const triggers: AlertTrigger[] = [];
  const seen = new Set<string>();
  let more = s.moreTriggers;
  const stored = s.triggers.length;
  [...s.triggers, ...c.triggers].forEach((t0, i) => {
    const t = illegal ? withheld(t0) : t0;
    const k = triggerKey(t);
    if (seen.has(k)) return;
    if (i >= stored && triggers.length >= max) more++;
    else {
      seen.add(k);
      triggers.push(t);
    }
  });
  const latest = at >= s.lastSeen;
  const summary: AlertSummary = {
    key: s.key, category: s.category, severity, illegal,
    count: s.count + 1,
    firstSeen: Math.min(s.firstSeen, at),
    lastSeen: Math.max(s.lastSeen, at),
    notifiedSeverity: notify ?? s.notifiedSeverity,
    actions: s.actions.includes(c.action) ? s.actions : [...s.actions, c.action],
    triggers,
    moreTriggers: more,
    searchTerm: illegal ? null : (latest ? c.searchTerm?.raw ?? s.searchTerm : s.searchTerm ?? c.searchTerm?.raw ?? null),
    url: illegal ? null : (latest ? c.url ?? s.url : s.url ?? c.url),
  };
  return { kind, summary, notify };
}

/** Identity of a trigger, for keeping each once. */
export function triggerKey(t: AlertTrigger): string {
  return t.kind === 'list'
    ? `list\n${t.category}\n${t.list}\n${t.entry ?? ''}\n${t.line ?? ''}`
    : `phrase\n${t.source}\n${t.category}\n${t.phrase}\n${t.text ?? ''}`;
}

/** A trigger without the address, term or entry it carried (for alerts about illegal content). */
export function withheld(t: AlertTrigger): AlertTrigger {
  if (t.kind === 'list') return t.entry === undefined && t.line === undefined ? t : { kind: 'list', severity: t.severity, category: t.category, list: t.list };
  if (t.text === undefined) return t;
  const { text: _text, ...rest } = t;
  return rest;
}
