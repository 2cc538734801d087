// Unblock requests end to end: a teacher asks through the API, a technician or senior leader
// decides, and a KS2 pupil's request through the real proxy (sharing the live policy and the
// app's movable clock) follows; illegal content, narrowing, who sees what, e-mails, expiry, the
// report (CSV) and escaping of everything a person typed.
import type http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startOrigin } from '../helpers/proxy.js';
import { api, startStaffApp, type Session, type StaffApp } from '../helpers/staff-app.js';
import { auditRows, getPage, movableClock, parseCsv, pupilGets, PROXY_YAML } from './api-helpers.js';

const HOUR = 3_600_000;
const REASON = 'Year 5 coding lesson on game design';
const tmp = tempDir();
const clock = movableClock();
let app: StaffApp;
let origin: http.Server;
let originPort = 0;
let teacher: Session;
let teacher2: Session;
let tech: Session;
let slt: Session;
let dsl: Session;
let governor: Session;

beforeAll(async () => {
  ({ server: origin, port: originPort } = await startOrigin());
  app = await startStaffApp(tmp.dir, `${PROXY_YAML}admin:\n  unblocks:\n    maxDays: 7\n    autoApprove: [shopping]\n`, { now: clock.now });
  await app.addUser('mr.jones', ['teacher']);
  await app.addUser('ms.patel', ['teacher']);
  await app.addUser('it.tech', ['technician']);
  await app.addUser('head', ['slt']);
  await app.addUser('dsl', ['dsl']);
  await app.addUser('governor', ['governor']);
  await app.addUser('pupil', [], 'ks2');
  teacher = await app.signIn('mr.jones');
  teacher2 = await app.signIn('ms.patel');
  tech = await app.signIn('it.tech');
  slt = await app.signIn('head');
  dsl = await app.signIn('dsl');
  governor = await app.signIn('governor');
});

afterAll(async () => {
  await app?.close();
  if (origin) await closeAll(origin);
  tmp.cleanup();
});

const ask = (who: Session, body: Record<string, unknown>) => api(app, who, 'POST', '/unblocks', { scope: 'site', for: 'group', group: 'ks2', duration: 'lesson', reason: REASON, ...body });
const approve = (who: Session, id: number, body: Record<string, unknown> = {}) => api(app, who, 'POST', `/unblocks/${id}/approve`, body);
const decline = (who: Session, id: number, body: Record<string, unknown>) => api(app, who, 'POST', `/unblocks/${id}/decline`, body);
const revoke = (who: Session, id: number) => api(app, who, 'POST', `/unblocks/${id}/revoke`, {});
/** Ends every approved unblock, so a failed test leaves nothing open for the next. */
function endAllUnblocks(): void {
  for (const u of app.unblocks.list({ states: ['approved'] })) app.unblocks.revoke(u.id, 'test-cleanup');
  app.live.refresh();
}
/**
 * The pupil's answer through the proxy is `status`. Asked once, with no waiting: an unblock's
 * change swaps the proxy's policy before the staff app answers (unblocksChanged), which is what
 * keeps the promise of "within a second" without a test timing it.
 */
const pupilSees = async (host: string, status: number, path = '/') => (await pupilGets(app, originPort, host, path)).status === status;

describe('a teacher asks, a technician approves, the pupil gets through; revoked, blocked again', () => {
  let id = 0;

  it('the request is stored waiting for a technician; the pupil is still blocked', async () => {
    expect((await pupilGets(app, originPort, 'games.selftest.invalid')).status).toBe(403);
    const t = clock.now();
    const res = await ask(teacher, { url: 'http://games.selftest.invalid/', ref: 'AB12' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      state: 'requested', approverRole: 'technician', requestedBy: 'mr.jones', site: 'games.selftest.invalid', categories: ['games'], reference: 'AB12',
      for: { kind: 'group', group: 'ks2' }, reason: REASON, from: t.toISOString(), until: new Date(t.getTime() + HOUR).toISOString(), decidedBy: null,
    });
    id = res.body.id;
    expect(app.unblocks.get(id)!.state).toBe('requested');
    expect((await pupilGets(app, originPort, 'games.selftest.invalid')).status).toBe(403);
    // It waits for technicians, not for the teacher.
    expect((await api(app, tech, 'GET', '/unblocks')).body.waiting.map((u: { id: number }) => u.id)).toContain(id);
    expect((await api(app, teacher, 'GET', '/unblocks')).body.waiting).toEqual([]);
  });

  it('a technician approves: the pupil\'s request is let through within a second, and the teacher is e-mailed', async () => {
    const mails = app.mails.length;
    const res = await approve(tech, id);
    expect(res).toMatchObject({ status: 200, body: { id, state: 'approved', decidedBy: 'it.tech' } });
    expect(await pupilSees('games.selftest.invalid', 200)).toBe(true);
    // The origin's own answer, not a Schoolgate page.
    const answer = await pupilGets(app, originPort, 'games.selftest.invalid', '/play');
    expect(answer.headers['x-origin']).toBe('yes');
    // Only KS2's games: another blocked category stays blocked.
    expect((await pupilGets(app, originPort, 'gambling.selftest.invalid')).status).toBe(403);
    expect(app.mails.slice(mails)).toEqual([expect.objectContaining({ to: 'mr.jones@school.example', subject: expect.stringContaining('approved') })]);
    expect(app.mails.at(-1)!.text).toContain('games.selftest.invalid');
  });

  it('revoked: blocked again within a second', async () => {
    const res = await revoke(tech, id);
    expect(res).toMatchObject({ status: 200, body: { state: 'revoked', revokedBy: 'it.tech' } });
    expect(await pupilSees('games.selftest.invalid', 403)).toBe(true);
  });

  it('the audit chain has each step', () => {
    const actions = app.db.prepare("SELECT actor, action FROM audit WHERE subject = ? ORDER BY id").all(`unblock ${id}`);
    expect(actions).toEqual([
      { actor: 'mr.jones', action: 'unblock.requested' }, { actor: 'it.tech', action: 'unblock.approved' }, { actor: 'it.tech', action: 'unblock.revoked' },
    ]);
  });
});

describe('illegal content', () => {
  it('iwf: 422 illegal, for any scope or target, and nothing is stored', async () => {
    const before = { rows: app.unblocks.list().length, audit: auditRows(app) };
    for (const body of [{ url: 'http://iwf.selftest.invalid/' }, { url: 'http://iwf.selftest.invalid/some/page', scope: 'page', for: 'me' }, { url: 'https://terrorism.selftest.invalid/' }]) {
      const res = await ask(teacher, body);
      expect(res).toMatchObject({ status: 422, body: { error: { code: 'illegal', field: 'url' } } });
    }
    expect({ rows: app.unblocks.list().length, audit: auditRows(app) }).toEqual(before);
  });
});

describe('senior-approval categories', () => {
  afterEach(endAllUnblocks);

  it('drugs needs a senior leader: a technician\'s approval is forbidden, a senior leader\'s opens it', async () => {
    expect((await pupilGets(app, originPort, 'drugs.selftest.invalid')).status).toBe(403);
    const res = await ask(teacher, { url: 'http://drugs.selftest.invalid/history' });
    expect(res).toMatchObject({ status: 201, body: { state: 'requested', approverRole: 'slt', categories: ['drugs'] } });
    const id = res.body.id as number;
    // Waiting for senior leaders only.
    expect((await api(app, tech, 'GET', '/unblocks')).body.waiting.map((u: { id: number }) => u.id)).not.toContain(id);
    expect((await api(app, slt, 'GET', '/unblocks')).body.waiting.map((u: { id: number }) => u.id)).toContain(id);
    expect(await approve(tech, id)).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(await decline(tech, id, { note: 'Not for KS2.' })).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(app.unblocks.get(id)!.state).toBe('requested');
    expect((await pupilGets(app, originPort, 'drugs.selftest.invalid')).status).toBe(403);
    expect(await approve(slt, id, { note: 'Drug education, PSHE.' })).toMatchObject({ status: 200, body: { state: 'approved', decidedBy: 'head', note: 'Drug education, PSHE.' } });
    expect(await pupilSees('drugs.selftest.invalid', 200)).toBe(true);
    expect((await revoke(slt, id)).status).toBe(200);
    expect(await pupilSees('drugs.selftest.invalid', 403)).toBe(true);
  });

  it('a senior leader decides technicians\' requests too', async () => {
    const id = (await ask(teacher, { url: 'http://games.selftest.invalid/' })).body.id as number;
    expect(await decline(slt, id, { note: 'Not this week.' })).toMatchObject({ status: 200, body: { state: 'declined', decidedBy: 'head' } });
  });
});

describe('declining and deciding once', () => {
  afterEach(endAllUnblocks);

  it('declining needs a note', async () => {
    const id = (await ask(teacher, { url: 'http://games.selftest.invalid/' })).body.id as number;
    expect(await decline(tech, id, {})).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'note' } } });
    expect(await decline(tech, id, { note: '' })).toMatchObject({ status: 400, body: { error: { code: 'invalid' } } });
    expect(app.unblocks.get(id)!.state).toBe('requested');
  });

  // Fails against src/admin/unblock-routes.ts as built: the schema's minLength 1 lets "   " through and
  // the note stored is "" (see the report). A declined teacher must be told why.
  it('a note of only spaces is no note', async () => {
    const id = (await ask(teacher, { url: 'http://games.selftest.invalid/' })).body.id as number;
    expect(await decline(tech, id, { note: '   \n ' })).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'note' } } });
    expect(app.unblocks.get(id)!.state).toBe('requested');
  });

  it('declined with a note: the teacher is e-mailed the note; deciding again is 409 conflict', async () => {
    const id = (await ask(teacher, { url: 'http://games.selftest.invalid/' })).body.id as number;
    const mails = app.mails.length;
    expect(await decline(tech, id, { note: 'Use Scratch instead.' })).toMatchObject({ status: 200, body: { state: 'declined', decidedBy: 'it.tech', note: 'Use Scratch instead.' } });
    expect(app.mails.slice(mails)).toEqual([{ to: 'mr.jones@school.example', subject: expect.stringContaining('declined'), text: expect.stringContaining('Use Scratch instead.') }]);
    expect(await approve(tech, id)).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect(await decline(slt, id, { note: 'again' })).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect(await revoke(tech, id)).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect(app.unblocks.get(id)).toMatchObject({ state: 'declined', decidedBy: 'it.tech' });
    expect((await pupilGets(app, originPort, 'games.selftest.invalid')).status).toBe(403);
  });

  it('approved twice, or declined after approval: 409 conflict; revoked twice: 409', async () => {
    const id = (await ask(teacher, { url: 'http://games.selftest.invalid/' })).body.id as number;
    expect((await approve(tech, id)).status).toBe(200);
    const mails = app.mails.length;
    expect(await approve(slt, id)).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect(await decline(tech, id, { note: 'changed my mind' })).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect(app.mails.length).toBe(mails);
    expect((await revoke(teacher, id)).status).toBe(200);
    expect(await revoke(tech, id)).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect(app.unblocks.get(id)).toMatchObject({ state: 'revoked', revokedBy: 'mr.jones', decidedBy: 'it.tech' });
  });

  it('an unknown request is 404 not-found', async () => {
    expect(await approve(tech, 999_999)).toMatchObject({ status: 404, body: { error: { code: 'not-found' } } });
    expect(await api(app, tech, 'GET', '/unblocks/999999')).toMatchObject({ status: 404, body: { error: { code: 'not-found' } } });
  });
});

describe('an approver may narrow a request, never widen it', () => {
  afterEach(endAllUnblocks);

  it('an end later than asked, or already past, is 400; the request still waits', async () => {
    const res = await ask(teacher, { url: 'http://games.selftest.invalid/', duration: 'custom', from: '2026-03-12T09:00', until: '2026-03-12T15:00' });
    expect(res.status).toBe(201);
    const id = res.body.id as number;
    expect(await approve(tech, id, { until: '2026-03-12T15:01' })).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'until' } } });
    expect(await approve(tech, id, { until: '2026-03-01T09:00' })).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'until' } } });
    expect(await approve(tech, id, { until: 'next week' })).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'until' } } });
    expect(app.unblocks.get(id)!.state).toBe('requested');
    // Earlier than asked is fine (school time: GMT in March).
    expect(await approve(tech, id, { until: '2026-03-12T10:00', note: 'One lesson is enough.' })).toMatchObject({
      status: 200, body: { state: 'approved', from: '2026-03-12T09:00:00.000Z', until: '2026-03-12T10:00:00.000Z' },
    });
    const audit = app.db.prepare("SELECT json_extract(detail, '$.requested.until') FROM audit WHERE subject = ? AND action = 'unblock.approved'").pluck().get(`unblock ${id}`);
    expect(audit).toBe('2026-03-12T15:00:00.000Z');
    expect((await revoke(tech, id)).status).toBe(200);
  });

  // Fails against src/admin/unblock-routes.ts as built: the end is checked against now only, so an
  // approval can end before the unblock starts; it is "approved" yet never in force.
  it('an end before the asked-for start is 400', async () => {
    const res = await ask(teacher, { url: 'http://games.selftest.invalid/', duration: 'custom', from: '2026-03-11T13:00', until: '2026-03-11T14:00' });
    const id = res.body.id as number;
    expect(await approve(tech, id, { until: '2026-03-11T12:00' })).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'until' } } });
    expect(app.unblocks.get(id)!.state).toBe('requested');
  });

  // Fails against src/admin/unblock-routes.ts as built, for the reason above: the approved row (from >= until)
  // makes withUnblocks() throw on every refresh, so the live snapshot kept the unblocks it had: later approvals do not
  // open anything and, worse, a revoked unblock stays in force until the bad row's end has passed.
  it('one such approval does not stop later revocations and approvals from reaching the proxy', async () => {
    const open = (await ask(teacher, { url: 'http://games.selftest.invalid/' })).body.id as number;
    expect((await approve(tech, open)).status).toBe(200);
    expect(await pupilSees('games.selftest.invalid', 200)).toBe(true);
    const later = (await ask(teacher, { url: 'http://gambling.selftest.invalid/', duration: 'custom', from: '2026-03-11T13:00', until: '2026-03-11T14:00' })).body.id as number;
    await approve(tech, later, { until: '2026-03-11T12:00' });
    expect((await revoke(tech, open)).status).toBe(200);
    expect(await pupilSees('games.selftest.invalid', 403)).toBe(true);
    const next = (await ask(teacher, { url: 'http://shopping.selftest.invalid/' })).body.id as number;
    expect((await approve(tech, next)).status).toBe(200);
    expect(await pupilSees('shopping.selftest.invalid', 200)).toBe(true);
  });

  it('a whole-site request approved for the page only opens that page', async () => {
    const res = await ask(teacher, { url: 'http://games.selftest.invalid/maths/times-tables', scope: 'site' });
    expect(res.body.site).toBe('games.selftest.invalid');
    const id = res.body.id as number;
    expect(await approve(tech, id, { scope: 'page' })).toMatchObject({ status: 200, body: { site: 'games.selftest.invalid/maths/times-tables' } });
    expect(await pupilSees('games.selftest.invalid', 200, '/maths/times-tables/level-1')).toBe(true);
    expect((await pupilGets(app, originPort, 'games.selftest.invalid', '/shooter')).status).toBe(403);
    expect((await revoke(tech, id)).status).toBe(200);
  });

  it('the page is the page as the proxy reads it (escapes and dot segments normalised)', async () => {
    const res = await ask(teacher, { url: 'http://games.selftest.invalid/maths/./times%2Dtables/' });
    const id = res.body.id as number;
    const approved = await approve(tech, id, { scope: 'page' });
    expect(approved.status).toBe(200);
    expect(await pupilSees('games.selftest.invalid', 200, '/maths/times-tables/level-2')).toBe(true);
    expect((await pupilGets(app, originPort, 'games.selftest.invalid', '/shooter')).status).toBe(403);
    expect((await revoke(tech, id)).status).toBe(200);
  });
});

describe('who sees what', () => {
  afterEach(endAllUnblocks);

  it('a teacher sees only their own requests', async () => {
    const mine = (await ask(teacher, { url: 'http://games.selftest.invalid/' })).body.id as number;
    const theirs = (await ask(teacher2, { url: 'http://games.selftest.invalid/quiz' })).body.id as number;
    const list = (await api(app, teacher2, 'GET', '/unblocks')).body;
    expect(list.mine.map((u: { id: number }) => u.id)).toContain(theirs);
    expect(list.mine.every((u: { requestedBy: string }) => u.requestedBy === 'ms.patel')).toBe(true);
    expect(list.waiting).toEqual([]);
    expect(list.inForce).toEqual([]);
    expect(await api(app, teacher2, 'GET', `/unblocks/${mine}`)).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect((await api(app, teacher2, 'GET', `/unblocks/${theirs}`)).status).toBe(200);
    expect((await getPage(app, teacher2, `/unblocks/${mine}`)).status).toBe(403);
    // Technicians, senior leaders and the DSL see any.
    for (const s of [tech, slt, dsl]) expect((await api(app, s, 'GET', `/unblocks/${mine}`)).status).toBe(200);
  });

  it('a teacher cannot end another teacher\'s unblock; the requester can end their own', async () => {
    const id = (await ask(teacher, { url: 'http://games.selftest.invalid/' })).body.id as number;
    expect((await approve(tech, id)).status).toBe(200);
    expect(await revoke(teacher2, id)).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(await revoke(dsl, id)).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(await revoke(governor, id)).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(app.unblocks.get(id)!.state).toBe('approved');
    expect((await revoke(teacher, id)).status).toBe(200);
  });
});

describe('automatic approval', () => {
  afterEach(endAllUnblocks);

  it('a low-risk category (admin.unblocks.autoApprove) for the requester alone is approved at once', async () => {
    const mine = await ask(teacher, { url: 'http://shopping.selftest.invalid/', for: 'me' });
    expect(mine).toMatchObject({ status: 201, body: { state: 'approved', approverRole: 'auto', decidedBy: 'auto', for: { kind: 'user', user: 'mr.jones' } } });
    // For the group it still needs a technician; the pupils stay blocked.
    const group = await ask(teacher, { url: 'http://shopping.selftest.invalid/' });
    expect(group).toMatchObject({ status: 201, body: { state: 'requested', approverRole: 'technician' } });
    expect((await pupilGets(app, originPort, 'shopping.selftest.invalid')).status).toBe(403);
  });
});

describe('an unblock ends when it says, by the clock the proxy reads', () => {
  afterEach(endAllUnblocks);

  it('a lesson\'s unblock lets the pupil through until its end, and not a second after', async () => {
    const start = clock.now();
    const res = await ask(teacher, { url: 'http://games.selftest.invalid/', duration: 'lesson' });
    expect(res.body.until).toBe(new Date(start.getTime() + HOUR).toISOString());
    expect((await approve(tech, res.body.id)).status).toBe(200);
    expect(await pupilSees('games.selftest.invalid', 200)).toBe(true);
    clock.set(new Date(start.getTime() + HOUR - 1000));
    expect((await pupilGets(app, originPort, 'games.selftest.invalid')).status).toBe(200);
    clock.set(new Date(start.getTime() + HOUR));
    expect((await pupilGets(app, originPort, 'games.selftest.invalid')).status).toBe(403);
    // Still approved in the store, shown as ended, and no longer among those in force.
    expect(app.unblocks.get(res.body.id)!.state).toBe('approved');
    expect((await api(app, tech, 'GET', '/unblocks')).body.inForce.map((u: { id: number }) => u.id)).not.toContain(res.body.id);
    expect((await getPage(app, tech, `/unblocks/${res.body.id}`)).body).toContain('<td>ended</td>');
  });

  it('one approved to start later lets nobody through before it starts', async () => {
    const now = clock.now();
    const res = await ask(teacher, { url: 'http://games.selftest.invalid/', duration: 'custom', from: '2026-03-11T13:00', until: '2026-03-11T14:00' });
    expect(now.getTime()).toBeLessThan(new Date('2026-03-11T13:00:00Z').getTime());
    expect((await approve(tech, res.body.id)).status).toBe(200);
    expect((await pupilGets(app, originPort, 'games.selftest.invalid')).status).toBe(403);
    clock.set(new Date('2026-03-11T13:00:00Z'));
    expect((await pupilGets(app, originPort, 'games.selftest.invalid')).status).toBe(200);
    clock.set(new Date('2026-03-11T14:00:00Z'));
    expect((await pupilGets(app, originPort, 'games.selftest.invalid')).status).toBe(403);
  });
});

describe('the unblock report', () => {
  const FORMULA = '=HYPERLINK("http://evil.example/","Click here for the lesson")';

  it('CSV: a header row, then one row per request made in the range, formulas quoted as text', async () => {
    // Everything so far was asked on Wednesday 11 March; two more on Thursday, one on Friday.
    clock.set(new Date('2026-03-12T09:00:00Z'));
    const thursday = [(await ask(teacher, { url: 'http://games.selftest.invalid/', reason: FORMULA })).body.id, (await ask(teacher2, { url: 'http://games.selftest.invalid/x' })).body.id];
    clock.set(new Date('2026-03-13T09:00:00Z'));
    const friday = (await ask(teacher, { url: 'http://games.selftest.invalid/y' })).body.id;

    const res = await fetch(`${app.url}/reports/unblocks?from=2026-03-12&to=2026-03-12&format=csv`, { headers: { cookie: tech.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="unblocks-2026-03-12-to-2026-03-12.csv"');
    const text = await res.text();
    const rows = parseCsv(text);
    expect(rows[0]).toEqual(['id', 'requested_at', 'requested_by', 'site', 'categories', 'for', 'reason', 'from', 'until', 'hours', 'state', 'decided_by', 'note', 'revoked_by']);
    expect(rows.slice(1).map((r) => Number(r[0])).sort()).toEqual([...thursday].sort());
    const formula = rows.find((r) => Number(r[0]) === thursday[0])!;
    expect(formula[6]).toBe(`'${FORMULA}`);
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example/"",""Click here for the lesson"")"`);
    // No cell begins with a formula character.
    for (const r of rows) for (const cell of r) expect(cell).not.toMatch(/^[=+\-@]/);
    expect(formula.slice(2, 6)).toEqual(['mr.jones', 'games.selftest.invalid', 'games', 'group ks2']);

    // The range is whole school days: Wednesday to Friday has every request so far.
    const all = parseCsv(await (await fetch(`${app.url}/reports/unblocks?from=2026-03-11&to=2026-03-13&format=csv`, { headers: { cookie: tech.cookie } })).text());
    expect(all.length - 1).toBe(app.unblocks.list().length);
    expect(all.slice(1).map((r) => Number(r[0]))).toContain(friday);
    const json = await api(app, governor, 'GET', '/reports/unblocks?from=2026-03-13&to=2026-03-13&format=json');
    expect(json.body.unblocks.map((u: { id: number }) => u.id)).toEqual([friday]);
  });

  // Fails against src/admin/unblock-routes.ts as built: the default range ends on the UTC date, so
  // between midnight and 01:00 BST today's requests are left out of "the report up to today".
  it('without dates, the report runs up to today in school time', async () => {
    // Thursday 11 June 2026, 00:30 BST (still 10 June in UTC).
    clock.set(new Date('2026-06-10T23:30:00Z'));
    const id = (await ask(teacher, { url: 'http://games.selftest.invalid/late' })).body.id as number;
    const res = await api(app, tech, 'GET', '/reports/unblocks?format=json');
    expect(res.body.to).toBe('2026-06-11');
    expect(res.body.unblocks.map((u: { id: number }) => u.id)).toContain(id);
  });

  it('a bad date is 400 invalid', async () => {
    expect(await api(app, tech, 'GET', '/reports/unblocks?from=12/03/2026')).toMatchObject({ status: 400, body: { error: { code: 'invalid' } } });
  });
});

describe('what people typed comes back escaped in the pages', () => {
  const SCRIPT = '<script>alert(1)</script>';
  const IMG_URL = 'http://games.selftest.invalid/"><img src=x onerror=alert(1)>';
  let id = 0;

  beforeAll(async () => {
    const res = await ask(teacher, { url: IMG_URL, scope: 'page', for: 'class', className: SCRIPT, pupils: 'amy.b, ben.c', reason: `${SCRIPT} research for 6B` });
    expect(res.status).toBe(201);
    id = res.body.id;
    // The API gives the text as typed (JSON is not markup).
    expect(res.body).toMatchObject({ url: IMG_URL, reason: `${SCRIPT} research for 6B`, for: { kind: 'class', name: SCRIPT } });
  });

  function expectEscaped(body: string): void {
    expect(body).not.toContain('<script');
    expect(body).not.toContain('<img');
  }

  it('the request page, for the teacher and the technician', async () => {
    for (const s of [teacher, tech]) {
      const page = await getPage(app, s, `/unblocks/${id}`);
      expect(page.status).toBe(200);
      expectEscaped(page.body);
      expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt; research for 6B');
      expect(page.body).toContain('class &lt;script&gt;alert(1)&lt;/script&gt; (amy.b, ben.c)');
      expect(page.body).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    }
  });

  it('the lists, the report and the request form', async () => {
    for (const [s, path] of [[tech, '/unblocks'], [teacher, '/unblocks'], [tech, '/reports/unblocks?from=2026-01-01&to=2026-12-31'], [governor, '/reports/unblocks?from=2026-01-01&to=2026-12-31'],
      [teacher, `/unblocks/new?url=${encodeURIComponent(IMG_URL)}&ref=${encodeURIComponent('"><script>')}`], [teacher, `/test-url?url=${encodeURIComponent(IMG_URL)}&user=${encodeURIComponent(SCRIPT)}`]] as const) {
      const page = await getPage(app, s, path);
      expect(page.status, path).toBe(200);
      expect(page.type).toMatch(/^text\/html/);
      expectEscaped(page.body);
      expect(page.body).toContain('&lt;');
    }
  });

  it('the pages forbid scripts anyway (Content-Security-Policy)', async () => {
    const res = await fetch(`${app.url}/unblocks/${id}`, { headers: { accept: 'text/html', cookie: tech.cookie } });
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('bad requests', () => {
  it('a missing field, a short reason, an unknown group, a too-long unblock: 400 invalid naming the field', async () => {
    const before = app.unblocks.list().length;
    expect(await api(app, teacher, 'POST', '/unblocks', { url: 'http://games.selftest.invalid/', scope: 'site', for: 'group', group: 'ks2', duration: 'lesson' })).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'reason' } } });
    expect(await ask(teacher, { url: 'http://games.selftest.invalid/', reason: 'pls' })).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'reason' } } });
    expect(await ask(teacher, { url: 'http://games.selftest.invalid/', group: 'year9' })).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'group' } } });
    expect(await ask(teacher, { url: 'http://games.selftest.invalid/', duration: 'custom', until: '2026-04-30T15:00' })).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'until' } } });
    expect(await ask(teacher, { url: 'http://games.selftest.invalid/', duration: 'forever' })).toMatchObject({ status: 400, body: { error: { code: 'invalid' } } });
    expect(app.unblocks.list().length).toBe(before);
  });
});

describe('four eyes', () => {
  it('nobody decides their own request: it is not waiting for them, and approving or declining it is 403; another approver may', async () => {
    const mine = await ask(tech, { url: 'http://games.selftest.invalid/own' });
    expect(mine.status).toBe(201);
    const id = mine.body.id as number;
    expect((await api(app, tech, 'GET', '/unblocks')).body.waiting.map((u: { id: number }) => u.id)).not.toContain(id);
    expect(await approve(tech, id)).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(await decline(tech, id, { note: 'not for me to say' })).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect((await api(app, slt, 'GET', '/unblocks')).body.waiting.map((u: { id: number }) => u.id)).toContain(id);
    expect((await approve(slt, id)).status).toBe(200);
    endAllUnblocks();
  });
});

