// The DSL workflow on real files: alerts stored through the real store in data/alerts.db, traffic
// written by the real writer to data/schoolgate.db and read back on a read-only connection, and
// the audit chain beside it. Each step's state, rows and audit rows are checked exactly; a step
// whose audit row cannot be written changes nothing.
import { join } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAlertsDatabase } from '../../src/alerts/db.js';
import { AlertService } from '../../src/alerts/service.js';
import { AlertStore } from '../../src/alerts/store.js';
import { AlertWorkflow, incidentHash, WITHHELD_TEXT, WorkflowError, type TrafficContext, type WorkflowDeps } from '../../src/alerts/workflow.js';
import { loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { loadLists } from '../../src/lists/load.js';
import { createLogger } from '../../src/log.js';
import { decide } from '../../src/policy/decide.js';
import { AuditLog } from '../../src/store/audit.js';
import { openDatabase } from '../../src/store/db.js';
import { listAlert, raiseAt, searchAlert, writeTraffic } from '../helpers/alerts.js';
import { tempDir } from '../helpers/lists.js';
import { CONFIG_DIR } from '../helpers/policy.js';

const tmp = tempDir('schoolgate-workflow-');
const data = join(tmp.dir, 'data');
let cfg: SchoolgateConfig;
let alertsDb: Database;
let main: Database;
let readOnly: Database;
let audit: AuditLog;
let exclusionsChanged = 0;
const ids = { amySearch: 0, device: 0, illegal: 0, amyBullying: 0 };
let traffic: number[] = [];

const HIDE = 'how to hide my cuts from mum';
const workflow = (over: Partial<WorkflowDeps> = {}): AlertWorkflow => new AlertWorkflow({
  alerts: alertsDb, main, traffic: readOnly, safeguarding: cfg.safeguarding, groups: new Set(cfg.policy.groups.keys()), actor: 'dsl.jane',
  exclusionsChanged: () => exclusionsChanged++, ...over,
});
const auditRows = () => audit.list({ limit: 1000 }).reverse();

beforeAll(() => {
  cfg = loadConfig(join(CONFIG_DIR, 'default.yaml'));
  alertsDb = openAlertsDatabase(data);
  main = openDatabase(data);
  audit = new AuditLog(main);
  const store = new AlertStore(alertsDb);
  const sg = cfg.safeguarding;
  const amy = { user: 'amy', client: '10.1.2.5' };
  // November is GMT: these are school times too.
  ids.amySearch = raiseAt(store, sg, '2026-11-18T10:00:00.000Z', amy, searchAlert('self-harm', 'danger', HIDE, 'hide my cuts'));
  expect(raiseAt(store, sg, '2026-11-18T10:05:00.000Z', amy, searchAlert('self-harm', 'danger', HIDE, 'hide my cuts'))).toBe(ids.amySearch);
  ids.device = raiseAt(store, sg, '2026-11-18T11:00:00.500Z', { user: null, client: '10.1.2.9' }, listAlert('adult-content', 'advisory', 'adult', 'adult.selftest.invalid'));
  ids.illegal = raiseAt(store, sg, '2026-11-18T12:00:00.000Z', { user: 'ben', client: '10.1.2.6' }, listAlert('child-sexual-abuse', 'danger', 'iwf', 'abuse.iwf-test.invalid', true));
  ids.amyBullying = raiseAt(store, sg, '2026-11-19T09:00:00.000Z', amy, searchAlert('bullying', 'caution', 'everyone hates you', 'everyone hates you'));
  const search = { scheme: 'https', host: 'www.google.co.uk', path: '/search?q=how+to+hide+my+cuts+from+mum', categories: 'search-engines', term: HIDE } as const;
  const dev = { client: '10.1.2.9', user: null } as const;
  traffic = writeTraffic(main, [
    ['2026-11-18T08:59:59.999Z', {}], // 0: an hour and a millisecond before: out
    ['2026-11-18T09:00:00.000Z', {}], // 1: an hour before the first request: in
    ['2026-11-18T09:30:00.000Z', { path: '/sport' }],
    ['2026-11-18T10:00:00.000Z', { ...search, alert: ids.amySearch }],
    ['2026-11-18T10:05:00.000Z', { ...search, alert: ids.amySearch }],
    ['2026-11-18T10:10:00.000Z', { client: '10.1.2.6', user: 'ben' }], // 5: someone else
    ['2026-11-18T10:20:00.000Z', { host: 'abuse.iwf-test.invalid', path: '/x', categories: 'iwf', action: 'block', ruleKind: 'illegal', rule: 'illegal content (IWF list)', status: 403 }],
    ['2026-11-18T10:30:00.000Z', { client: '10.1.2.7', user: 'Amy', path: '/weather' }], // 7: the same person, another device and case
    ['2026-11-18T11:05:00.000Z', { path: '/last' }], // 8: an hour after the last request: in
    ['2026-11-18T11:05:00.001Z', { path: '/too-late' }], // 9: out
    ['2026-11-18T10:00:00.499Z', { ...dev }], // 10: device: out
    ['2026-11-18T10:00:00.500Z', { ...dev }], // 11: in
    ['2026-11-18T11:00:00.500Z', { ...dev, host: 'adult.selftest.invalid', path: '/', categories: 'adult', action: 'block', ruleKind: 'level', alert: ids.device }],
    ['2026-11-18T11:30:00.000Z', { client: '10.1.2.8', user: null }], // 13: another device
    ['2026-11-18T12:00:00.500Z', { ...dev }], // 14: in
    ['2026-11-18T12:00:00.501Z', { ...dev }], // 15: out
  ]);
  readOnly = new BetterSqlite3(join(data, 'schoolgate.db'), { readonly: true, fileMustExist: true });
});

afterAll(() => {
  for (const db of [readOnly, main, alertsDb]) db?.close();
  tmp.cleanup();
});

describe('listing and opening alerts', () => {
  it('lists newest first, filtered by state, concern, person (any case) and time', () => {
    const w = workflow();
    expect(w.list().map((a) => Number(a.id))).toEqual([ids.amyBullying, ids.illegal, ids.device, ids.amySearch]);
    expect(w.list({ category: 'self-harm' }).map((a) => [Number(a.id), a.count, a.state])).toEqual([[ids.amySearch, 2, 'new']]);
    expect(w.list({ user: 'AMY' }).map((a) => Number(a.id))).toEqual([ids.amyBullying, ids.amySearch]);
    expect(w.list({ from: Date.parse('2026-11-18T10:30Z'), to: Date.parse('2026-11-19T00:00Z') }).map((a) => Number(a.id))).toEqual([ids.illegal, ids.device]);
    expect(w.list({ state: 'closed' })).toEqual([]);
  });

  it('shows a person\'s browsing from an hour before the first request to an hour after the last, by user in any case, illegal content withheld', () => {
    const d = workflow().show(ids.amySearch);
    expect(d.alert).toMatchObject({ id: String(ids.amySearch), category: 'self-harm', severity: 'danger', count: 2, searchTerm: HIDE, state: 'new' });
    const c = d.context as TrafficContext;
    expect(c.by).toEqual({ user: 'amy' });
    expect([new Date(c.from).toISOString(), new Date(c.to).toISOString()]).toEqual(['2026-11-18T09:00:00.000Z', '2026-11-18T11:05:00.000Z']);
    expect(c.rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 6, 7, 8].map((i) => traffic[i]));
    expect(c.truncated).toBe(false);
    expect(c.rows.filter((r) => r.alert === ids.amySearch).map((r) => r.term)).toEqual([HIDE, HIDE]);
    const illegal = c.rows.find((r) => r.id === traffic[6])!;
    expect(illegal).toMatchObject({ host: WITHHELD_TEXT, path: null, term: null, action: 'block', ruleKind: 'illegal' });
    expect(JSON.stringify(d)).not.toContain('iwf-test');
    expect(c.rows.find((r) => r.id === traffic[7])!.user).toBe('Amy');
  });

  it('shows a device\'s browsing by its address when nobody signed in', () => {
    const c = workflow().show(ids.device).context as TrafficContext;
    expect(c.by).toEqual({ ip: '10.1.2.9' });
    expect(c.rows.map((r) => r.id)).toEqual([11, 12, 14].map((i) => traffic[i]));
  });

  it('shows the notifications with the channels that took them, and says when there is no traffic log', () => {
    const store = new AlertStore(alertsDb);
    const before = workflow().show(ids.amySearch).outbox;
    expect(before.map((o) => [o.kind, o.severity, o.state, o.channels])).toEqual([['immediate', 'danger', 'pending', []]]);
    store.recordDelivery(before[0]!.id, 'email', Date.parse('2026-11-18T10:00:03Z'));
    expect(workflow().show(ids.amySearch).outbox[0]!.channels).toEqual([{ channel: 'email', at: Date.parse('2026-11-18T10:00:03Z') }]);
    expect(workflow().show(ids.device).outbox).toEqual([]);
    expect(workflow({ traffic: null }).show(ids.device).context).toEqual({ unavailable: 'there is no traffic log in this data folder' });
    expect(() => workflow().show(999)).toThrow(new WorkflowError('no alert 999'));
  });

  it('never shows an illegal alert\'s address or entry', () => {
    const d = workflow().show(ids.illegal);
    expect(d.alert).toMatchObject({ illegal: true, searchTerm: null, url: null });
    expect(d.alert.triggers).toEqual([{ kind: 'list', severity: 'danger', category: 'iwf', list: 'iwf' }]);
  });
});

describe('acting on alerts', () => {
  it('acknowledges, escalates and closes, each with its audit row; a step that does not follow is refused and writes nothing', () => {
    const w = workflow();
    const start = auditRows().length;
    expect(w.acknowledge(ids.device).state).toBe('acknowledged');
    expect(() => w.acknowledge(ids.device)).toThrow(new WorkflowError(`alert ${ids.device} is acknowledged: it cannot be acknowledged`));
    expect(w.escalate(ids.device).state).toBe('escalated');
    expect(w.close(ids.device).state).toBe('closed');
    expect(() => w.escalate(ids.device)).toThrow(/is closed: it cannot be escalated/);
    expect(() => w.close(12345)).toThrow(new WorkflowError('no alert 12345'));
    const rows = auditRows().slice(start);
    expect(rows.map((r) => [r.actor, r.action, r.subject, r.detail])).toEqual([
      ['dsl.jane', 'alert.acknowledged', `alert ${ids.device}`, { from: 'new', to: 'acknowledged', category: 'adult-content', severity: 'advisory' }],
      ['dsl.jane', 'alert.escalated', `alert ${ids.device}`, { from: 'acknowledged', to: 'escalated', category: 'adult-content', severity: 'advisory' }],
      ['dsl.jane', 'alert.closed', `alert ${ids.device}`, { from: 'escalated', to: 'closed', category: 'adult-content', severity: 'advisory' }],
    ]);
    expect(audit.verify()).toMatchObject({ ok: true });
    expect(workflow().list({ state: 'closed' }).map((a) => Number(a.id))).toEqual([ids.device]);
  });

  it('changes nothing when the audit row cannot be written', () => {
    const start = auditRows().length;
    expect(() => workflow({ actor: ' ' }).acknowledge(ids.amySearch)).toThrow(/needs an actor/);
    expect(workflow().show(ids.amySearch).alert.state).toBe('new');
    expect(auditRows().length).toBe(start);
  });

  it('marks a false positive and adds an exclusion for one group, audited, and tells the proxy', () => {
    const start = auditRows().length;
    const changed = exclusionsChanged;
    const w = workflow();
    expect(() => w.falsePositive(ids.amyBullying, { exclude: { kind: 'site', value: 'example.org/path' } })).toThrow(/is an address, not a site/);
    expect(() => w.falsePositive(ids.amyBullying, { exclude: { kind: 'term', value: 'hates', group: 'year9' } })).toThrow(/unknown group "year9"/);
    const { alert, exclusionId } = w.falsePositive(ids.amyBullying, { exclude: { kind: 'term', value: 'everyone hates you', group: 'ks2' }, reason: 'a song in the KS2 assembly' });
    expect(alert.state).toBe('false-positive');
    expect(alertsDb.prepare('SELECT id, kind, value, group_id, reason, created_by, removed_at FROM exclusions').all()).toEqual([
      { id: exclusionId, kind: 'term', value: 'everyone hates you', group_id: 'ks2', reason: 'a song in the KS2 assembly', created_by: 'dsl.jane', removed_at: null },
    ]);
    expect(exclusionsChanged).toBe(changed + 1);
    expect(auditRows().slice(start).map((r) => [r.action, r.subject, r.detail])).toEqual([
      ['alert.false-positive', `alert ${ids.amyBullying}`, { from: 'new', to: 'false-positive', category: 'bullying', severity: 'caution', reason: 'a song in the KS2 assembly' }],
      ['exclusion.added', `exclusion ${exclusionId}`, { alert: ids.amyBullying, kind: 'term', value: 'everyone hates you', group: 'ks2', reason: 'a song in the KS2 assembly' }],
    ]);
    expect(() => w.falsePositive(ids.amyBullying)).toThrow(/is false-positive: it cannot be marked a false positive/);
  });

  it('refuses an exclusion from an illegal alert, and audits its false positive without any address', () => {
    const start = auditRows().length;
    const w = workflow();
    expect(() => w.falsePositive(ids.illegal, { exclude: { kind: 'site', value: 'abuse.iwf-test.invalid' } })).toThrow(/exclusions never apply to illegal-list attempts/);
    expect(w.show(ids.illegal).alert.state).toBe('new');
    expect(alertsDb.prepare("SELECT count(*) FROM exclusions WHERE value LIKE '%iwf%'").pluck().get()).toBe(0);
    expect(auditRows().length).toBe(start);
    expect(w.falsePositive(ids.illegal, { reason: 'a school laptop test' }).alert.state).toBe('false-positive');
    const rows = auditRows().slice(start);
    expect(rows.map((r) => r.action)).toEqual(['alert.false-positive']);
    expect(JSON.stringify(rows)).not.toContain('iwf-test');
  });

  it('records an incident against two alerts with the concern form\'s fields; its audit row holds a hash, not the description', () => {
    const start = auditRows().length;
    const w = workflow();
    expect(() => w.recordIncident({ type: 'Self-harm', description: 'x', actionTaken: 'y', alertIds: [ids.amySearch, 999] })).toThrow(new WorkflowError('no alert 999'));
    expect(() => w.recordIncident({ type: 'Self-harm', description: ' ', actionTaken: 'y', alertIds: [ids.amySearch] })).toThrow(/needs a description/);
    expect(auditRows().length).toBe(start);
    const incident = w.recordIncident({
      type: 'Self-harm: online search', description: `Amy searched "${HIDE}" twice in maths.`, actionTaken: 'Spoke to Amy with her form tutor; parents called.',
      referredTo: 'MASH', referredBy: 'Jane Smith (DSL)', referredAt: new Date('2026-11-18T15:20:00Z'), alertIds: [ids.amySearch, ids.device, ids.amySearch],
    });
    expect(incident).toMatchObject({
      type: 'Self-harm: online search', createdBy: 'dsl.jane', referredTo: 'MASH', referredBy: 'Jane Smith (DSL)', referredAt: '2026-11-18T15:20:00.000Z',
      alertIds: [ids.amySearch, ids.device].sort((a, b) => a - b),
    });
    expect(alertsDb.prepare('SELECT incident_id, alert_id FROM incident_alerts ORDER BY alert_id').raw().all()).toEqual(incident.alertIds.map((a) => [incident.id, a]));
    const [row, ...more] = auditRows().slice(start);
    expect(more).toEqual([]);
    expect([row!.action, row!.subject, row!.detail]).toEqual(['incident.recorded', `incident ${incident.id}`, {
      alerts: incident.alertIds, type: 'Self-harm: online search', referredTo: 'MASH', referredBy: 'Jane Smith (DSL)', referredAt: '2026-11-18T15:20:00.000Z', sha256: incidentHash(incident),
    }]);
    expect(JSON.stringify(row)).not.toContain(HIDE);
    expect(w.show(ids.amySearch).incidents).toEqual([incident]);
    expect(w.show(ids.amySearch).alert.state).toBe('new');
    // An edit behind Schoolgate's back no longer matches the hash in the chain.
    alertsDb.prepare("UPDATE incidents SET referred_to = 'nobody' WHERE id = ?").run(incident.id);
    expect(incidentHash(w.incident(incident.id)!)).not.toBe(row!.detail.sha256);
    expect(audit.verify()).toMatchObject({ ok: true });
  });
});

describe('an exclusion takes effect at once', () => {
  it('in a proxy in this process, through exclusionsChanged', async () => {
    const { classifier } = await loadLists(cfg, { dataDir: join(tmp.dir, 'lists-data') });
    const service = new AlertService(openAlertsDatabase(data), { dataDir: data, config: () => cfg, log: createLogger({ level: 'silent' }) });
    try {
      const c = classifier.classify('https://www.google.co.uk/search?q=how+to+hide+my+cuts+from+mum');
      const d = decide({ group: 'ks2' }, c, cfg.policy, new Date());
      const who = { client: '10.9.9.9', user: 'zoe', group: 'ks2', trafficId: null };
      const first = await service.raise(c, d, who);
      expect(first).not.toBeNull();
      workflow({ exclusionsChanged: () => service.exclusionsChanged() }).falsePositive(first!, { exclude: { kind: 'term', value: 'hide my cuts' } });
      expect(service.raise(c, d, { ...who, user: 'yan' })).toBeNull();
      expect(service.raise(c, d, { ...who, group: 'staff', user: 'm.jones' })).toBeNull();
    } finally {
      await service.close();
    }
  });
});
