// data/alerts.db: alerts, the outbox of notifications still to deliver, what each channel has
// been given, the DSL's exclusions and incidents. Its own file, so that the proxy stores an
// alert at once, before the response goes back, without waiting for the traffic writer's lock.
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
];

export function openAlertsDatabase(dataDir: string): Database {
  return openDatabase(dataDir, { file: ALERTS_FILE, migrations: ALERT_MIGRATIONS });
}
