// Alerts as stored in data/alerts.db. raise() folds each candidate into the open alert for that
// person (or device) and category, or opens a new one, and writes the outbox row for anything
// to send at once, in one transaction: when it returns, the alert is on disk. The delivery side
// reads the outbox and records what each channel was given.
import type { Database, Statement, Transaction } from 'better-sqlite3';
import type { AlertCandidate } from './detect.js';
import { alertKey, foldAlert, type AlertSummary } from './fold.js';
import type { AlertNotice } from './render.js';
import type { SafeguardingConfig, Severity } from './taxonomy.js';

export type AlertState = 'new' | 'acknowledged' | 'escalated' | 'closed' | 'false-positive';
export const ALERT_STATES: readonly AlertState[] = ['new', 'acknowledged', 'escalated', 'closed', 'false-positive'];

export interface RaiseContext {
  /** Milliseconds since 1970. */
  readonly at: number;
  readonly client: string;
  readonly user: string | null;
  readonly group: string;
  /** The request's traffic-log row, when there is a log. */
  readonly trafficId: number | null;
}

/** How a candidate folds: its category's window and the severities it sends at once, fixed when it is raised. */
export interface FoldRule {
  readonly windowMs: number;
  readonly immediate: readonly Severity[];
}

/** The fold rule of a category under `cfg`; a category the file no longer lists still sends danger at once. */
export function foldRuleFor(cfg: SafeguardingConfig, category: string): FoldRule {
  return { windowMs: cfg.foldWindowMs, immediate: [...(cfg.categories.get(category as AlertCandidate['category'])?.immediate ?? ['danger'])] };
}

/** Where a raise is written in the alert journal (journal.ts): its segment file and its place there. */
export interface JournalRef {
  readonly segment: string;
  readonly seq: number;
}

/** What storing a journal entry did: the first alert's id, whether an outbox row was written, and whether it had been stored before. */
export interface JournalStored {
  readonly alertId: number | null;
  readonly notify: boolean;
  readonly duplicate: boolean;
}

export interface Raised {
  readonly alertId: number;
  readonly kind: 'new' | 'fold';
  readonly severity: Severity;
  /** The outbox row of a notification to send at once, or null (digest only). */
  readonly outboxId: number | null;
}

/**
 * What became of an alert's latest notification sent at once: none (it waits for the digest),
 * or its outbox state; untold is "not delivered: nobody to tell".
 */
export type AlertDelivery = 'none' | OutboxState;

export interface StoredAlert extends AlertNotice {
  readonly state: AlertState;
  readonly trafficId: number | null;
  readonly notifiedSeverity: Severity | null;
  readonly delivery: AlertDelivery;
}

/** untold: no recipient and no channel could take it; stored as such, never counted as delivered. */
export type OutboxState = 'pending' | 'delivered' | 'failed' | 'untold';

export interface OutboxRow {
  readonly id: number;
  readonly alertId: number | null;
  readonly kind: 'immediate' | 'digest';
  readonly severity: Severity | null;
  readonly createdAt: number;
  readonly relayedAt: number | null;
  readonly state: OutboxState;
  readonly attempts: number;
  /** The last failure; for an untold row, why nobody could be told. */
  readonly lastError: string | null;
  readonly payload: string | null;
  /** For an untold row: the catch-up digest (its outbox row) that told the DSL once someone could be. */
  readonly toldIn: number | null;
}

interface AlertRow {
  id: number; key: string; category: string; severity: Severity; illegal: number; first_at: number; last_at: number; count: number;
  client: string; username: string | null; group_id: string; traffic_id: number | null; summary: string; notified: Severity | null; state: AlertState;
  delivery: OutboxState | null;
}

interface OutboxDbRow {
  id: number; alert_id: number | null; kind: 'immediate' | 'digest'; severity: Severity | null; created_at: number; relayed_at: number | null;
  state: OutboxState; attempts: number; last_error: string | null; payload: string | null; told_in: number | null;
}

/** An alert with the state of its latest notification sent at once. */
const ALERT_SELECT = `SELECT alerts.*, (SELECT o.state FROM outbox o WHERE o.alert_id = alerts.id AND o.kind = 'immediate' ORDER BY o.id DESC LIMIT 1) AS delivery FROM alerts`;

export class AlertStore {
  private readonly open: Statement;
  private readonly insert: Statement;
  private readonly update: Statement;
  private readonly addOutbox: Statement;
  private readonly raiseAll: Transaction<(candidates: readonly AlertCandidate[], ctx: RaiseContext, rules: readonly FoldRule[]) => Raised[]>;
  /** Prepared on first use: only the writer thread stores journal entries. */
  private findStored: Statement | null = null;
  private raiseOnce: Transaction<(ref: JournalRef, candidates: readonly AlertCandidate[], ctx: RaiseContext, rules: readonly FoldRule[]) => JournalStored> | null = null;

  /**
   * The statements of the methods below, prepared once each: preparing them again on every call
   * was the largest self time while alerts were delivered, about a fifth of an alert's CPU
   * (bench/RESULTS.md, "Issue 15: memory over reloads, what an alert costs, …").
   */
  readonly #statements = new Map<string, Statement>();

  constructor(private readonly db: Database) {
    // A closed alert (or one marked a false positive) is done with: what comes after opens a new one.
    this.open = db.prepare("SELECT * FROM alerts WHERE key = ? AND last_at >= ? AND state NOT IN ('closed', 'false-positive') ORDER BY last_at DESC LIMIT 1");
    this.insert = db.prepare(`INSERT INTO alerts (key, category, severity, illegal, first_at, last_at, count, client, username, group_id, traffic_id, summary, notified, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.update = db.prepare('UPDATE alerts SET severity = ?, illegal = ?, first_at = ?, last_at = ?, count = ?, summary = ?, notified = ?, updated_at = ? WHERE id = ?');
    this.addOutbox = db.prepare('INSERT INTO outbox (alert_id, kind, severity, created_at, payload) VALUES (?, ?, ?, ?, ?)');
    this.raiseAll = db.transaction((candidates: readonly AlertCandidate[], ctx: RaiseContext, rules: readonly FoldRule[]) =>
      candidates.map((c, i) => this.raiseOne(c, ctx, rules[i]!)));
  }

  /** The statement for `sql`, prepared on its first use. */
  private statement(sql: string): Statement {
    let stmt = this.#statements.get(sql);
    if (stmt === undefined) this.#statements.set(sql, (stmt = this.db.prepare(sql)));
    return stmt;
  }

  /** Stores the candidates of one request (folded where they belong); all or nothing. */
  raise(candidates: readonly AlertCandidate[], ctx: RaiseContext, cfg: SafeguardingConfig): Raised[] {
    return this.raiseAll.immediate(candidates, ctx, candidates.map((c) => foldRuleFor(cfg, c.category)));
  }

  /** Stores one entry of the alert journal unless it already was (by its segment and place): all or nothing. */
  raiseJournalled(ref: JournalRef, candidates: readonly AlertCandidate[], ctx: RaiseContext, rules: readonly FoldRule[]): JournalStored {
    if (this.raiseOnce === null) {
      const find = this.db.prepare('SELECT alert_id AS alertId FROM journal_stored WHERE segment = ? AND seq = ?');
      this.findStored = find;
      const add = this.db.prepare('INSERT INTO journal_stored (segment, seq, alert_id) VALUES (?, ?, ?)');
      // The entry is marked stored in the same transaction as its alerts and outbox rows, so a
      // replay after a crash neither loses it nor folds (or notifies) it twice.
      this.raiseOnce = this.db.transaction((r: JournalRef, cs: readonly AlertCandidate[], x: RaiseContext, rs: readonly FoldRule[]): JournalStored => {
        const before = find.get(r.segment, r.seq) as { alertId: number | null } | undefined;
        if (before) return { alertId: before.alertId, notify: false, duplicate: true };
        const raised = cs.map((c, i) => this.raiseOne(c, x, rs[i]!));
        const alertId = raised[0]?.alertId ?? null;
        add.run(r.segment, r.seq, alertId);
        return { alertId, notify: raised.some((o) => o.outboxId !== null), duplicate: false };
      });
    }
    // Stored before (a segment replayed): known from a read, which never waits for another writer's lock.
    const before = this.findStored!.get(ref.segment, ref.seq) as { alertId: number | null } | undefined;
    if (before) return { alertId: before.alertId, notify: false, duplicate: true };
    return this.raiseOnce.immediate(ref, candidates, ctx, rules);
  }

  /** A journal segment replayed and deleted: its entries need no marks any more. */
  forgetSegment(segment: string): void {
    this.statement('DELETE FROM journal_stored WHERE segment = ?').run(segment);
  }

  /** Segments with entries marked stored (to forget those whose file is gone). */
  markedSegments(): string[] {
    return this.statement('SELECT DISTINCT segment FROM journal_stored').pluck().all() as string[];
  }

  private raiseOne(c: AlertCandidate, ctx: RaiseContext, rule: FoldRule): Raised {
    const key = alertKey({ user: ctx.user, client: ctx.client }, c.category);
    const row = this.open.get(key, ctx.at - rule.windowMs) as AlertRow | undefined;
    const existing = row ? (JSON.parse(row.summary) as AlertSummary) : null;
    const out = foldAlert(existing, key, c, ctx.at, { windowMs: rule.windowMs, immediate: new Set(rule.immediate) });
    const s = out.summary;
    const json = JSON.stringify(s);
    let alertId: number;
    if (out.kind === 'fold' && row) {
      alertId = row.id;
      this.update.run(s.severity, s.illegal ? 1 : 0, s.firstSeen, s.lastSeen, s.count, json, s.notifiedSeverity, ctx.at, alertId);
    } else {
      alertId = Number(this.insert.run(key, s.category, s.severity, s.illegal ? 1 : 0, s.firstSeen, s.lastSeen, s.count, ctx.client, ctx.user, ctx.group,
        ctx.trafficId, json, s.notifiedSeverity, ctx.at).lastInsertRowid);
    }
    const outboxId = out.notify === null ? null : Number(this.addOutbox.run(alertId, 'immediate', out.notify, ctx.at, null).lastInsertRowid);
    return { alertId, kind: out.kind, severity: s.severity, outboxId };
  }

  /** A digest to send: one outbox row per period and range, however many processes ask. */
  addDigest(period: 'daily' | 'weekly', from: number, to: number, at: number): number | null {
    const payload = JSON.stringify({ period, from, to });
    const dup = this.statement("SELECT id FROM outbox WHERE kind = 'digest' AND payload = ?").pluck().get(payload) as number | undefined;
    if (dup !== undefined) return null;
    return Number(this.addOutbox.run(null, 'digest', null, at, payload).lastInsertRowid);
  }

  /** The end of the latest digest of the period in the outbox (whatever its state), or null. */
  lastDigestEnd(period: 'daily' | 'weekly'): number | null {
    return this.statement("SELECT max(json_extract(payload, '$.to')) FROM outbox WHERE kind = 'digest' AND json_extract(payload, '$.period') = ?").pluck().get(period) as number | null;
  }

  get(id: number, cfg: SafeguardingConfig): StoredAlert | undefined {
    const row = this.statement(`${ALERT_SELECT} WHERE id = ?`).get(id) as AlertRow | undefined;
    return row ? toAlert(row, cfg) : undefined;
  }

  /** Newest first; `from`/`to` bound the last time seen. */
  list(cfg: SafeguardingConfig, q: { from?: number; to?: number; state?: AlertState; category?: string; user?: string; limit?: number } = {}): StoredAlert[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.from !== undefined) where.push('last_at >= ?'), args.push(q.from);
    if (q.to !== undefined) where.push('last_at < ?'), args.push(q.to);
    if (q.state !== undefined) where.push('state = ?'), args.push(q.state);
    if (q.category !== undefined) where.push('category = ?'), args.push(q.category);
    if (q.user !== undefined) where.push('username = ? COLLATE NOCASE'), args.push(q.user);
    const sql = `${ALERT_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY last_at DESC, id DESC LIMIT ?`;
    return (this.statement(sql).all(...args, q.limit ?? 100) as AlertRow[]).map((r) => toAlert(r, cfg));
  }

  setState(id: number, state: AlertState, at: number): boolean {
    return this.statement('UPDATE alerts SET state = ?, updated_at = ? WHERE id = ?').run(state, at, id).changes === 1;
  }

  // The outbox.

  outbox(id: number): OutboxRow | undefined {
    const r = this.statement('SELECT * FROM outbox WHERE id = ?').get(id) as OutboxDbRow | undefined;
    return r ? toOutbox(r) : undefined;
  }

  /** The notifications of one alert, oldest first. */
  outboxOf(alertId: number): OutboxRow[] {
    return (this.statement('SELECT * FROM outbox WHERE alert_id = ? ORDER BY id').all(alertId) as OutboxDbRow[]).map(toOutbox);
  }

  /** The channels that have accepted an outbox row, and when. */
  deliveries(outboxId: number): { channel: string; at: number }[] {
    return this.statement('SELECT channel, at FROM deliveries WHERE outbox_id = ? ORDER BY at, channel').all(outboxId) as { channel: string; at: number }[];
  }

  /**
   * Rows still to deliver, oldest first. With `relayedBefore`, only rows never handed to a queue
   * and rows handed to it before that time (0: only rows never handed to it).
   */
  pending(limit: number, relayedBefore: number | null = null): OutboxRow[] {
    const sql = `SELECT * FROM outbox WHERE state = 'pending' ${relayedBefore === null ? '' : 'AND (relayed_at IS NULL OR relayed_at < ?)'} ORDER BY id LIMIT ?`;
    const rows = relayedBefore === null ? this.statement(sql).all(limit) : this.statement(sql).all(relayedBefore, limit);
    return (rows as OutboxDbRow[]).map(toOutbox);
  }

  markRelayed(id: number, at: number): void {
    this.statement('UPDATE outbox SET relayed_at = ? WHERE id = ?').run(at, id);
  }

  /** Rows still to deliver that were handed to a queue, in id order after `afterId`: a Redis that lost its data lost their jobs. */
  relayedPending(afterId: number, limit: number): OutboxRow[] {
    return (this.statement("SELECT * FROM outbox WHERE state = 'pending' AND relayed_at IS NOT NULL AND id > ? ORDER BY id LIMIT ?").all(afterId, limit) as OutboxDbRow[]).map(toOutbox);
  }

  hasRelayedPending(): boolean {
    return this.statement("SELECT 1 FROM outbox WHERE state = 'pending' AND relayed_at IS NOT NULL LIMIT 1").get() !== undefined;
  }

  delivered(outboxId: number, channel: string): boolean {
    return this.statement('SELECT 1 FROM deliveries WHERE outbox_id = ? AND channel = ?').get(outboxId, channel) !== undefined;
  }

  recordDelivery(outboxId: number, channel: string, at: number): void {
    this.statement('INSERT OR IGNORE INTO deliveries (outbox_id, channel, at) VALUES (?, ?, ?)').run(outboxId, channel, at);
  }

  /** Counts a failed attempt; with `final`, the row is marked failed (shown to the DSL, retried by the next digest). */
  failedAttempt(id: number, error: string, at: number, final: boolean): void {
    this.statement(`UPDATE outbox SET attempts = attempts + 1, last_error = ?, state = CASE WHEN ? THEN 'failed' ELSE state END, done_at = CASE WHEN ? THEN ? ELSE done_at END WHERE id = ?`)
      .run(error.slice(0, 1000), final ? 1 : 0, final ? 1 : 0, at, id);
  }

  markDelivered(id: number, at: number): void {
    this.statement("UPDATE outbox SET state = 'delivered', done_at = ?, attempts = attempts + 1 WHERE id = ?").run(at, id);
  }

  /** No recipient and no channel could take the row: not delivered, and not retried until someone can be told. */
  markUntold(id: number, reason: string, at: number): void {
    this.statement("UPDATE outbox SET state = 'untold', last_error = ?, done_at = ?, attempts = attempts + 1 WHERE id = ?").run(reason.slice(0, 1000), at, id);
  }

  /** Untold rows no catch-up digest has covered yet, oldest first. */
  untold(): OutboxRow[] {
    return (this.statement("SELECT * FROM outbox WHERE state = 'untold' AND told_in IS NULL ORDER BY id").all() as OutboxDbRow[]).map(toOutbox);
  }

  /**
   * One digest of everything nobody was told about (alerts last seen from `from` until `to`, and
   * the alerts of the untold rows whatever their times), written to the outbox with those rows
   * marked as told in it, in one transaction; null when there is nothing untold.
   */
  addCatchUp(to: number, at: number): number | null {
    return this.db.transaction((): number | null => {
      const rows = this.untold();
      if (rows.length === 0) return null;
      const from = Math.min(...rows.map((r) => (r.kind === 'digest' ? (JSON.parse(r.payload ?? '{}') as { from?: number }).from ?? r.createdAt : r.createdAt)));
      const alerts = [...new Set(rows.map((r) => r.alertId).filter((a): a is number => a !== null))];
      const id = Number(this.addOutbox.run(null, 'digest', null, at, JSON.stringify({ period: 'catch-up', from, to, alerts })).lastInsertRowid);
      const mark = this.statement('UPDATE outbox SET told_in = ? WHERE id = ?');
      for (const r of rows) mark.run(id, r.id);
      return id;
    }).immediate();
  }

  /** Immediate notifications that failed for good: the digest sends them again. */
  failedSince(from: number): OutboxRow[] {
    return (this.statement("SELECT * FROM outbox WHERE state = 'failed' AND kind = 'immediate' AND created_at >= ? ORDER BY id").all(from) as OutboxDbRow[]).map(toOutbox);
  }
}

function toAlert(r: AlertRow, cfg: SafeguardingConfig): StoredAlert {
  const s = JSON.parse(r.summary) as AlertSummary;
  return {
    ...s, id: String(r.id), label: cfg.categories.get(s.category)?.label ?? s.category, user: r.username, client: r.client, group: r.group_id,
    state: r.state, trafficId: r.traffic_id, notifiedSeverity: r.notified, delivery: r.delivery ?? 'none',
  };
}

function toOutbox(r: OutboxDbRow): OutboxRow {
  return {
    id: r.id, alertId: r.alert_id, kind: r.kind, severity: r.severity, createdAt: r.created_at, relayedAt: r.relayed_at, state: r.state,
    attempts: r.attempts, lastError: r.last_error, payload: r.payload, toldIn: r.told_in,
  };
}
