// Alerts off the event loop, with the guarantee kept: the real `schoolgate start`, danger searches
// through it, then the process killed with SIGKILL the moment the answers are in. Started again,
// every alert is in data/alerts.db (folded as before) and the DSL's webhook is called once for
// each. With another connection holding alerts.db's write lock, the answers still come back
// (nothing on the request path waits for SQLite): the alerts are stored when the lock goes, and
// the traffic rows name them; killed while locked, the next start stores them from the journal.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOURNAL_DIR } from '../../src/alerts/journal-file.js';
import { journalled } from '../helpers/alerts.js';
import { spawnSchoolgate } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';
import { CONFIG_DIR } from '../helpers/policy.js';
import { readDb } from '../helpers/read-db.js';
import { closeAll, startOrigin, viaProxy, writeTestConfig } from '../helpers/proxy.js';
import { eventually } from '../helpers/raw-http.js';
import { webhookReceiver, type WebhookReceiver } from '../helpers/receivers.js';

const SECRET = 'test-webhook-secret-crash';
const tmp = tempDir();
let origin: http.Server;
let originPort = 0;

beforeAll(async () => {
  ({ server: origin, port: originPort } = await startOrigin());
});

afterAll(async () => {
  await closeAll(origin);
  tmp.cleanup();
});

interface Receivers {
  readonly hook: WebhookReceiver;
  readonly config: string;
  close(): Promise<void>;
}

/** A webhook receiver of this test's own (the DSL's only channel), and a configuration that calls it. */
async function receivers(name: string): Promise<Receivers> {
  const hook = await webhookReceiver(SECRET);
  const file = join(tmp.dir, `safeguarding-${name}.yaml`);
  const shipped = readFileSync(join(CONFIG_DIR, 'safeguarding.yaml'), 'utf8');
  writeFileSync(file, `${shipped.slice(0, shipped.indexOf('\nrecipients:'))}\nrecipients:\n  dsl: []\n  webhooks:\n    - { url: "${hook.url}", secret: "${SECRET}" }\n`);
  const config = writeTestConfig(tmp.dir, `safeguarding: ${file}\nproxy:\n  networks:\n    - { cidr: 127.0.0.0/8, group: ks2 }\n  resolve:\n    www.google.com: 127.0.0.1\n`);
  return { hook, config, close: () => hook.close() };
}

async function start(config: string, data: string) {
  const p = spawnSchoolgate(['start', '--config', config, '--data', data, '--port', '0', '--admin-port', '0']);
  const line = await p.waitFor(/Schoolgate is running/);
  return { p, port: (JSON.parse(line) as { port: number }).port };
}

/** A danger search (suicide, sent at once) from a device of its own: a new alert each, unless the device searched before. */
async function search(port: number, from: string): Promise<number> {
  return (await viaProxy(port, `http://www.google.com:${originPort}/search?q=i+want+to+kill+myself`, { localAddress: from })).status;
}

/** Each alert's device and count, by device. */
const alertsIn = (data: string): { client: string; count: number; category: string }[] =>
  readDb(join(data, 'alerts.db'), (db) => db.prepare('SELECT client, count, category FROM alerts ORDER BY client').all() as { client: string; count: number; category: string }[]);

const immediateRows = (data: string): { alertId: number; state: string }[] =>
  readDb(join(data, 'alerts.db'), (db) => db.prepare("SELECT alert_id AS alertId, state FROM outbox WHERE kind = 'immediate' ORDER BY id").all() as { alertId: number; state: string }[]);

const devices = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `127.0.0.${from + i}`);

/** Every alert's immediate notification delivered, and the webhook called exactly once for each. */
async function notifiedOnce(r: Receivers, data: string, alerts: number): Promise<void> {
  expect(await eventually(() => immediateRows(data).filter((o) => o.state === 'delivered').length === alerts, 20_000)).toBe(true);
  const ids = r.hook.calls.map((c) => c.delivery);
  expect(ids.length).toBe(alerts);
  expect(new Set(ids).size).toBe(alerts);
}

describe('alerts after kill -9', () => {
  it('are all stored, folded as before, and notified once when the proxy is killed right after answering', async () => {
    const r = await receivers('killed');
    const data = join(tmp.dir, 'killed');
    try {
      const first = await start(r.config, data);
      // Nothing reaches the DSL before the kill: a webhook call then could be repeated after it.
      r.hook.failNext(1_000);
      const clients = devices(40, 20);
      expect(await Promise.all(clients.map((c) => search(first.port, c)))).toEqual(clients.map(() => 200));
      // A second search by the first device folds into its alert.
      expect(await search(first.port, clients[0]!)).toBe(200);
      first.p.child.kill('SIGKILL');
      await first.p.exited;

      r.hook.failNext(0);
      const second = await start(r.config, data);
      // Serving means the journal was replayed: every alert is in alerts.db.
      const stored = alertsIn(data);
      expect(stored.map((a) => a.client)).toEqual([...clients].sort());
      expect(stored.every((a) => a.category === 'suicide')).toBe(true);
      expect(stored.map((a) => a.count)).toEqual([...clients].sort().map((c) => (c === clients[0] ? 2 : 1)));
      // One notification sent at once per alert (the fold is not notified again), each delivered once.
      expect(immediateRows(data).length).toBe(clients.length);
      await notifiedOnce(r, data, clients.length);
      second.p.child.kill('SIGTERM');
      expect(await second.p.exited).toBe(0);
      // Everything journalled is stored: the journal is empty after a clean stop.
      expect(readdirSync(join(data, JOURNAL_DIR))).toEqual([]);
    } finally {
      await r.close();
    }
  });

  it('are answered while another connection holds the write lock, stored when it goes, and named by their traffic rows', async () => {
    const r = await receivers('locked');
    const data = join(tmp.dir, 'locked');
    try {
      const first = await start(r.config, data);
      const blocker = new BetterSqlite3(join(data, 'alerts.db'));
      blocker.exec('BEGIN IMMEDIATE');
      const clients = devices(70, 10);
      let answered: number[];
      try {
        answered = await Promise.all(clients.map((c) => search(first.port, c)));
        // Answered while the lock is held: journalled, and not in alerts.db yet.
        expect(journalled(data).flat()).toEqual(clients.map(() => 'suicide'));
        expect(blocker.prepare('SELECT count(*) FROM alerts').pluck().get()).toBe(0);
        // The writer thread is the one waiting.
        await first.p.waitFor(/an alert could not be stored yet/);
      } finally {
        blocker.exec('COMMIT');
        blocker.close();
      }
      expect(answered).toEqual(clients.map(() => 200));
      await first.p.waitFor(/takes writes again/);
      // Another process's commits are seen by reading: the writer stores the ten in turn.
      expect(await eventually(() => alertsIn(data).length === clients.length, 20_000)).toBe(true);
      await notifiedOnce(r, data, clients.length);
      first.p.child.kill('SIGTERM');
      expect(await first.p.exited).toBe(0);
      // Each search's traffic row names its alert, as when alerts were stored before the answer.
      const ids = readDb(join(data, 'alerts.db'), (db) => new Map((db.prepare('SELECT client, id FROM alerts').all() as { client: string; id: number }[]).map((a) => [a.client, a.id])));
      const rows = readDb(join(data, 'schoolgate.db'), (db) => db.prepare(`SELECT c.text AS client, t.alert FROM traffic t JOIN clients c ON c.id = t.client
        JOIN paths p ON p.id = t.path WHERE p.text LIKE '/search%' ORDER BY c.text`).all() as { client: string; alert: number | null }[]);
      expect(rows).toEqual([...clients].sort().map((c) => ({ client: c, alert: ids.get(c) })));
    } finally {
      await r.close();
    }
  });

  it('killed while the write lock is held: the next start stores them from the journal and notifies each once', async () => {
    const r = await receivers('killed-locked');
    const data = join(tmp.dir, 'killed-locked');
    try {
      const first = await start(r.config, data);
      const blocker = new BetterSqlite3(join(data, 'alerts.db'));
      blocker.exec('BEGIN IMMEDIATE');
      const clients = devices(90, 10);
      try {
        expect(await Promise.all(clients.map((c) => search(first.port, c)))).toEqual(clients.map(() => 200));
        first.p.child.kill('SIGKILL');
        await first.p.exited;
        expect(blocker.prepare('SELECT count(*) FROM alerts').pluck().get()).toBe(0);
      } finally {
        blocker.exec('COMMIT');
        blocker.close();
      }
      const second = await start(r.config, data);
      expect(JSON.parse(await second.p.waitFor(/"msg":"alerts: journal replayed"/))).toMatchObject({ stored: clients.length, already: 0 });
      expect(alertsIn(data).map((a) => a.client)).toEqual([...clients].sort());
      expect(immediateRows(data).length).toBe(clients.length);
      await notifiedOnce(r, data, clients.length);
      second.p.child.kill('SIGTERM');
      expect(await second.p.exited).toBe(0);
    } finally {
      await r.close();
    }
  });
});
