// Filter levels in the staff app over real HTTP: a technician's change previewed in people's
// words, saved to the configuration file with a reason, applied to the running proxy without a
// restart, listed among the versions and restored; illegal categories locked; Test a URL.
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempDir } from '../helpers/lists.js';
import { closeAll, startOrigin } from '../helpers/proxy.js';
import { api, startStaffApp, type Session, type StaffApp } from '../helpers/staff-app.js';
import { getPage, movableClock, pupilGets, PROXY_YAML } from './api-helpers.js';

const tmp = tempDir();
// Wednesday 10:00: not golden time, so KS2's games are blocked by their level alone.
const clock = movableClock();
let app: StaffApp;
let origin: http.Server;
let originPort = 0;
let tech: Session;
let slt: Session;
let teacher: Session;

beforeAll(async () => {
  ({ server: origin, port: originPort } = await startOrigin());
  app = await startStaffApp(tmp.dir, PROXY_YAML, { now: clock.now });
  await app.addUser('it.tech', ['technician']);
  await app.addUser('head', ['slt']);
  await app.addUser('mr.jones', ['teacher']);
  tech = await app.signIn('it.tech');
  slt = await app.signIn('head');
  teacher = await app.signIn('mr.jones');
});

afterAll(async () => {
  await app?.close();
  if (origin) await closeAll(origin);
  tmp.cleanup();
});

const ks2Games = async (): Promise<string> => (await api(app, slt, 'GET', '/policy')).body.groups.find((g: { id: string }) => g.id === 'ks2').levels.games;
const versions = async (): Promise<{ sha256: string; actor: string; reason: string | null }[]> => (await api(app, tech, 'GET', '/policy/versions')).body.versions;
const pupilGames = async (): Promise<number> => (await pupilGets(app, originPort, 'games.selftest.invalid')).status;

describe('Test a URL', () => {
  it('returns the decision with the chain of precedence that led to it', async () => {
    const res = await api(app, teacher, 'GET', '/test-url?url=http://games.selftest.invalid/play&group=ks2');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ group: 'ks2', action: 'block', categories: ['games'], unblockBy: 'technician', rule: 'KS2 pupils filter level: games is blocked', at: clock.now().toISOString() });
    expect(res.body.chain.map((s: { layer: string }) => s.layer)).toEqual(['illegal', 'unblock', 'user', 'site-list', 'level']);
    expect(res.body.chain.at(-1).said).toContain('games is blocked');
  });

  it('at a time in school time (golden time on Friday), for another group, and for illegal content', async () => {
    const golden = await api(app, teacher, 'GET', '/test-url?url=http://games.selftest.invalid/&group=ks2&at=2026-03-13T14:45');
    expect(golden.body).toMatchObject({ action: 'allow', at: '2026-03-13T14:45:00.000Z', unblockBy: null });
    expect(golden.body.chain.at(-1).layer).toBe('schedule');
    expect((await api(app, teacher, 'GET', '/test-url?url=http://games.selftest.invalid/&group=staff')).body).toMatchObject({ group: 'staff', action: 'warn' });
    expect((await api(app, teacher, 'GET', '/test-url?url=http://drugs.selftest.invalid/&group=ks2')).body).toMatchObject({ action: 'block', unblockBy: 'slt' });
    const iwf = await api(app, teacher, 'GET', '/test-url?url=http://iwf.selftest.invalid/&group=staff');
    expect(iwf.body).toMatchObject({ action: 'block', unblockBy: 'never' });
    expect(iwf.body.chain.map((s: { layer: string }) => s.layer)).toEqual(['illegal']);
  });

  it('the page shows the decision and each step', async () => {
    const page = await getPage(app, teacher, '/test-url?url=http%3A%2F%2Fgames.selftest.invalid%2F&group=ks2');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<h2>BLOCK</h2>');
    expect(page.body).toContain('<li><strong>level</strong>: games: KS2 pupils filter level: games is blocked</li>');
    expect(page.body).toContain('<option value="ks2" selected>');
  });

  it('no url, a bad time or a bad address: 400 invalid', async () => {
    expect(await api(app, teacher, 'GET', '/test-url')).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'url' } } });
    expect(await api(app, teacher, 'GET', '/test-url?url=http://games.selftest.invalid/&at=teatime')).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'at' } } });
    expect(await api(app, teacher, 'GET', '/test-url?url=http://exa%20mple:99999/')).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'url' } } });
  });
});

describe('changing filter levels', () => {
  const REASON = 'Games design club for Year 6 this term';
  let original = '';
  let before: { sha256: string }[] = [];

  beforeAll(async () => {
    original = readFileSync(app.configFile, 'utf8');
    before = await versions();
  });

  it('the technician\'s page is the matrix, with illegal categories locked', async () => {
    const page = await getPage(app, tech, '/policy');
    expect(page.status).toBe(200);
    // Each cell says its action in words and by its colour class.
    expect(page.body).toContain('<td class="a-block"><span class="g" aria-hidden="true">KS2 pupils</span><select class="act" name="level.ks2.games" aria-label="games for KS2 pupils"><option value="allow">Allow</option><option value="warn">Warn</option><option value="block" selected>Block</option></select>');
    expect(page.body).not.toContain('name="level.ks2.iwf"');
    expect(page.body).toContain('<td class="a-block locked"><span class="g" aria-hidden="true">KS2 pupils</span><span class="act">Block (locked)</span></td>');
    expect(page.body).toContain('golden time: allow');
  });

  it('without confirm: a preview in people\'s words, and nothing changes', async () => {
    expect(await pupilGames()).toBe(403);
    const res = await api(app, tech, 'POST', '/policy', { 'level.ks2.games': 'allow', reason: REASON });
    expect(res.status).toBe(200);
    expect(res.body.preview).toContain('KS2 pupils will now be able to reach: games');
    expect(res.body.changes).toEqual([{ group: 'ks2', category: 'games', action: 'allow' }]);
    expect(readFileSync(app.configFile, 'utf8')).toBe(original);
    expect(await versions()).toEqual(before);
    expect(await ks2Games()).toBe('block');
    expect(await pupilGames()).toBe(403);
  });

  it('the preview page for a browser carries the change on to confirm, escaped', async () => {
    const res = await fetch(`${app.url}/policy`, {
      method: 'POST', headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', cookie: tech.cookie },
      body: new URLSearchParams({ _csrf: tech.csrf, 'level.ks2.games': 'allow', reason: '<script>alert(1)</script> club' }).toString(),
    });
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(body).toContain('<li>KS2 pupils will now be able to reach: games</li>');
    expect(body).toContain('<input type="hidden" name="level.ks2.games" value="allow">');
    expect(body).toContain('<input type="hidden" name="confirm" value="yes">');
    expect(body).not.toContain('<script');
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt; club');
    expect(readFileSync(app.configFile, 'utf8')).toBe(original);
  });

  it('confirmed: the file on disk changes, the pupil reaches games, and the version is listed with the reason and the technician', async () => {
    const res = await api(app, tech, 'POST', '/policy', { 'level.ks2.games': 'allow', reason: REASON, confirm: 'yes' });
    expect(res.status).toBe(200);
    expect(res.body.applied).toContain('KS2 pupils will now be able to reach: games');
    const text = readFileSync(app.configFile, 'utf8');
    expect(text).not.toBe(original);
    expect((parse(text) as any).policy.groups.ks2.levels.games).toBe('allow');
    // Only that key: the comments are still there.
    expect(text).toContain('# Distractions, open at set times (below).');
    expect(await pupilGames()).toBe(200);
    expect(await ks2Games()).toBe('allow');
    const now = await versions();
    expect(now.length).toBe(before.length + 1);
    expect(now[0]).toMatchObject({ actor: 'it.tech', reason: REASON });
    // The versions page says so too.
    const page = await getPage(app, slt, '/policy/versions');
    expect(page.body).toContain(`<td>it.tech</td><td>${REASON}</td>`);
  });

  it('restoring the previous version blocks games again', async () => {
    const list = await versions();
    const previous = list[1]!.sha256;
    expect(previous).toBe(before[0]!.sha256);
    const res = await api(app, tech, 'POST', `/policy/versions/${previous}/restore`, { reason: 'Club cancelled' });
    expect(res).toMatchObject({ status: 200, body: { restored: previous } });
    expect(readFileSync(app.configFile, 'utf8')).toBe(original);
    expect(await pupilGames()).toBe(403);
    expect(await ks2Games()).toBe('block');
    expect((await versions())[0]).toMatchObject({ sha256: previous, actor: 'it.tech', reason: 'Club cancelled' });
  });

  it('illegal categories cannot be allowed or warned: 422 illegal, file unchanged', async () => {
    const file = readFileSync(app.configFile, 'utf8');
    for (const [key, action] of [['level.ks2.iwf', 'allow'], ['level.staff.iwf', 'warn'], ['level.staff.terrorism', 'allow']] as const) {
      for (const confirm of [undefined, 'yes']) {
        const res = await api(app, tech, 'POST', '/policy', { [key]: action, reason: 'Testing the lock', ...(confirm ? { confirm } : {}) });
        expect(res).toMatchObject({ status: 422, body: { error: { code: 'illegal', field: key } } });
      }
    }
    // Alongside a permitted change, the whole change is refused.
    expect((await api(app, tech, 'POST', '/policy', { 'level.ks2.games': 'allow', 'level.ks2.iwf': 'allow', reason: 'Testing the lock', confirm: 'yes' })).status).toBe(422);
    expect(readFileSync(app.configFile, 'utf8')).toBe(file);
    expect(await pupilGames()).toBe(403);
  });

  it('a change needs a reason, real groups and categories, an action, and to change something', async () => {
    const file = readFileSync(app.configFile, 'utf8');
    expect(await api(app, tech, 'POST', '/policy', { 'level.ks2.games': 'allow', reason: ' ok ' })).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'reason' } } });
    expect(await api(app, tech, 'POST', '/policy', { 'level.ks2.games': 'allow' })).toMatchObject({ status: 400, body: { error: { code: 'invalid' } } });
    expect(await api(app, tech, 'POST', '/policy', { 'level.year9.games': 'allow', reason: REASON })).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'level.year9.games' } } });
    expect(await api(app, tech, 'POST', '/policy', { 'level.ks2.knitting': 'allow', reason: REASON })).toMatchObject({ status: 400, body: { error: { code: 'invalid', field: 'level.ks2.knitting' } } });
    expect(await api(app, tech, 'POST', '/policy', { 'level.ks2.games': 'open', reason: REASON })).toMatchObject({ status: 400, body: { error: { code: 'invalid' } } });
    expect(await api(app, tech, 'POST', '/policy', { 'level.ks2.games': 'block', reason: REASON })).toMatchObject({ status: 400, body: { error: { code: 'invalid' } } });
    expect(await api(app, tech, 'POST', '/policy', { 'level.ks2.iwf': 'block', reason: REASON })).toMatchObject({ status: 400, body: { error: { code: 'invalid' } } });
    // A key not of the form level.<group>.<category> is no change (fastify drops it).
    expect(await api(app, tech, 'POST', '/policy', { 'level.KS2.games': 'allow', reason: REASON, confirm: 'yes' })).toMatchObject({ status: 400, body: { error: { code: 'invalid' } } });
    expect(readFileSync(app.configFile, 'utf8')).toBe(file);
  });

  it('restoring a version that does not exist is 404; a malformed one 400', async () => {
    expect(await api(app, tech, 'POST', `/policy/versions/${'0'.repeat(64)}/restore`, { reason: 'Going back' })).toMatchObject({ status: 404, body: { error: { code: 'not-found' } } });
    expect(await api(app, tech, 'POST', '/policy/versions/abc/restore', { reason: 'Going back' })).toMatchObject({ status: 400, body: { error: { code: 'invalid' } } });
  });
});
