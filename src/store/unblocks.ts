// Temporary unblock requests: asked for by a teacher with a reason, decided by a technician or
// a senior leader (or approved at once where policy allows), in force from one instant to
// another, revocable early. Every step is a row in the audit chain, in the same transaction.
import type { Database, Statement } from 'better-sqlite3';
import type { Approver, Unblock, UnblockTarget } from '../policy/types.js';
import { AuditLog } from './audit.js';

export type UnblockState = 'requested' | 'approved' | 'declined' | 'revoked';
/** Who decides: a technician, a senior leader (categories marked for senior approval), or nobody (auto-approved). */
/** Who decides a request: an approver role, or 'auto' for a low-risk unblock for the requester alone. */
export type ApproverRole = Approver | 'auto';

export interface UnblockRequest {
  readonly id: number;
  readonly requestedAt: Date;
  readonly requestedBy: string;
  /** The page the request came from (the block page's address). */
  readonly url: string;
  /** What is unblocked: a site ("example.com") or a page and what is under it ("example.com/topic"). */
  readonly site: string;
  readonly categories: readonly string[];
  /** The block page's reference number, if it came from one. */
  readonly reference: string | null;
  readonly target: UnblockTarget;
  readonly reason: string;
  readonly from: Date;
  readonly until: Date;
  readonly approverRole: ApproverRole;
  readonly state: UnblockState;
  readonly decidedBy: string | null;
  readonly decidedAt: Date | null;
  /** The approver's note: why it was declined, or how it was narrowed. */
  readonly decisionNote: string | null;
  readonly revokedBy: string | null;
  readonly revokedAt: Date | null;
}

export type NewUnblockRequest = Pick<UnblockRequest, 'requestedBy' | 'url' | 'site' | 'categories' | 'reference' | 'target' | 'reason' | 'from' | 'until' | 'approverRole'>;

/** What an approver may narrow: a page instead of the site, less time, fewer people. */
export interface Narrowing {
  readonly site?: string;
  readonly from?: Date;
  readonly until?: Date;
  readonly target?: UnblockTarget;
}

export interface UnblockQuery {
  readonly states?: readonly UnblockState[];
  readonly requestedBy?: string;
  readonly approverRoles?: readonly ApproverRole[];
  /** Requested at or after. */
  readonly since?: Date;
  /** Requested before. */
  readonly before?: Date;
  readonly limit?: number;
}

/** A step the request's state does not allow (approving a declined one); the message says why. */
export class UnblockStateError extends Error {
  override readonly name = 'UnblockStateError';
}

interface Row {
  id: number; requested_at: string; requested_by: string; url: string; site: string; categories: string; reference: string | null;
  target_kind: 'group' | 'users' | 'user'; target: string; target_name: string | null; reason: string; starts_at: string; ends_at: string;
  approver_role: ApproverRole; state: UnblockState; decided_by: string | null; decided_at: string | null; decision_note: string | null;
  revoked_by: string | null; revoked_at: string | null;
}

export class UnblockStore {
  readonly #db: Database;
  readonly #now: () => Date;
  readonly #audit: AuditLog;
  readonly #sql: {
    insert: Statement<Record<string, unknown>>;
    get: Statement<[number], Row>;
    decide: Statement<Record<string, unknown>>;
    revoke: Statement<[string, string, number]>;
    inForce: Statement<[string], Row>;
  };

  constructor(db: Database, options: { now?: () => Date } = {}) {
    this.#db = db;
    this.#now = options.now ?? (() => new Date());
    this.#audit = new AuditLog(db, { now: this.#now });
    this.#sql = {
      insert: db.prepare(`INSERT INTO unblocks (requested_at, requested_by, url, site, categories, reference, target_kind, target, target_name, reason, starts_at, ends_at, approver_role, state, decided_by, decided_at)
        VALUES (@requested_at, @requested_by, @url, @site, @categories, @reference, @target_kind, @target, @target_name, @reason, @starts_at, @ends_at, @approver_role, @state, @decided_by, @decided_at)`),
      get: db.prepare('SELECT * FROM unblocks WHERE id = ?'),
      decide: db.prepare(`UPDATE unblocks SET state = @state, decided_by = @by, decided_at = @at, decision_note = @note, site = @site, starts_at = @starts_at, ends_at = @ends_at,
        target_kind = @target_kind, target = @target, target_name = @target_name WHERE id = @id AND state = 'requested'`),
      revoke: db.prepare("UPDATE unblocks SET state = 'revoked', revoked_by = ?, revoked_at = ? WHERE id = ? AND state = 'approved'"),
      // Approved and not yet over: the policy overlay (ends_at is ISO UTC, so text order is time order).
      inForce: db.prepare("SELECT * FROM unblocks WHERE state = 'approved' AND ends_at > ? ORDER BY id"),
    };
  }

  /** Records a request; one whose approver is 'auto' is approved at once, by "auto". */
  request(r: NewUnblockRequest): UnblockRequest {
    if (r.from >= r.until) throw new UnblockStateError('an unblock must end after it starts');
    const now = this.#now().toISOString();
    const auto = r.approverRole === 'auto';
    return this.#db.transaction(() => {
      const id = Number(this.#sql.insert.run({
        requested_at: now, requested_by: r.requestedBy, url: r.url, site: r.site, categories: r.categories.join(','), reference: r.reference,
        ...targetColumns(r.target), reason: r.reason, starts_at: r.from.toISOString(), ends_at: r.until.toISOString(), approver_role: r.approverRole,
        state: auto ? 'approved' : 'requested', decided_by: auto ? 'auto' : null, decided_at: auto ? now : null,
      }).lastInsertRowid);
      const made = this.#require(id);
      this.#record(r.requestedBy, 'unblock.requested', made, {});
      if (auto) this.#record('auto', 'unblock.approved', made, { automatic: true });
      return made;
    }).immediate();
  }

  /** Approves a waiting request, optionally narrowed. */
  approve(id: number, by: string, narrowing: Narrowing = {}, note: string | null = null): UnblockRequest {
    return this.#decide(id, by, 'approved', note, narrowing);
  }

  decline(id: number, by: string, note: string): UnblockRequest {
    return this.#decide(id, by, 'declined', note, {});
  }

  /** Ends an approved unblock now. */
  revoke(id: number, by: string): UnblockRequest {
    return this.#db.transaction(() => {
      const before = this.#require(id);
      if (this.#sql.revoke.run(by, this.#now().toISOString(), id).changes === 0) throw new UnblockStateError(`unblock ${id} is ${before.state}: only an approved unblock can be revoked`);
      const after = this.#require(id);
      this.#record(by, 'unblock.revoked', after, {});
      return after;
    }).immediate();
  }

  get(id: number): UnblockRequest | undefined {
    const row = this.#sql.get.get(id);
    return row && toRequest(row);
  }

  /** Requests matching the query, newest first. */
  list(q: UnblockQuery = {}): UnblockRequest[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const inList = (column: string, values: readonly string[] | undefined): void => {
      if (values === undefined) return;
      where.push(values.length === 0 ? '0' : `${column} IN (${values.map(() => '?').join(', ')})`);
      args.push(...values);
    };
    inList('state', q.states);
    inList('approver_role', q.approverRoles);
    if (q.requestedBy !== undefined) { where.push('requested_by = ? COLLATE NOCASE'); args.push(q.requestedBy); }
    if (q.since !== undefined) { where.push('requested_at >= ?'); args.push(q.since.toISOString()); }
    if (q.before !== undefined) { where.push('requested_at < ?'); args.push(q.before.toISOString()); }
    const sql = `SELECT * FROM unblocks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...args, q.limit ?? 500) as Row[]).map(toRequest);
  }

  /** Approved unblocks not yet over at `now`, as the policy applies them. */
  inForce(now: Date): Unblock[] {
    return this.#sql.inForce.all(now.toISOString()).map((row) => {
      const r = toRequest(row);
      return { id: String(r.id), site: r.site, target: r.target, from: r.from, until: r.until, approvedBy: r.decidedBy ?? '', reason: r.reason };
    });
  }

  #decide(id: number, by: string, state: 'approved' | 'declined', note: string | null, n: Narrowing): UnblockRequest {
    return this.#db.transaction(() => {
      const before = this.#require(id);
      if (before.state !== 'requested') throw new UnblockStateError(`unblock ${id} is ${before.state} already`);
      const target = n.target ?? before.target;
      if ((n.from ?? before.from) >= (n.until ?? before.until)) throw new UnblockStateError(`unblock ${id} would end before it starts`);
      const changes = this.#sql.decide.run({
        id, state, by, at: this.#now().toISOString(), note, site: n.site ?? before.site,
        starts_at: (n.from ?? before.from).toISOString(), ends_at: (n.until ?? before.until).toISOString(), ...targetColumns(target),
      }).changes;
      if (changes === 0) throw new UnblockStateError(`unblock ${id} was decided by someone else meanwhile`);
      const after = this.#require(id);
      const narrowed = after.site !== before.site || +after.from !== +before.from || +after.until !== +before.until || targetText(after.target) !== targetText(before.target);
      this.#record(by, state === 'approved' ? 'unblock.approved' : 'unblock.declined', after, narrowed ? { requested: { site: before.site, from: before.from, until: before.until, for: targetText(before.target) } } : {});
      return after;
    }).immediate();
  }

  #record(actor: string, action: string, r: UnblockRequest, extra: Record<string, unknown>): void {
    this.#audit.append({
      actor, action, subject: `unblock ${r.id}`,
      detail: { site: r.site, categories: r.categories, for: targetText(r.target), from: r.from, until: r.until, reason: r.reason, note: r.decisionNote, ...extra },
    });
  }

  #require(id: number): UnblockRequest {
    const r = this.get(id);
    if (!r) throw new UnblockStateError(`no unblock ${id}`);
    return r;
  }
}

/** "group ks2", "class 6B (a, b)", or a username: how the target reads in lists and the audit chain. */
export function targetText(t: UnblockTarget): string {
  return t.kind === 'group' ? `group ${t.group}` : t.kind === 'user' ? t.user : `class ${t.name} (${[...t.users].join(', ')})`;
}

function targetColumns(t: UnblockTarget): { target_kind: string; target: string; target_name: string | null } {
  if (t.kind === 'group') return { target_kind: 'group', target: t.group, target_name: null };
  if (t.kind === 'user') return { target_kind: 'user', target: t.user, target_name: null };
  return { target_kind: 'users', target: [...t.users].join(','), target_name: t.name };
}

function toRequest(r: Row): UnblockRequest {
  const target: UnblockTarget = r.target_kind === 'group' ? { kind: 'group', group: r.target }
    : r.target_kind === 'user' ? { kind: 'user', user: r.target }
    : { kind: 'users', users: new Set(r.target.split(',')), name: r.target_name ?? '' };
  const date = (s: string | null): Date | null => (s === null ? null : new Date(s));
  return {
    id: r.id, requestedAt: new Date(r.requested_at), requestedBy: r.requested_by, url: r.url, site: r.site,
    categories: r.categories === '' ? [] : r.categories.split(','), reference: r.reference, target, reason: r.reason,
    from: new Date(r.starts_at), until: new Date(r.ends_at), approverRole: r.approver_role, state: r.state,
    decidedBy: r.decided_by, decidedAt: date(r.decided_at), decisionNote: r.decision_note, revokedBy: r.revoked_by, revokedAt: date(r.revoked_at),
  };
}
