// The staff app's API over real HTTP: which roles may use each route (and that the others get
// 403 forbidden), nobody signed in, CSRF, and signing in (one message for every failure, the
// lock-out per address). Unblocks end to end are in api-unblocks.test.ts, filter levels and
// Test a URL in api-policy.test.ts.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/store/user-rules.js';
import { tempDir } from '../helpers/lists.js';
import { api, PASSWORD, startStaffApp, type Session, type StaffApp } from '../helpers/staff-app.js';
import { auditRows, getPage, movableClock, postForm, PROXY_YAML, signInFrom } from './api-helpers.js';

const ROLES: readonly Role[] = ['technician', 'dsl', 'slt', 'teacher', 'governor'];
const REQUESTERS: readonly Role[] = ['teacher', 'technician', 'slt', 'dsl'];
const NEW_UNBLOCK = { url: 'http://games.selftest.invalid/', scope: 'site', for: 'group', group: 'ks2', duration: 'lesson', reason: 'Year 5 coding lesson on game design' };

const tmp = tempDir();
const clock = movableClock();
let app: StaffApp;
/** One signed-in session per role; the user is named after the role. */
const as = {} as Record<Role, Session>;

beforeAll(async () => {
  app = await startStaffApp(tmp.dir, PROXY_YAML, { now: clock.now });
  for (const role of ROLES) await app.addUser(role, [role]);
  await app.addUser('pupil', [], 'ks2');
  for (const role of ROLES) as[role] = await app.signIn(role);
});

afterAll(async () => {
  await app?.close();
  tmp.cleanup();
});

/** A waiting request by the teacher, made through the store (the route is tested on its own). */
function teacherRequest(): number {
  const t = clock.now();
  return app.unblocks.request({
    requestedBy: 'teacher', url: 'http://games.selftest.invalid/', site: 'games.selftest.invalid', categories: ['games'], reference: null,
    target: { kind: 'group', group: 'ks2' }, reason: NEW_UNBLOCK.reason, from: t, until: new Date(t.getTime() + 3_600_000), approverRole: 'technician',
  }).id;
}

function approvedTeacherRequest(): number {
  const id = teacherRequest();
  app.unblocks.approve(id, 'technician');
  return id;
}

function currentVersion(): string {
  return app.db.prepare("SELECT json_extract(detail, '$.sha256') FROM audit WHERE action = 'policy.changed' ORDER BY id DESC LIMIT 1").pluck().get() as string;
}

interface RouteCase {
  readonly route: string;
  readonly allowed: readonly Role[];
  /** The status an allowed role gets. */
  readonly ok: number;
  readonly call: (role: Role) => Promise<{ status: number; body: any }>;
}

const ROUTES: readonly RouteCase[] = [
  { route: 'GET /', allowed: ROLES, ok: 200, call: (r) => api(app, as[r], 'GET', '/') },
  { route: 'GET /unblocks/new', allowed: REQUESTERS, ok: 200, call: (r) => api(app, as[r], 'GET', '/unblocks/new?url=http://games.selftest.invalid/') },
  { route: 'POST /unblocks', allowed: REQUESTERS, ok: 201, call: (r) => api(app, as[r], 'POST', '/unblocks', NEW_UNBLOCK) },
  { route: 'GET /unblocks', allowed: REQUESTERS, ok: 200, call: (r) => api(app, as[r], 'GET', '/unblocks') },
  // The teacher's own request: the teacher may see it, as may technicians, senior leaders and the DSL.
  { route: 'GET /unblocks/:id', allowed: REQUESTERS, ok: 200, call: (r) => api(app, as[r], 'GET', `/unblocks/${teacherRequest()}`) },
  { route: 'POST /unblocks/:id/approve', allowed: ['technician', 'slt'], ok: 200, call: (r) => api(app, as[r], 'POST', `/unblocks/${teacherRequest()}/approve`, {}) },
  { route: 'POST /unblocks/:id/decline', allowed: ['technician', 'slt'], ok: 200, call: (r) => api(app, as[r], 'POST', `/unblocks/${teacherRequest()}/decline`, { note: 'Use the school\'s own coding site instead.' }) },
  // The teacher's own approved request: the teacher, a technician or a senior leader may end it; the DSL may see it but not end someone else's.
  { route: 'POST /unblocks/:id/revoke', allowed: ['teacher', 'technician', 'slt'], ok: 200, call: (r) => api(app, as[r], 'POST', `/unblocks/${approvedTeacherRequest()}/revoke`, {}) },
  { route: 'GET /reports/unblocks', allowed: ['technician', 'slt', 'dsl', 'governor'], ok: 200, call: (r) => api(app, as[r], 'GET', '/reports/unblocks?format=json') },
  { route: 'GET /reports/unblocks (csv)', allowed: ['technician', 'slt', 'dsl', 'governor'], ok: 200, call: (r) => api(app, as[r], 'GET', '/reports/unblocks?format=csv') },
  { route: 'GET /policy', allowed: ['technician', 'slt', 'governor'], ok: 200, call: (r) => api(app, as[r], 'GET', '/policy') },
  // A preview: nothing is saved.
  { route: 'POST /policy', allowed: ['technician'], ok: 200, call: (r) => api(app, as[r], 'POST', '/policy', { 'level.ks2.games': 'allow', reason: 'Games design club' }) },
  { route: 'GET /policy/versions', allowed: ['technician', 'slt', 'governor'], ok: 200, call: (r) => api(app, as[r], 'GET', '/policy/versions') },
  // Restoring the version in force: applied again, no change.
  { route: 'POST /policy/versions/:sha256/restore', allowed: ['technician'], ok: 200, call: (r) => api(app, as[r], 'POST', `/policy/versions/${currentVersion()}/restore`, { reason: 'Checking restore works' }) },
  { route: 'GET /test-url', allowed: ['technician', 'slt', 'dsl', 'teacher'], ok: 200, call: (r) => api(app, as[r], 'GET', '/test-url?url=http://games.selftest.invalid/&group=ks2') },
  // A fresh session each time: signing out ends it.
  { route: 'POST /logout', allowed: ROLES, ok: 200, call: async (r) => api(app, await app.signIn(r), 'POST', '/logout', {}) },
];

describe('each route: the roles that may use it succeed, every other role gets 403 forbidden', () => {
  it.each(ROUTES.map((c) => [c.route, c] as const))('%s', async (_name, c) => {
    const got: Record<string, unknown> = {};
    const want: Record<string, unknown> = {};
    for (const role of ROLES) {
      const res = await c.call(role);
      got[role] = res.status === 403 ? `403 ${res.body?.error?.code}` : res.status;
      want[role] = c.allowed.includes(role) ? c.ok : '403 forbidden';
    }
    expect(got).toEqual(want);
  });

  it('the DSL may end an unblock they asked for themselves', async () => {
    const made = await api(app, as.dsl, 'POST', '/unblocks', NEW_UNBLOCK);
    expect(made.status).toBe(201);
    app.unblocks.approve(made.body.id, 'technician');
    const res = await api(app, as.dsl, 'POST', `/unblocks/${made.body.id}/revoke`, {});
    expect(res).toMatchObject({ status: 200, body: { state: 'revoked', revokedBy: 'dsl' } });
  });

  it('a governor reads the filter levels and the report but changes nothing', async () => {
    const file = readFileSync(app.configFile, 'utf8');
    expect((await api(app, as.governor, 'GET', '/policy')).body.groups.find((g: { id: string }) => g.id === 'ks2').levels.games).toBe('block');
    expect((await api(app, as.governor, 'GET', '/reports/unblocks')).status).toBe(200);
    const change = await api(app, as.governor, 'POST', '/policy', { 'level.ks2.games': 'allow', reason: 'Governors like games', confirm: 'yes' });
    expect(change).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(readFileSync(app.configFile, 'utf8')).toBe(file);
    // The page shows the levels without a form to change them.
    const page = await getPage(app, as.governor, '/policy');
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('<select');
    expect(page.body).not.toContain('action="/policy"');
  });

  it('a signed-out session is refused afterwards', async () => {
    const s = await app.signIn('teacher');
    expect((await api(app, s, 'GET', '/unblocks')).status).toBe(200);
    expect((await api(app, s, 'POST', '/logout', {})).status).toBe(200);
    expect(await api(app, s, 'GET', '/unblocks')).toMatchObject({ status: 401, body: { error: { code: 'not-signed-in' } } });
  });

  it('a person whose account is disabled is signed out at once', async () => {
    await app.addUser('leaver', ['teacher']);
    const s = await app.signIn('leaver');
    expect((await api(app, s, 'GET', '/unblocks')).status).toBe(200);
    app.users.disable('leaver');
    expect(await api(app, s, 'GET', '/unblocks')).toMatchObject({ status: 401, body: { error: { code: 'not-signed-in' } } });
  });
});

describe('nobody signed in', () => {
  const CALLS: readonly [string, string, unknown?][] = [
    ['GET', '/'], ['GET', '/unblocks/new'], ['POST', '/unblocks', NEW_UNBLOCK], ['GET', '/unblocks'], ['GET', '/unblocks/1'],
    ['POST', '/unblocks/1/approve', {}], ['POST', '/unblocks/1/decline', { note: 'no' }], ['POST', '/unblocks/1/revoke', {}],
    ['GET', '/reports/unblocks'], ['GET', '/reports/unblocks?format=csv'], ['GET', '/policy'], ['POST', '/policy', { 'level.ks2.games': 'allow', reason: 'Games design club', confirm: 'yes' }],
    ['GET', '/policy/versions'], ['POST', `/policy/versions/${'a'.repeat(64)}/restore`, { reason: 'go back please' }], ['GET', '/test-url?url=http://games.selftest.invalid/'],
    ['POST', '/logout', {}],
  ];

  it.each(CALLS)('%s %s: 401 not-signed-in for the API', async (method, path, body) => {
    const before = auditRows(app);
    const res = await api(app, null, method, path, body);
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'not-signed-in' } } });
    expect(auditRows(app)).toBe(before);
  });

  it.each(CALLS.filter(([m]) => m === 'GET'))('%s %s: a browser is sent to sign in, and back afterwards', async (_m, path) => {
    const res = await getPage(app, null, path);
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/login?next=${encodeURIComponent(path)}`);
  });

  it('a forged or stale cookie is nobody', async () => {
    expect(await api(app, { cookie: 'sg_session=not-a-real-token', csrf: 'x' }, 'GET', '/unblocks')).toMatchObject({ status: 401, body: { error: { code: 'not-signed-in' } } });
  });

  it('the sign-in page itself is open, and goes only to a path on this app afterwards', async () => {
    const page = await getPage(app, null, '/login?next=/policy');
    expect(page.status).toBe(200);
    expect(page.body).toContain('name="password"');
    const signedIn = await getPage(app, as.technician, '/login?next=//evil.example/');
    expect(signedIn).toMatchObject({ status: 303, location: '/' });
    expect(await getPage(app, as.technician, '/login?next=/policy')).toMatchObject({ status: 303, location: '/policy' });
    expect(await getPage(app, as.technician, '/login?next=%2F%5Cevil.example%2F')).toMatchObject({ status: 303, location: '/' });
  });

  // Fails against src/admin/auth-routes.ts as built (safeNext): browsers drop tabs and new lines from a
  // URL, so "/<TAB>/evil.example/" is followed as "//evil.example/", another site; a new line makes a 500.
  it.each([['a tab', '%2F%09%2Fevil.example%2F'], ['a new line', '%2F%0A%2Fevil.example%2F'], ['a carriage return', '%2F%0D%2Fevil.example%2F']])(
    'a next address with %s in it goes to the start page, not another site', async (_what, next) => {
      expect(await getPage(app, as.technician, `/login?next=${next}`)).toMatchObject({ status: 303, location: '/' });
      const page = await fetch(`${app.url}/login`, { headers: { accept: 'text/html' } });
      const token = /name="_login" value="([^"]+)"/.exec(await page.text())![1]!;
      const res = await fetch(`${app.url}/login`, {
        method: 'POST', redirect: 'manual', headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', cookie: page.headers.get('set-cookie')!.split(';')[0]! },
        body: `username=technician&password=${encodeURIComponent(PASSWORD)}&_login=${token}&next=${next}`,
      });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/');
    });

  it('the next address is escaped in the sign-in form', async () => {
    const page = await getPage(app, null, `/login?next=${encodeURIComponent('/"><script>alert(1)</script>')}`);
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('<script');
    expect(page.body).toContain('value="/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });
});

describe('CSRF: every change carries the session\'s own token', () => {
  async function post(headers: Record<string, string>, path: string, body: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${app.url}${path}`, { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  }

  it('a new request without the token, or with another session\'s, is refused and nothing is stored', async () => {
    const before = { rows: app.unblocks.list().length, audit: auditRows(app) };
    const none = await post({ cookie: as.teacher.cookie }, '/unblocks', NEW_UNBLOCK);
    expect(none).toMatchObject({ status: 403, body: { error: { code: 'csrf' } } });
    const other = await post({ cookie: as.teacher.cookie, 'x-csrf-token': as.technician.csrf }, '/unblocks', NEW_UNBLOCK);
    expect(other).toMatchObject({ status: 403, body: { error: { code: 'csrf' } } });
    const inBody = await post({ cookie: as.teacher.cookie }, '/unblocks', { ...NEW_UNBLOCK, _csrf: as.technician.csrf });
    expect(inBody).toMatchObject({ status: 403, body: { error: { code: 'csrf' } } });
    expect({ rows: app.unblocks.list().length, audit: auditRows(app) }).toEqual(before);
    // The same request with the right token is made.
    expect((await post({ cookie: as.teacher.cookie, 'x-csrf-token': as.teacher.csrf }, '/unblocks', NEW_UNBLOCK)).status).toBe(201);
    expect(app.unblocks.list().length).toBe(before.rows + 1);
  });

  it('an approval with another session\'s token leaves the request waiting', async () => {
    const id = teacherRequest();
    const before = auditRows(app);
    const res = await post({ cookie: as.technician.cookie, 'x-csrf-token': as.teacher.csrf }, `/unblocks/${id}/approve`, {});
    expect(res).toMatchObject({ status: 403, body: { error: { code: 'csrf' } } });
    expect(app.unblocks.get(id)!.state).toBe('requested');
    expect(auditRows(app)).toBe(before);
  });

  it('a filter-level change without the token leaves the configuration file as it was', async () => {
    const file = readFileSync(app.configFile, 'utf8');
    const versions = (await api(app, as.technician, 'GET', '/policy/versions')).body.versions.length;
    const res = await post({ cookie: as.technician.cookie }, '/policy', { 'level.ks2.games': 'allow', reason: 'Games design club', confirm: 'yes' });
    expect(res).toMatchObject({ status: 403, body: { error: { code: 'csrf' } } });
    expect(readFileSync(app.configFile, 'utf8')).toBe(file);
    expect((await api(app, as.technician, 'GET', '/policy/versions')).body.versions.length).toBe(versions);
  });

  it('a browser\'s form carries it as _csrf: with it the form works, without it the page says the form expired', async () => {
    const before = app.unblocks.list().length;
    const ok = await postForm(app, as.teacher, '/unblocks', { ...NEW_UNBLOCK, _csrf: as.teacher.csrf });
    expect(ok.status).toBe(303);
    expect(ok.location).toMatch(/^\/unblocks\/\d+$/);
    expect(app.unblocks.list().length).toBe(before + 1);
    const bad = await postForm(app, as.teacher, '/unblocks', { ...NEW_UNBLOCK });
    expect(bad.status).toBe(403);
    expect(bad.type).toMatch(/^text\/html/);
    expect(bad.body).toContain('This form has expired');
    expect(app.unblocks.list().length).toBe(before + 1);
  });

  it('signing out needs the token too', async () => {
    const s = await app.signIn('teacher');
    expect(await post({ cookie: s.cookie }, '/logout', {})).toMatchObject({ status: 403, body: { error: { code: 'csrf' } } });
    expect((await api(app, s, 'GET', '/unblocks')).status).toBe(200);
  });
});

describe('signing in', () => {
  it('answers the name, roles and CSRF token, with an HttpOnly, SameSite session cookie', async () => {
    const res = await signInFrom(app, '127.0.0.51', 'technician', PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ username: 'technician', roles: ['technician'], csrf: expect.any(String) });
    expect(res.setCookie).toMatch(/^sg_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
  });

  it('a wrong password, an unknown user and a pupil all get 401 sign-in-failed with the same message', async () => {
    const wrong = await signInFrom(app, '127.0.0.52', 'technician', 'not the passphrase');
    const unknown = await signInFrom(app, '127.0.0.52', 'nobody.here', PASSWORD);
    const pupil = await signInFrom(app, '127.0.0.52', 'pupil', PASSWORD);
    for (const res of [wrong, unknown, pupil]) {
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('sign-in-failed');
      expect(res.setCookie).toBeUndefined();
    }
    expect(unknown.body.error.message).toBe(wrong.body.error.message);
    expect(pupil.body.error.message).toBe(wrong.body.error.message);
  });

  /** The sign-in form as a browser gets it: its cookie and the token in the form. */
  async function loginPage(): Promise<{ cookie: string; token: string }> {
    const page = await fetch(`${app.url}/login`, { headers: { accept: 'text/html' } });
    return { cookie: page.headers.get('set-cookie')!.split(';')[0]!, token: /name="_login" value="([^"]+)"/.exec(await page.text())![1]! };
  }

  async function signInByForm(fields: Record<string, string>, cookie?: string): Promise<{ status: number; body: string; setCookie: string | null }> {
    const res = await fetch(`${app.url}/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams(fields).toString(), headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) } });
    return { status: res.status, body: await res.text(), setCookie: res.headers.get('set-cookie') };
  }

  it('a pupil account cannot sign in at all, even as a browser', async () => {
    const { cookie, token } = await loginPage();
    const res = await signInByForm({ username: 'pupil', password: PASSWORD, _login: token }, cookie);
    expect(res.status).toBe(401);
    expect(res.body).toContain('did not match a staff account');
    expect(res.setCookie ?? '').not.toContain('sg_session=');
  });

  it('refuses a sign-in form that did not come from its own page (login CSRF), and accepts one that did', async () => {
    const forged = await signInByForm({ username: 'technician', password: PASSWORD });
    expect(forged.status).toBe(403);
    expect(forged.body).toContain('form had expired');
    expect(forged.setCookie ?? '').not.toContain('sg_session=');
    const { cookie, token } = await loginPage();
    expect((await signInByForm({ username: 'technician', password: PASSWORD, _login: 'not-the-token' }, cookie)).status).toBe(403);
    const ok = await signInByForm({ username: 'technician', password: PASSWORD, _login: token }, cookie);
    expect(ok.status).toBe(303);
    expect(ok.setCookie).toContain('sg_session=');
  });

  it('after 10 failures from one address, 429 locked even with the right password; other addresses are unaffected; it passes', async () => {
    const from = '127.0.0.53';
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await signInFrom(app, from, 'technician', `wrong guess ${i}`)).status);
    expect(statuses.slice(0, 9)).toEqual(Array(9).fill(401));
    expect(statuses[9]).toBe(429);
    const right = await signInFrom(app, from, 'technician', PASSWORD);
    expect(right.status).toBe(429);
    expect(right.body.error.code).toBe('locked');
    expect(right.setCookie).toBeUndefined();
    expect((await signInFrom(app, '127.0.0.54', 'technician', PASSWORD)).status).toBe(200);
    // Fifteen minutes later (the app's clock), the address may try again.
    clock.advance(16 * 60_000);
    expect((await signInFrom(app, from, 'technician', PASSWORD)).status).toBe(200);
  });
});
