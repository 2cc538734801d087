// `schoolgate alerts` and `schoolgate digest` end to end: the real command in a child process on
// a data folder seeded through the real stores; each step's output, exit code, rows and audit
// rows; a false positive's exclusion reaching an alert service in another process (this one)
// within a second; and digests sent now, and by a running `schoolgate start`, to a real SMTP
// server and webhook.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAlertsDatabase } from '../../src/alerts/db.js';
import { AlertService } from '../../src/alerts/service.js';
import { AlertStore } from '../../src/alerts/store.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { loadLists } from '../../src/lists/load.js';
import { createLogger } from '../../src/log.js';
import { decide } from '../../src/policy/decide.js';
import { AuditLog } from '../../src/store/audit.js';
import { openDatabase } from '../../src/store/db.js';
import { listAlert, raiseAt, searchAlert, writeTraffic } from '../helpers/alerts.js';
import { schoolgate, spawnSchoolgate, type Run } from '../helpers/cli.js';
import { tempDir } from '../helpers/lists.js';
import { CONFIG_DIR } from '../helpers/policy.js';
import { writeTestConfig } from '../helpers/proxy.js';
import { eventually } from '../helpers/raw-http.js';
import { safeguardingWith, smtpReceiver, webhookReceiver, type SmtpReceiver, type WebhookReceiver } from '../helpers/receivers.js';

const SECRET = 'alerts-cli-webhook-secret';
const SCHOOL = 'school:\n  name: Test School\n  timezone: Europe/London\n  staffAppUrl: https://staff.school.example\n';
const HIDE = 'how to hide my cuts from mum';
const tmp = tempDir('schoolgate-alerts-cli-');
const data = join(tmp.dir, 'data');
let smtp: SmtpReceiver;
let hook: WebhookReceiver;
let configFile = '';
let config: SchoolgateConfig;
const ids = { amy: 0, device: 0, illegal: 0, bullying: 0 };
let traffic: number[] = [];

/** The command as the DSL runs it, on the test's configuration and data folder. */
const run = (...args: string[]): Promise<Run> => schoolgate([...args, '--config', configFile, '--data', data], { env: { SCHOOLGATE_ACTOR: 'dsl.jane' } });
const auditRows = () => {
  const db = new BetterSqlite3(join(data, 'schoolgate.db'), { readonly: true });
  try {
    return new AuditLog(db).list({ limit: 1000 }).reverse();
  } finally {
    db.close();
  }
};
const alertsDb = <T>(read: (db: BetterSqlite3.Database) => T): T => {
  const db = new BetterSqlite3(join(data, 'alerts.db'), { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
};

beforeAll(async () => {
  smtp = await smtpReceiver();
  hook = await webhookReceiver(SECRET);
  const sgFile = join(tmp.dir, 'safeguarding.yaml');
  writeFileSync(sgFile, safeguardingWith(readFileSync(join(CONFIG_DIR, 'safeguarding.yaml'), 'utf8'), smtp.port, hook.url, SECRET));
  configFile = writeTestConfig(tmp.dir, `safeguarding: ${sgFile}\n${SCHOOL}`);
  config = loadConfig(configFile);
  const alerts = openAlertsDatabase(data);
  const main = openDatabase(data);
  const store = new AlertStore(alerts);
  const sg = config.safeguarding;
  const amy = { user: 'amy', client: '10.1.2.5' };
  ids.amy = raiseAt(store, sg, '2026-11-18T10:00:00Z', amy, searchAlert('self-harm', 'danger', HIDE, 'hide my cuts'));
  raiseAt(store, sg, '2026-11-18T10:05:00Z', amy, searchAlert('self-harm', 'danger', HIDE, 'hide my cuts'));
  ids.device = raiseAt(store, sg, '2026-11-18T11:00:00.500Z', { user: null, client: '10.1.2.9' }, listAlert('adult-content', 'advisory', 'adult', 'adult.selftest.invalid'));
  ids.illegal = raiseAt(store, sg, '2026-11-18T12:00:00Z', { user: 'ben', client: '10.1.2.6' }, listAlert('child-sexual-abuse', 'danger', 'iwf', 'abuse.iwf-test.invalid', true));
  ids.bullying = raiseAt(store, sg, '2026-11-19T09:00:00Z', amy, searchAlert('bullying', 'caution', 'everyone hates you', 'everyone hates you'));
  const search = { scheme: 'https', host: 'www.google.co.uk', path: '/search?q=how+to+hide+my+cuts+from+mum', categories: 'search-engines', term: HIDE } as const;
  traffic = writeTraffic(main, [
    ['2026-11-18T08:59:59.999Z', { path: '/too-early' }],
    ['2026-11-18T09:00:00.000Z', { path: '/sport' }],
    ['2026-11-18T10:00:00.000Z', { ...search, alert: ids.amy }],
    ['2026-11-18T10:20:00.000Z', { host: 'abuse.iwf-test.invalid', path: '/x', categories: 'iwf', action: 'block', ruleKind: 'illegal', rule: 'illegal content (IWF list)', status: 403 }],
    ['2026-11-18T11:05:00.000Z', { path: '/last' }],
    ['2026-11-18T12:00:00.000Z', { client: '10.1.2.6', user: 'ben', host: 'abuse.iwf-test.invalid', path: '/y', categories: 'iwf', action: 'block', ruleKind: 'illegal', rule: 'illegal content (IWF list)', status: 403, alert: ids.illegal }],
  ]);
  main.close();
  alerts.close();
});

afterAll(async () => {
  await smtp?.close();
  await hook?.close();
  tmp.cleanup();
});

describe('schoolgate alerts', () => {
  it('lists alerts newest first as a table or JSON, filtered; a bad filter is a usage error', async () => {
    const table = await run('alerts', 'list');
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    expect(table.stdout.trimEnd().split('\n').map((l) => l.split(/ {2,}/))).toEqual([
      ['id', 'last seen', 'state', 'severity', 'concern', 'who', 'group', 'count', 'DSL told'],
      [String(ids.bullying), '2026-11-19 09:00', 'new', 'caution', 'bullying', 'amy', 'ks2', '1', 'in the digest'],
      [String(ids.illegal), '2026-11-18 12:00', 'new', 'danger', 'child-sexual-abuse', 'ben', 'ks2', '1', 'sending'],
      [String(ids.device), '2026-11-18 11:00', 'new', 'advisory', 'adult-content', 'device 10.1.2.9', 'ks2', '1', 'in the digest'],
      [String(ids.amy), '2026-11-18 10:05', 'new', 'danger', 'self-harm', 'amy', 'ks2', '2', 'sending'],
    ]);
    const json = JSON.parse((await run('alerts', 'list', '--json')).stdout) as Record<string, unknown>[];
    expect(json.map((a) => [a.id, a.state, a.category])).toEqual([
      [ids.bullying, 'new', 'bullying'], [ids.illegal, 'new', 'child-sexual-abuse'], [ids.device, 'new', 'adult-content'], [ids.amy, 'new', 'self-harm'],
    ]);
    expect(json[1]).toMatchObject({ illegal: true, url: null, searchTerm: null, link: `https://staff.school.example/alerts/${ids.illegal}` });
    const filtered = JSON.parse((await run('alerts', 'list', '--state', 'new', '--category', 'self-harm', '--user', 'AMY', '--since', '2026-11-18', '--json')).stdout) as { id: number; count: number; searchTerm: string }[];
    expect(filtered.map((a) => [a.id, a.count, a.searchTerm])).toEqual([[ids.amy, 2, HIDE]]);
    const bad = await run('alerts', 'list', '--state', 'open');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^schoolgate alerts: --state: "open" is not a state: use new, acknowledged/);
  });

  it('shows an alert with its triggers, its notification and the browsing an hour either side; an illegal address never', async () => {
    const shown = await run('alerts', 'show', String(ids.amy));
    expect(shown.code).toBe(0);
    const out = shown.stdout;
    expect(out).toMatch(/^Safeguarding alert: Self-harm and eating disorders \(DANGER\)\n/);
    expect(out).toContain(`Search term:  ${HIDE}\n`);
    expect(out).toContain('danger: phrase "hide my cuts" (self-harm, weight 10)');
    expect(out).toContain('State:        new\n');
    expect(out).toMatch(/\nNotifications:\n {2}danger notification \d+, 2026-11-18 10:00: pending after 0 attempts \(no channel has taken it yet\)\n/);
    expect(out).toContain('\nIncidents: none recorded\n');
    const browsing = out.slice(out.indexOf('Browsing of')).trimEnd().split('\n');
    expect(browsing[0]).toBe('Browsing of user amy, 2026-11-18 09:00 to 2026-11-18 11:05: 4 requests (> marks this alert\'s)');
    expect(browsing.slice(2).map((l) => l.trim().split(/ {2,}/))).toEqual([
      ['2026-11-18 09:00', 'allow', 'http://www.bbc.co.uk/sport', 'news'],
      ['>', '2026-11-18 10:00', 'allow', 'https://www.google.co.uk/search?q=how+to+hide+my+cuts+from+mum', 'search-engines', HIDE],
      ['2026-11-18 10:20', 'block', '[withheld: illegal content]', 'iwf'],
      ['2026-11-18 11:05', 'allow', 'http://www.bbc.co.uk/last', 'news'],
    ]);
    const json = JSON.parse((await run('alerts', 'show', String(ids.amy), '--json')).stdout) as { alert: { id: number; state: string }; context: { by: unknown; from: string; to: string; rows: { id: number }[] }; outbox: unknown[] };
    expect(json.alert).toMatchObject({ id: ids.amy, state: 'new', count: 2 });
    expect(json.context).toMatchObject({ by: { user: 'amy' }, from: '2026-11-18T09:00:00.000Z', to: '2026-11-18T11:05:00.000Z', truncated: false });
    expect(json.context.rows.map((r) => r.id)).toEqual([1, 2, 3, 4].map((i) => traffic[i]));
    expect(json.outbox).toEqual([expect.objectContaining({ kind: 'immediate', severity: 'danger', state: 'pending', channels: [] })]);

    const illegal = await run('alerts', 'show', String(ids.illegal));
    expect(illegal.code).toBe(0);
    expect(illegal.stdout).toContain('refer to the police');
    expect(illegal.stdout).toContain('[withheld: illegal content]');
    expect(illegal.stdout).not.toContain('iwf-test');
  });

  it('acknowledges and closes, refusing a step that does not follow or an alert that does not exist, with exit codes', async () => {
    const ack = await run('alerts', 'ack', String(ids.device));
    expect([ack.code, ack.stdout, ack.stderr]).toEqual([0, `alert ${ids.device} acknowledged\n`, '']);
    const again = await run('alerts', 'ack', String(ids.device));
    expect([again.code, again.stdout, again.stderr]).toEqual([1, '', `schoolgate alerts: alert ${ids.device} is acknowledged: it cannot be acknowledged\n`]);
    const escalated = await run('alerts', 'escalate', String(ids.device));
    expect(escalated.code).toBe(0);
    const closed = await run('alerts', 'close', String(ids.device), '--json');
    expect(closed.code).toBe(0);
    expect(JSON.parse(closed.stdout)).toMatchObject({ id: ids.device, state: 'closed', category: 'adult-content' });
    const missing = await run('alerts', 'close', '999');
    expect([missing.code, missing.stderr]).toEqual([1, 'schoolgate alerts: no alert 999\n']);
    const usage = await Promise.all([run('alerts', 'ack'), run('alerts', 'list', '3'), run('alerts', 'ack', String(ids.amy), '--reason', 'x'), run('alerts', 'ack', 'seven')]);
    expect(usage.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(usage.map((r) => r.stderr.split('\n')[0])).toEqual([
      'schoolgate alerts: alerts ack needs the alert\'s id: schoolgate alerts ack ID', 'schoolgate alerts: alerts list takes no id',
      'schoolgate alerts: --reason does not go with alerts ack', 'schoolgate alerts: ID: "seven" is not an alert id (a whole number)',
    ]);
    expect(auditRows().map((r) => [r.actor, r.action, r.subject, r.detail.to])).toEqual([
      ['dsl.jane', 'alert.acknowledged', `alert ${ids.device}`, 'acknowledged'],
      ['dsl.jane', 'alert.escalated', `alert ${ids.device}`, 'escalated'],
      ['dsl.jane', 'alert.closed', `alert ${ids.device}`, 'closed'],
    ]);
  });

  it('marks a false positive with an exclusion that an alert service in another process applies within a second', async () => {
    const { classifier } = await loadLists(config, { dataDir: join(tmp.dir, 'lists-data') });
    // The service's clock, moved by the test: "within a second" is a second of it, not of the machine.
    let clock = Date.now();
    const service = new AlertService(openAlertsDatabase(data), { dataDir: data, config: () => config, log: createLogger({ level: 'silent' }), now: () => clock });
    try {
      const c = classifier.classify(`https://www.google.co.uk/search?q=${HIDE.replaceAll(' ', '+')}`);
      const pupil = decide({ group: 'ks2' }, c, config.policy, new Date());
      const staff = decide({ group: 'staff' }, c, config.policy, new Date());
      const raised = await service.raise(c, pupil, { client: '10.9.9.9', user: 'zoe', group: 'ks2', trafficId: null });
      expect(raised).not.toBeNull();
      const before = auditRows().length;
      const fp = await run('alerts', 'false-positive', String(raised), '--exclude-term', 'hide my cuts', '--group', 'ks2', '--reason', 'the KS2 first-aid lesson');
      expect(fp.stderr).toBe('');
      expect(fp.stdout).toBe(`alert ${raised} marked a false positive; excluded term "hide my cuts" for ks2 (exclusion 1): a running Schoolgate applies it within a second\n`);
      // A second after the service last looked, it has seen the other process's commit.
      clock += 1_000;
      expect(service.raise(c, pupil, { client: '10.9.9.8', user: 'yan', group: 'ks2', trafficId: null })).toBeNull();
      // For ks2 only: staff still raise it.
      expect(service.raise(c, staff, { client: '10.2.0.7', user: 'm.jones', group: 'staff', trafficId: null })).not.toBeNull();
      expect(auditRows().slice(before).map((r) => [r.action, r.subject])).toEqual([['alert.false-positive', `alert ${raised}`], ['exclusion.added', 'exclusion 1']]);
    } finally {
      await service.close();
    }
    const refused = await run('alerts', 'false-positive', String(ids.illegal), '--exclude-site', 'abuse.iwf-test.invalid');
    expect([refused.code, refused.stderr]).toEqual([1, `schoolgate alerts: alert ${ids.illegal} is about illegal content: exclusions never apply to illegal-list attempts\n`]);
  });

  it('records an incident against two alerts from the concern form\'s fields', async () => {
    const missing = await run('alerts', 'incident', '--alerts', String(ids.amy), '--type', 'Self-harm');
    expect([missing.code, missing.stderr.split('\n')[0]]).toEqual([2, 'schoolgate alerts: alerts incident needs --description, --action-taken']);
    const recorded = await run('alerts', 'incident', '--alerts', `${ids.amy},${ids.bullying}`, '--type', 'Self-harm: online search',
      '--description', 'Searched twice in maths', '--action-taken', 'Spoke to her with her tutor; parents called',
      '--referred-to', 'MASH', '--referred-by', 'Jane Smith (DSL)', '--referred-at', '2026-11-18T15:20');
    expect([recorded.code, recorded.stdout, recorded.stderr]).toEqual([0, `incident 1 recorded against alerts ${ids.amy}, ${ids.bullying}\n`, '']);
    expect(alertsDb((db) => db.prepare('SELECT type, description, action_taken, referred_to, referred_by, referred_at, created_by FROM incidents').all())).toEqual([{
      type: 'Self-harm: online search', description: 'Searched twice in maths', action_taken: 'Spoke to her with her tutor; parents called',
      referred_to: 'MASH', referred_by: 'Jane Smith (DSL)', referred_at: '2026-11-18T15:20:00.000Z', created_by: 'dsl.jane',
    }]);
    const row = auditRows().at(-1)!;
    expect([row.action, row.subject, row.detail.alerts]).toEqual(['incident.recorded', 'incident 1', [ids.amy, ids.bullying]]);
    const shown = await run('alerts', 'show', String(ids.bullying));
    expect(shown.stdout).toContain('\nIncidents:\n  incident 1, ');
    expect(shown.stdout).toContain('    referred to MASH by Jane Smith (DSL) at 2026-11-18 15:20\n');
    const verify = await run('audit', 'verify');
    expect(verify.code).toBe(0);
  });
});

describe('schoolgate digest', () => {
  const lastDigest = () => alertsDb((db) => db.prepare("SELECT id, payload, state, attempts, last_error FROM outbox WHERE kind = 'digest' ORDER BY id DESC LIMIT 1").get()) as
    { id: number; payload: string; state: string; attempts: number; last_error: string | null };
  const alertsIn = (from: number, to: number) => alertsDb((db) => db.prepare('SELECT count(*) FROM alerts WHERE last_at >= ? AND last_at < ?').pluck().get(from, to)) as number;

  it('says when the digests go', async () => {
    const r = await run('digest');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^daily {3}16:00, next \d{4}-\d\d-\d\d 16:00 \(Europe\/London\)\nweekly {2}fri 16:30, next \d{4}-\d\d-\d\d 16:30 \(Europe\/London\)\n$/);
  });

  it('sends the daily and the weekly digest now to the SMTP server and the webhook', async () => {
    const started = Date.now();
    const daily = await run('digest', '--send-now');
    expect(daily.stderr).toBe('');
    expect(daily.code).toBe(0);
    expect(daily.stdout).toMatch(/^daily digest delivered \(.+ to .+\): e-mail, webhook 127\.0\.0\.1:\d+\n$/);
    const row = lastDigest();
    const p = JSON.parse(row.payload) as { period: string; from: number; to: number };
    expect(p.period).toBe('daily');
    expect(p.to).toBeGreaterThanOrEqual(started);
    expect(p.to - p.from).toBe(86_400_000); // the first daily digest: the last 24 hours
    expect(row.state).toBe('delivered');
    const n = alertsIn(p.from, p.to);
    const mail = smtp.received.at(-1)!;
    expect(mail.subject).toBe(`[Test School] Daily safeguarding digest: ${n === 0 ? 'nothing new' : `${n} alert${n === 1 ? '' : 's'}`}`);
    expect(hook.calls.at(-1)!.body).toMatchObject({ type: 'digest', period: 'daily', from: new Date(p.from).toISOString(), to: new Date(p.to).toISOString() });
    expect((hook.calls.at(-1)!.body.alerts as unknown[]).length).toBe(n);

    const weekly = await run('digest', '--send-now', '--period', 'weekly');
    expect(weekly.code).toBe(0);
    const w = JSON.parse(lastDigest().payload) as { period: string; from: number; to: number };
    expect(w.period).toBe('weekly');
    expect(Math.abs(w.to - w.from - 7 * 86_400_000)).toBeLessThanOrEqual(3_600_000);
    expect(smtp.received.at(-1)!.subject).toMatch(/^\[Test School\] Weekly safeguarding digest: /);
    // The next daily digest starts where the last one ended.
    await run('digest', '--send-now');
    expect((JSON.parse(lastDigest().payload) as { from: number }).from).toBe(p.to);
  });

  it('exits 1 with the reason when a channel refuses, leaving the digest in the outbox', async () => {
    const mails = smtp.received.length;
    hook.failNext(1);
    const r = await run('digest', '--send-now');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^schoolgate digest: the daily digest \(.+\) was not delivered: webhook 127\.0\.0\.1:\d+: .+It stays in the outbox \(notification \d+\): a running Schoolgate retries it\.\n$/);
    expect(lastDigest()).toMatchObject({ state: 'pending', attempts: 1 });
    expect(smtp.received.length).toBe(mails + 1);
    const nobody = await schoolgate(['digest', '--send-now', '--config', writeTestConfig(tmp.dir, SCHOOL), '--data', data]);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/^schoolgate digest: nobody to send it to: /);
    const usage = await run('digest', '--period', 'weekly');
    expect(usage.code).toBe(2);
  });

  it('runs in schoolgate start: a daily run missed while stopped is sent when it starts', async () => {
    const fresh = join(tmp.dir, 'data-start');
    const db = openAlertsDatabase(fresh);
    const store = new AlertStore(db);
    // The last daily digest ended four days ago: at least one school day's run has been missed since.
    const end = Date.now() - 4 * 86_400_000;
    store.markDelivered(store.addDigest('daily', end - 86_400_000, end, end)!, end);
    db.close();
    const mails = smtp.received.length;
    const running = spawnSchoolgate(['start', '--port', '0', '--config', configFile, '--data', fresh]);
    try {
      await running.waitFor(/Schoolgate is running/);
      expect(await eventually(() => smtp.received.length === mails + 1)).toBe(true);
      expect(smtp.received.at(-1)!.subject).toMatch(/^\[Test School\] Daily safeguarding digest: nothing new$/);
      expect(running.output().stdout).toMatch(/digest: written to the outbox/);
    } finally {
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
    }
    const row = new BetterSqlite3(join(fresh, 'alerts.db'), { readonly: true });
    try {
      const p = JSON.parse(row.prepare("SELECT payload FROM outbox WHERE kind = 'digest' ORDER BY id DESC LIMIT 1").pluck().get() as string) as { from: number; to: number };
      expect(p.from).toBe(end);
      expect(p.to).toBeGreaterThan(end);
      expect(p.to).toBeLessThanOrEqual(Date.now());
    } finally {
      row.close();
    }
  });
});
