// data/alerts.db: alerts, the outbox of notifications still to deliver, what each channel has
// been given, the DSL's exclusions and incidents. Its own file, so that the alert writer
// (journal-worker.ts) stores an alert at once, without waiting for the traffic writer's lock.
import { openDatabase, type Database } from '../store/db.js';
import type { Migration } from '../store/migrations.js';

export const ALERTS_FILE = 'alerts.db';

export const ALERT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'alerts and outbox',
    sql: `
      CREATE TABLE alerts (
        id          INTEGER PRIMARY KEY,
        key         TEXT    NOT NULL,            -- alertKey(): person or device, and category
        category    TEXT    NOT NULL,
        severity    TEXT    NOT NULL CHECK (severity IN ('danger', 'caution', 'advisory')),
        illegal     INTEGER NOT NULL,
        first_at    INTEGER NOT NULL,            -- ms since 1970
        last_at     INTEGER NOT NULL,
        count       INTEGER NOT NULL,
        client      TEXT    NOT NULL,
        username    TEXT,
        group_id    TEXT    NOT NULL,
        traffic_id  INTEGER,                     -- the first request's traffic row
        summary     TEXT    NOT NULL,            -- the AlertSummary as JSON: triggers, actions, term, URL
        notified    TEXT,                        -- the highest severity sent at once
        state       TEXT    NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'acknowledged', 'escalated', 'closed', 'false-positive')),
        updated_at  INTEGER NOT NULL
      );
      CREATE INDEX alerts_key ON alerts (key, last_at);
      CREATE INDEX alerts_last ON alerts (last_at);

      -- One row per notification to send: written in the same transaction as the alert.
      CREATE TABLE outbox (
        id          INTEGER PRIMARY KEY,
        alert_id    INTEGER REFERENCES alerts (id),
        kind        TEXT    NOT NULL CHECK (kind IN ('immediate', 'digest')),
        severity    TEXT,
        created_at  INTEGER NOT NULL,
        relayed_at  INTEGER,                     -- handed to the queue
        state       TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT,
        done_at     INTEGER,
        payload     TEXT                         -- a digest's period and range, as JSON
      );
      CREATE INDEX outbox_state ON outbox (state, id);

      -- What each channel has been given, so a retried delivery repeats only what failed.
      CREATE TABLE deliveries (
        outbox_id   INTEGER NOT NULL REFERENCES outbox (id),
        channel     TEXT    NOT NULL,            -- 'email' or 'webhook:' + URL
        at          INTEGER NOT NULL,
        PRIMARY KEY (outbox_id, channel)
      ) WITHOUT ROWID;

      CREATE TABLE exclusions (
        id          INTEGER PRIMARY KEY,
        kind        TEXT    NOT NULL CHECK (kind IN ('term', 'site', 'url')),
        value       TEXT    NOT NULL,
        group_id    TEXT,
        reason      TEXT,
        created_by  TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        removed_at  INTEGER
      );

      CREATE TABLE incidents (
        id            INTEGER PRIMARY KEY,
        created_at    INTEGER NOT NULL,
        created_by    TEXT    NOT NULL,
        type          TEXT    NOT NULL,
        description   TEXT    NOT NULL,
        action_taken  TEXT    NOT NULL,
        referred_to   TEXT,
        referred_by   TEXT,
        referred_at   TEXT
      );
      CREATE TABLE incident_alerts (
        incident_id INTEGER NOT NULL REFERENCES incidents (id),
        alert_id    INTEGER NOT NULL REFERENCES alerts (id),
        PRIMARY KEY (incident_id, alert_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'nobody to tell',
    // A notification with no recipient and no channel used to be marked delivered. It gets a
    // state of its own ('untold', never counted as delivered) and told_in, the catch-up digest
    // that later told the DSL. SQLite cannot change a CHECK in place: both tables are rebuilt,
    // deliveries first, so its foreign key follows the renamed outbox. Rows an earlier version
    // marked delivered without any channel taking them are what they always were: untold.
    sql: `
      CREATE TABLE outbox_v2 (
        id          INTEGER PRIMARY KEY,
        alert_id    INTEGER REFERENCES alerts (id),
        kind        TEXT    NOT NULL CHECK (kind IN ('immediate', 'digest')),
        severity    TEXT,
        created_at  INTEGER NOT NULL,
        relayed_at  INTEGER,
        state       TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed', 'untold')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT,                        -- for untold: why nobody could be told
        done_at     INTEGER,
        payload     TEXT,
        told_in     INTEGER                      -- untold: the catch-up digest's outbox row that told the DSL later
      );
      INSERT INTO outbox_v2 (id, alert_id, kind, severity, created_at, relayed_at, state, attempts, last_error, done_at, payload)
        SELECT id, alert_id, kind, severity, created_at, relayed_at, state, attempts, last_error, done_at, payload FROM outbox;
      UPDATE outbox_v2 SET state = 'untold', last_error = 'nobody to tell: no recipient or channel was configured (recorded as delivered by an earlier Schoolgate)'
        WHERE state = 'delivered' AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbox_id = outbox_v2.id)
          AND (alert_id IS NULL OR EXISTS (SELECT 1 FROM alerts a WHERE a.id = outbox_v2.alert_id));
      CREATE TABLE deliveries_v2 (
        outbox_id   INTEGER NOT NULL REFERENCES outbox_v2 (id),
        channel     TEXT    NOT NULL,
        at          INTEGER NOT NULL,
        PRIMARY KEY (outbox_id, channel)
      ) WITHOUT ROWID;
      INSERT INTO deliveries_v2 SELECT outbox_id, channel, at FROM deliveries;
      DROP TABLE deliveries;
      DROP TABLE outbox;
      ALTER TABLE outbox_v2 RENAME TO outbox;
      ALTER TABLE deliveries_v2 RENAME TO deliveries;
      CREATE INDEX outbox_state ON outbox (state, id);
      -- An alert's notifications (alerts list shows what became of the latest).
      CREATE INDEX outbox_alert ON outbox (alert_id, id);
    `,
  },
  {
    version: 3,
    name: 'dsl phrases',
    // The DSL's own phrases and weights (schoolgate phrases add|weight|remove), laid over the
    // shipped phrase files by a running Schoolgate. A change never edits a row's phrase or
    // weight: it ends the row in force (removed_at) and, unless it is a removal, adds a new one,
    // so the table is the history and at most one row per category and phrase is in force.
    sql: `
      CREATE TABLE phrase_changes (
        id              INTEGER PRIMARY KEY,
        category        TEXT    NOT NULL,
        phrase          TEXT    NOT NULL,            -- as the DSL wrote it
        phrase_key      TEXT    NOT NULL,            -- phraseKey(): two spellings the engine reads alike share it
        weight          REAL    NOT NULL,
        language        TEXT    NOT NULL,
        within          INTEGER,                     -- a combination's window in words; null: the engine's default
        intent          INTEGER NOT NULL DEFAULT 0 CHECK (intent IN (0, 1)),
        reason          TEXT    NOT NULL,
        created_by      TEXT    NOT NULL,
        created_at      INTEGER NOT NULL,            -- ms since 1970
        removed_at      INTEGER,                     -- replaced or removed
        removed_by      TEXT,
        removed_reason  TEXT
      );
      CREATE UNIQUE INDEX phrase_changes_in_force ON phrase_changes (category, phrase_key) WHERE removed_at IS NULL;
    `,
  },
  {
    version: 4,
    name: 'alert journal',
    // The proxy writes each alert to a journal file (src/alerts/journal.ts) and a writer thread
    // stores it here; a row per journal entry stored, written in the same transaction as the
    // alert, so replaying the journal after a crash stores each entry once. Rows go when their
    // segment file has been replayed and deleted.
    sql: `
      CREATE TABLE journal_stored (
        segment   TEXT    NOT NULL,            -- the journal file's name
        seq       INTEGER NOT NULL,            -- the entry's place in it
        alert_id  INTEGER,                     -- the first alert the entry raised or folded into
        PRIMARY KEY (segment, seq)
      ) WITHOUT ROWID;
    `,
  },
];

export function openAlertsDatabase(dataDir: string): Database {
  return openDatabase(dataDir, { file: ALERTS_FILE, migrations: ALERT_MIGRATIONS });
}
