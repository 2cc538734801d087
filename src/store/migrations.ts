// The database schema as an ordered list of migrations. Each runs once, in its own transaction,
// and is recorded in schema_migrations; a database written by a newer Schoolgate is refused
// rather than guessed at. To change the schema, append a migration: never edit one that shipped.
import type { Database } from 'better-sqlite3';

export interface Migration {
  /** 1, 2, 3, … with no gaps, in order. */
  readonly version: number;
  /** A short name, recorded beside the version. */
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users',
    sql: `
      CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
        display_name  TEXT,
        group_id      TEXT    NOT NULL,
        password_hash TEXT    NOT NULL,
        disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        shared        INTEGER NOT NULL DEFAULT 0 CHECK (shared IN (0, 1)), -- year-group or visitor logins
        created_at    TEXT,
        updated_at    TEXT
      );
    `,
  },
  {
    version: 2,
    name: 'concerns',
    // "Report a concern" from the block and warn pages: what a pupil or anyone else wanted the
    // safeguarding team to know. Kept until the DSL deals with it.
    sql: `
      CREATE TABLE concerns (
        id          INTEGER PRIMARY KEY,
        at          TEXT    NOT NULL,
        reference   TEXT,
        url         TEXT,
        group_id    TEXT    NOT NULL,
        username    TEXT,
        address     TEXT    NOT NULL,
        text        TEXT    NOT NULL
      );
      CREATE INDEX concerns_at ON concerns (at);
    `,
  },
  {
    version: 3,
    name: 'traffic, audit, alerts, unblocks, policy versions',
    // Traffic rows hold numbers, not text: hosts, paths, people, client addresses and the small
    // label sets (groups, methods, category sets, rule texts) are interned once in dictionary
    // tables, so a row costs tens of bytes. A row's id is its time: milliseconds since the
    // epoch times 64 plus a sequence number, so a device's time range is a key range
    // and a row replayed after a crash is recognised and not stored twice.
    sql: `
      -- seen: the last day (days since 1970) a row used the entry, so that retention can drop
      -- entries (a path with its query, a search term) once no kept row can refer to them.
      CREATE TABLE hosts   (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE, seen INTEGER NOT NULL);
      CREATE TABLE paths   (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE, seen INTEGER NOT NULL);
      CREATE TABLE terms   (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE, seen INTEGER NOT NULL);
      CREATE TABLE people  (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE, seen INTEGER NOT NULL);
      CREATE TABLE clients (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE, seen INTEGER NOT NULL);
      CREATE TABLE labels  (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE, seen INTEGER NOT NULL);
      CREATE INDEX paths_seen ON paths (seen);
      CREATE INDEX terms_seen ON terms (seen);

      -- Stored by device: WITHOUT ROWID keyed by (client, id), so a device's rows over a range are
      -- one stretch of the table, and no index by device is needed (an index cost as much as the
      -- rows). A person's rows are found through person_devices.
      CREATE TABLE traffic (
        client    INTEGER NOT NULL,    -- clients.id: the device's address
        id        INTEGER NOT NULL,    -- ms since 1970 * 64 + sequence
        person    INTEGER,             -- people.id: who signed in, if anyone
        grp       INTEGER NOT NULL,    -- labels.id: the group filtered as
        method    INTEGER NOT NULL,    -- labels.id: GET, POST, CONNECT, ...
        scheme    INTEGER NOT NULL,    -- 0 http, 1 https (a tunnel), 2 ws (an upgrade)
        host      INTEGER NOT NULL,    -- hosts.id
        path      INTEGER,             -- paths.id: path and query (the query redacted for some groups); null for tunnels
        cats      INTEGER,             -- labels.id of the comma-joined category set; null when none
        action    INTEGER NOT NULL,    -- 0 allowed, 1 warned, 2 blocked, 3 continued after a warning, 4 refused by the proxy
        rule_kind INTEGER NOT NULL,    -- 0 default, 1 illegal, 2 unblock, 3 user, 4 site list, 5 schedule, 6 level, 7 proxy
        rule      INTEGER,             -- labels.id: the winning rule's text
        status    INTEGER,             -- HTTP status sent to the client (200 for an established tunnel)
        up        INTEGER,             -- bytes client -> site
        down      INTEGER,             -- bytes site -> client
        ms        INTEGER,             -- duration
        term      INTEGER,             -- terms.id: the search term, when it was a search
        alert     INTEGER,             -- alerts.id (data/alerts.db), when the request raised one
        PRIMARY KEY (client, id)
      ) WITHOUT ROWID;
      -- Which devices each person used, and over which ids: a person's rows are read device by
      -- device within these spans. Kept by the writer with the rows.
      CREATE TABLE person_devices (
        person   INTEGER NOT NULL,
        client   INTEGER NOT NULL,
        first_id INTEGER NOT NULL,
        last_id  INTEGER NOT NULL,
        PRIMARY KEY (person, client)
      ) WITHOUT ROWID;
      CREATE INDEX traffic_illegal ON traffic (id) WHERE rule_kind = 1;

      -- Rollups kept by the writer in the same transaction as the rows: reports read these, not
      -- millions of rows. hour = hours since 1970 (UTC); day = the school's local date.
      CREATE TABLE traffic_hourly (
        hour INTEGER NOT NULL, grp INTEGER NOT NULL, action INTEGER NOT NULL,
        requests INTEGER NOT NULL, bytes INTEGER NOT NULL,
        PRIMARY KEY (hour, grp, action)
      ) WITHOUT ROWID;
      CREATE TABLE blocked_daily (
        day TEXT NOT NULL, grp INTEGER NOT NULL, host INTEGER NOT NULL, cats INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        PRIMARY KEY (day, grp, host, cats)
      ) WITHOUT ROWID;

      -- Safeguarding alerts (filled by the alert pipeline).
      CREATE TABLE alerts (
        id          INTEGER PRIMARY KEY,
        at          TEXT    NOT NULL,
        traffic_id  INTEGER,
        severity    TEXT    NOT NULL,
        categories  TEXT    NOT NULL,
        client      TEXT    NOT NULL,
        username    TEXT,
        group_id    TEXT    NOT NULL,
        url         TEXT,
        term        TEXT,
        state       TEXT    NOT NULL DEFAULT 'new'
      );
      CREATE INDEX alerts_at ON alerts (at);

      -- Temporary unblocks: requested by a teacher, decided by staff or a senior leader, always expiring.
      CREATE TABLE unblocks (
        id           INTEGER PRIMARY KEY,
        requested_at TEXT    NOT NULL,
        requested_by TEXT    NOT NULL,
        site         TEXT    NOT NULL,
        categories   TEXT    NOT NULL DEFAULT '',
        scope_kind   TEXT    NOT NULL CHECK (scope_kind IN ('group', 'class', 'user')),
        scope        TEXT    NOT NULL,
        reason       TEXT    NOT NULL,
        starts_at    TEXT    NOT NULL,
        ends_at      TEXT    NOT NULL,
        state        TEXT    NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'approved', 'refused', 'revoked')),
        decided_by   TEXT,
        decided_at   TEXT
      );
      CREATE INDEX unblocks_ends ON unblocks (ends_at);

      -- Every configuration (policy) the proxy has run with, by content hash.
      CREATE TABLE policy_versions (
        id      INTEGER PRIMARY KEY,
        at      TEXT NOT NULL,
        sha256  TEXT NOT NULL UNIQUE,
        file    TEXT NOT NULL,
        text    TEXT NOT NULL
      );

      -- The audit chain: each row's hash covers the row and the previous row's hash, so an
      -- edit or a deletion behind Schoolgate's back breaks the chain from that row on.
      CREATE TABLE audit (
        id      INTEGER PRIMARY KEY,
        at      TEXT NOT NULL,
        actor   TEXT NOT NULL,
        action  TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail  TEXT NOT NULL,
        prev    TEXT NOT NULL,
        hash    TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'alerts move to alerts.db',
    // Alerts and their outbox have their own file (data/alerts.db, src/alerts/db.ts), so that an
    // alert is stored at once without waiting behind the traffic writer's batches. The table
    // version 3 made here was never written to.
    sql: 'DROP TABLE alerts;',
  },
  {
    version: 5,
    name: 'staff app: roles, sessions, unblock requests',
    // The unblocks table version 3 made was never written to; the staff app's requests need
    // more than it held (the page asked from, who approves, the decision's note, revocation).
    sql: `
      -- Staff roles, comma-separated: technician, dsl, slt, teacher, governor. Pupils have none.
      ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '';
      -- Where a requester is told about decisions on their unblock requests.
      ALTER TABLE users ADD COLUMN email TEXT;

      -- Signed-in sessions. The id is a SHA-256 of the cookie's token: the database alone holds
      -- no usable session. csrf is the token every form and API change must carry.
      CREATE TABLE sessions (
        id         TEXT    PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        csrf       TEXT    NOT NULL,
        created_at TEXT    NOT NULL,
        expires_at TEXT    NOT NULL,
        address    TEXT
      );
      CREATE INDEX sessions_user ON sessions (user_id);
      CREATE INDEX sessions_expires ON sessions (expires_at);

      DROP TABLE unblocks;
      CREATE TABLE unblocks (
        id            INTEGER PRIMARY KEY,
        requested_at  TEXT    NOT NULL,
        requested_by  TEXT    NOT NULL,
        url           TEXT    NOT NULL,
        site          TEXT    NOT NULL,
        categories    TEXT    NOT NULL DEFAULT '',
        reference     TEXT,
        target_kind   TEXT    NOT NULL CHECK (target_kind IN ('group', 'users', 'user')),
        target        TEXT    NOT NULL,
        target_name   TEXT,
        reason        TEXT    NOT NULL,
        starts_at     TEXT    NOT NULL,
        ends_at       TEXT    NOT NULL,
        approver_role TEXT    NOT NULL CHECK (approver_role IN ('technician', 'slt', 'auto')),
        state         TEXT    NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'approved', 'declined', 'revoked')),
        decided_by    TEXT,
        decided_at    TEXT,
        decision_note TEXT,
        revoked_by    TEXT,
        revoked_at    TEXT
      );
      CREATE INDEX unblocks_state ON unblocks (state, ends_at);
      CREATE INDEX unblocks_requested ON unblocks (requested_at);
    `,
  },
  {
    version: 6,
    name: 'staff app: who changed the configuration',
    // The staff app writes the configuration file and the reload that follows records the new
    // version; the reload cannot know who asked. Before writing, the app leaves the new text's
    // hash here with the person and their reason, and the version is recorded as theirs; a text
    // nobody claimed is a hand edit on the server.
    sql: `
      CREATE TABLE policy_claims (
        sha256 TEXT PRIMARY KEY,
        actor  TEXT NOT NULL,
        reason TEXT NOT NULL,
        at     TEXT NOT NULL
      );
    `,
  },
];

/** The database cannot be used by this code: newer than it, or from a different line of migrations. */
export class SchemaError extends Error {
  override readonly name = 'SchemaError';
}

export interface MigrationReport {
  /** Versions applied by this call, in order. */
  readonly applied: number[];
  /** The schema version after this call. */
  readonly version: number;
}

/**
 * Brings the database up to the last migration. Safe to call on every open, and from two
 * processes at once: each migration re-checks inside an IMMEDIATE transaction that nobody
 * applied it meanwhile.
 */
export function runMigrations(db: Database, migrations: readonly Migration[] = MIGRATIONS, now: () => Date = () => new Date()): MigrationReport {
  checkList(migrations);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const latest = migrations.at(-1)?.version ?? 0;
  const appliedRows = (): { version: number; name: string }[] =>
    db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as { version: number; name: string }[];
  checkApplied(db, appliedRows(), migrations, latest);

  const applied: number[] = [];
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations) {
    const ran = db.transaction(() => {
      if (isApplied.get(m.version) !== undefined) return false;
      db.exec(m.sql);
      record.run(m.version, m.name, now().toISOString());
      return true;
    }).immediate();
    if (ran) applied.push(m.version);
  }
  checkApplied(db, appliedRows(), migrations, latest);
  return { applied, version: latest };
}

function checkList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" has version ${m.version}: versions must run 1, 2, 3, … without gaps (expected ${i + 1})`);
  });
}

function checkApplied(db: Database, rows: readonly { version: number; name: string }[], migrations: readonly Migration[], latest: number): void {
  const newest = rows.at(-1)?.version ?? 0;
  if (newest > latest) {
    throw new SchemaError(`${db.name} is at schema version ${newest}, but this Schoolgate knows versions up to ${latest}: it was written by a newer Schoolgate. Run that version (or newer), or restore a backup taken before the upgrade; this version will not touch it.`);
  }
  for (const row of rows) {
    const m = migrations[row.version - 1];
    if (m === undefined || m.version !== row.version || m.name !== row.name) {
      throw new SchemaError(`${db.name}: schema version ${row.version} was recorded as "${row.name}" but this Schoolgate's version ${row.version} is "${m?.name ?? '(none)'}": the database comes from a different build. Restore a backup made by this version.`);
    }
  }
}
