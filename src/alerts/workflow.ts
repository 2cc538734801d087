// The DSL's work on alerts, as the CLI does it now and the staff app will: list and open alerts,
// see the pupil's browsing an hour either side (from the traffic log), acknowledge, escalate,
// close, mark a false positive (with an exclusion that takes effect at once), and record an
// incident against one or more alerts with the fields of an e-safety concern form.
//
// Every change is written with its audit row: the change (data/alerts.db) is made in a write
// transaction that also appends the row (data/schoolgate.db), so a change whose row cannot be
// written is rolled back. Audit detail never carries a search term or an address; an incident's
// description and action taken stay in alerts.db, the row holding their SHA-256 so an edit shows.
import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { AuditLog, processActor, type AuditEntry } from '../store/audit.js';
import { activity, type ActivityRow } from '../store/queries.js';
import { exclusionProblem, type ExclusionKind } from './exclusions.js';
import { shownNotice } from './render.js';
import { AlertStore, type AlertState, type OutboxRow, type StoredAlert } from './store.js';
import type { SafeguardingCategoryId, SafeguardingConfig } from './taxonomy.js';

/** A step the DSL cannot take (no such alert, a closed alert acknowledged): the CLI exits 1. */
export class WorkflowError extends Error {
  override readonly name = 'WorkflowError';
}

export interface WorkflowDeps {
  /** data/alerts.db. */
  readonly alerts: Database;
  /** data/schoolgate.db, read-write, for the audit chain; null for a read-only workflow (list, show). */
  readonly main: Database | null;
  /** data/schoolgate.db opened read-only, for the traffic context; null when there is no traffic log. */
  readonly traffic: Database | null;
  readonly safeguarding: SafeguardingConfig;
  /** The policy's groups, for an exclusion's group. */
  readonly groups: ReadonlySet<string>;
  /** Who is acting (default processActor()). */
  readonly actor?: string;
  readonly now?: () => number;
  /** Told when an exclusion is added (a proxy in this process compiles its exclusions again). */
  readonly exclusionsChanged?: () => void;
}

export interface AlertFilter {
  readonly state?: AlertState;
  readonly category?: SafeguardingCategoryId;
  readonly user?: string;
  /** Bounds on the last time seen, ms since 1970; `to` not included. */
  readonly from?: number;
  readonly to?: number;
  readonly limit?: number;
}

export interface Incident {
  readonly id: number;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly type: string;
  readonly description: string;
  readonly actionTaken: string;
  readonly referredTo: string | null;
  readonly referredBy: string | null;
  /** ISO time. */
  readonly referredAt: string | null;
  readonly alertIds: readonly number[];
}

export interface IncidentInput {
  readonly type: string;
  readonly description: string;
  readonly actionTaken: string;
  readonly referredTo?: string | null;
  readonly referredBy?: string | null;
  readonly referredAt?: Date | null;
  readonly alertIds: readonly number[];
}

export interface ExclusionInput {
  readonly kind: ExclusionKind;
  readonly value: string;
  readonly group?: string;
}

/** The browsing around an alert: one person's (or, when nobody signed in, one device's). */
export interface TrafficContext {
  readonly by: { readonly user: string } | { readonly ip: string };
  /** ms since 1970, both included. */
  readonly from: number;
  readonly to: number;
  /** Oldest first; a request to illegal content has its host, path and term withheld. */
  readonly rows: readonly ActivityRow[];
  /** More rows than CONTEXT_LIMIT: the first ones are shown. */
  readonly truncated: boolean;
}

export interface AlertDetail {
  /** As a notice shows it: an illegal alert without its address, search term or list entry. */
  readonly alert: StoredAlert;
  readonly outbox: readonly (OutboxRow & { readonly channels: readonly { channel: string; at: number }[] })[];
  readonly incidents: readonly Incident[];
  /** The browsing an hour either side, or why there is none. */
  readonly context: TrafficContext | { readonly unavailable: string };
}

export const CONTEXT_MS = 3_600_000;
export const CONTEXT_LIMIT = 2_000;
export const WITHHELD_TEXT = '[withheld: illegal content]';

type Step = 'acknowledge' | 'escalate' | 'close' | 'false-positive';
const STEPS: Readonly<Record<Step, { to: AlertState; from: readonly AlertState[]; action: string }>> = {
  acknowledge: { to: 'acknowledged', from: ['new'], action: 'alert.acknowledged' },
  escalate: { to: 'escalated', from: ['new', 'acknowledged'], action: 'alert.escalated' },
  close: { to: 'closed', from: ['new', 'acknowledged', 'escalated'], action: 'alert.closed' },
  'false-positive': { to: 'false-positive', from: ['new', 'acknowledged', 'escalated', 'closed'], action: 'alert.false-positive' },
};

interface IncidentRow {
  id: number; created_at: number; created_by: string; type: string; description: string; action_taken: string;
  referred_to: string | null; referred_by: string | null; referred_at: string | null;
}

export class AlertWorkflow {
  readonly store: AlertStore;
  private readonly now: () => number;
  private readonly actor: string;
  private readonly audit: AuditLog | null;

  constructor(private readonly deps: WorkflowDeps) {
    this.store = new AlertStore(deps.alerts);
    this.now = deps.now ?? Date.now;
    this.actor = deps.actor ?? processActor();
    this.audit = deps.main ? new AuditLog(deps.main, { now: () => new Date(this.now()) }) : null;
  }

  /** Newest first (last seen). */
  list(filter: AlertFilter = {}): StoredAlert[] {
    return this.store.list(this.deps.safeguarding, filter).map(shown);
  }

  show(id: number): AlertDetail {
    const alert = this.get(id);
    const outbox = this.store.outboxOf(id).map((o) => ({ ...o, channels: this.store.deliveries(o.id) }));
    const incidentIds = this.deps.alerts.prepare('SELECT incident_id FROM incident_alerts WHERE alert_id = ? ORDER BY incident_id').pluck().all(id) as number[];
    return { alert: shown(alert), outbox, incidents: incidentIds.map((i) => this.incident(i)!), context: this.context(alert) };
  }

  acknowledge(id: number): StoredAlert {
    return this.step(id, 'acknowledge');
  }

  escalate(id: number): StoredAlert {
    return this.step(id, 'escalate');
  }

  close(id: number): StoredAlert {
    return this.step(id, 'close');
  }

  /** Marks the alert a false positive and, with `exclude`, adds an exclusion (for everyone, or one group) that takes effect at once. */
  falsePositive(id: number, opts: { exclude?: ExclusionInput; reason?: string } = {}): { alert: StoredAlert; exclusionId: number | null } {
    const e = opts.exclude;
    if (e) {
      const problem = exclusionProblem(e);
      if (problem) throw new WorkflowError(`exclusion ${e.kind} ${problem.message}: ${problem.fix}`);
      if (e.group !== undefined && !this.deps.groups.has(e.group)) throw new WorkflowError(`unknown group "${e.group}": use one of ${[...this.deps.groups].join(', ')}`);
    }
    let exclusionId: number | null = null;
    const alert = this.step(id, 'false-positive', opts.reason, (before) => {
      if (!e) return [];
      // Illegal-list attempts are never excluded, and their address must not go into a row.
      if (before.illegal) throw new WorkflowError(`alert ${id} is about illegal content: exclusions never apply to illegal-list attempts`);
      exclusionId = Number(this.deps.alerts.prepare('INSERT INTO exclusions (kind, value, group_id, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(e.kind, e.value, e.group ?? null, opts.reason ?? null, this.actor, this.now()).lastInsertRowid);
      return [{ action: 'exclusion.added', subject: `exclusion ${exclusionId}`, detail: { alert: id, kind: e.kind, value: e.value, group: e.group ?? null, reason: opts.reason ?? null } }];
    });
    if (exclusionId !== null) this.deps.exclusionsChanged?.();
    return { alert, exclusionId };
  }

  /** Records an incident against one or more alerts (their states are unchanged). */
  recordIncident(input: IncidentInput): Incident {
    const text = (name: string, v: string): string => {
      if (v.trim() === '') throw new WorkflowError(`an incident needs ${name}`);
      return v.trim();
    };
    const type = text('a type', input.type);
    const description = text('a description', input.description);
    const actionTaken = text('the action taken', input.actionTaken);
    const optional = (v: string | null | undefined): string | null => (v === undefined || v === null || v.trim() === '' ? null : v.trim());
    const alertIds = [...new Set(input.alertIds)];
    if (alertIds.length === 0) throw new WorkflowError('an incident is recorded against one or more alerts');
    const row = {
      created_at: this.now(), created_by: this.actor, type, description, action_taken: actionTaken,
      referred_to: optional(input.referredTo), referred_by: optional(input.referredBy), referred_at: input.referredAt ? input.referredAt.toISOString() : null,
    };
    return this.write(() => {
      const missing = alertIds.filter((a) => this.store.get(a, this.deps.safeguarding) === undefined);
      if (missing.length > 0) throw new WorkflowError(`no alert ${missing.join(', ')}`);
      const id = Number(this.deps.alerts.prepare(`INSERT INTO incidents (created_at, created_by, type, description, action_taken, referred_to, referred_by, referred_at)
        VALUES (@created_at, @created_by, @type, @description, @action_taken, @referred_to, @referred_by, @referred_at)`).run(row).lastInsertRowid);
      const link = this.deps.alerts.prepare('INSERT INTO incident_alerts (incident_id, alert_id) VALUES (?, ?)');
      for (const a of alertIds) link.run(id, a);
      const incident = this.incident(id)!;
      return {
        result: incident,
        audit: [{
          action: 'incident.recorded', subject: `incident ${id}`,
          detail: { alerts: incident.alertIds, type, referredTo: row.referred_to, referredBy: row.referred_by, referredAt: row.referred_at, sha256: incidentHash(incident) },
        }],
      };
    });
  }

  incident(id: number): Incident | undefined {
    const r = this.deps.alerts.prepare('SELECT * FROM incidents WHERE id = ?').get(id) as IncidentRow | undefined;
    if (!r) return undefined;
    const alertIds = this.deps.alerts.prepare('SELECT alert_id FROM incident_alerts WHERE incident_id = ? ORDER BY alert_id').pluck().all(id) as number[];
    return {
      id: r.id, createdAt: r.created_at, createdBy: r.created_by, type: r.type, description: r.description, actionTaken: r.action_taken,
      referredTo: r.referred_to, referredBy: r.referred_by, referredAt: r.referred_at, alertIds,
    };
  }

  private get(id: number): StoredAlert {
    const a = this.store.get(id, this.deps.safeguarding);
    if (!a) throw new WorkflowError(`no alert ${id}`);
    return a;
  }

  /** Moves the alert on by one step, with its audit row and whatever `more` adds (in the same transaction). */
  private step(id: number, step: Step, reason?: string, more: (before: StoredAlert) => Omit<AuditEntry, 'actor'>[] = () => []): StoredAlert {
    const s = STEPS[step];
    return this.write(() => {
      const before = this.get(id);
      if (!s.from.includes(before.state)) throw new WorkflowError(`alert ${id} is ${before.state}: it cannot be ${s.to === 'false-positive' ? 'marked a false positive' : s.to}`);
      this.store.setState(id, s.to, this.now());
      const detail = { from: before.state, to: s.to, category: before.category, severity: before.severity, ...(reason !== undefined ? { reason } : {}) };
      const audit = [{ action: s.action, subject: `alert ${id}`, detail }, ...more(before)];
      return { result: shown(this.get(id)), audit };
    });
  }

  /**
   * Runs `change` in a write transaction on alerts.db and appends its audit rows in one on
   * schoolgate.db inside it: the rows are written before the change commits, and a change whose
   * rows cannot be written is rolled back.
   */
  private write<T>(change: () => { result: T; audit: readonly Omit<AuditEntry, 'actor'>[] }): T {
    const audit = this.audit;
    const main = this.deps.main;
    if (!audit || !main) throw new Error('this workflow was opened read-only');
    return this.deps.alerts.transaction(() => {
      const { result, audit: rows } = change();
      main.transaction(() => {
        for (const r of rows) audit.append({ ...r, actor: this.actor });
      }).immediate();
      return result;
    }).immediate();
  }

  /** The pupil's browsing from an hour before the alert's first request to an hour after its last, by user if known, else by device. */
  private context(a: StoredAlert): AlertDetail['context'] {
    const db = this.deps.traffic;
    if (db === null) return { unavailable: 'there is no traffic log in this data folder' };
    if (db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'traffic'").get() === undefined) {
      return { unavailable: 'the traffic log has no table yet (start this version of Schoolgate once)' };
    }
    const by = a.user !== null ? { user: a.user } : { ip: a.client };
    const from = a.firstSeen - CONTEXT_MS;
    const to = a.lastSeen + CONTEXT_MS;
    const rows = activity(db, { ...by, from: new Date(from), to: new Date(to + 1), limit: CONTEXT_LIMIT + 1 });
    return { by, from, to, rows: rows.slice(0, CONTEXT_LIMIT).map(withheldRow), truncated: rows.length > CONTEXT_LIMIT };
  }
}

function shown(a: StoredAlert): StoredAlert {
  return { ...a, ...shownNotice(a) };
}

/** A request to illegal content, without what it reached. */
function withheldRow(r: ActivityRow): ActivityRow {
  return r.ruleKind === 'illegal' ? { ...r, host: WITHHELD_TEXT, path: null, term: null } : r;
}

/** SHA-256 over the incident as recorded: kept in its audit row, so an edit to the incident shows. */
export function incidentHash(i: Incident): string {
  return createHash('sha256').update(JSON.stringify([i.id, i.createdAt, i.createdBy, i.type, i.description, i.actionTaken, i.referredTo, i.referredBy, i.referredAt, i.alertIds])).digest('hex');
}
