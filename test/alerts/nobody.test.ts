// Nobody to tell. The shipped safeguarding file names no DSL and no channel: an alert raised then
// is stored, its notification marked "not delivered: nobody to tell" (never delivered), the log
// and `schoolgate alerts` say so, and `schoolgate start` warns at every start and reload. Once a
// recipient is set up, everything nobody was told about goes to them in one catch-up digest, once.
// Real SQLite, the real in-process queue, a real SMTP server and webhook, the real command.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import BetterSqlite3 from 'better-sqlite3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_MIGRATIONS, ALERTS_FILE, openAlertsDatabase } from '../../src/alerts/db.js';
import { checkRecipients } from '../../src/alerts/nobody.js';
import { AlertService } from '../../src/alerts/service.js';
import { AlertStore } from '../../src/alerts/store.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { openDatabase } from '../../src/store/db.js';
import { raiseAt, searchAlert } from '../helpers/alerts.js';
import { schoolgate, spawnSchoolgate } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';
import { CONFIG_DIR } from '../helpers/policy.js';
import { writeTestConfig } from '../helpers/proxy.js';
import { eventually } from '../helpers/raw-http.js';
import { safeguardingWith, smtpReceiver, webhookReceiver, type SmtpReceiver, type WebhookReceiver } from '../helpers/receivers.js';

const SECRET = 'nobody-test-webhook-secret';
const SCHOOL = 'school:\n  name: Test School\n  timezone: Europe/London\n';
const TERM = 'how to kill myself';
const tmp = tempDir('schoolgate-nobody-');
const data = join(tmp.dir, 'data');
let smtp: SmtpReceiver;
let hook: WebhookReceiver;
/** The shipped safeguarding file: nobody to tell. */
let nobodyFile = '';
/** The same, with the DSL by e-mail and a webhook. */
let toldFile = '';
let nobody: SchoolgateConfig;
let told: SchoolgateConfig;

/** A logger whose JSON lines the test can read. */
function keptLog() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

beforeAll(async () => {
  smtp = await smtpReceiver();
  hook = await webhookReceiver(SECRET);
  const sg = join(tmp.dir, 'safeguarding.yaml');
  writeFileSync(sg, safeguardingWith(readFileSync(join(CONFIG_DIR, 'safeguarding.yaml'), 'utf8'), smtp.port, hook.url, SECRET));
  nobodyFile = writeTestConfig(tmp.dir, SCHOOL);
  toldFile = writeTestConfig(tmp.dir, `safeguarding: ${sg}\n${SCHOOL}`);
  nobody = loadConfig(nobodyFile);
  told = loadConfig(toldFile);
});

afterAll(async () => {
  await smtp?.close();
  await hook?.close();
  tmp.cleanup();
});

describe('an alert for the digest, while nobody can be told', () => {
  it('is not promised to a digest that reaches nobody, in `alerts list` or `alerts show`', async () => {
    const digestData = join(tmp.dir, 'digest-data');
    const db = openAlertsDatabase(digestData);
    let id = 0;
    try {
      // Caution: not sent at once, it waits for the digest.
      id = raiseAt(new AlertStore(db), nobody.safeguarding, '2026-11-19T09:00:00Z', { user: 'amy', client: '10.1.2.5' }, searchAlert('bullying', 'caution', 'everyone hates me at school', 'everyone hates me'));
    } finally {
      db.close();
    }
    const list = await schoolgate(['alerts', 'list', '--config', nobodyFile, '--data', digestData]);
    expect(list.stdout.trimEnd().split('\n')[1]!.split(/ {2,}/).at(-1)).toBe('NOBODY TO TELL');
    const shown = await schoolgate(['alerts', 'show', String(id), '--config', nobodyFile, '--data', digestData]);
    expect(shown.stdout).toContain('Notifications: none sent at once, and the digest it waits for reaches nobody: the safeguarding file names no DSL or deputy to e-mail and no webhook');
    // With a DSL set up, the same alert does wait for a digest someone reads.
    const told = await schoolgate(['alerts', 'list', '--config', toldFile, '--data', digestData]);
    expect(told.stdout.trimEnd().split('\n')[1]!.split(/ {2,}/).at(-1)).toBe('in the digest');
  });
});

describe('an alert nobody can be told about', () => {
  let config: SchoolgateConfig;
  let service: AlertService;
  const kept = keptLog();
  let alertId = 0;
  let untoldRow = 0;
  let catchUp = 0;
  beforeAll(async () => {
    config = nobody;
    service = await AlertService.start({ dataDir: data, config: () => config, log: kept.log, retry: { pollMs: 50, backoffMs: 50, attempts: 3 } });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('is stored as not delivered (nobody to tell), never as delivered, and the log says so', async () => {
    expect(checkRecipients(service, nobody, kept.log)).toBe(false);
    expect(kept.lines.at(-1)).toMatchObject({ level: 40, msg: expect.stringMatching(/^safeguarding alerts: nobody will be told: the safeguarding file names no DSL or deputy to e-mail and no webhook/) });

    alertId = raiseAt(service.store, nobody.safeguarding, new Date().toISOString(), { user: 'amy', client: '10.1.2.5' }, searchAlert('suicide', 'danger', TERM, 'kill myself'));
    untoldRow = service.store.outboxOf(alertId)[0]!.id;
    service.queue.kick();
    expect(await eventually(() => service.store.outbox(untoldRow)!.state !== 'pending')).toBe(true);
    expect(service.store.outbox(untoldRow)).toMatchObject({ state: 'untold', attempts: 1, toldIn: null, lastError: expect.stringMatching(/^nobody to tell: /) });
    expect(service.store.deliveries(untoldRow)).toEqual([]);
    expect(service.store.get(alertId, nobody.safeguarding)!.delivery).toBe('untold');
    expect(kept.lines.some((l) => l.level === 40 && l.msg.startsWith('safeguarding alert not delivered: nobody to tell: '))).toBe(true);
    // Not retried while nobody can be told: it is no longer waiting in the outbox.
    expect(service.store.pending(100)).toEqual([]);
    expect(smtp.received.length + hook.calls.length).toBe(0);
  });

  it('says so in `alerts show` and `alerts list`', async () => {
    const shown = await schoolgate(['alerts', 'show', String(alertId), '--config', nobodyFile, '--data', data]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`\\nNotifications:\\n {2}danger notification ${untoldRow}, [^:]+:\\d\\d: not delivered: nobody to tell: the safeguarding file names no DSL or deputy to e-mail and no webhook \\(recipients:\\); it goes in a catch-up digest once a recipient or channel is set up\\n`));
    expect(shown.stdout).not.toMatch(/delivered after/);
    const list = await schoolgate(['alerts', 'list', '--config', nobodyFile, '--data', data]);
    const rows = list.stdout.trimEnd().split('\n').map((l) => l.split(/ {2,}/));
    expect(rows[0]!.at(-1)).toBe('DSL told');
    expect(rows[1]).toEqual([String(alertId), expect.any(String), 'new', 'danger', 'suicide', 'amy', 'ks2', '1', 'NOBODY TO TELL']);
    const json = JSON.parse((await schoolgate(['alerts', 'list', '--json', '--config', nobodyFile, '--data', data])).stdout) as { id: number; delivery: string }[];
    expect(json[0]).toMatchObject({ id: alertId, delivery: 'untold' });
  });

  it('goes to the DSL in one catch-up digest once a recipient is set up, and only once', async () => {
    config = told;
    expect(checkRecipients(service, told, kept.log)).toBe(true);
    catchUp = service.store.outbox(untoldRow)!.toldIn!;
    expect(catchUp).toBeGreaterThan(untoldRow);
    expect(await eventually(() => service.store.outbox(catchUp)!.state === 'delivered')).toBe(true);
    const mail = smtp.received.at(-1)!;
    expect(mail.subject).toBe('[Test School] Safeguarding alerts nobody was told about: 1 alert');
    expect(mail.text).toContain('Until now Schoolgate had no way to send safeguarding alerts to anyone');
    expect(mail.text).toContain('not sent at once: nobody to tell');
    expect(mail.text).toContain(TERM);
    const call = hook.calls.at(-1)!;
    expect(call.signed).toBe(true);
    expect(call.body).toMatchObject({ type: 'digest', period: 'catch-up', alerts: [{ id: String(alertId), category: 'suicide', note: expect.stringContaining('nobody to tell') }] });
    // The old row stays what it was (nobody was told then), and says where it went later.
    expect(service.store.outbox(untoldRow)).toMatchObject({ state: 'untold', toldIn: catchUp });
    expect(checkRecipients(service, told, kept.log)).toBe(true);
    expect(service.store.untold()).toEqual([]);
    expect(smtp.received.length).toBe(1);
    const shown = await schoolgate(['alerts', 'show', String(alertId), '--config', toldFile, '--data', data]);
    expect(shown.stdout).toContain(`not delivered: nobody to tell: the safeguarding file names no DSL or deputy to e-mail and no webhook (recipients:); told later in the catch-up digest, notification ${catchUp}\n`);
  });

  it('is delivered as usual once someone can be told', async () => {
    const next = raiseAt(service.store, told.safeguarding, new Date().toISOString(), { user: 'ben', client: '10.1.2.6' }, searchAlert('suicide', 'danger', TERM, 'kill myself'));
    const row = service.store.outboxOf(next)[0]!.id;
    service.queue.kick();
    expect(await eventually(() => service.store.outbox(row)!.state === 'delivered')).toBe(true);
    expect(service.store.deliveries(row).map((d) => d.channel)).toEqual(['email', `webhook:${hook.url}`]);
    expect(service.store.get(next, told.safeguarding)!.delivery).toBe('delivered');
  });
});

describe('alerts.db from before "nobody to tell"', () => {
  it('turns a notification an earlier version marked delivered with no channel into untold, and keeps real deliveries', () => {
    const dir = join(tmp.dir, 'old-data');
    const v1 = openDatabase(dir, { file: ALERTS_FILE, migrations: ALERT_MIGRATIONS.slice(0, 1) });
    const store = new AlertStore(v1);
    const at = '2026-11-18T10:00:00Z';
    // The v1 store writes what v1 had: an alert, its outbox row, marked delivered.
    v1.prepare(`INSERT INTO alerts (id, key, category, severity, illegal, first_at, last_at, count, client, username, group_id, summary, updated_at)
      VALUES (1, 'k1', 'suicide', 'danger', 0, 1, 1, 1, '10.1.2.5', 'amy', 'ks2', '{}', 1), (2, 'k2', 'suicide', 'danger', 0, 1, 1, 1, '10.1.2.6', 'ben', 'ks2', '{}', 1)`).run();
    v1.prepare("INSERT INTO outbox (id, alert_id, kind, severity, created_at, state, attempts, done_at) VALUES (1, 1, 'immediate', 'danger', ?, 'delivered', 1, ?), (2, 2, 'immediate', 'danger', ?, 'delivered', 1, ?)")
      .run(Date.parse(at), Date.parse(at), Date.parse(at), Date.parse(at));
    store.recordDelivery(2, 'email', Date.parse(at));
    v1.close();
    const db = openAlertsDatabase(dir);
    try {
      const now = new AlertStore(db);
      expect(now.outbox(1)).toMatchObject({ state: 'untold', toldIn: null, lastError: expect.stringMatching(/^nobody to tell: /) });
      expect(now.outbox(2)).toMatchObject({ state: 'delivered' });
      expect(now.deliveries(2)).toEqual([{ channel: 'email', at: Date.parse(at) }]);
      // The rebuilt tables keep their rules: a delivery for a row that does not exist is refused.
      expect(() => now.recordDelivery(99, 'email', 1)).toThrow(/FOREIGN KEY/);
    } finally {
      db.close();
    }
    const raw = new BetterSqlite3(join(dir, ALERTS_FILE), { readonly: true });
    try {
      expect(raw.prepare("SELECT sql FROM sqlite_schema WHERE name = 'deliveries'").pluck().get()).toMatch(/REFERENCES "?outbox"? \(id\)/);
    } finally {
      raw.close();
    }
  });
});

describe('schoolgate start with nobody to tell', () => {
  it('warns at start and again at each reload', async () => {
    const running = spawnSchoolgate(['start', '--port', '0', '--config', nobodyFile, '--data', join(tmp.dir, 'start-data')]);
    try {
      const line = JSON.parse(await running.waitFor(/nobody will be told/)) as { level: number; msg: string };
      expect(line.level).toBe(40);
      expect(line.msg).toMatch(/^safeguarding alerts: nobody will be told: .+ \(recipients:\)\. Alerts are stored/);
      await running.waitFor(/Schoolgate is running/);
      const after = running.lines();
      running.child.kill('SIGHUP');
      await running.waitFor(/nobody will be told/, after);
    } finally {
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
    }
  });
});
