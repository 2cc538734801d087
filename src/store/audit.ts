// The audit chain: every policy change, user change, unblock decision and incident action is a
// row with who did it (actor), what (action, subject, detail) and a hash over the row and the
// previous row's hash. A row edited behind Schoolgate's back no longer matches its hash; a row
// deleted, inserted or reordered breaks the link from the next row. verify() walks the whole
// chain and names the first broken row.
//
// What a chain cannot show on its own: rows cut off the end (the rows left still form a good
// chain), or a chain rewritten from some row on with the hashes recomputed (SHA-256 here is not
// keyed: anyone who can write the database can compute it). Both need an anchor kept outside the
// database: verify() returns the head hash, which can be written down or sent elsewhere, and
// verify({ expectHead }) checks that the chain still holds that hash. An anchor vouches for the
// rows up to it, not for rows written after it.
import { createHash } from 'node:crypto';
import { userInfo } from 'node:os';
import type { Database, Statement, Transaction } from 'better-sqlite3';

/** The prev of the first row. */
export const GENESIS = '0'.repeat(64);

/** Detail keys that would carry a secret: refused, whatever the nesting, so none is ever stored. */
const SECRET_KEY = /^(?:pass(?:word|wd)?|password_?hash|secret|token)$/i;
const ACTION = /^[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)+$/;

export interface AuditEntry {
  /** Who did it: a person's username, or the account a process runs as. */
  readonly actor: string;
  /** What kind of change, as `area.verb`: user.added, policy.changed, unblock.approved, … */
  readonly action: string;
  /** What it was done to: a username, a file, an unblock's id. */
  readonly subject: string;
  /** The change itself: a JSON-serialisable object. Never a password or a password hash. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface AuditRow extends AuditEntry {
  readonly id: number;
  /** ISO time. */
  readonly at: string;
  /** The previous row's hash (GENESIS for the first row). */
  readonly prev: string;
  readonly hash: string;
}

export interface AuditBreak {
  /** The first row that fails. */
  readonly id: number;
  /** edited: the row does not match its hash; unlinked: its prev is not the previous row's hash; gap: ids do not follow on. */
  readonly kind: 'edited' | 'unlinked' | 'gap';
  readonly reason: string;
}

export type VerifyResult =
  /** rows: how many; head: the last row's hash (GENESIS when there are none); anchorId: the row holding expectHead. */
  | { readonly ok: true; readonly rows: number; readonly head: string; readonly anchorId?: number }
  /** rows: the rows before firstBroken, all good; head: the last good row's hash. */
  | { readonly ok: false; readonly rows: number; readonly head: string; readonly firstBroken: AuditBreak }
  /** The chain is good but does not hold expectHead: rows were cut off the end or rewritten. */
  | { readonly ok: false; readonly rows: number; readonly head: string; readonly missingHead: string };

export interface ListOptions {
  readonly limit?: number;
  readonly actor?: string;
  readonly action?: string;
}

interface DbRow {
  id: number; at: string; actor: string; action: string; subject: string; detail: string; prev: string; hash: string;
}

const COLUMNS = 'id, at, actor, action, subject, detail, prev, hash';

/** SHA-256 (hex) over a JSON array of the row's fields and the previous row's hash: unambiguous, whatever the text holds. */
export function auditHash(row: Omit<DbRow, 'hash'>): string {
  const encoding = JSON.stringify([row.id, row.at, row.actor, row.action, row.subject, row.detail, row.prev]);
  return createHash('sha256').update(encoding, 'utf8').digest('hex');
}

/**
 * Who a process acts for: SCHOOLGATE_ACTOR when set, else the operating-system account (with the
 * person behind sudo, when there is one). Self-declared, as anything a process says about itself:
 * the chain proves what was recorded, not who typed it.
 */
export function processActor(env: NodeJS.ProcessEnv = process.env): string {
  const named = env.SCHOOLGATE_ACTOR?.trim();
  if (named) return named;
  let account: string;
  try {
    account = userInfo().username;
  } catch {
    account = `uid ${process.getuid?.() ?? 'unknown'}`; // a container user with no passwd entry
  }
  const sudo = env.SUDO_USER?.trim();
  return sudo && sudo !== account ? `${sudo} (sudo as ${account})` : account;
}

export class AuditLog {
  readonly #now: () => Date;
  readonly #sql: {
    last: Statement<[], { id: number; hash: string }>;
    insert: Statement<[DbRow]>;
    all: Statement<[], DbRow>;
    list: Statement<[{ limit: number; actor: string | null; action: string | null }], DbRow>;
  };
  readonly #append: Transaction<(fields: Omit<DbRow, 'id' | 'prev' | 'hash'>) => DbRow>;

  constructor(db: Database, options: { now?: () => Date } = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#sql = {
      last: db.prepare('SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1'),
      insert: db.prepare(`INSERT INTO audit (${COLUMNS}) VALUES (@id, @at, @actor, @action, @subject, @detail, @prev, @hash)`),
      all: db.prepare(`SELECT ${COLUMNS} FROM audit ORDER BY id`),
      list: db.prepare(`SELECT ${COLUMNS} FROM audit WHERE (@actor IS NULL OR actor = @actor) AND (@action IS NULL OR action = @action) ORDER BY id DESC LIMIT @limit`),
    };
    // Read the head and write after it in one IMMEDIATE transaction: the write lock is taken
    // first, so a CLI command and the running proxy appending at once queue (busy timeout)
    // instead of both chaining onto the same head. Inside a caller's transaction this is a
    // savepoint, and the row is written or rolled back with the caller's change.
    this.#append = db.transaction((fields: Omit<DbRow, 'id' | 'prev' | 'hash'>): DbRow => {
      const last = this.#sql.last.get();
      const unhashed = { ...fields, id: (last?.id ?? 0) + 1, prev: last?.hash ?? GENESIS };
      const row = { ...unhashed, hash: auditHash(unhashed) };
      this.#sql.insert.run(row);
      return row;
    });
  }

  /** Appends a row and returns it. */
  append(entry: AuditEntry): AuditRow {
    if (entry.actor.trim() === '') throw new Error('an audit row needs an actor');
    if (!ACTION.test(entry.action)) throw new Error(`audit action "${entry.action}" must be written area.verb in lower case`);
    const detail = JSON.stringify(entry.detail, (key, value: unknown) => {
      if (SECRET_KEY.test(key)) throw new Error(`audit detail key "${key}" would hold a secret: audit rows never carry passwords, hashes or tokens`);
      return value;
    }) as string | undefined;
    if (detail === undefined || !detail.startsWith('{')) throw new Error('audit detail must be a JSON object');
    return toRow(this.#append.immediate({ at: this.#now().toISOString(), actor: entry.actor, action: entry.action, subject: entry.subject, detail }));
  }

  /**
   * Walks the whole chain in id order, one row at a time, and stops at the first row that fails.
   * With expectHead (a hash written down earlier), a good chain must also still hold that hash.
   */
  verify(options: { expectHead?: string } = {}): VerifyResult {
    let rows = 0;
    let prevId = 0;
    let head = GENESIS;
    let anchorId: number | undefined;
    for (const row of this.#sql.all.iterate()) {
      const broken = checkRow(row, prevId, head);
      if (broken) return { ok: false, rows, head, firstBroken: broken };
      if (row.hash === options.expectHead) anchorId = row.id;
      rows++;
      prevId = row.id;
      head = row.hash;
    }
    if (options.expectHead !== undefined && options.expectHead !== GENESIS && anchorId === undefined) {
      return { ok: false, rows, head, missingHead: options.expectHead };
    }
    return { ok: true, rows, head, ...(anchorId !== undefined ? { anchorId } : {}) };
  }

  /** The newest rows first (default 100), optionally only one actor's or one action's. */
  list(options: ListOptions = {}): AuditRow[] {
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`limit must be a whole number of at least 1, not ${limit}`);
    return this.#sql.list.all({ limit, actor: options.actor ?? null, action: options.action ?? null }).map(toRow);
  }
}

/** Why a row breaks the chain after the row prevId with hash prevHash, or undefined. */
function checkRow(row: DbRow, prevId: number, prevHash: string): AuditBreak | undefined {
  const id = row.id;
  if (auditHash(row) !== row.hash) {
    return { id, kind: 'edited', reason: 'the hash does not match the row: the row was changed after it was written' };
  }
  const before = prevId === 0 ? 'the start of the chain' : `row ${prevId}`;
  if (row.prev !== prevHash) {
    const missing = id === prevId + 1 ? '' : id === prevId + 2 ? ` (row ${prevId + 1} is missing)` : ` (rows ${prevId + 1} to ${id - 1} are missing)`;
    return { id, kind: 'unlinked', reason: `prev does not match the hash of ${before}: rows before it were deleted, inserted or reordered, or ${before} was rewritten with its hash recomputed${missing}` };
  }
  if (id !== prevId + 1) {
    return { id, kind: 'gap', reason: `the ids are not consecutive: row ${id} follows ${before}, yet names its hash as prev (a row written outside Schoolgate)` };
  }
  return undefined;
}

function toRow(row: DbRow): AuditRow {
  return { ...row, detail: JSON.parse(row.detail) as Record<string, unknown> };
}
