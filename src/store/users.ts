// The people (and shared year-group or visitor logins) who sign in to the proxy: their group and
// a password hash. Passwords are hashed with scrypt (memory-hard) off the event loop, compared in
// constant time, and never leave this module in any form but the hash.
//
// verify() reads one row synchronously (an indexed lookup) and then hashes on the libuv pool:
// identity/ must cache a verified credential so that a request does not reach the store.
//
// Every change (add, password, disable, enable, import) appends an audit row in the same
// transaction as the change: a change that fails leaves no row, and no change is kept without one.
import type { Database, Statement } from 'better-sqlite3';
import { AuditLog, processActor } from './audit.js';
import { Limiter } from './hash-limiter.js';
import { dummyHash, hashPassword, isReadableHash, verifyPassword } from './password-hash.js';
import { checkDisplayName, checkEmail, checkPassword, checkUsername, USERNAME, USERNAME_RULE, type Role } from './user-rules.js';
import { parseCsv, parseFlag, readHeader, type ImportError, type ImportResult } from './users-csv.js';

/** A user as the rest of Schoolgate sees one: never the password hash. */
export interface UserRow {
  readonly id: number;
  readonly username: string;
  readonly displayName: string | null;
  readonly group: string;
  readonly disabled: boolean;
  /** A year-group or visitor login used by several people. */
  readonly shared: boolean;
  /** Staff roles in the web app (none for pupils). */
  readonly roles: readonly Role[];
  /** Where the staff app tells this person about their requests, if anywhere. */
  readonly email: string | null;
  readonly createdAt: string | null;
  readonly updatedAt: string | null;
}

export interface NewUser {
  readonly username: string;
  readonly group: string;
  readonly password: string;
  readonly displayName?: string | undefined;
  readonly shared?: boolean | undefined;
  readonly roles?: readonly Role[] | undefined;
  readonly email?: string | undefined;
}

/** What a member of staff may do in the web app; a person may hold several. */
export type VerifyResult =
  | { readonly ok: true; readonly user: UserRow }
  | { readonly ok: false; readonly reason: 'unknown' | 'disabled' | 'wrong-password' };

/** The group ids of the policy in force: a Set of ids or the policy's Map of groups. */
export type GroupIds = ReadonlySet<string> | ReadonlyMap<string, unknown>;

export interface UserStoreOptions {
  /** The policy's groups, or a function returning those in force now (policy reloads). */
  readonly groups: GroupIds | (() => GroupIds);
  readonly now?: () => Date;
  /** Who the audit rows name as making the changes; default processActor(). */
  readonly actor?: string;
  /**
   * At most this many scrypt hashes at once (each takes ~32 MiB and a libuv pool thread, which
   * DNS lookups share). Default 2.
   */
  readonly maxConcurrentHashes?: number;
}

/** A request the store refuses: bad username, group, password, or no such user. The message says why. */
export class UserError extends Error {
  override readonly name = 'UserError';
}

interface DbRow {
  id: number;
  username: string;
  display_name: string | null;
  group_id: string;
  disabled: number;
  shared: number;
  roles: string;
  email: string | null;
  created_at: string | null;
  updated_at: string | null;
}

const COLUMNS = 'id, username, display_name, group_id, disabled, shared, roles, email, created_at, updated_at';

export class UserStore {
  readonly #db: Database;
  readonly #groups: () => GroupIds;
  readonly #now: () => Date;
  readonly #limiter: Limiter;
  readonly #audit: AuditLog;
  readonly #actor: string | undefined;
  /** Unknown users are hashed against this, so they take as long as a wrong password. */
  readonly #dummy: string;
  readonly #sql: {
    get: Statement<[string], DbRow>;
    byId: Statement<[number], DbRow>;
    getWithHash: Statement<[string], DbRow & { password_hash: string }>;
    list: Statement<[], DbRow>;
    insert: Statement<[string, string | null, string, string, number, string, string]>;
    setRoles: Statement<[string, string | null, string, string]>;
    endSessions: Statement<[string]>;
    setPassword: Statement<[string, string, string]>;
    setDisabled: Statement<[number, string, string]>;
    update: Statement<[{ username: string; group: string; hash: string; name: string | null; keepName: number; shared: number | null; now: string }]>;
  };

  constructor(db: Database, options: UserStoreOptions) {
    this.#db = db;
    const groups = options.groups;
    this.#groups = typeof groups === 'function' ? groups : () => groups;
    this.#now = options.now ?? (() => new Date());
    this.#limiter = new Limiter(options.maxConcurrentHashes ?? 2);
    this.#audit = new AuditLog(db, { now: this.#now });
    this.#actor = options.actor;
    this.#dummy = dummyHash();
    this.#sql = {
      get: db.prepare(`SELECT ${COLUMNS} FROM users WHERE username = ?`),
      byId: db.prepare(`SELECT ${COLUMNS} FROM users WHERE id = ?`),
      getWithHash: db.prepare(`SELECT ${COLUMNS}, password_hash FROM users WHERE username = ?`),
      list: db.prepare(`SELECT ${COLUMNS} FROM users ORDER BY username`),
      insert: db.prepare('INSERT INTO users (username, display_name, group_id, password_hash, shared, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      setPassword: db.prepare('UPDATE users SET password_hash = ?, updated_at = ? WHERE username = ?'),
      setDisabled: db.prepare('UPDATE users SET disabled = ?, updated_at = ? WHERE username = ?'),
      setRoles: db.prepare('UPDATE users SET roles = ?, email = ?, updated_at = ? WHERE username = ?'),
      endSessions: db.prepare('DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)'),
      update: db.prepare(`UPDATE users SET group_id = @group, password_hash = @hash,
        display_name = CASE WHEN @keepName THEN display_name ELSE @name END,
        shared = COALESCE(@shared, shared), updated_at = @now WHERE username = @username`),
    };
  }

  /** Adds a user. Throws UserError when a field is not acceptable or the username is taken. */
  async add(user: NewUser): Promise<UserRow> {
    const shared = user.shared === true;
    const problem = checkUsername(user.username) ?? this.#checkGroup(user.group) ?? checkDisplayName(user.displayName) ?? checkEmail(user.email) ?? checkPassword(user.password, shared);
    if (problem) throw new UserError(problem);
    if (this.get(user.username)) throw new UserError(`user "${user.username}" already exists: use "users passwd" to change the password`);
    const hash = await this.#hash(user.password);
    const now = this.#now().toISOString();
    try {
      return this.#db.transaction(() => {
        this.#sql.insert.run(user.username, emptyToNull(user.displayName), user.group, hash, shared ? 1 : 0, now, now);
        if (user.roles?.length || user.email) this.#sql.setRoles.run((user.roles ?? []).join(','), emptyToNull(user.email), now, user.username);
        return this.#record('user.added', this.#require(user.username), {});
      }).immediate();
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new UserError(`user "${user.username}" already exists`);
      throw err;
    }
  }

  /** Sets a new password (at least 8 characters; 4 for a shared login). */
  async setPassword(username: string, password: string): Promise<UserRow> {
    const user = this.#require(username);
    const problem = checkPassword(password, user.shared);
    if (problem) throw new UserError(problem);
    const hash = await this.#hash(password);
    return this.#db.transaction(() => {
      if (this.#sql.setPassword.run(hash, this.#now().toISOString(), username).changes === 0) throw noSuchUser(username);
      // Whoever knew the old password is signed out of the staff app.
      this.#sql.endSessions.run(username);
      return this.#record('user.password-changed', this.#require(username), {});
    }).immediate();
  }

  /** Sets a person's staff roles (and e-mail address, when given). Audited. */
  setRoles(username: string, roles: readonly Role[], email?: string | null): UserRow {
    const user = this.#require(username);
    const problem = checkEmail(email ?? undefined);
    if (problem) throw new UserError(problem);
    return this.#db.transaction(() => {
      this.#sql.setRoles.run(roles.join(','), email === undefined ? user.email : emptyToNull(email ?? undefined), this.#now().toISOString(), username);
      return this.#record('user.roles-changed', this.#require(username), { previousRoles: user.roles });
    }).immediate();
  }

  disable(username: string): UserRow {
    return this.#setDisabled(username, true);
  }

  enable(username: string): UserRow {
    return this.#setDisabled(username, false);
  }

  /** Every user, by username. */
  list(): UserRow[] {
    return this.#sql.list.all().map(toUser);
  }

  /** The user with this id (a session's), if there is one. */
  byId(id: number): UserRow | undefined {
    const row = this.#sql.byId.get(id);
    return row && toUser(row);
  }

  /** The user with this username (any case), if there is one. */
  get(username: string): UserRow | undefined {
    if (!USERNAME.test(username)) return undefined;
    const row = this.#sql.get.get(username);
    return row && toUser(row);
  }

  /**
   * Checks a username and password. Every outcome costs one scrypt hash: an unknown user is
   * hashed against a dummy, and a disabled user's password is still checked, so the time taken
   * does not tell whether a username exists. The reason is for logs, not for the client.
   */
  async verify(username: string, password: string): Promise<VerifyResult> {
    const row = USERNAME.test(username) ? this.#sql.getWithHash.get(username) : undefined;
    const stored = row && isReadableHash(row.password_hash) ? row.password_hash : this.#dummy;
    const matches = await this.#limiter.run(() => verifyPassword(password, stored));
    if (!row) return { ok: false, reason: 'unknown' };
    if (row.disabled) return { ok: false, reason: 'disabled' };
    if (!matches || stored === this.#dummy) return { ok: false, reason: 'wrong-password' };
    return { ok: true, user: toUser(row) };
  }

  /**
   * Adds or updates users from CSV text: a header row naming the columns username, group,
   * password and optionally name and shared (any order), then one user a row. A row with a
   * problem is reported with its line number and skipped; the others are written in one
   * transaction. An existing user (any case) gets the row's group and password, and its name
   * and shared flag when those cells are filled in; a disabled user stays disabled.
   * With dryRun nothing is hashed or written: the result says what would happen.
   * Messages never contain a password.
   */
  async importCsv(text: string, options: { dryRun?: boolean } = {}): Promise<ImportResult> {
    const parsed = parseCsv(text);
    const errors: ImportError[] = [];
    const [header, ...records] = parsed.records;
    const columns = header?.error !== undefined ? { error: header.error } : header ? readHeader(header) : { error: 'the file is empty: it needs a header row username,group,password[,name][,shared]' };
    if (!header && parsed.error) return { added: 0, updated: 0, errors: [parsed.error] };
    if ('error' in columns) return { added: 0, updated: 0, errors: [{ line: header?.line ?? 1, message: columns.error }] };

    interface Row { line: number; username: string; group: string; password: string; name: string | undefined; shared: boolean | undefined }
    const rows: Row[] = [];
    const seen = new Map<string, number>();
    for (const record of records) {
      const { line, fields } = record;
      if (record.error !== undefined) {
        errors.push({ line, message: record.error });
        continue;
      }
      while (fields.length > columns.count && fields.at(-1)?.trim() === '') fields.pop();
      if (fields.length > columns.count) {
        errors.push({ line, message: `${fields.length} fields, but the header has ${columns.count}: put a password or name that contains a comma in double quotes` });
        continue;
      }
      // Cells left off the end of a row are empty; only the optional columns may be left off.
      const short = (['username', 'group', 'password'] as const).filter((c) => columns[c]! >= fields.length);
      if (short.length) {
        errors.push({ line, message: `${fields.length} field${fields.length === 1 ? '' : 's'}, but the header has ${columns.count}: no ${short.join(', ')}` });
        continue;
      }
      while (fields.length < columns.count) fields.push('');
      const cell = (i: number | undefined): string | undefined => (i === undefined ? undefined : fields[i]);
      const username = cell(columns.username)!.trim();
      const group = cell(columns.group)!.trim();
      const password = cell(columns.password)!;
      const name = cell(columns.name)?.trim() || undefined;
      const sharedCell = cell(columns.shared)?.trim() ?? '';
      const shared = sharedCell === '' ? undefined : parseFlag(sharedCell);
      const existing = USERNAME.test(username) ? this.get(username) : undefined;
      const problem =
        (checkUsername(username) !== undefined ? `username: use ${USERNAME_RULE}` : undefined) ??
        (seen.has(username.toLowerCase()) ? `username "${username}" is already on line ${seen.get(username.toLowerCase())}` : undefined) ??
        this.#checkGroup(group) ??
        (shared === null ? 'shared: use yes or no (or 1/0, true/false), or leave it empty' : undefined) ??
        checkDisplayName(name) ??
        (password !== password.trim() ? 'the password starts or ends with a space: remove it' : undefined) ??
        checkPassword(password, shared ?? existing?.shared ?? false);
      if (problem) {
        errors.push({ line, message: problem });
        continue;
      }
      seen.set(username.toLowerCase(), line);
      rows.push({ line, username, group, password, name, shared: shared ?? undefined });
    }
    if (parsed.error) errors.push(parsed.error);

    if (options.dryRun) {
      const updated = rows.filter((r) => this.get(r.username) !== undefined).length;
      return { added: rows.length - updated, updated, errors: errors.sort((a, b) => a.line - b.line) };
    }
    const hashes = await Promise.all(rows.map((r) => this.#hash(r.password)));
    const now = this.#now().toISOString();
    let added = 0;
    let updated = 0;
    this.#db.transaction(() => {
      rows.forEach((r, i) => {
        const hash = hashes[i]!;
        const existing = this.#sql.get.get(r.username);
        if (existing) {
          this.#sql.update.run({ username: r.username, group: r.group, hash, name: r.name ?? null, keepName: r.name === undefined ? 1 : 0, shared: r.shared === undefined ? null : r.shared ? 1 : 0, now });
          this.#record('user.updated', this.#require(r.username), { previousGroup: existing.group_id, passwordSet: true, via: 'import' });
          updated++;
        } else {
          this.#sql.insert.run(r.username, r.name ?? null, r.group, hash, r.shared ? 1 : 0, now, now);
          this.#record('user.added', this.#require(r.username), { via: 'import' });
          added++;
        }
      });
    }).immediate();
    return { added, updated, errors: errors.sort((a, b) => a.line - b.line) };
  }

  /** The group ids new users may be given. */
  groupIds(): string[] {
    return [...this.#groups().keys()];
  }

  #checkGroup(group: string): string | undefined {
    if (this.#groups().has(group)) return undefined;
    return `unknown group "${group}": use one of ${this.groupIds().join(', ')}`;
  }

  #setDisabled(username: string, disabled: boolean): UserRow {
    return this.#db.transaction(() => {
      if (this.#sql.setDisabled.run(disabled ? 1 : 0, this.#now().toISOString(), username).changes === 0) throw noSuchUser(username);
      if (disabled) this.#sql.endSessions.run(username);
      return this.#record(disabled ? 'user.disabled' : 'user.enabled', this.#require(username), {});
    }).immediate();
  }

  /** Appends the audit row for a change to user (call inside the change's transaction) and returns user. */
  #record(action: string, user: UserRow, extra: Record<string, unknown>): UserRow {
    const detail = { group: user.group, displayName: user.displayName, shared: user.shared, disabled: user.disabled, roles: user.roles, ...extra };
    this.#audit.append({ actor: this.#actor ?? processActor(), action, subject: user.username, detail });
    return user;
  }

  #require(username: string): UserRow {
    const user = this.get(username);
    if (!user) throw noSuchUser(username);
    return user;
  }

  #hash(password: string): Promise<string> {
    return this.#limiter.run(() => hashPassword(password));
  }
}

function noSuchUser(username: string): UserError {
  return new UserError(`no user "${username.slice(0, 80)}"`);
}

function emptyToNull(s: string | undefined): string | null {
  const t = s?.trim();
  return t ? t : null;
}

function toUser(row: DbRow): UserRow {
  return {
    id: row.id, username: row.username, displayName: row.display_name, group: row.group_id,
    disabled: row.disabled !== 0, shared: row.shared !== 0, roles: row.roles === '' ? [] : (row.roles.split(',') as Role[]), email: row.email,
    createdAt: row.created_at, updatedAt: row.updated_at,
  };
}

