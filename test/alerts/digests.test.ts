// Digests: the next run across days, weekends and the clocks changing in Europe/London; the
// times read from the safeguarding file; and the scheduler writing the digest of a seeded day to
// the outbox, delivered by the real queue to a real SMTP server and webhook, with the expected
// groups and counts; a day with nothing new still sends its digest; a run missed while stopped
// goes at the next start, and one due while running goes on its timer.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAlertsDatabase } from '../../src/alerts/db.js';
import { addDigestRow, DEFAULT_DIGESTS, DigestScheduler, nextRun, previousRun, type DigestTime } from '../../src/alerts/digests.js';
import { AlertService } from '../../src/alerts/service.js';
import { AlertStore } from '../../src/alerts/store.js';
import { loadSafeguardingFile } from '../../src/alerts/taxonomy.js';
import { loadCategoryMap, loadConfig, type SchoolgateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { SchoolClock } from '../../src/policy/time.js';
import { listAlert, raiseAt, searchAlert } from '../helpers/alerts.js';
import { expectProblems, problemsOf } from '../helpers/config-problems.js';
import { tempDir } from '../helpers/lists.js';
import { CONFIG_DIR } from '../helpers/policy.js';
import { writeTestConfig } from '../helpers/proxy.js';
import { eventually } from '../helpers/raw-http.js';
import { safeguardingWith, smtpReceiver, webhookReceiver, type SmtpReceiver, type WebhookReceiver } from '../helpers/receivers.js';

const london = new SchoolClock('Europe/London');
const DAILY = DEFAULT_DIGESTS.daily!;
const WEEKLY = DEFAULT_DIGESTS.weekly!;
const next = (t: DigestTime, after: string): string => new Date(nextRun(t, london, Date.parse(after))).toISOString();
const previous = (t: DigestTime, at: string): string => new Date(previousRun(t, london, Date.parse(at))).toISOString();
const at = (iso: string): number => Date.parse(iso);
const tmp = tempDir('schoolgate-digests-');
afterAll(tmp.cleanup);

describe('the next run', () => {
  it('is the end of the next school day, strictly after now, Monday after a Friday or a weekend', () => {
    expect(next(DAILY, '2026-11-16T10:00:00Z')).toBe('2026-11-16T16:00:00.000Z'); // Monday, GMT
    expect(next(DAILY, '2026-11-16T15:59:59.999Z')).toBe('2026-11-16T16:00:00.000Z');
    expect(next(DAILY, '2026-11-16T16:00:00.000Z')).toBe('2026-11-17T16:00:00.000Z');
    expect(next(DAILY, '2026-11-20T16:00:00.000Z')).toBe('2026-11-23T16:00:00.000Z'); // Friday's run done: Monday
    expect(next(DAILY, '2026-11-21T12:00:00Z')).toBe('2026-11-23T16:00:00.000Z'); // Saturday
    expect(next(DAILY, '2026-11-22T23:59:00Z')).toBe('2026-11-23T16:00:00.000Z'); // Sunday night
    expect(previous(DAILY, '2026-11-23T09:00:00Z')).toBe('2026-11-20T16:00:00.000Z');
    expect(previous(DAILY, '2026-11-23T16:00:00Z')).toBe('2026-11-23T16:00:00.000Z');
  });

  it('keeps the school\'s wall-clock time when the clocks change over a weekend', () => {
    expect(next(DAILY, '2026-03-27T16:00:00Z')).toBe('2026-03-30T15:00:00.000Z'); // Friday GMT, Monday BST
    expect(next(DAILY, '2026-10-23T15:00:00Z')).toBe('2026-10-26T16:00:00.000Z'); // Friday BST, Monday GMT
    expect(next(WEEKLY, '2026-03-27T16:30:00Z')).toBe('2026-04-03T15:30:00.000Z'); // 167 hours on
    expect(next(WEEKLY, '2026-10-23T15:30:00Z')).toBe('2026-10-30T16:30:00.000Z'); // 169 hours on
    expect(next(WEEKLY, '2026-11-18T12:00:00Z')).toBe('2026-11-20T16:30:00.000Z');
    expect(previous(WEEKLY, '2026-04-03T15:29:00Z')).toBe('2026-03-27T16:30:00.000Z');
  });

  it('takes the local date, not the UTC date, in summer time', () => {
    const early = { days: 0x1f, minute: 30, text: '00:30' };
    // 23:10 UTC on Sunday 14 June is 00:10 on Monday in London.
    expect(next(early, '2026-06-14T23:10:00Z')).toBe('2026-06-14T23:30:00.000Z');
    expect(next(early, '2026-06-12T23:30:00Z')).toBe('2026-06-14T23:30:00.000Z'); // Friday's 00:30 done; Saturday and Sunday are not school days
  });

  it('runs a time the clocks skip once, an hour on, and a time they repeat once, the first time', () => {
    const sunday0130 = { days: 1 << 6, minute: 90, text: 'sun 01:30' };
    // 29 March 2026: 01:00 GMT becomes 02:00 BST; 01:30 never happens.
    expect(next(sunday0130, '2026-03-28T12:00:00Z')).toBe('2026-03-29T01:30:00.000Z');
    expect(next(sunday0130, '2026-03-29T01:30:00Z')).toBe('2026-04-05T00:30:00.000Z');
    // 25 October 2026: 02:00 BST becomes 01:00 GMT; 01:30 happens twice.
    expect(next(sunday0130, '2026-10-24T12:00:00Z')).toBe('2026-10-25T00:30:00.000Z');
    expect(next(sunday0130, '2026-10-25T00:30:00Z')).toBe('2026-11-01T01:30:00.000Z');
  });
});

describe('digest times in the safeguarding file', () => {
  const registry = loadCategoryMap(join(CONFIG_DIR, 'categories.yaml'));
  let n = 0;
  const write = (text: string): string => {
    const file = join(tmp.dir, `sg-${n++}.yaml`);
    writeFileSync(file, text);
    return file;
  };

  it('defaults to 16:00 on school days and Friday 16:30, as the shipped file says', () => {
    expect(loadSafeguardingFile(write('foldWindowMinutes: 10\n'), registry).digests).toEqual(DEFAULT_DIGESTS);
    expect(loadSafeguardingFile(join(CONFIG_DIR, 'safeguarding.yaml'), registry).digests).toEqual(DEFAULT_DIGESTS);
  });

  it('reads other times, other days and off', () => {
    expect(loadSafeguardingFile(write('digests:\n  daily: mon-thu 15:30\n  weekly: "off"\n'), registry).digests).toEqual({
      daily: { days: 0b1111, minute: 930, text: 'mon-thu 15:30' }, weekly: null,
    });
    expect(loadSafeguardingFile(write('digests:\n  weekly: thursday 08:05\n'), registry).digests).toEqual({
      daily: DAILY, weekly: { days: 1 << 3, minute: 485, text: 'thursday 08:05' },
    });
  });

  it('reports a bad time with its line and a fix', () => {
    const file = write('digests:\n  daily: 4pm\n  weekly: mon-fri 16:30\n  monthly: "1st"\n');
    const problems = problemsOf(() => loadSafeguardingFile(file, registry));
    expectProblems(problems, file, [
      { line: 4, key: 'digests.monthly', message: 'unknown key "monthly"' },
      { line: 2, key: 'digests.daily', message: 'time "4pm" is not in HH:MM form' },
      { line: 3, key: 'digests.weekly', message: '"mon-fri 16:30" is not one day and a time' },
    ]);
    expect(problems[1]!.fix).toBe('write it as "16:00" (24-hour clock, two-digit minutes)');
  });
});

describe('the scheduler', () => {
  const SECRET = 'digest-webhook-secret';
  const DAY = 86_400_000;
  const log = createLogger({ level: 'silent' });
  const data = join(tmp.dir, 'data');
  let smtp: SmtpReceiver;
  let hook: WebhookReceiver;
  let config: SchoolgateConfig;
  let alerts: AlertService;
  let clock = 0;
  const ids: Record<string, number> = {};
  const digests = (): ParsedMail[] => smtp.received.filter((m) => /digest/.test(m.subject ?? ''));
  const digestCalls = () => hook.calls.filter((c) => c.body.type === 'digest');
  const payloadOf = (id: number) => JSON.parse(alerts.store.outbox(id)!.payload!) as { period: string; from: number; to: number };
  const iso = (ms: number): string => new Date(ms).toISOString();

  beforeAll(async () => {
    smtp = await smtpReceiver();
    hook = await webhookReceiver(SECRET);
    const file = join(tmp.dir, 'safeguarding.yaml');
    writeFileSync(file, safeguardingWith(readFileSync(join(CONFIG_DIR, 'safeguarding.yaml'), 'utf8'), smtp.port, hook.url, SECRET));
    config = loadConfig(writeTestConfig(tmp.dir, `safeguarding: ${file}\nschool:\n  name: Test School\n  timezone: Europe/London\n  staffAppUrl: https://staff.school.example\n`));
    // Seeded before Schoolgate starts: the week of Monday 16 November 2026 (GMT), and Monday's daily digest, sent.
    const db = openAlertsDatabase(data);
    const store = new AlertStore(db);
    const sg = config.safeguarding;
    const amy = { user: 'amy', client: '10.1.2.5' };
    ids.cat = raiseAt(store, sg, '2026-11-16T15:00:00Z', { user: 'cat', client: '10.1.2.4' }, listAlert('violence-weapons', 'advisory', 'violence', 'violence.selftest.invalid'));
    const monday = at('2026-11-16T16:00:00Z');
    store.markDelivered(store.addDigest('daily', monday - DAY, monday, monday)!, monday);
    ids.amy = raiseAt(store, sg, '2026-11-17T09:10:00Z', amy, searchAlert('self-harm', 'danger', 'how to hide my cuts from mum', 'hide my cuts'));
    raiseAt(store, sg, '2026-11-17T09:12:00Z', amy, searchAlert('self-harm', 'danger', 'hide my cuts', 'hide my cuts'));
    ids.amyBullying = raiseAt(store, sg, '2026-11-17T11:00:00Z', amy, searchAlert('bullying', 'caution', 'everyone hates you', 'everyone hates you'));
    ids.ben = raiseAt(store, sg, '2026-11-17T13:00:00Z', { user: 'ben', client: '10.1.2.6' }, listAlert('self-harm', 'caution', 'self-harm', 'self-harm.selftest.invalid'));
    ids.device = raiseAt(store, sg, '2026-11-17T14:00:00Z', { user: null, client: '10.1.2.9' }, listAlert('adult-content', 'advisory', 'adult', 'adult.selftest.invalid'));
    ids.dan = raiseAt(store, sg, '2026-11-19T10:00:00Z', { user: 'dan', client: '10.1.2.3' }, searchAlert('substance-misuse', 'caution', 'where to buy weed', 'buy weed'));
    db.close();
    alerts = await AlertService.start({ dataDir: data, config: () => config, log, retry: { pollMs: 50, backoffMs: 50 } });
  });

  afterAll(async () => {
    await alerts?.close();
    await smtp?.close();
    await hook?.close();
  });

  it('sends Tuesday\'s daily digest at 16:00: since Monday\'s, grouped by concern and by pupil, with counts, times, triggers and links', async () => {
    const scheduler = new DigestScheduler(alerts, { config: () => config, log, now: () => clock });
    clock = at('2026-11-17T16:00:00Z');
    const [id, ...more] = scheduler.runDue();
    expect(more).toEqual([]);
    expect(payloadOf(id!)).toEqual({ period: 'daily', from: at('2026-11-16T16:00:00Z'), to: clock });
    expect(scheduler.runDue()).toEqual([]);
    // Another process scheduling the same run writes nothing.
    expect(addDigestRow(alerts, 'daily', london, clock, clock)).toBeNull();
    expect(await eventually(() => alerts.store.outbox(id!)!.state === 'delivered')).toBe(true);
    expect([digests().length, digestCalls().length]).toEqual([1, 1]);

    const mail = digests()[0]!;
    expect(mail.subject).toBe('[Test School] Daily safeguarding digest: 4 alerts');
    const text = mail.text!;
    const link = (id: number): string => `https://staff.school.example/alerts/${id}`;
    expect(text).toBe(`${[
      'Daily safeguarding digest for Test School',
      '2026-11-16 16:00 to 2026-11-17 16:00',
      '',
      'By category',
      '  Self-harm and eating disorders: 2 alerts (3 events), 1 danger, 1 caution; ben (ks2), amy (ks2)',
      '  Bullying: 1 alert (1 event), 1 caution; amy (ks2)',
      '  Adult content: 1 alert (1 event), 1 advisory; device 10.1.2.9 (ks2)',
      '',
      'By pupil',
      '  amy (ks2)',
      '    - Self-harm and eating disorders, danger: 2 times, 2026-11-17 09:10 to 2026-11-17 09:12, allowed',
      '      last search: "hide my cuts"',
      '      danger: phrase "hide my cuts" (self-harm, weight 10) in the search "how to hide my cuts from mum"',
      '      danger: phrase "hide my cuts" (self-harm, weight 10) in the search "hide my cuts"',
      `      ${link(ids.amy!)}`,
      '    - Bullying, caution: 2026-11-17 11:00, allowed',
      '      last search: "everyone hates you"',
      '      caution: phrase "everyone hates you" (bullying, weight 10) in the search "everyone hates you"',
      `      ${link(ids.amyBullying!)}`,
      '  ben (ks2)',
      '    - Self-harm and eating disorders, caution: 2026-11-17 13:00, blocked',
      '      caution: on the list selftest/self-harm (self-harm), entry self-harm.selftest.invalid (line 1)',
      `      ${link(ids.ben!)}`,
      '  device 10.1.2.9 (ks2)',
      '    - Adult content, advisory: 2026-11-17 14:00, blocked',
      '      advisory: on the list selftest/adult (adult), entry adult.selftest.invalid (line 1)',
      `      ${link(ids.device!)}`,
    ].join('\n')}\n`);
    for (const a of [ids.amy, ids.amyBullying, ids.ben, ids.device]) expect(mail.html).toContain(`href="${link(a!)}"`);

    const call = digestCalls()[0]!;
    expect(call.signed).toBe(true);
    expect(call.delivery).toBe(`schoolgate-digest-${id}`);
    expect(call.body).toMatchObject({ type: 'digest', period: 'daily', from: '2026-11-16T16:00:00.000Z', to: '2026-11-17T16:00:00.000Z' });
    expect((call.body.alerts as { id: string; count: number }[]).map((a) => [Number(a.id), a.count]).sort((x, y) => x[0]! - y[0]!))
      .toEqual([[ids.amy, 2], [ids.amyBullying, 1], [ids.ben, 1], [ids.device, 1]]);
  });

  it('sends Wednesday\'s digest saying there is nothing new', async () => {
    const scheduler = new DigestScheduler(alerts, { config: () => config, log, now: () => clock });
    clock = at('2026-11-18T16:00:00Z');
    const [id] = scheduler.runDue();
    expect(payloadOf(id!)).toEqual({ period: 'daily', from: at('2026-11-17T16:00:00Z'), to: clock });
    expect(await eventually(() => digests().length === 2)).toBe(true);
    const mail = digests()[1]!;
    expect(mail.subject).toBe('[Test School] Daily safeguarding digest: nothing new');
    expect(mail.text).toBe('Daily safeguarding digest for Test School\n\nNothing new: no safeguarding alerts from 2026-11-17 16:00 to 2026-11-18 16:00.\n');
    expect(await eventually(() => digestCalls().length === 2)).toBe(true);
    expect(digestCalls()[1]!.body).toMatchObject({ period: 'daily', alerts: [] });
  });

  it('on Friday sends the daily and the weekly digest (the last seven days); a run missed while stopped goes at the next start', async () => {
    clock = at('2026-11-18T17:00:00Z');
    const scheduler = new DigestScheduler(alerts, { config: () => config, log, now: () => clock });
    expect(scheduler.runDue()).toEqual([]);
    clock = at('2026-11-20T16:30:00Z');
    const [daily, weekly, ...more] = scheduler.runDue();
    expect(more).toEqual([]);
    expect(payloadOf(daily!)).toEqual({ period: 'daily', from: at('2026-11-18T16:00:00Z'), to: at('2026-11-20T16:00:00Z') });
    expect(payloadOf(weekly!)).toEqual({ period: 'weekly', from: at('2026-11-13T16:30:00Z'), to: clock });
    expect(await eventually(() => digests().length === 4)).toBe(true);
    const subjects = digests().slice(2).map((m) => m.subject).sort();
    expect(subjects).toEqual(['[Test School] Daily safeguarding digest: 1 alert', '[Test School] Weekly safeguarding digest: 6 alerts']);

    // Stopped over the weekend and started at 17:00 on Monday: Monday's 16:00 run goes at once, the weekly one is not due.
    clock = at('2026-11-23T17:00:00Z');
    const restarted = new DigestScheduler(alerts, { config: () => config, log, now: () => clock });
    const [missed, ...none] = restarted.runDue();
    expect(none).toEqual([]);
    expect(payloadOf(missed!)).toEqual({ period: 'daily', from: at('2026-11-20T16:00:00Z'), to: at('2026-11-23T16:00:00Z') });
    expect(await eventually(() => digests().length === 5)).toBe(true);
  });

  it('started before a run, writes it when its time comes', async () => {
    const due = at('2026-11-24T16:00:00Z');
    const skew = due - 1_000 - Date.now();
    const scheduler = new DigestScheduler(alerts, { config: () => config, log, now: () => Date.now() + skew });
    const rows = () => alerts.db.prepare("SELECT payload FROM outbox WHERE kind = 'digest'").pluck().all() as string[];
    const before = rows().length;
    scheduler.start();
    try {
      expect(rows().length).toBe(before);
      // A loaded machine may run the timer late; it must still run.
      expect(await eventually(() => rows().length === before + 1)).toBe(true);
      expect(JSON.parse(rows().at(-1)!)).toEqual({ period: 'daily', from: at('2026-11-23T16:00:00Z'), to: due });
      expect(iso(scheduler.nextDue())).toBe('2026-11-25T16:00:00.000Z');
    } finally {
      scheduler.stop();
    }
  });
});
